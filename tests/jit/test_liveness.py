"""Liveness: a CPU replay drops each temporary after its last use, as eager execution does, and
still computes what eager computes (bit for bit on the CPU)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from jit_testing import assert_same

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.jit import clear_cache, function
from gpucell.jit.liveness import dead_after
from gpucell.jit.tracer import ARG, CONST, PARAM, TEMP, Step

MIB_FLOATS = 1 << 18  # float32 values in 1 MiB


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _plan():
    (plan,) = function.PLANS._plans.values()
    return plan


def _peak(fn) -> int:
    """Bytes allocated at the peak of ``fn()`` above what was live before (NumPy reports its
    buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _encoder_step(seed: int = 0):
    """A training step over a small Transformer encoder: masked attention, layer norms, SGD."""
    ms.set_seed(seed)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    encoder, head = nn.TransformerEncoder(layer, 2), nn.Dense(32, 5)
    params = encoder.trainable_params() + head.trainable_params()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    opt = nn.SGD(params, learning_rate=0.05)
    grad_fn = ms.value_and_grad(
        lambda x, m, y: loss_fn(head(ops.mean(encoder(x, src_key_padding_mask=m), 1)), y), None, params)

    def step(x, m, y):
        loss, grads = grad_fn(x, m, y)
        opt(grads)
        return loss

    return params, step


def _encoder_batch(device, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((8, 16, 32)).astype(np.float32), device=device)
    mask = np.zeros((8, 16), bool)
    mask[:, 12:] = rng.random((8, 4)) < 0.5
    y = Tensor(rng.integers(0, 5, 8).astype(np.int32), device=device)
    return x, Tensor(mask, device=device), y


def test_dead_after_drops_temporaries_only_after_their_last_use():
    # slots: 0 arg, 1 param, 2 const, 3..6 temporaries; step 2 writes 4 in place; 6 is returned.
    kinds = [(ARG, 0), (PARAM, None), (CONST, 2.0), (TEMP,), (TEMP,), (TEMP,), (TEMP,)]
    steps = (Step(None, None, (0, 1), None, {}, 3),
             Step(None, None, (3, 2), None, {}, (4, 5)),   # 5 is never read: dropped at once
             Step(None, None, (4, 0), None, {}, None),     # in place into 4
             Step(None, None, (4, 3), None, {}, 6))
    assert dead_after(steps, [6], kinds) == ((), (5,), (), (3, 4))


def test_a_training_plan_drops_every_temporary_once_and_never_before_a_read(device):
    x, m, y = _encoder_batch(device)
    _, step = _encoder_step()
    jitted = ms.jit(step)
    jitted(x, m, y)
    plan = _plan()
    kinds = [None] * plan.n_slots
    for slots, kind in ((plan.arg_slots, ARG), (plan.param_slots, PARAM), (plan.const_slots, CONST)):
        for slot, _ in slots:
            kinds[slot] = kind
    returned = set(plan._output_slots(plan.output))
    dropped: set[int] = set()
    for position, (s, drop) in enumerate(zip(plan.steps, plan.dead)):
        written = () if s.outs is None else ((s.outs,) if type(s.outs) is int else s.outs)
        assert not dropped & (set(s.ins) | set(written)), f"step {position} ({s.op.name}) uses a dropped slot"
        assert all(kinds[slot] is None for slot in drop) and not returned & set(drop)
        assert not dropped & set(drop), "a slot dropped twice"
        dropped.update(drop)
    produced = {slot for s in plan.steps for slot in
                (() if s.outs is None else ((s.outs,) if type(s.outs) is int else s.outs))}
    temporaries = {slot for slot in produced if kinds[slot] is None}
    assert temporaries - returned == dropped  # nothing but the call's outputs outlives the call


def test_replay_with_in_place_writes_and_returned_intermediates_equals_eager(device):
    def fn(x):
        a = x * 2.0
        b = a + 1.0
        b[0] = 7.0           # an in-place write into a temporary after it was read
        c = ops.exp(b) - a   # a is read again after b was written
        d = ops.reshape(c, (-1,))
        return a, d * 3.0, ops.sum(d)

    rng = np.random.default_rng(2)
    jitted = ms.jit(fn)
    for _ in range(4):
        x = Tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device)
        for got, want in zip(jitted(x), fn(x)):
            assert_same(got.asnumpy(), want.asnumpy(), device)
    assert any(_plan().dead)


def test_encoder_training_step_replays_like_eager(device):
    batches = [_encoder_batch(device, seed) for seed in range(4)]
    eager_params, eager_step = _encoder_step()
    jit_params, jit_step = _encoder_step()
    jitted = ms.jit(jit_step)
    for x, m, y in batches:
        assert_same(jitted(x, m, y).asnumpy(), eager_step(x, m, y).asnumpy(), device)
    for a, b in zip(jit_params, eager_params):
        assert_same(a.asnumpy(), b.asnumpy(), device)


def test_a_cpu_replay_holds_a_chain_of_temporaries_one_at_a_time():
    # Twelve 1 MiB temporaries in a chain: eager holds two at a time, and so must a replay (before
    # liveness it held all twelve until the call returned, and NumPy took each from fresh pages).
    def chain(x):
        for _ in range(12):
            x = x * 1.5 + 0.25
        return x

    x = Tensor(np.ones(MIB_FLOATS, np.float32))
    jitted = ms.jit(chain)
    jitted(x)
    want = chain(x).asnumpy()
    np.testing.assert_array_equal(jitted(x).asnumpy(), want)
    assert _peak(lambda: jitted(x)) < 4 << 20


def test_a_cpu_replay_of_an_encoder_step_peaks_no_higher_than_eager():
    # Measured on benchmarks/transformer_step.py's step: eager 4.5 MB, replay 18.4 MB before
    # liveness, 3.6 MB after. tracemalloc counts bytes, so this does not depend on the machine.
    x, m, y = _encoder_batch("CPU")
    _, eager_step = _encoder_step()
    _, jit_step = _encoder_step()
    jitted = ms.jit(jit_step)
    for _ in range(2):
        jitted(x, m, y)
        eager_step(x, m, y)
    assert _peak(lambda: jitted(x, m, y)) <= _peak(lambda: eager_step(x, m, y))
