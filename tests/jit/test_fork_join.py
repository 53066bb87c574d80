"""Streams in a traced function: the tracer writes down which stream each step ran on and the
events between them; the capture's item order (``fork_join.interleave``) follows the trace."""

from __future__ import annotations

import numpy as np
import pytest
from jit_testing import forked

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.jit import clear_cache, function
from gpucell.jit.fork_join import interleave
from gpucell.jit.tracer import Step, Sync


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _plan():
    (plan,) = function.PLANS._plans.values()
    return plan


def _x(device, values=(1.0, -2.0, 3.0)):
    return Tensor(np.asarray(values, np.float32), device=device)


def test_a_one_stream_plan_has_no_syncs(device):
    step = ms.jit(lambda x: (x * 2) + 1)
    step(_x(device))
    plan = _plan()
    assert plan.n_streams == 1 and plan.syncs == ()
    assert {s.stream for s in plan.steps} == {0}


def test_fork_join_is_traced_and_replayed(device):
    step = ms.jit(forked)
    for k in (1.0, 2.0, -3.0):
        x = _x(device) * k
        np.testing.assert_array_equal(step(x).asnumpy(), forked(x).asnumpy())
    plan = _plan()
    assert plan.n_streams == 2
    assert [(s.op.name, s.stream) for s in plan.steps] == [("Mul", 1), ("Add", 0), ("Mul", 0)]
    assert plan.syncs == (Sync(0, "record", 0, 0), Sync(0, "wait", 1, 0), Sync(1, "record", 1, 1),
                          Sync(2, "wait", 0, 1))


def test_nested_streams_and_an_event_from_before_the_call(device):
    x = _x(device)
    early = ms.current_stream().record()  # recorded before the call (after x): no wait in the plan

    def f(x):
        s1, s2 = ms.Stream(), ms.Stream()
        s1.wait_event(early)
        s2.wait_event(early)
        with s1:
            a = x * 3
            with s2:
                b = x - 1
            c = a + 1
        joined_1, joined_2 = s1.record(), s2.record()
        ms.current_stream().wait_event(joined_1)  # the caller reads a, b and c after the side streams
        ms.current_stream().wait_event(joined_2)
        return a, b, c

    step = ms.jit(f)
    for _ in range(2):
        got = [t.asnumpy() for t in step(x)]
    want = [t.asnumpy() for t in f(x)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    plan = _plan()
    assert [s.stream for s in plan.steps] == [1, 2, 1]
    assert plan.syncs == (Sync(3, "record", 1, 0), Sync(3, "record", 2, 1), Sync(3, "wait", 0, 0),
                          Sync(3, "wait", 0, 1))


def test_steps_on_two_streams_are_not_fused(device):
    dense, relu = nn.Dense(3, 2), nn.ReLU()

    def f(x):
        h = dense(x)
        side = ms.Stream()
        side.wait_event(ms.current_stream().record())  # relu reads h, made on the caller's stream
        with side:
            out = relu(h)
        ms.current_stream().wait_event(side.record())
        return out

    step = ms.jit(f)
    for _ in range(2):
        np.testing.assert_array_equal(step(_x(device).reshape(1, 3)).asnumpy(),
                                      f(_x(device).reshape(1, 3)).asnumpy())
    assert [s.op.name for s in _plan().steps] == ["Dense", "ReLU"]


def _step(name: str, stream: int = 0) -> Step:
    return Step(op=name, fn=None, ins=(), casts=None, attrs={}, outs=None, stream=stream)


def test_interleave_keeps_the_syncs_of_a_segment_in_order():
    steps = tuple(_step(n) for n in "abcd")
    syncs = (Sync(0, "record", 0, 0), Sync(1, "wait", 1, 0), Sync(3, "record", 1, 1), Sync(4, "wait", 0, 1))
    whole = interleave(steps, 0, syncs, last=True)
    assert [getattr(i, "op", None) or (i.kind, i.position) for i in whole] == [
        ("record", 0), "a", ("wait", 1), "b", "c", ("record", 3), "d", ("wait", 4)]
    # A segment holding plan positions 1 and 2 only: the syncs before or after it stay out.
    middle = interleave(steps[1:3], 1, syncs, last=False)
    assert [getattr(i, "op", None) or (i.kind, i.position) for i in middle] == [("wait", 1), "b", "c"]
