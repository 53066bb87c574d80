"""Review of issue 17's optimizers, ops and dtype rules against MindSpore 2.x (source and docs).

Each expected value here is a hand computation or an output printed in MindSpore's documentation,
not a second run of gpucell's formula. The first part pins what the review fixed:

* ``nn.Lamb``'s trust ratio (MindSpore's Lamb kernel, lamb_gpu_kernel.h ``CalcTrustRatio`` and
  lamb_impl.cu ``ApplyLambEralyKernel``; the Ascend graph in nn/optim/lamb.py agrees): the norm in
  its denominator is of ``m_hat / sqrt(v_hat + eps) + wd * w`` (epsilon inside the root, unlike the
  step itself), and the ratio is clipped to [0, 10].
* Weight decay with parameter groups (nn/optim/optimizer.py: ``decay_filter = lambda x: x > 0``
  when ``is_group``): every Parameter of a group with weight decay > 0 is decayed, ``gamma`` and
  ``beta`` too; the name filter is the ungrouped default only.
* A group's ``grad_centralization`` was accepted and ignored; it is now checked (a bool) and
  applied as MindSpore applies it (tests/nn/test_grad_centralization.py has the trajectories).

The rest re-checks, on both backends, behaviours the review found right: MindSpore's documented
examples of topk, sort, argsort, round, norm, linspace, chunk, eye, Argmax, its type-promotion
table (mindspore.dtype) and Parameter.set_data's implicit-conversion order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops


def _param(device, values, name):
    return Parameter(Tensor(np.asarray(values, np.float32), device=device), name=name)


# -- Lamb's trust ratio ------------------------------------------------------------------------------
def test_lamb_trust_ratio_is_clipped_at_ten(device):
    # One step, g = [1, 1]: m_hat = g, v_hat = g^2, so r = 1 / (1 + 1e-6) per coordinate and the
    # unclipped ratio ||w|| / ||g_hat|| is about 100. MindSpore clips it to 10: w -= 0.01 * 10 * r.
    w = _param(device, [100.0, 100.0], "w")
    opt = nn.Lamb([w], learning_rate=0.01)
    opt((Tensor(np.ones(2, np.float32), device=device),))
    r = 1.0 / (1.0 + 1e-6)
    np.testing.assert_allclose(w.asnumpy(), [100.0 - 0.1 * r] * 2, rtol=1e-6)  # unclipped: 99.0


def test_lamb_trust_ratio_norm_has_epsilon_inside_the_root(device):
    # Small gradients, where the two places of epsilon differ: g = 1e-3, so v_hat = 1e-6 = eps.
    # Step direction r = 1e-3 / (1e-3 + 1e-6); trust-ratio vector g_hat = 1e-3 / sqrt(2e-6) = 1/sqrt(2)
    # per coordinate, ||g_hat|| = 1, ||w|| = 0.005: trust = 0.005 (0.00354 with ||r|| instead).
    w = _param(device, [0.003, 0.004], "w")
    opt = nn.Lamb([w], learning_rate=1.0)
    opt((Tensor(np.full(2, 1e-3, np.float32), device=device),))
    r = 1e-3 / (1e-3 + 1e-6)
    trust = 0.005 / math.hypot(1e-3 / math.sqrt(2e-6), 1e-3 / math.sqrt(2e-6))
    np.testing.assert_allclose(w.asnumpy(), [0.003 - trust * r, 0.004 - trust * r], rtol=1e-4, atol=1e-9)


def test_lamb_trust_ratio_with_weight_decay_in_both_norm_and_step(device):
    # g = 0 on the first step: m_hat = v_hat = 0, so r = g_hat = wd * w, trust = ||w|| / (wd ||w||)
    # = 1 / wd = 4 (below the clip), and w -= lr * 4 * 0.25 * w = lr * w.
    w = _param(device, [3.0, 4.0], "w")
    opt = nn.Lamb([w], learning_rate=0.1, weight_decay=0.25)
    opt((Tensor(np.zeros(2, np.float32), device=device),))
    np.testing.assert_allclose(w.asnumpy(), [2.7, 3.6], rtol=1e-6)


# -- weight decay with parameter groups ----------------------------------------------------------------
def test_grouped_weight_decay_reaches_gamma_and_beta(device):
    w = _param(device, [1.0, 2.0], "dense.weight")
    gamma = _param(device, [2.0, 4.0], "bn.gamma")
    beta = _param(device, [4.0, 8.0], "bn.beta")
    groups = [{"params": [w]}, {"params": [gamma], "weight_decay": 0.5}, {"params": [beta]}]
    opt = nn.SGD(groups, learning_rate=1.0, weight_decay=0.25)
    assert opt.decay_flags == (True, True, True)
    zeros = tuple(Tensor(np.zeros(2, np.float32), device=device) for _ in range(3))
    opt(zeros)
    # p -= lr * (0 + wd * p): the group's 0.5 for gamma, the optimizer's 0.25 for the others.
    np.testing.assert_allclose(w.asnumpy(), [0.75, 1.5])
    np.testing.assert_allclose(gamma.asnumpy(), [1.0, 2.0])
    np.testing.assert_allclose(beta.asnumpy(), [3.0, 6.0])


def test_grouped_zero_weight_decay_and_ungrouped_name_filter(device):
    gamma = _param(device, [2.0, 4.0], "bn.gamma")
    w = _param(device, [2.0, 4.0], "w")
    groups = [{"params": [gamma], "weight_decay": 0.0}, {"params": [w]}]
    adagrad = nn.Adagrad(groups, weight_decay=0.5)
    assert adagrad.decay_flags == (False, True) and adagrad.group_weight_decay == (0.0, 0.5)
    plain = nn.Adagrad([_param(device, [1.0], "bn.gamma"), _param(device, [1.0], "w2")], weight_decay=0.5)
    assert plain.decay_flags == (False, True)  # no groups: MindSpore's name filter
    sgd = nn.SGD(groups, learning_rate=1.0, weight_decay=0.5)
    sgd((Tensor(np.zeros(2, np.float32), device=device), Tensor(np.zeros(2, np.float32), device=device)))
    np.testing.assert_allclose(gamma.asnumpy(), [2.0, 4.0])  # its group's decay is 0
    np.testing.assert_allclose(w.asnumpy(), [1.0, 2.0])  # the optimizer's 0.5


def test_grad_centralization_applies_where_mindspore_applies_it(device):
    # MindSpore centralizes the gradient of a Parameter with >= 2 dims and dim 1 a multiple of 16
    # (optimizer.py, _apply_grad_centralization): g - mean(g over dims 1..n). One Momentum step at
    # lr 1 with momentum 0 moves w by -g_c: the row [0, 1, ..., 15] has mean 7.5.
    dense = _param(device, np.zeros((1, 16)), "dense.weight")
    odd = _param(device, np.zeros((1, 10)), "odd.weight")  # dim 1 = 10: left as it is
    opt = nn.Momentum([{"params": [dense, odd], "grad_centralization": True}], 1.0, 0.0)
    opt((Tensor(np.arange(16, dtype=np.float32)[None], device=device),
         Tensor(np.arange(10, dtype=np.float32)[None], device=device)))
    np.testing.assert_allclose(dense.asnumpy(), 7.5 - np.arange(16)[None])
    np.testing.assert_allclose(odd.asnumpy(), -np.arange(10)[None])
    with pytest.raises(TypeError, match="the 'grad_centralization' of group 0 must be a bool"):
        nn.RMSProp([{"params": [dense], "grad_centralization": 1}])


# -- ops: MindSpore's documented examples ----------------------------------------------------------------
_TOPK_X = [[0.5368, 0.2447, 0.4302, 0.9673], [0.4388, 0.6525, 0.4685, 0.1868], [0.3563, 0.5152, 0.9675, 0.8230]]


def test_topk_doc_example(device):
    x = Tensor(np.array(_TOPK_X, np.float32), device=device)
    values, indices = ops.topk(x, 2, dim=1)
    np.testing.assert_allclose(values.asnumpy(), [[0.9673, 0.5368], [0.6525, 0.4685], [0.9675, 0.8230]], rtol=1e-6)
    assert indices.dtype == ms.int32 and indices.asnumpy().tolist() == [[3, 0], [1, 2], [2, 3]]
    values, indices = ops.topk(x, 2, dim=1, largest=False)
    np.testing.assert_allclose(values.asnumpy(), [[0.2447, 0.4302], [0.1868, 0.4388], [0.3563, 0.5152]], rtol=1e-6)
    assert indices.asnumpy().tolist() == [[1, 2], [3, 0], [0, 1]]


def test_sort_and_argsort_doc_example(device):
    x = Tensor(np.array([[8, 2, 1], [5, 9, 3], [4, 6, 7]], np.float16), device=device)
    values, indices = ops.sort(x)
    assert values.dtype == ms.float16 and indices.dtype == ms.int32
    assert values.asnumpy().tolist() == [[1, 2, 8], [3, 5, 9], [4, 6, 7]]
    assert indices.asnumpy().tolist() == [[2, 1, 0], [2, 0, 1], [0, 1, 2]]
    order = ops.argsort(x)
    assert order.dtype == ms.int32 and order.asnumpy().tolist() == [[2, 1, 0], [2, 0, 1], [0, 1, 2]]


def test_round_is_half_to_even_doc_example(device):
    out = ops.round(Tensor(np.array([0.8, 1.5, 2.3, 2.5, -4.5], np.float32), device=device))
    assert out.asnumpy().tolist() == [1.0, 2.0, 2.0, 2.0, -4.0]


def test_norm_doc_examples(device):
    a = Tensor(np.arange(9, dtype=np.float32) - 4, device=device)
    b = a.reshape(3, 3)
    cases = [(ops.norm(a), 7.745967), (ops.norm(b), 7.745967), (ops.norm(a, float("inf")), 4.0),
             (ops.norm(b, float("inf")), 9.0), (ops.norm(a, -float("inf")), 0.0), (ops.norm(b, 1), 7.0),
             (ops.norm(b, -1), 6.0), (ops.norm(a, 3), 5.848036), (ops.norm(a, -3), 0.0)]
    for out, expected in cases:
        np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-6)


def test_linspace_eye_chunk_argmax_defaults(device):
    out = ops.linspace(Tensor(1.0, ms.float32), Tensor(10.0, ms.float32), 5)
    assert out.dtype == ms.float32 and out.asnumpy().tolist() == [1.0, 3.25, 5.5, 7.75, 10.0]
    assert ops.eye(2).dtype == ms.float32
    assert [c.shape for c in ops.chunk(ops.ones((6, 1)), 4)] == [(2, 1)] * 3  # ceil(6 / 4) = 2: 3 pieces
    x = Tensor(np.array([[1.0, 20.0, 5.0], [67.0, 8.0, 9.0]], np.float32), device=device)
    index = ops.Argmax()(x)
    assert index.dtype == ms.int32 and index.asnumpy().tolist() == [1, 0]  # Argmax's documented output
    assert ops.Argmax(output_type=ms.int64)(x).dtype == ms.int64


# -- dtype rules ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, expected", [
    (ms.int8, ms.uint8, ms.int16), (ms.int32, ms.uint8, ms.int32), (ms.bool_, ms.uint16, ms.uint16),
    (ms.float16, ms.bfloat16, ms.float32), (ms.int64, ms.bfloat16, ms.bfloat16),
    (ms.float64, ms.complex64, ms.complex128), (ms.float32, ms.complex64, ms.complex64),
    (ms.int64, ms.complex64, ms.complex64), (ms.complex64, ms.complex128, ms.complex128),
], ids=str)
def test_promotion_follows_mindspores_table(device, a, b, expected):
    x = Tensor(np.ones(2, a.numpy), device=device)
    y = Tensor(np.ones(2, b.numpy), device=device)
    assert (x + y).dtype == expected and (y + x).dtype == expected


@pytest.mark.parametrize("a, b", [(ms.uint16, ms.int8), (ms.uint32, ms.int32), (ms.uint64, ms.int64),
                                  (ms.uint16, ms.uint8)], ids=str)
def test_unsigned_pairs_without_promotion_raise(a, b):
    with pytest.raises(TypeError, match="have no common dtype"):
        Tensor(np.ones(2, a.numpy)) + Tensor(np.ones(2, b.numpy))


def test_set_data_follows_implicit_conversion_order(device):
    p = Parameter(Tensor(np.zeros(2, np.float32), device=device), name="p")
    p.set_data(Tensor(np.array([1, 2], np.int32), device=device))  # int32 before float32: cast
    assert p.dtype == ms.float32 and p.asnumpy().tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="Current dtype is Float32, and incoming is Float64"):
        p.set_data(Tensor(np.zeros(2, np.float64), device=device))
    q = Parameter(Tensor(np.zeros(2, np.int32), device=device), name="q")
    with pytest.raises(TypeError, match="can not be converted to current dtype implicitly"):
        q.set_data(Tensor(np.zeros(2, np.float32), device=device))
    with pytest.raises(TypeError, match="can not be converted to current dtype implicitly"):
        q.set_data(1.5)  # a float into an int Parameter, as MindSpore refuses it
