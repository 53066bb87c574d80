"""nn.BatchNorm3d: MindSpore's BatchNorm2d (child ``bn2d``) over (N, C, D * H, W), against a float64
reference of batch normalisation over N, D, H and W, finite differences and the moving statistics."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import cell_on, check_jitted_training, gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops

RNG = np.random.default_rng(71)
AXES = (0, 2, 3, 4)


def reference(x, gamma, beta, mean, var, eps):
    shape = (1, -1, 1, 1, 1)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape) + beta.reshape(shape)


def test_training_normalises_over_batch_depth_height_width_and_moves_the_statistics(device):
    gamma, beta = RNG.uniform(0.5, 1.5, 3), RNG.standard_normal(3)
    net = cell_on(device, nn.BatchNorm3d(3, eps=1e-3, momentum=0.8, gamma_init=Tensor(gamma),
                                         beta_init=Tensor(beta), dtype=ms.float64)).set_train()
    x = RNG.standard_normal((2, 3, 3, 4, 2)) * 2 + 1
    out = net(on(device, x))
    mean, var = x.mean(AXES), x.var(AXES)
    np.testing.assert_allclose(host(out), reference(x, gamma, beta, mean, var, 1e-3), rtol=1e-10, atol=1e-10)
    count = x.size // 3
    np.testing.assert_allclose(host(net.bn2d.moving_mean), 0.2 * mean, rtol=1e-12)
    np.testing.assert_allclose(host(net.bn2d.moving_variance), 0.8 + 0.2 * var * count / (count - 1), rtol=1e-12)
    # prediction uses the moving statistics
    net.set_train(False)
    moving_mean, moving_var = host(net.bn2d.moving_mean), host(net.bn2d.moving_variance)
    np.testing.assert_allclose(host(net(on(device, x))), reference(x, gamma, beta, moving_mean, moving_var, 1e-3),
                               rtol=1e-10, atol=1e-10)
    # use_batch_statistics=True normalises with the batch even when not training
    batch = cell_on(device, nn.BatchNorm3d(3, use_batch_statistics=True, dtype=ms.float64)).set_train(False)
    expected = reference(x, np.ones(3), np.zeros(3), mean, var, 1e-5)
    np.testing.assert_allclose(host(batch(on(device, x))), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("training", [True, False])
def test_gradients(device, training):
    gamma, beta = RNG.uniform(0.5, 1.5, 2), RNG.standard_normal(2)
    net = cell_on(device, nn.BatchNorm3d(2, gamma_init=Tensor(gamma), beta_init=Tensor(beta),
                                         moving_mean_init=Tensor(RNG.standard_normal(2)),
                                         moving_var_init=Tensor(RNG.uniform(0.5, 2.0, 2)), dtype=ms.float64))
    net.set_train(training)
    x = RNG.standard_normal((2, 2, 2, 3, 2))
    gradcheck(lambda t: net(t), x, device=device, rtol=1e-5, atol=1e-7)
    # gamma and beta: d/dgamma sum(w * y) = sum(w * x_hat), d/dbeta = sum(w)
    w = RNG.standard_normal(x.shape)
    mean, var = x.mean(AXES), x.var(AXES)
    if not training:
        mean, var = host(net.bn2d.moving_mean), host(net.bn2d.moving_variance)
    x_hat = reference(x, np.ones(2), np.zeros(2), mean, var, 1e-5)
    grads = ms.grad(lambda t: ops.sum(net(t) * on(device, w)), None, net.trainable_params())(on(device, x))
    np.testing.assert_allclose(host(grads[0]), (w * x_hat).sum(AXES), rtol=1e-10)
    np.testing.assert_allclose(host(grads[1]), w.sum(AXES), rtol=1e-10)


def test_parameters_are_named_as_mindspore_names_them():
    net = nn.BatchNorm3d(4)
    assert [p.name for p in net.get_parameters()] == ["bn2d.moving_mean", "bn2d.moving_variance", "bn2d.gamma",
                                                      "bn2d.beta"]
    assert [p.name for p in net.trainable_params()] == ["bn2d.gamma", "bn2d.beta"]
    assert not nn.BatchNorm3d(4, affine=False).trainable_params()
    assert net.bn2d.momentum == pytest.approx(0.1)  # MindSpore stores 1 - momentum
    np.testing.assert_array_equal(host(net.bn2d.moving_variance), np.ones(4, np.float32))


def test_float32_and_unbiased_moving_variance_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 2, 4, 3, 5)).astype(np.float32)
    net = nn.BatchNorm3d(2).set_train()
    ref = torch.nn.BatchNorm3d(2, momentum=0.1)
    np.testing.assert_allclose(host(net(Tensor(x))), ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(host(net.bn2d.moving_variance), ref.running_var.numpy(), rtol=1e-5)
    np.testing.assert_allclose(host(net.bn2d.moving_mean), ref.running_mean.numpy(), rtol=1e-5, atol=1e-7)


def test_errors():
    with pytest.raises(ValueError, match="'BatchNorm3d'.*'num_features'.*positive.*-1"):
        nn.BatchNorm3d(-1)
    with pytest.raises(TypeError, match="'BatchNorm3d'.*'num_features'"):
        nn.BatchNorm3d(2.5)
    with pytest.raises(ValueError, match="'BatchNorm3d'.*'momentum'.*\\[0.0, 1.0\\]"):
        nn.BatchNorm3d(2, momentum=1.5)
    with pytest.raises(ValueError, match="'BatchNorm3d'.*'eps'"):
        nn.BatchNorm3d(2, eps=0.0)
    with pytest.raises(ValueError, match="'BatchNorm3d'.*'use_batch_statistics'"):
        nn.BatchNorm3d(2, use_batch_statistics="yes")
    net = nn.BatchNorm3d(3)
    with pytest.raises(ValueError, match=r"'BatchNorm3d'.*5-D.*\(2, 3, 4, 4\)"):
        net(Tensor(np.ones((2, 3, 4, 4), np.float32)))
    with pytest.raises(ValueError, match=r"'BatchNorm3d'.*num_features 3.*\(2, 4, 2, 2, 2\)"):
        net(Tensor(np.ones((2, 4, 2, 2, 2), np.float32)))
    with pytest.raises(TypeError, match="'BatchNorm3d'.*float.*Int32"):
        net(Tensor(np.ones((2, 3, 2, 2, 2), np.int32)))


class _Normed(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(4, 4)
        self.bn = nn.BatchNorm3d(2)
        self.head = nn.Dense(2 * 3 * 2 * 4, 3)

    def construct(self, x):
        return self.head(ops.flatten(ops.relu(self.bn(self.dense(x)))))


def test_jitted_train_step_matches_eager(device):
    def make():
        ms.set_seed(3)
        return cell_on(device, _Normed())

    batches = [(RNG.standard_normal((4, 2, 3, 2, 4)).astype(np.float32), RNG.integers(0, 3, 4).astype(np.int32))
               for _ in range(3)]
    check_jitted_training(make, batches, device)
