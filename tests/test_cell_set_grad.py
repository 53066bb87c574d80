"""Cell.set_grad: MindSpore's flag, returned self, and the wrappers that set it."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn


def test_set_grad_sets_the_flag_and_returns_the_cell():
    net = nn.SequentialCell([nn.Dense(3, 2), nn.ReLU()])
    assert net.requires_grad is False
    assert net.set_grad() is net and net.requires_grad is True
    assert net[0].requires_grad is False  # the cell only, as in MindSpore
    assert net.set_grad(False) is net and net.requires_grad is False


def test_train_one_step_cell_sets_it_on_its_network():
    net = nn.WithLossCell(nn.Dense(3, 2), nn.MSELoss())
    nn.TrainOneStepCell(net, nn.SGD(net.trainable_params(), 0.1))
    assert net.requires_grad is True


def test_gradients_do_not_depend_on_the_flag(device):
    ms.set_seed(0)
    net = nn.Dense(3, 1)
    x = Tensor(np.ones((2, 3), np.float32))
    grads = [ms.value_and_grad(lambda v: net(v).sum(), None, net.trainable_params())(x)[1]
             for _ in (net.set_grad(False), net.set_grad(True))]
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


@pytest.mark.parametrize("value", [1, "True", None])
def test_set_grad_refuses_a_non_bool(value):
    with pytest.raises(TypeError, match=rf"For 'set_grad', 'requires_grad' must be a bool, but got {value!r}"):
        nn.Dense(2, 2).set_grad(value)
