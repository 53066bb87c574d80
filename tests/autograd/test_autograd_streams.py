"""Stream-aware backward (DESIGN.md invariant 7), checked on the CPU with a recording fake stream
backend: which stream ran each backward, which events were recorded and waited on."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import gpucell as ms
from gpucell import backend, ops
from gpucell.autograd import streams as autograd_streams


class FakeStreams:
    """Named streams; a log of ('run', node, stream), ('record', stream, event), ('wait', stream, event)."""

    def __init__(self):
        self.stack = ["main"]
        self.log = []
        self.events = 0
        self.running = None

    def current(self):
        return self.stack[-1]

    @contextlib.contextmanager
    def use(self, stream):
        self.stack.append(stream)
        try:
            yield stream
        finally:
            self.stack.pop()

    def same(self, a, b):
        return a == b

    def record(self, stream):
        self.events += 1
        event = f"e{self.events}"
        self.log.append(("record", stream, event))
        return event

    def wait(self, stream, event):
        self.log.append(("wait", stream, event))

    def done(self, event):
        return True


@pytest.fixture
def fake():
    streams = FakeStreams()
    previous = autograd_streams.install(streams)
    yield streams
    autograd_streams.install(previous)


def _trace_backward_streams(fake, monkeypatch):
    """Logs which stream each backward rule ran on."""
    from gpucell.autograd import engine

    original = engine._output_grads

    def traced(node, buffer):
        fake.log.append(("run", node.op.name, fake.current()))
        return original(node, buffer)

    monkeypatch.setattr(engine, "_output_grads", traced)


def test_each_backward_runs_on_its_forward_stream_and_crossings_are_ordered(fake, monkeypatch):
    _trace_backward_streams(fake, monkeypatch)
    w = ms.Parameter(ms.Tensor([2.0, 3.0]), name="w")

    def two_branches(x):
        with fake.use("s1"):
            a = ops.exp(x * w)          # Mul, Exp on s1
        with fake.use("s2"):
            b = ops.square(x)           # Square on s2
        return (a + b).sum()            # Add, ReduceSum on main

    gx, gw = ms.grad(two_branches, 0, [w])(ms.Tensor([1.0, 0.5]))
    runs = [(name, stream) for kind, name, stream in fake.log if kind == "run"]
    assert runs[0] == ("ReduceSum", "main") and runs[1] == ("Add", "main")
    assert set(runs[2:]) == {("Exp", "s1"), ("Mul", "s1"), ("Square", "s2")}
    records = {event: stream for kind, stream, event in fake.log if kind == "record"}
    waits = [(stream, records[event]) for kind, stream, event in fake.log if kind == "wait"]
    # main -> s1 and main -> s2 for the Add's gradients; the leaves' streams back to main at the end.
    assert ("s1", "main") in waits and ("s2", "main") in waits
    assert ("main", "s1") in waits and ("main", "s2") in waits
    assert waits[-2:] in ([("main", "s1"), ("main", "s2")], [("main", "s2"), ("main", "s1")])
    x = np.array([1.0, 0.5])
    np.testing.assert_allclose(gx.asnumpy(), np.exp(x * [2, 3]) * [2, 3] + 2 * x, rtol=1e-6)
    np.testing.assert_allclose(gw[0].asnumpy(), np.exp(x * [2, 3]) * x, rtol=1e-6)


def test_one_stream_needs_no_events(fake, monkeypatch):
    _trace_backward_streams(fake, monkeypatch)
    ms.grad(lambda x: (x * x).sum())(ms.Tensor([1.0, 2.0]))
    assert all(kind == "run" for kind, *_ in fake.log)
    assert {stream for _, _, stream in fake.log} == {"main"}


def test_gradient_summed_from_two_streams_waits_before_adding(fake, monkeypatch):
    _trace_backward_streams(fake, monkeypatch)

    def fn(x):
        with fake.use("s1"):
            h = x * 1.0                  # consumer on s1
        with fake.use("s2"):
            a = h * 2.0                  # producers of h's gradient on s2 ...
        with fake.use("s3"):
            b = h * 3.0                  # ... and on s3
        return (a + b).sum()

    g = ms.grad(fn)(ms.Tensor([1.0]))
    assert g.asnumpy().tolist() == [5.0]
    records = {event: stream for kind, stream, event in fake.log if kind == "record"}
    waits = [(stream, records[event]) for kind, stream, event in fake.log if kind == "wait"]
    assert ("s1", "s2") in waits and ("s1", "s3") in waits
    run_h = fake.log.index(("run", "Mul", "s1"))
    wait_positions = [i for i, entry in enumerate(fake.log) if entry[0] == "wait" and entry[1] == "s1"]
    assert all(i < run_h for i in wait_positions[:2])


def test_default_streams_are_no_ops_on_the_cpu():
    s = ms.current_stream()
    with s:
        assert ms.current_stream() == s
    assert isinstance(ms.Stream(), ms.Stream)


@pytest.mark.gpu
def test_two_branches_on_two_streams_give_the_one_stream_gradients():
    x = ms.Tensor(np.random.default_rng(0).standard_normal((256, 256)), ms.float32, device="GPU")
    w1 = ms.Parameter(ms.Tensor(np.random.default_rng(1).standard_normal((256, 256)), ms.float32,
                                device="GPU"), name="w1")
    w2 = ms.Parameter(ms.Tensor(np.random.default_rng(2).standard_normal((256, 256)), ms.float32,
                                device="GPU"), name="w2")

    def net(inp, s1, s2):
        # Fork: the side streams start after the caller's work so far (x and the weights were
        # copied there); join: the caller waits for both branches before combining them.
        forked = ms.current_stream().record()
        s1.wait_event(forked)
        s2.wait_event(forked)
        with s1:
            a = ops.tanh(ops.matmul(inp, w1))
        with s2:
            b = ops.sigmoid(ops.matmul(inp, w2))
        ms.current_stream().wait_event(s1.record())
        ms.current_stream().wait_event(s2.record())
        return (a * b).sum()

    one = ms.current_stream()
    reference = ms.grad(lambda t: net(t, one, one), 0, [w1, w2])(x)
    split = ms.grad(lambda t: net(t, ms.Stream(), ms.Stream()), 0, [w1, w2])(x)
    np.testing.assert_allclose(split[0].asnumpy(), reference[0].asnumpy(), rtol=1e-5, atol=1e-5)
    for got, want in zip(split[1], reference[1]):
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-5)


def _fork(side):
    """``side`` starts after the caller's stream's work so far (a fork)."""
    side.wait_event(ms.current_stream().record())


@pytest.mark.gpu
def test_cast_of_a_returned_gradient_runs_on_the_nodes_stream():
    # Mul(float16, float32) computes in float32, so its backward returns a float32 gradient for
    # the float16 input, which the engine casts: that cast reads the node's result and must run on
    # the node's stream (on the caller's, nothing orders it after the kernel that made it).
    x = ms.Tensor(np.linspace(-1, 1, 64).reshape(8, 8), ms.float16, device="GPU")
    w = ms.Parameter(ms.Tensor(np.full((8, 8), 0.5), ms.float32, device="GPU"), name="w")
    side = ms.Stream()

    def f(inp):
        _fork(side)
        with side:
            y = inp * w
        ms.current_stream().wait_event(side.record())
        return y.sum()

    g = ms.grad(f)(x)
    assert g.dtype == ms.float16
    np.testing.assert_array_equal(g.asnumpy(), np.full((8, 8), 0.5, np.float16))


@pytest.mark.gpu
def test_a_gradient_read_on_another_stream_is_not_reused_before_that_stream_is_done():
    # y = (x * 2 on s1) * 3 on s2: the gradient of h is made on s2 and read on s1 by h's backward.
    # Once the engine drops it, CuPy's pool hands its block straight back to s2: until s1 has
    # read it, it must stay alive (PyTorch's record_stream rule).
    cupy = backend.cupy
    x = ms.Tensor(np.arange(1024, dtype=np.float32), device="GPU")
    s1, s2 = ms.Stream(), ms.Stream()

    def f(inp):
        _fork(s1)
        with s1:
            h = inp * 2.0
        s2.wait_event(s1.record())
        with s2:
            y = h * 3.0
        ms.current_stream().wait_event(s2.record())
        return y.sum()

    g = ms.grad(f)(x)
    with s2:  # new work on s2 takes blocks from s2's free list at once
        scratch = [cupy.ones(1024, cupy.float32) for _ in range(4)]
    ms.current_stream().wait_event(s2.record())
    np.testing.assert_array_equal(g.asnumpy(), np.full(1024, 6.0, np.float32))
    del scratch
