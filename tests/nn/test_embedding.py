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
