"""gpucell.amp: loss scalers, all_finite, Cell.to_float and auto_mixed_precision."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn


def T(value, dtype=ms.float32):
    return ms.Tensor(np.asarray(value, np.float32)).astype(dtype)


def test_dynamic_loss_scaler_mindspore_example(device):
    scaler = ms.amp.DynamicLossScaler(scale_value=2**10, scale_factor=2, scale_window=1)
    assert isinstance(scaler.scale_value, ms.Parameter)
    grads = (T([1.0, 2.0]), T([np.inf, 1.0]))
    finite = ms.amp.all_finite(grads)
    assert finite.shape == () and finite.dtype == ms.bool_ and not bool(finite.asnumpy())
    assert scaler.adjust(finite) is True
    assert float(scaler.scale_value.asnumpy()) == 512.0
    assert float(scaler.scale(T(2.0)).asnumpy()) == 1024.0
    assert float(scaler.unscale(T(1024.0)).asnumpy()) == 2.0


def test_dynamic_loss_scaler_grows_after_window_and_floors_at_one(device):
    scaler = ms.amp.DynamicLossScaler(1024, 2, 2)
    seen = []
    for finite in (True, True, True, False):
        scaler.adjust(ms.Tensor(finite))
        seen.append((float(scaler.scale_value.asnumpy()), int(scaler.counter.asnumpy())))
    assert seen == [(1024.0, 1), (2048.0, 0), (2048.0, 1), (1024.0, 0)]
    small = ms.amp.DynamicLossScaler(1.5, 2, 1)
    small.adjust(False)
    assert float(small.scale_value.asnumpy()) == 1.0


def test_static_loss_scaler_and_nested_inputs(device):
    scaler = ms.amp.StaticLossScaler(8)
    out = scaler.scale((T([1.0]), [T([2.0], ms.float16)]))
    assert out[0].asnumpy().tolist() == [8.0] and out[1][0].dtype == ms.float16
    assert float(out[1][0].asnumpy()[0]) == 16.0
    assert scaler.unscale(T([8.0])).asnumpy().tolist() == [1.0]
    assert scaler.adjust(ms.Tensor(False)) is False
    with pytest.raises(ValueError):
        ms.amp.StaticLossScaler(0)


@pytest.mark.parametrize("dtype", [ms.float32, ms.float16, ms.bfloat16])
def test_all_finite(device, dtype):
    assert bool(ms.amp.all_finite([T([1.0, -3.0], dtype), T([[0.5]], dtype)]).asnumpy())
    assert not bool(ms.amp.all_finite([T([1.0], dtype), T([np.nan], dtype)]).asnumpy())
    assert not bool(ms.amp.all_finite([T([-np.inf], dtype)]).asnumpy())



class MLP(nn.Cell):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(8, 16)
        self.norm = nn.LayerNorm((16,))
        self.act = nn.ReLU()
        self.fc2 = nn.Dense(16, 4)

    def construct(self, x):
        return self.fc2(self.act(self.norm(self.fc1(x))))


def _loss_and_grads(net, x, y):
    def loss_fn(x, y):
        out = net(x)
        return ((out.astype(ms.float32) - y) ** 2).mean(), out
    (loss, out), grads = ms.value_and_grad(loss_fn, None, net.trainable_params(), has_aux=True)(x, y)
    return loss, out, grads


def test_to_float_casts_inputs_and_weights_but_keeps_float32_parameters(device):
    net = nn.Dense(3, 2).to_float(ms.float16)
    x = T(np.ones((4, 3)))
    out = net(x)
    assert out.dtype == ms.float16
    assert net.weight.dtype == ms.float32 and isinstance(net.weight, ms.Parameter)
    grads = ms.grad(lambda x: net(x).astype(ms.float32).sum(), None, net.trainable_params())(x)
    assert [g.dtype for g in grads] == [ms.float32, ms.float32]
    np.testing.assert_allclose(grads[0].asnumpy(), np.full((2, 3), 4.0))


@pytest.mark.parametrize("level", ["O0", "O1", "O2", "O3", "auto"])
@pytest.mark.parametrize("low", [ms.float16, ms.bfloat16])
def test_auto_mixed_precision_levels(device, level, low):
    ms.set_seed(0)
    ref = MLP()
    net = MLP()
    ms.load_param_into_net(net, ref.parameters_dict())
    rng = np.random.default_rng(0)
    x, y = T(rng.standard_normal((5, 8))), T(rng.standard_normal((5, 4)))
    loss32, _, grads32 = _loss_and_grads(ref, x, y)
    assert ms.amp.auto_mixed_precision(net, level, low) is net
    loss, out, grads = _loss_and_grads(net, x, y)
    expect_out = {"O0": ms.float32, "O1": ms.float32, "O2": ms.float32, "O3": low, "auto": ms.float32}[level]
    assert out.dtype == expect_out
    assert np.isfinite(float(loss.asnumpy()))
    tol = 0 if level == "O0" else (2e-2 if low == ms.float16 else 8e-2)
    np.testing.assert_allclose(float(loss.asnumpy()), float(loss32.asnumpy()), rtol=tol, atol=tol)
    for p in net.trainable_params():
        assert p.dtype == ms.float32
    for g, g32 in zip(grads, grads32):
        assert g.dtype == ms.float32
        np.testing.assert_allclose(g.asnumpy(), g32.asnumpy(), rtol=5 * tol + 1e-6, atol=5 * tol + 1e-6)


def test_o1_casts_only_listed_cells_and_o2_keeps_norms_float32(device):
    net = ms.amp.auto_mixed_precision(MLP(), "O1")
    assert net.fc1._amp_dtype == ms.float16 and net.norm._amp_dtype is None
    net = ms.amp.auto_mixed_precision(MLP(), "O2")
    assert net.fc1._amp_dtype == ms.float16 and net.norm._amp_dtype == ms.float32
    with pytest.raises(ValueError):
        ms.amp.auto_mixed_precision(MLP(), "O4")


def test_auto_level_casts_per_operator(device):
    """amp_level "auto": matmuls in the low dtype, softmax/exp/reductions in float32, the rest
    following their inputs; float32 out, float32 gradients, and the same under jit."""
    from gpucell.ops import _dispatch

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(4, 3)

        def construct(self, x):
            h = self.fc(x)
            return ms.ops.softmax(h * 2.0, -1), ms.ops.exp(h).sum()

    net = ms.amp.auto_mixed_precision(Net(), "auto", ms.float16)
    x = T(np.linspace(-1, 1, 8).reshape(2, 4))
    seen = {}
    _dispatch.hooks.observers = (lambda op, i, o, a: seen.setdefault(op.name, (
        [t.dtype for t in i if isinstance(t, ms.Tensor)], o.dtype)),)
    try:
        probs, total = net(x)
    finally:
        _dispatch.hooks.observers = ()
    assert seen["Dense"] == ([ms.float16] * 3, ms.float16)
    assert seen["Mul"][1] == ms.float16  # follows its input
    assert seen["Softmax"] == ([ms.float32], ms.float32) and seen["Exp"] == ([ms.float32], ms.float32)
    assert probs.dtype == ms.float32 and total.dtype == ms.float32
    assert _dispatch.hooks.autocast is None  # the scope ended with construct
    ref = Net()
    ms.load_param_into_net(ref, net.parameters_dict())
    np.testing.assert_allclose(probs.asnumpy(), ref(x)[0].asnumpy(), rtol=2e-2, atol=2e-3)
    grads = ms.grad(lambda x: net(x)[1], None, net.trainable_params())(x)
    assert [g.dtype for g in grads] == [ms.float32, ms.float32]
    jitted = ms.jit(lambda x: net(x)[0])
    np.testing.assert_array_equal(jitted(x).asnumpy(), probs.asnumpy())
    np.testing.assert_array_equal(jitted(x).asnumpy(), probs.asnumpy())


def test_auto_level_of_model_is_o2_on_the_gpu_and_float32_on_the_cpu(device):
    from gpucell.train import Model

    net = MLP()
    model = Model(net, nn.MSELoss(), nn.SGD(net.trainable_params(), 0.1), amp_level="auto")
    if device == "GPU":
        assert net.fc1._amp_dtype == ms.float16 and net.norm._amp_dtype == ms.float32
        assert isinstance(model._train_network, nn.TrainOneStepWithLossScaleCell)
    else:
        assert net.fc1._amp_dtype is None and not isinstance(model._train_network, nn.TrainOneStepWithLossScaleCell)
