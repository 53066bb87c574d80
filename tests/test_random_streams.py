"""Random kernels on several streams: each launch draws from its own counter range, reserved on
the host, so dropouts on two streams never share an offset and never race on a shared state; a
captured graph still draws fresh numbers on every replay."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops

pytestmark = pytest.mark.gpu


def _fork(side):
    side.wait_event(ms.current_stream().record())


def test_dropouts_on_two_streams_draw_different_masks_without_racing():
    ms.set_seed(3)
    x = ms.Tensor(np.ones((32, 64)), ms.float32, device="GPU")
    s1, s2 = ms.Stream(), ms.Stream()
    _fork(s1)
    _fork(s2)
    with s1:
        a = ops.dropout(x, p=0.5)
    with s2:
        b = ops.dropout(x, p=0.5)
    ms.current_stream().wait_event(s1.record())
    ms.current_stream().wait_event(s2.record())
    mask_a, mask_b = a.asnumpy() != 0, b.asnumpy() != 0
    assert not np.array_equal(mask_a, mask_b)
    assert 0.4 < mask_a.mean() < 0.6 and 0.4 < mask_b.mean() < 0.6


def test_streams_draw_the_ranges_one_stream_would():
    def draws(two_streams: bool):
        ms.set_seed(5)
        x = ms.Tensor(np.ones((16, 16)), ms.float32, device="GPU")
        s1 = ms.Stream() if two_streams else ms.current_stream()
        _fork(s1)
        first = ops.dropout(x, p=0.5)
        with s1:
            second = ops.dropout(x, p=0.5)
        ms.current_stream().wait_event(s1.record())
        return first.asnumpy(), second.asnumpy()

    for got, want in zip(draws(True), draws(False)):
        np.testing.assert_array_equal(got, want)


def test_a_captured_fork_join_draws_fresh_masks_per_branch_and_replay():
    from gpucell.jit import clear_cache

    clear_cache()  # the one plan below is the only one in the cache

    @ms.jit
    def f(x):
        side = ms.Stream()
        _fork(side)
        a = ops.dropout(x, p=0.5)
        with side:
            b = ops.dropout(x, p=0.5)
        ms.current_stream().wait_event(side.record())
        return a, b

    x = ms.Tensor(np.ones(2048), ms.float32, device="GPU")
    outs = [[t.asnumpy() != 0 for t in f(x)] for _ in range(4)]
    from gpucell.jit import function

    (plan,) = function.PLANS._plans.values()
    assert plan.executor.kind == "cuda-graph" and not plan.executor.failed and plan.n_streams == 2
    for a, b in outs:
        assert not np.array_equal(a, b)
    assert not np.array_equal(outs[2][0], outs[3][0]) and not np.array_equal(outs[2][1], outs[3][1])
