"""nn.Embedding and ops.embedding: lookup, padding_idx, scatter-add gradient, repr, errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(4)


def test_lookup_and_gradient_with_repeated_ids(device):
    table = RNG.standard_normal((5, 3))
    ids = np.array([[1, 4, 1], [0, 1, 2]], np.int32)
    out = ops.embedding(on(device, ids), on(device, table))
    np.testing.assert_array_equal(host(out), table[ids])
    gradcheck(lambda t: ops.embedding(on(device, ids), t), table, device=device)


def test_cell(device):
    net = nn.Embedding(6, 4, padding_idx=2)
    assert net.embedding_table.shape == (6, 4)
    np.testing.assert_array_equal(host(net.embedding_table)[2], np.zeros(4))
    if device != "CPU":
        net.embedding_table.move_to(device)
    ids = on(device, np.array([[2, 5]], np.int32))
    assert net(ids).shape == (1, 2, 4)
    grad = ms.grad(lambda ids: ops.sum(net(ids)), None, net.trainable_params())(ids)
    expected = np.zeros((6, 4))
    expected[[2, 5]] = 1
    np.testing.assert_array_equal(host(grad[0]), expected)


def test_repr_and_errors():
    assert repr(nn.Embedding(4, 2)) == (
        "Embedding(vocab_size=4, embedding_size=2, use_one_hot=False, embedding_table=Parameter "
        "(name=embedding_table, shape=(4, 2), dtype=Float32, requires_grad=True), dtype=Int32, "
        "padding_idx=None)")
    with pytest.raises(ValueError, match=r"'Embedding'.*\[0, 4\).*7"):
        nn.Embedding(4, 2)(Tensor([1, 7]))
    with pytest.raises(TypeError, match="'Embedding'.*int.*Float32"):
        nn.Embedding(4, 2)(Tensor([1.0]))
    with pytest.raises(ValueError, match="'Embedding'.*'padding_idx'.*4"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match="'Embedding'.*'vocab_size'"):
        nn.Embedding(0, 2)


def test_functional_padding_idx_and_frequency_scaling(device):
    table = RNG.standard_normal((5, 3))
    ids = np.array([[1, 4, 1], [0, 1, 2]], np.int32)
    for padding_idx, freq in ((1, False), (-1, False), (None, True), (4, True)):
        out = ops.embedding(on(device, ids), on(device, table), padding_idx, scale_grad_by_freq=freq)
        np.testing.assert_array_equal(host(out), table[ids])  # the forward is the plain lookup
        counts = np.bincount(ids.ravel(), minlength=5).astype(float)
        w = RNG.standard_normal(ids.shape + (3,))
        grad = ms.grad(lambda t: ops.sum(ops.embedding(on(device, ids), t, padding_idx, scale_grad_by_freq=freq) *
                                         on(device, w)))(on(device, table))
        expected = np.zeros_like(table)
        np.add.at(expected, ids.ravel(), w.reshape(-1, 3))
        if freq:
            expected /= np.maximum(counts, 1)[:, None]
        if padding_idx is not None:
            expected[padding_idx % 5] = 0
        np.testing.assert_allclose(host(grad), expected, rtol=1e-12, atol=1e-12)


def test_functional_max_norm_renormalises_the_rows_looked_up(device):
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, 0.0]])
    weight = ms.Parameter(on(device, table), name="w")
    out = ops.embedding(on(device, np.array([0, 1, 0], np.int32)), weight, max_norm=2.0)
    expected = table.copy()
    expected[0] *= 2.0 / (5.0 + 1e-7)  # row 2 is over the norm but not looked up: unchanged
    np.testing.assert_allclose(host(weight), expected, rtol=1e-12)
    np.testing.assert_allclose(host(out), expected[[0, 1, 0]], rtol=1e-12)
    l1 = ops.embedding(on(device, np.array([2], np.int32)), weight, max_norm=7.0, norm_type=1.0)
    np.testing.assert_allclose(host(l1), [[6.0 * 7 / (14 + 1e-7), 8.0 * 7 / (14 + 1e-7)]], rtol=1e-12)


def test_functional_errors():
    ids, table = Tensor([0, 1]), Tensor(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"'Embedding'.*'padding_idx'.*\[-3, 3\).*3"):
        ops.embedding(ids, table, padding_idx=3)
    with pytest.raises(TypeError, match="'Embedding'.*'padding_idx'.*int"):
        ops.embedding(ids, table, padding_idx=1.0)
    with pytest.raises(TypeError, match="'Embedding'.*'weight'.*Parameter.*'max_norm'"):
        ops.embedding(ids, table, max_norm=1.0)
    with pytest.raises(ValueError, match="'Embedding'.*'norm_type'.*positive"):
        ops.embedding(ids, ms.Parameter(table, name="t"), max_norm=1.0, norm_type=0)
    with pytest.raises(TypeError, match="'Embedding'.*'scale_grad_by_freq'.*bool"):
        ops.embedding(ids, table, scale_grad_by_freq=1)
