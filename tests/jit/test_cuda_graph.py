"""CudaGraphExecutor: warm-up then capture, replay equal to eager, outputs that survive the next call,
in-place writes once per call, and a failed capture that falls back with one warning.

The GPU tests run the real thing (CuPy graphs, the plan's private pool and stream). The CPU tests run
the executor's bookkeeping with a stand-in GraphRunner whose "graph" re-runs the captured steps.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings

import numpy as np
import pytest
from jit_testing import forked

import gpucell as ms
from gpucell import Parameter, Tensor, ops
from gpucell.backend import graphs
from gpucell.jit import cache_info, clear_cache, executors, function
from gpucell.ops._dispatch import Op, apply


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(executors.CudaGraphExecutor, "_warned", False)
    clear_cache()
    yield
    clear_cache()


def _executors():
    return [plan.executor for plan in function.PLANS._plans.values()]


def _gpu(values, dtype=ms.float32):
    return Tensor(np.asarray(values), dtype, device="GPU")


# -- on the GPU ----------------------------------------------------------------------------------
@pytest.mark.gpu
def test_capture_and_replay_equal_eager():
    rng = np.random.default_rng(0)
    w = _gpu(rng.standard_normal((8, 4)))

    def f(x):
        h = ops.matmul(x, w)
        return ops.softmax(ops.tanh(h) * 2 + 1), (h * h).sum()

    step = ms.jit(f)
    for _ in range(5):
        x = _gpu(rng.standard_normal((16, 8)))
        want = [t.asnumpy() for t in f(x)]
        got = [t.asnumpy() for t in step(x)]
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    (executor,) = _executors()
    assert executor.kind == "cuda-graph" and not executor.failed
    assert executor.graphs is not None and cache_info().captures == 1


@pytest.mark.gpu
def test_outputs_of_each_replay_survive_the_next_ones():
    @ms.jit
    def f(x):
        y = ops.exp(x * 0.5) + 1  # temporaries: the graph reuses their blocks on every replay
        return y * y, ops.softmax(y)

    inputs = [np.linspace(-1, 1, 64, dtype=np.float32) * k for k in range(1, 7)]
    results = [f(_gpu(v)) for v in inputs]
    for v, (sq, sm) in zip(inputs, results):
        y = np.exp(v * 0.5) + 1
        np.testing.assert_allclose(sq.asnumpy(), y * y, rtol=1e-5)
        e = np.exp(y - y.max())
        np.testing.assert_allclose(sm.asnumpy(), e / e.sum(), rtol=1e-5, atol=1e-7)
    assert not _executors()[0].failed


@pytest.mark.gpu
def test_parameters_are_updated_once_per_call():
    p = Parameter(_gpu(np.zeros(4)), name="p")

    @ms.jit
    def step(g):
        ops.assign_sub(p, g * 0.5)
        return p.sum()

    g = _gpu([1.0, 2.0, 3.0, 4.0])
    for call in range(1, 6):  # call 1 traces, call 2 warms up and captures, then replays
        step(g)
        np.testing.assert_allclose(p.asnumpy(), -0.5 * call * np.array([1, 2, 3, 4]))
    assert cache_info().captures == 1


@pytest.mark.gpu
def test_in_place_write_into_an_argument_reaches_the_callers_tensor():
    @ms.jit
    def bump(x):
        x[:] = x + 1  # Setitem: in place into its first input
        return x * 1

    x = _gpu([1.0, 2.0])
    for call in range(1, 5):
        out = bump(x)
        np.testing.assert_array_equal(x.asnumpy(), np.array([1.0, 2.0]) + call)
        np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())


def _host_sync_gpu(a):
    return a * float(a.sum())  # a device-to-host read: illegal while a stream captures


_HOST_SYNC = Op("HostSyncForTest", lambda a: a * float(a.sum()), _host_sync_gpu)


@pytest.mark.gpu
def test_capture_failure_falls_back_with_one_warning_and_one_update():
    p = Parameter(_gpu(np.zeros(3)), name="p")

    @ms.jit
    def step(x):
        ops.assign_sub(p, x)
        return apply(_HOST_SYNC, x)

    x = _gpu([1.0, 2.0, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [step(x).asnumpy() for _ in range(4)]
    for out in outs:
        np.testing.assert_allclose(out, [6.0, 12.0, 18.0])
    np.testing.assert_allclose(p.asnumpy(), [-4.0, -8.0, -12.0])  # once per call, the failed one too
    graph_warnings = [w for w in caught if "CUDA-graph" in str(w.message)]
    assert len(graph_warnings) == 1, [str(w.message) for w in caught]
    (executor,) = _executors()
    assert executor.failed and executor.graphs is None


@pytest.mark.gpu
def test_dropout_draws_fresh_masks_on_every_replay():
    @ms.jit
    def f(x):
        return ops.dropout(x, p=0.5)

    x = _gpu(np.ones(4096))
    masks = [f(x).asnumpy() != 0 for _ in range(5)]
    assert not _executors()[0].failed
    for a, b in itertools.pairwise(masks):
        assert (a != b).any()


# -- the executor's bookkeeping on the CPU, with a stand-in for the CUDA-graph runner ----------------
class _FakeStream:
    """Logs what the capture asks of a stream: records, waits, and the steps run on it."""

    def __init__(self, index, log):
        self.index, self.log = index, log

    def record(self):
        self.log.append(("record", self.index))
        return self.index  # the "event" names the stream it was recorded on

    def wait_event(self, event):
        self.log.append(("wait", self.index, event))

    def __enter__(self):
        self.log.append(("run on", self.index))
        return self

    def __exit__(self, *exc):
        pass


class _FakeRunner:
    refuse = False

    def __init__(self):
        self.captured = 0

    @contextlib.contextmanager
    def on_private_stream(self):
        yield

    def after_caller(self):
        pass

    def streams(self, count):
        self.log = []
        return [_FakeStream(i, self.log) for i in range(count)]

    def capture(self, run):
        if _FakeRunner.refuse:
            raise RuntimeError("capture refused for the test")
        self.captured += 1
        return run  # launching this "graph" re-runs the steps over the static slot table

    def launch(self, graph):
        graph()

    def synchronize(self):
        pass

    def release(self):
        pass

    def held_bytes(self):
        return 0


@pytest.fixture
def fake_graphs(monkeypatch):
    monkeypatch.setattr(graphs, "GraphRunner", _FakeRunner)
    monkeypatch.setattr(_FakeRunner, "refuse", False)
    monkeypatch.setattr(function, "make_executor", lambda plan, on_cpu: executors.CudaGraphExecutor(plan))
    return _FakeRunner


def test_fake_capture_updates_once_per_call_and_outputs_survive(fake_graphs):
    p = Parameter(Tensor(np.zeros(2, np.float32)), name="p")

    @ms.jit
    def step(x):
        ops.assign_sub(p, x)
        return x * 2

    outs = [step(Tensor(np.array([1.0, 2.0], np.float32) * k)) for k in range(1, 5)]
    for k, out in enumerate(outs, start=1):
        np.testing.assert_array_equal(out.asnumpy(), [2.0 * k, 4.0 * k])
    np.testing.assert_array_equal(p.asnumpy(), [-10.0, -20.0])
    (executor,) = _executors()
    assert isinstance(executor, executors.CudaGraphExecutor) and executor.runner.captured == 1


def test_fake_capture_failure_returns_the_warm_up_result_and_warns_once(fake_graphs):
    fake_graphs.refuse = True
    p = Parameter(Tensor(np.zeros(2, np.float32)), name="p")

    @ms.jit
    def step(x):
        ops.assign_sub(p, x)
        return x * 2

    x = Tensor(np.array([1.0, 2.0], np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [step(x).asnumpy() for _ in range(4)]
    for out in outs:
        np.testing.assert_array_equal(out, [2.0, 4.0])
    np.testing.assert_array_equal(p.asnumpy(), [-4.0, -8.0])  # the failed capture ran nothing twice
    assert sum("CUDA-graph capture" in str(w.message) for w in caught) == 1
    assert _executors()[0].failed


def test_fake_capture_copies_in_place_writes_back_into_arguments(fake_graphs):
    @ms.jit
    def bump(x):
        x[:] = x + 1  # Setitem: in place into its first input
        return x * 1

    x = Tensor(np.array([1.0, 2.0], np.float32))
    for call in range(1, 5):
        out = bump(x)
        np.testing.assert_array_equal(x.asnumpy(), np.array([1.0, 2.0]) + call)
        np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())


def test_fake_capture_reproduces_the_fork_join(fake_graphs):
    step = ms.jit(forked)
    for k in range(1, 4):
        x = Tensor(np.array([1.0, -2.0], np.float32) * k)
        np.testing.assert_array_equal(step(x).asnumpy(), forked(x).asnumpy())
    (executor,) = _executors()
    assert executor.runner.captured == 1 and executor.plan.n_streams == 2
    one_launch = [
        ("record", 0), ("wait", 1, 0),    # fork: the side stream joins the capture
        ("record", 0), ("wait", 1, 0),    # side.wait_event(main.record())
        ("run on", 1),                    # b = x * 2
        ("record", 1),                    # done = side.record()
        ("run on", 0),                    # a = x + 1
        ("wait", 0, 1),                   # main.wait_event(done)
        ("run on", 0),                    # a * b
        ("record", 1), ("wait", 0, 1),    # join: the capture stream waits for the side stream
    ]
    log = executor.runner.log
    assert log[:len(one_launch)] == one_launch and len(log) % len(one_launch) == 0


@pytest.mark.gpu
def test_capture_with_a_side_stream_equals_eager():
    rng = np.random.default_rng(3)
    step = ms.jit(forked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture would warn and fall back
        for _ in range(4):
            x = _gpu(rng.standard_normal(1000))
            np.testing.assert_allclose(step(x).asnumpy(), forked(x).asnumpy(), rtol=1e-6)
    (executor,) = _executors()
    assert executor.kind == "cuda-graph" and not executor.failed and executor.plan.n_streams == 2
    assert cache_info().captures == 1 and cache_info().graph_breaks == 0
