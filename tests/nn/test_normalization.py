"""BatchNorm1d / BatchNorm2d / LayerNorm: MindSpore's numbers, NumPy and torch references, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops

RNG = np.random.default_rng(2)


def _move(cell, device):
    if device != "CPU":
        for p in cell.get_parameters():
            p.move_to(device)
    return cell


def test_batchnorm_numbers_from_mindspore(device):
    bn = _move(nn.BatchNorm1d(2), device).set_train()
    x = on(device, np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
    out = bn(x)
    np.testing.assert_allclose(host(bn.moving_mean), [0.2, 0.4], rtol=1e-6)
    np.testing.assert_allclose(host(bn.moving_variance), [1.1, 1.7], rtol=1e-6)
    # Normalised with the biased batch variance [1, 4].
    np.testing.assert_allclose(host(out), [[-1, -1], [1, 1]], rtol=1e-5)
    bn.set_train(False)
    expected = (np.array([[1.0, 2.0], [3.0, 6.0]]) - [0.2, 0.4]) / np.sqrt(np.array([1.1, 1.7]) + 1e-5)
    np.testing.assert_allclose(host(bn(x)), expected, rtol=1e-5)
    np.testing.assert_allclose(host(bn.moving_mean), [0.2, 0.4], rtol=1e-6)  # prediction leaves them


def test_batchnorm2d_matches_numpy_and_momentum(device):
    bn = _move(nn.BatchNorm2d(3, momentum=0.7, gamma_init=2.0, beta_init=0.5), device).set_train()
    x = RNG.standard_normal((4, 3, 2, 5)).astype(np.float32)
    out = bn(on(device, x))
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    expected = 2 * (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) + 0.5
    np.testing.assert_allclose(host(out), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(bn.moving_mean), 0.3 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bn.moving_variance), 0.7 + 0.3 * x.var((0, 2, 3), ddof=1), rtol=1e-5)


def test_use_batch_statistics(device):
    x = on(device, np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
    frozen = _move(nn.BatchNorm1d(2, use_batch_statistics=False), device).set_train()
    np.testing.assert_allclose(host(frozen(x)), host(x) / np.sqrt(1 + 1e-5), rtol=1e-6)
    assert host(frozen.moving_mean).tolist() == [0.0, 0.0]
    batch = _move(nn.BatchNorm1d(2, use_batch_statistics=True), device)  # even when predicting
    batch(x)
    np.testing.assert_allclose(host(batch.moving_mean), [0.2, 0.4], rtol=1e-6)


def test_batchnorm_gradients(device):
    x, g, b = RNG.standard_normal((4, 3, 2)), RNG.standard_normal(3), RNG.standard_normal(3)

    def train(x, g, b):
        mean = Parameter(on(device, np.zeros(3)), name="mean")
        var = Parameter(on(device, np.ones(3)), name="var")
        return ops.batch_norm(x, mean, var, g, b, training=True)

    gradcheck(train, x, g, b, positions=(0, 1, 2), device=device)
    m, v = RNG.standard_normal(3), RNG.random(3) + 0.5
    gradcheck(lambda x, g, b, m, v: ops.batch_norm(x, m, v, g, b), x, g, b, m, v, positions=(0, 1, 2, 3, 4),
              device=device)


def test_batchnorm_cell_trains_gamma_and_beta_only():
    bn = nn.BatchNorm1d(2).set_train()
    assert [p.name for p in bn.trainable_params()] == ["gamma", "beta"]
    assert [p.name for p in bn.untrainable_params()] == ["mean", "variance"]
    x = Tensor(RNG.standard_normal((5, 2)).astype(np.float32))
    grads = ms.grad(lambda x: ops.sum(bn(x) * Tensor([1.0, 2.0])), None, bn.trainable_params())(x)
    np.testing.assert_allclose(host(grads[1]), [5.0, 10.0], rtol=1e-6)
    np.testing.assert_allclose(host(grads[0]), [0.0, 0.0], atol=1e-5)
    assert not nn.BatchNorm2d(2, affine=False).trainable_params()


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((6, 4, 3, 3)).astype(np.float32)
    ours = nn.BatchNorm2d(4, momentum=0.8).set_train()
    theirs = torch.nn.BatchNorm2d(4, momentum=0.2).train()
    for _ in range(2):
        np.testing.assert_allclose(host(ours(Tensor(x))), theirs(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(ours.moving_mean), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(host(ours.moving_variance), theirs.running_var.numpy(), rtol=1e-5)


def test_batchnorm_updates_replay_under_jit():
    bn = nn.BatchNorm1d(2).set_train()
    step = ms.jit(lambda x: bn(x))
    x = Tensor([[1.0, 2.0], [3.0, 6.0]])
    for _ in range(3):
        step(x)
    np.testing.assert_allclose(host(bn.moving_mean), np.array([2.0, 4.0]) * (1 - 0.9 ** 3), rtol=1e-5)


def test_batchnorm_repr_and_errors():
    assert repr(nn.BatchNorm1d(2)) == (
        "BatchNorm1d(num_features=2, eps=1e-05, momentum=0.9, "
        "gamma=Parameter (name=gamma, shape=(2,), dtype=Float32, requires_grad=True), "
        "beta=Parameter (name=beta, shape=(2,), dtype=Float32, requires_grad=True), "
        "moving_mean=Parameter (name=mean, shape=(2,), dtype=Float32, requires_grad=False), "
        "moving_variance=Parameter (name=variance, shape=(2,), dtype=Float32, requires_grad=False))")
    assert nn.BatchNorm2d(3).momentum == pytest.approx(0.1)  # MindSpore keeps 1 - momentum
    with pytest.raises(ValueError, match=r"'BatchNorm2d'.*'momentum'.*\[0.0, 1.0\].*1.5"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(TypeError, match="'BatchNorm1d'.*'num_features'"):
        nn.BatchNorm1d("3")
    with pytest.raises(ValueError, match="'BatchNorm1d'.*'use_batch_statistics'"):
        nn.BatchNorm1d(3, use_batch_statistics=1)
    with pytest.raises(ValueError, match=r"'BatchNorm2d'.*4-D.*\(2, 3\)"):
        nn.BatchNorm2d(3)(Tensor(np.ones((2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"'BatchNorm1d'.*num_features 3.*\(2, 4\)"):
        nn.BatchNorm1d(3)(Tensor(np.ones((2, 4), np.float32)))
    with pytest.raises(ValueError, match="'BatchNorm'.*more than one value"):
        nn.BatchNorm1d(3).set_train()(Tensor(np.ones((1, 3), np.float32)))


@pytest.mark.parametrize("shape, norm_axis, params_axis",
                         [((4, 5), -1, -1), ((2, 3, 4), 1, 1), ((2, 3, 4), 2, 1)])
def test_layernorm_matches_numpy_and_gradients(device, shape, norm_axis, params_axis):
    x = RNG.standard_normal(shape)
    pshape = shape[params_axis:]
    g, b = RNG.standard_normal(pshape), RNG.standard_normal(pshape)
    axes = tuple(range(norm_axis % len(shape), len(shape)))
    expected = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-7) * g + b
    net = nn.LayerNorm(pshape, norm_axis, params_axis, gamma_init=Tensor(g), beta_init=Tensor(b),
                       dtype=ms.float64)
    np.testing.assert_allclose(host(_move(net, device)(on(device, x))), expected, rtol=1e-9, atol=1e-12)

    def ln(x, g, b):
        from gpucell.ops.layer_norm import layer_norm_axes
        return layer_norm_axes(x, g, b, norm_axis, params_axis, 1e-7)

    gradcheck(ln, x, g, b, positions=(0, 1, 2), device=device)


def test_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4, 6))
    w, b = RNG.standard_normal((4, 6)), RNG.standard_normal((4, 6))
    out = ops.layer_norm(Tensor(x), (4, 6), Tensor(w), Tensor(b), 1e-5)
    expected = torch.nn.functional.layer_norm(torch.from_numpy(x), (4, 6), torch.from_numpy(w),
                                              torch.from_numpy(b), 1e-5)
    np.testing.assert_allclose(host(out), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_layernorm_repr_and_errors():
    assert repr(nn.LayerNorm((3,))) == (
        "LayerNorm(normalized_shape=(3,), begin_norm_axis=-1, begin_params_axis=-1, "
        "gammaParameter (name=gamma, shape=(3,), dtype=Float32, requires_grad=True), "
        "beta=Parameter (name=beta, shape=(3,), dtype=Float32, requires_grad=True))")
    with pytest.raises(TypeError, match="'LayerNorm'.*'normalized_shape'.*3"):
        nn.LayerNorm(3)
    with pytest.raises(ValueError, match=r"'LayerNorm'.*'gamma'.*\(4,\).*\(3,\)"):
        nn.LayerNorm((3,))(Tensor(np.ones((2, 4), np.float32)))
    with pytest.raises(ValueError, match="'LayerNorm'.*'begin_norm_axis'"):
        nn.LayerNorm((3,), begin_norm_axis=2)(Tensor(np.ones((2, 3), np.float32)))


# ---- GroupNorm and InstanceNorm2d ---------------------------------------------------------------

def reference_group_norm(x, groups, gamma, beta, eps):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    y = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape, groups", [((2, 4, 3, 3), 2), ((3, 6, 5), 3), ((2, 4, 2, 2), 4)])
def test_groupnorm_matches_numpy_and_gradients(device, shape, groups):
    x, gamma, beta = RNG.standard_normal(shape), RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
    net = nn.GroupNorm(groups, shape[1], gamma_init=ms.Tensor(gamma), beta_init=ms.Tensor(beta), dtype=ms.float64)
    for p in net.get_parameters():
        p.move_to(device)
    np.testing.assert_allclose(host(net(on(device, x))), reference_group_norm(x, groups, gamma, beta, 1e-5),
                               rtol=1e-10, atol=1e-10)
    gradcheck(lambda x, g, b: ops.group_norm(x, groups, g, b, 1e-5), x, gamma, beta, positions=(0, 1, 2),
              device=device, rtol=1e-5, atol=1e-6)


def test_instancenorm2d_normalises_each_instance_and_moves_the_statistics(device):
    x = RNG.standard_normal((3, 2, 4, 5)) * 3 + 1
    net = nn.InstanceNorm2d(2, momentum=0.2, dtype=ms.float64)
    for p in net.get_parameters():
        p.move_to(device)
    gamma, beta = RNG.standard_normal(2), RNG.standard_normal(2)
    net.gamma.set_data(on(device, gamma))
    net.beta.set_data(on(device, beta))
    for training in (True, False):  # instance statistics in both phases, as MindSpore
        net.set_train(training)
        out = host(net(on(device, x)))
        mean, var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), keepdims=True)
        expected = (x - mean) / np.sqrt(var + 1e-5) * gamma.reshape(1, 2, 1, 1) + beta.reshape(1, 2, 1, 1)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    # two calls: moving = 0.8 * moving + 0.2 * (batch mean of instance means / unbiased variances)
    stat_mean, stat_var = x.mean(axis=(2, 3)).mean(0), x.var(axis=(2, 3), ddof=1).mean(0)
    expected_mean = 0.2 * stat_mean * (1 + 0.8)
    expected_var = 0.8 * (0.8 * 1.0 + 0.2 * stat_var) + 0.2 * stat_var
    np.testing.assert_allclose(host(net.moving_mean), expected_mean, rtol=1e-10)
    np.testing.assert_allclose(host(net.moving_variance), expected_var, rtol=1e-10)
    assert [p.name for p in net.trainable_params()] == ["gamma", "beta"]


def test_instancenorm2d_gradients(device):
    from gpucell.ops.group_instance_norm import instance_norm
    x, gamma, beta = RNG.standard_normal((2, 3, 3, 2)), RNG.standard_normal(3), RNG.standard_normal(3)
    moving = [ms.Parameter(on(device, np.zeros(3)), name="m"), ms.Parameter(on(device, np.ones(3)), name="v")]
    gradcheck(lambda x, g, b: instance_norm(x, g, b, *moving, 1e-5, 0.1), x, gamma, beta, positions=(0, 1, 2),
              device=device, rtol=1e-5, atol=1e-6)


def test_group_and_instance_norm_repr_and_errors():
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(num_groups=2, num_channels=4)"
    assert nn.InstanceNorm2d(3).moving_mean.name == "mean"
    with pytest.raises(ValueError, match="'GroupNorm'.*'num_channels' must be divisible by 'num_groups'"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="'GroupNorm'.*'num_groups'.*positive"):
        nn.GroupNorm(0, 4)
    with pytest.raises(TypeError, match="'GroupNorm'.*'eps'.*float"):
        nn.GroupNorm(2, 4, eps=1)
    with pytest.raises(ValueError, match="'GroupNorm'.*num_channels 4"):
        nn.GroupNorm(2, 4)(Tensor(np.ones((1, 6, 2, 2), np.float32)))
    with pytest.raises(TypeError, match="'InstanceNorm2d'.*'momentum'.*float"):
        nn.InstanceNorm2d(3, momentum=1)
    with pytest.raises(ValueError, match="'InstanceNorm2d'.*'momentum'.*\\[0.0, 1.0\\]"):
        nn.InstanceNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="'InstanceNorm2d'.*4-D"):
        nn.InstanceNorm2d(3)(Tensor(np.ones((1, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="'InstanceNorm2d'.*more than one value"):
        nn.InstanceNorm2d(3)(Tensor(np.ones((2, 3, 1, 1), np.float32)))
