"""WithLossCell, WithEvalCell and TrainOneStepCell with MindSpore's semantics."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn


def mlp(seed=0, device="CPU"):
    ms.set_seed(seed)
    net = nn.SequentialCell([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 3)])
    if device != "CPU":
        for p in net.get_parameters():
            p.move_to(device)
    return net


def batch(device="CPU", seed=1, n=16):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0).astype(np.int32)
    return Tensor(x, device=device), Tensor(y, device=device)


def ce():
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")


def test_with_loss_cell_keeps_names_and_computes_the_loss():
    net = mlp()
    with_loss = nn.WithLossCell(net, ce())
    x, y = batch()
    assert with_loss.backbone_network is net
    assert [p.name for p in with_loss.trainable_params()] == [p.name for p in net.trainable_params()]
    assert float(with_loss(x, y).asnumpy()) == pytest.approx(float(ce()(net(x), y).asnumpy()))


def test_with_eval_cell_returns_loss_outputs_label():
    net = mlp()
    x, y = batch()
    loss, out, label = nn.WithEvalCell(net, ce())(x, y)
    np.testing.assert_allclose(out.asnumpy(), net(x).asnumpy())
    assert label is y and loss.shape == ()
    loss, out, label = nn.WithEvalCell(net, nn.MSELoss(), add_cast_fp32=True)(x, Tensor(np.zeros((16, 3))))
    assert out.dtype == ms.float32 and label.dtype == ms.float32


def test_train_one_step_equals_value_and_grad_plus_optimizer(device):
    x, y = batch(device)
    net_a, net_b = mlp(3, device), mlp(3, device)
    step = nn.TrainOneStepCell(nn.WithLossCell(net_a, ce()), nn.Momentum(net_a.trainable_params(), 0.1, 0.9))
    opt_b = nn.Momentum(net_b.trainable_params(), 0.1, 0.9)
    loss_fn = ce()
    grad_fn = ms.value_and_grad(lambda a, b: loss_fn(net_b(a), b), None, opt_b.parameters)
    for _ in range(3):
        loss_a = step(x, y)
        loss_b, grads = grad_fn(x, y)
        opt_b(grads)
        assert float(loss_a.asnumpy()) == pytest.approx(float(loss_b.asnumpy()), rel=1e-6)
    for p, q in zip(net_a.trainable_params(), net_b.trainable_params()):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7)


def test_train_one_step_reduces_the_loss(device):
    x, y = batch(device, n=64)
    net = mlp(0, device)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, ce()), nn.Adam(net.trainable_params(), 0.05))
    step.set_train()
    losses = [float(step(x, y).asnumpy()) for _ in range(60)]
    assert losses[-1] < 0.2 * losses[0]


def test_sens_scales_the_gradients_and_return_grad_names_them():
    x, y = batch()
    net_a, net_b = mlp(5), mlp(5)
    plain = nn.TrainOneStepCell(nn.WithLossCell(net_a, ce()), nn.SGD(net_a.trainable_params(), 0.1),
                                return_grad=True)
    scaled = nn.TrainOneStepCell(nn.WithLossCell(net_b, ce()), nn.SGD(net_b.trainable_params(), 0.1,
                                                                       loss_scale=8.0), sens=8.0)
    loss, grads = plain(x, y)
    assert list(grads) == [p.name for p in net_a.trainable_params()]
    assert float(scaled(x, y).asnumpy()) == pytest.approx(float(loss.asnumpy()))
    for p, q in zip(net_a.trainable_params(), net_b.trainable_params()):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-5, atol=1e-7)


def test_train_one_step_checkpoint_holds_the_optimizer_state(tmp_path):
    net = mlp()
    step = nn.TrainOneStepCell(nn.WithLossCell(net, ce()), nn.Momentum(net.trainable_params(), 0.1, 0.9))
    names = [p.name for p in step.get_parameters()]
    assert names[:4] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert {"moments.0.weight", "moments.2.bias", "learning_rate", "global_step"} <= set(names)
    ms.save_checkpoint(step, str(tmp_path / "step.ckpt"))
    assert set(ms.load_checkpoint(str(tmp_path / "step.ckpt"))) == set(names)


def test_wrapper_argument_errors():
    net = mlp()
    with pytest.raises(TypeError, match="For 'WithLossCell', the 'backbone' must be a Cell"):
        nn.WithLossCell(lambda x: x, ce())
    with pytest.raises(TypeError, match="For 'WithEvalCell', the 'loss_fn' must be a Cell or a function"):
        nn.WithEvalCell(net, 3)
    with pytest.raises(TypeError, match="the 'optimizer' must be a gpucell.nn.Optimizer"):
        nn.TrainOneStepCell(net, object())
    with pytest.raises(TypeError, match="the 'sens' must be a float"):
        nn.TrainOneStepCell(net, nn.SGD(net.trainable_params()), sens="1")
