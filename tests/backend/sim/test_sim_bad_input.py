"""Bad input to the simulated device: a clear TypeError or ValueError that says what was expected
and what came, never an AttributeError from deep inside the simulator (nor a crash)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sim_testing import streams

import gpucell.backend.sim as cp


@pytest.fixture
def graph():
    (s,) = streams(1)
    s.begin_capture()
    return s.end_capture()


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda x, g: cp.cuda.Stream(non_blocking=True).wait_event(cp.cuda.Stream()), TypeError,
     "'event' must be a cupy.cuda.Event, but got Stream"),
    (lambda x, g: cp.cuda.Stream(non_blocking=True).wait_event(None), TypeError, "must be a cupy.cuda.Event"),
    (lambda x, g: cp.cuda.Stream(non_blocking=True).record(object()), TypeError, "must be a cupy.cuda.Event"),
    (lambda x, g: cp.cuda.Event().record(stream="s"), TypeError, "expected a cupy.cuda.Stream, but got str"),
    (lambda x, g: g.launch(stream=1), TypeError, "expected a cupy.cuda.Stream, but got int"),
    (lambda x, g: x.get(stream=3), TypeError, "expected a cupy.cuda.Stream, but got int"),
    (lambda x, g: cp.asnumpy(x, stream=object()), TypeError, "expected a cupy.cuda.Stream"),
    (lambda x, g: x.set(np.zeros(3), stream="s"), TypeError, "expected a cupy.cuda.Stream"),
    (lambda x, g: cp.get_default_memory_pool().free_all_blocks(stream=5), TypeError, "expected a cupy.cuda.Stream"),
    (lambda x, g: cp.cuda.get_elapsed_time(1, 2), TypeError, "'start_event' has incorrect type"),
    (lambda x, g: cp.ndarray((2,), memptr=5), TypeError, "'memptr' has incorrect type"),
    (lambda x, g: cp.get_default_memory_pool().malloc(-1), ValueError, "must be >= 0, but got -1"),
    (lambda x, g: cp.empty(-1), ValueError, "Negative dimensions are not allowed"),
    (lambda x, g: cp.empty(3, dtype=object), ValueError, "Unsupported dtype object"),
    (lambda x, g: cp.get_default_memory_pool().set_limit(fraction=2), ValueError, "fraction out of range"),
    (lambda x, g: cp.cuda.Event(interprocess=True), ValueError, "Timing must be disabled"),
    (lambda x, g: x + np.zeros(3), TypeError, "Unsupported type <class 'numpy.ndarray'>"),
    (lambda x, g: cp.add(x, 1, out=np.empty(3)), TypeError, "'out' must be a cupy.ndarray"),
    (lambda x, g: cp.copyto(np.empty(3), x), TypeError, "'dst' must be a cupy.ndarray"),
    (lambda x, g: np.asarray(x), TypeError, "Implicit conversion to a NumPy array is not allowed"),
], ids=["wait_event-stream", "wait_event-none", "record-object", "event-record-str", "graph-launch-int",
        "get-int", "asnumpy-object", "set-str", "free_all_blocks-int", "elapsed-int", "memptr-int",
        "malloc-negative", "empty-negative", "object-dtype", "limit-fraction", "interprocess-timing",
        "numpy-operand", "numpy-out", "copyto-numpy", "implicit-numpy"])
def test_bad_input_is_a_clear_error(pool, graph, call, error, message):
    x = cp.zeros(3)
    with pytest.raises(error, match=re.escape(message)):
        call(x, graph)


def test_an_external_stream_pointer_the_simulator_did_not_make_is_refused():
    with pytest.raises(ValueError, match="knows no stream"):
        cp.cuda.ExternalStream(0x1234)


def test_a_stream_of_another_device_cannot_be_entered(pool, monkeypatch):
    from gpucell import _config

    monkeypatch.setattr(_config, "SIM_DEVICES", 2)
    with cp.cuda.Device(1):
        other = cp.cuda.Stream(non_blocking=True)
    with pytest.raises(RuntimeError, match=r"The device that the stream is created on \(1\) does not match"):
        other.use()
