"""Plan memory: a plan's private pool goes back to the device when the cache drops the plan, the
cache is bounded by bytes as well as by plans, and ``cache_info`` reports what the plans hold.

The GPU tests run the real executor (CuPy, or the simulated device, whose pool follows CuPy's rules
and whose ``Graph.launch`` refuses memory freed after the capture). The CPU tests run the cache's
bookkeeping with stand-in plans, and the executor's release with a stand-in runner.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import pytest
from jit_testing import assert_same

import gpucell as ms
from gpucell import Tensor, _config, backend, nn, ops
from gpucell.backend import graphs
from gpucell.jit import cache, cache_info, clear_cache, executors, function, set_cache_limits
from gpucell.jit.cache import PlanCache
from gpucell.ops._dispatch import Op, apply


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(executors.CudaGraphExecutor, "_warned", False)  # a failed capture warns
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def runners(monkeypatch):
    """Every GraphRunner made during the test (they keep their pool object after release)."""
    made = []
    init = graphs.GraphRunner.__init__

    def tracked(self):
        init(self)
        made.append(self)

    monkeypatch.setattr(graphs.GraphRunner, "__init__", tracked)
    return made


def _gpu(values, dtype=ms.float32):
    return Tensor(np.asarray(values), dtype, device="GPU")


def _executors():
    return [plan.executor for plan in function.PLANS._plans.values()]


# -- the cache's bookkeeping, with stand-in plans --------------------------------------------------
class _Executor:
    graph_breaks = 0

    def __init__(self, name, nbytes, released):
        self.name, self.nbytes, self.released = name, nbytes, released
        self.on_capture = None

    def held_bytes(self):
        return self.nbytes

    def release(self):
        self.released.append(self.name)


class _Plan:
    def __init__(self, name, nbytes, released):
        self.valid = True
        self.executor = _Executor(name, nbytes, released)

    def matches(self):
        return self.valid


def _fill(cache, sizes, released):
    plans = {name: _Plan(name, nbytes, released) for name, nbytes in sizes.items()}
    for name, plan in plans.items():
        cache.put(name, plan)
    return plans


def test_cache_evicts_least_recent_plans_over_the_byte_bound_and_releases_them():
    released = []
    cache = PlanCache(maxsize=10, max_bytes=100)
    _fill(cache, {"a": 40, "b": 40}, released)
    assert cache.get("a") is not None  # "b" is now the least recent
    cache.put("c", _Plan("c", 40, released))
    assert released == ["b"] and list(cache._plans) == ["a", "c"]
    info = cache.info()
    assert (info.plans, info.held_bytes, info.evictions, info.max_bytes) == (2, 80, 1, 100)


def test_the_most_recent_plan_stays_even_alone_over_the_bound():
    released = []
    cache = PlanCache(max_bytes=100)
    _fill(cache, {"a": 30, "big": 500}, released)
    assert released == ["a"] and list(cache._plans) == ["big"]
    assert cache.info().held_bytes == 500  # dropping it would make every call trace again


def test_a_capture_checks_the_byte_bound_again():
    released = []
    cache = PlanCache(max_bytes=100)
    plans = _fill(cache, {"a": 60, "b": 0}, released)  # "b" holds nothing until its capture
    assert released == []
    plans["b"].executor.nbytes = 60
    plans["b"].executor.on_capture()  # what the executor calls after capturing
    assert released == ["a"] and cache.info().evictions == 1


def test_the_plan_count_bound_releases_too():
    released = []
    cache = PlanCache(maxsize=2)
    _fill(cache, {"a": 1, "b": 1, "c": 1}, released)
    assert released == ["a"] and cache.info().evictions == 1


def test_invalidated_replaced_and_cleared_plans_are_released():
    released = []
    cache = PlanCache()
    plans = _fill(cache, {"a": 1, "b": 1}, released)
    plans["a"].valid = False  # a Parameter it read was replaced
    assert cache.get("a") is None and released == ["a"]
    cache.put("b", _Plan("b2", 1, released))  # another thread traced the same key meanwhile
    assert released == ["a", "b"]
    cache.clear()
    assert released == ["a", "b", "b2"]
    info = cache.info()
    assert (info.plans, info.held_bytes, info.evictions) == (0, 0, 0)


def test_limits_are_checked_and_set_limits_evicts_what_no_longer_fits():
    for bad in (-1, 1.5, True, "1G"):
        with pytest.raises(ValueError, match="max_bytes"):
            PlanCache(max_bytes=bad)
    released = []
    cache = PlanCache(max_bytes=1000)
    _fill(cache, {"a": 50, "b": 50, "c": 50}, released)
    cache.set_limits(max_bytes=100)
    assert released == ["a"] and cache.max_bytes == 100
    cache.set_limits(maxsize=1)
    assert released == ["a", "b"] and cache.maxsize == 1
    with pytest.raises(ValueError, match="maxsize"):
        cache.set_limits(maxsize=0)


def test_default_byte_bound(monkeypatch):
    monkeypatch.setattr(_config, "JIT_CACHE_BYTES", None)
    monkeypatch.setattr(graphs, "device_memory", lambda: 16 << 30)
    assert PlanCache().max_bytes == 8 << 30  # half the GPU
    monkeypatch.setattr(graphs, "device_memory", lambda: 0)
    assert PlanCache().max_bytes == 1 << 30  # no GPU: constants only, 1 GiB
    monkeypatch.setattr(_config, "JIT_CACHE_BYTES", 123)
    assert PlanCache().max_bytes == 123 and cache.default_max_bytes() == 123
    assert PlanCache(max_bytes=7).max_bytes == 7


@pytest.mark.parametrize("text, value", [("1048576", 1 << 20), ("4G", 4 << 30), ("512m", 512 << 20),
                                         ("2GiB", 2 << 30), ("64KB", 64 << 10)])
def test_cache_bytes_flag(monkeypatch, text, value):
    monkeypatch.setenv("GPUCELL_JIT_CACHE_BYTES", text)
    assert _config._bytes_flag("GPUCELL_JIT_CACHE_BYTES") == value


def test_cache_bytes_flag_refuses_what_is_not_a_size(monkeypatch):
    monkeypatch.setenv("GPUCELL_JIT_CACHE_BYTES", "1.5G")
    with pytest.raises(ValueError, match="GPUCELL_JIT_CACHE_BYTES.*'1.5G'"):
        _config._bytes_flag("GPUCELL_JIT_CACHE_BYTES")


# -- the executor's release, with a stand-in runner ------------------------------------------------
class _LoggingRunner:
    """Records what the executor asks; its "graph" re-runs the captured steps."""

    def __init__(self):
        self.log = []
        self.pool_bytes = 0

    def on_private_stream(self):
        return contextlib.nullcontext()

    def after_caller(self):
        pass

    def capture(self, run):
        self.pool_bytes = 4096
        return run

    def launch(self, graph):
        graph()

    def synchronize(self):
        self.log.append("synchronize")

    def release(self):
        self.log.append("release")
        self.pool_bytes = 0

    def held_bytes(self):
        return self.pool_bytes


def test_release_waits_for_the_stream_then_drops_graphs_buffers_and_pool(monkeypatch):
    monkeypatch.setattr(graphs, "GraphRunner", _LoggingRunner)
    monkeypatch.setattr(function, "make_executor", lambda plan, on_cpu: executors.CudaGraphExecutor(plan))
    runner_log = []

    def synchronize(self):
        runner_log.append(("synchronize", self.owner.graphs is not None))  # graphs still held

    monkeypatch.setattr(_LoggingRunner, "synchronize", synchronize)
    f = ms.jit(lambda x: x * 2 + 1)
    x = Tensor(np.array([1.0, 2.0], np.float32))
    for _ in range(3):
        f(x)
    (executor,) = _executors()
    runner = executor.runner
    runner.owner = executor
    assert executor.graphs is not None and cache_info().held_bytes == 4096
    clear_cache()
    assert runner_log == [("synchronize", True)] and runner.log == ["release"]
    assert executor.released and executor.graphs is None and executor.env is None
    assert executor.runner is None and executor.held_bytes() == 0
    # A thread that took the plan before it was dropped still gets the right result (eagerly).
    np.testing.assert_array_equal(executor([x._data]).asnumpy(), [3.0, 5.0])
    executor.release()  # twice: nothing more
    assert runner.log == ["release"]


# -- on the GPU --------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_eviction_frees_the_plans_pool_and_its_outputs_survive(monkeypatch, runners):
    monkeypatch.setattr(function.PLANS, "maxsize", 1)

    @ms.jit
    def f(x):
        y = ops.exp(x * 0.5) + 1
        return y * y, ops.softmax(y)

    a = np.linspace(-1, 1, 64, dtype=np.float32)
    outs = [f(_gpu(a * k)) for k in (1, 2, 3)]  # trace, warm-up + capture, replay
    (first,) = _executors()
    pool = first.runner.pool
    assert first.graphs is not None and pool.total_bytes() > 0
    assert cache_info().held_bytes == first.held_bytes() == pool.total_bytes() + first.plan.held_bytes()

    b = np.linspace(-2, 2, 32, dtype=np.float32)
    other = [f(_gpu(b)) for _ in range(3)]  # a new key: the cache holds one plan, so "first" goes
    assert first.released and first.graphs is None and first.env is None
    assert pool.total_bytes() == 0 and pool.n_free_blocks() == 0  # every block back to the device
    info = cache_info()
    assert info.evictions == 1 and info.plans == 1 and info.held_bytes == _executors()[0].held_bytes()
    # Outputs handed out before the eviction (the warm-up call's too) never lived in that pool.
    for k, (sq, sm) in zip((1, 2, 3), outs):
        y = np.exp(a * k * 0.5) + 1
        np.testing.assert_allclose(sq.asnumpy(), y * y, rtol=1e-5)
        np.testing.assert_allclose(sm.asnumpy(), np.exp(y - y.max()) / np.exp(y - y.max()).sum(), rtol=1e-5)
    y = np.exp(b * 0.5) + 1
    for sq, _ in other:
        np.testing.assert_allclose(sq.asnumpy(), y * y, rtol=1e-5)
    # The evicted key comes back: traced and captured again, equal to eager.
    for k in (4, 5, 6):
        sq, _ = f(_gpu(a * k))
        np.testing.assert_allclose(sq.asnumpy(), (np.exp(a * k * 0.5) + 1) ** 2, rtol=1e-5)
    assert cache_info().misses == 3 and cache_info().evictions == 2
    assert sum(r.pool.total_bytes() for r in runners) == cache_info().held_bytes - sum(
        e.plan.held_bytes() for e in _executors())


@pytest.mark.gpu
def test_clear_cache_gives_every_pool_back(runners):
    @ms.jit
    def f(x):
        return ops.tanh(x) * 2 + x

    for n in (8, 16, 24):
        for _ in range(3):
            f(_gpu(np.ones(n)))
    info = cache_info()
    assert info.captures == 3 and info.held_bytes == sum(e.held_bytes() for e in _executors()) > 0
    assert sum(r.pool.total_bytes() for r in runners) > 0
    clear_cache()
    assert cache_info().held_bytes == 0 and sum(r.pool.total_bytes() for r in runners) == 0


def _training(seed: int = 0):
    ms.set_seed(seed)
    net = nn.Dense(8, 4)
    for p in net.get_parameters():
        p.move_to("GPU")
    opt = nn.SGD(net.trainable_params(), learning_rate=0.05)
    grad_fn = ms.value_and_grad(lambda x, y: ((net(x) - y) ** 2).mean(), None, opt.parameters)

    def step(x, y):
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss
    return net, step


@pytest.mark.gpu
def test_200_shapes_keep_plan_memory_under_the_bound_and_replay_like_eager(monkeypatch, runners):
    bound = 64 << 10
    monkeypatch.setattr(function.PLANS, "_max_bytes", function.PLANS._max_bytes)  # restored after
    set_cache_limits(max_bytes=bound)
    rng = np.random.default_rng(0)
    sizes = [int(n) for n in rng.permutation(np.arange(1, 201))]
    sizes += sizes[:10]  # keys that come back after their plans were evicted
    batches = [(rng.standard_normal((n, 8)), rng.standard_normal((n, 4))) for n in sizes]
    calls = [3 if i % 20 == 0 or i >= 200 else 2 for i in range(len(sizes))]  # some replays too

    # Eager first, to compare results and what the default pool needs without plans.
    pool = backend.cupy.get_default_memory_pool()
    eager_net, eager_step = _training()
    pool.free_all_blocks()
    start, eager_growth, want = pool.total_bytes(), 0, []
    for (x, y), count in zip(batches, calls):
        for _ in range(count):
            want.append(eager_step(_gpu(x), _gpu(y)).asnumpy())
            eager_growth = max(eager_growth, pool.total_bytes() - start)

    jit_net, jit_step = _training()
    jit_step = ms.jit(jit_step)
    pool.free_all_blocks()
    start, jit_growth, got, held_peak = pool.total_bytes(), 0, [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed capture would warn and fall back
        for (x, y), count in zip(batches, calls):
            for _ in range(count):
                got.append(jit_step(_gpu(x), _gpu(y)).asnumpy())
                jit_growth = max(jit_growth, pool.total_bytes() - start)
                pools = sum(r.pool.total_bytes() for r in runners)  # live and evicted plans alike
                info = cache_info()
                assert pools <= info.held_bytes  # evicted plans hold nothing
                assert info.held_bytes <= bound or info.plans == 1, info
                held_peak = max(held_peak, pools)
    info = cache_info()
    assert info.misses == len(sizes) and info.evictions > 150 and info.captures >= 1
    assert 0 < held_peak <= bound
    assert jit_growth <= 1.5 * eager_growth + (64 << 10), (jit_growth, eager_growth)
    for a, b in zip(got, want):
        assert_same(a, b, "GPU")
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        assert_same(a.asnumpy(), b.asnumpy(), "GPU")


@pytest.mark.gpu
def test_eviction_while_another_thread_replays(monkeypatch):
    monkeypatch.setattr(function.PLANS, "maxsize", 1)

    @ms.jit
    def f(x):
        return ops.exp(x) * 2 - x

    a = np.linspace(-1, 1, 256, dtype=np.float32)
    want = np.exp(a) * 2 - a
    errors = []

    def replay():
        try:
            with ms.Stream():
                for _ in range(30):
                    np.testing.assert_allclose(f(_gpu(a)).asnumpy(), want, rtol=1e-6)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=replay)
    worker.start()
    for n in range(30):  # new keys: each evicts the plan the worker replays
        b = np.full(n + 1, 0.5, np.float32)
        np.testing.assert_allclose(f(_gpu(b)).asnumpy(), np.exp(b) * 2 - b, rtol=1e-6)
    worker.join()
    assert not errors, errors[0]
    assert cache_info().evictions > 0


@pytest.mark.gpu
def test_no_pool_is_freed_while_another_thread_captures():
    """A cudaFree breaks every capture in progress: a release on another thread waits for it."""
    g = ms.jit(lambda x: x + 1)
    for _ in range(3):
        g(_gpu([1.0, 2.0]))
    (old,) = _executors()
    pool = old.runner.pool
    assert pool.total_bytes() > 0
    seen = {}

    def release_meanwhile(x):
        if backend.cupy.cuda.get_current_stream().is_capturing():
            other = threading.Thread(target=old.release)
            other.start()
            other.join(timeout=0.3)
            seen["waited"], seen["thread"] = other.is_alive(), other
        return x * 2

    op = Op("ReleaseDuringCaptureForTest", lambda x: x * 2, release_meanwhile)
    f = ms.jit(lambda x: apply(op, x) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a capture broken by the free would warn and fall back
        outs = [f(_gpu([1.0, 2.0])).asnumpy() for _ in range(3)]
    seen["thread"].join()
    assert seen["waited"] and old.released and pool.total_bytes() == 0
    new = [e for e in _executors() if e is not old][0]
    assert new.graphs is not None and not new.failed
    for out in outs:
        np.testing.assert_array_equal(out, [3.0, 5.0])


@pytest.mark.gpu
def test_a_released_pool_with_a_block_still_in_use_is_kept_until_it_comes_back():
    runner = graphs.GraphRunner()
    with runner.on_private_stream():
        kept = backend.cupy.ones(1000, np.float32)  # an array that outlives its plan (a bug elsewhere)
        backend.cupy.ones(3000, np.float32)  # a free block after this line
    runner.release()
    pool = runner.pool
    assert pool.used_bytes() > 0 and pool.total_bytes() == pool.used_bytes()  # the free block went
    assert any(p is pool for p in graphs._kept)  # CuPy would free a dead pool's blocks under `kept`
    np.testing.assert_array_equal(backend.cupy.asnumpy(kept), np.ones(1000, np.float32))
    del kept
    graphs.GraphRunner().release()  # any later release frees what came back
    assert pool.total_bytes() == 0 and not any(p is pool for p in graphs._kept)
