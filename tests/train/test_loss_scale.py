"""TrainOneStepWithLossScaleCell, the loss-scale managers, amp.build_train_network and Model's amp."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn
from gpucell.train import DynamicLossScaleManager, FixedLossScaleManager, Model


class Linear(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = ms.Parameter(ms.Tensor(np.array([[0.5], [-0.25]], np.float32)), name="w")

    def construct(self, x):
        return ms.ops.matmul(x, self.w)


def mse(out, y):
    return ((out - y) ** 2).mean()


def _data(big=False):
    x = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    if big:
        x = x * np.float32(1e30)  # the squared error overflows float32: inf loss, non-finite gradients
    return ms.Tensor(x), ms.Tensor(np.array([[1.0], [0.0]], np.float32))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
def test_overflow_skips_the_update_and_halves_the_dynamic_scale(device, opt):
    net = Linear()
    make = {"sgd": lambda p: nn.SGD(p, 0.1), "momentum": lambda p: nn.Momentum(p, 0.1, 0.9),
            "adam": lambda p: nn.Adam(p, 0.1)}[opt]
    optimizer = make(net.trainable_params())
    manager = DynamicLossScaleManager(init_loss_scale=1024, scale_factor=2, scale_window=1000)
    step = nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), optimizer, manager.get_update_cell())
    state = {p.name: p.asnumpy().copy() for p in optimizer.get_parameters()}
    loss, overflow, scale = step(*_data(big=True))
    assert overflow.dtype == ms.bool_ and bool(overflow.asnumpy())
    assert float(scale.asnumpy()) == 1024.0
    assert float(step.scale_sense.asnumpy()) == 512.0
    for p in optimizer.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), state[p.name])
    loss, overflow, scale = step(*_data())
    assert not bool(overflow.asnumpy()) and float(scale.asnumpy()) == 512.0
    assert not np.array_equal(net.w.asnumpy(), state["w"])


@pytest.mark.parametrize("scale_sense", ["tensor", "fixed", "dynamic"])
def test_a_normal_step_equals_an_unscaled_step(device, scale_sense):
    ref, net = Linear(), Linear()
    plain = nn.TrainOneStepCell(nn.WithLossCell(ref, mse), nn.Momentum(ref.trainable_params(), 0.1, 0.9))
    sense = {"tensor": lambda: ms.Tensor(np.float32(256.0)),
             "fixed": lambda: FixedLossScaleManager(256.0).get_update_cell(),
             "dynamic": lambda: DynamicLossScaleManager(256.0, 2, 2).get_update_cell()}[scale_sense]()
    step = nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), nn.Momentum(net.trainable_params(), 0.1, 0.9),
                                            sense)
    for _ in range(3):
        expect = plain(*_data())
        loss, overflow, _ = step(*_data())
        assert not bool(overflow.asnumpy())
        np.testing.assert_allclose(loss.asnumpy(), expect.asnumpy(), rtol=1e-6)
        np.testing.assert_allclose(net.w.asnumpy(), ref.w.asnumpy(), rtol=1e-6)
    grown = 256.0 * 2 if scale_sense == "dynamic" else 256.0
    assert float(step.scale_sense.asnumpy()) == grown


def test_set_sense_scale_and_bad_scale_sense():
    net = Linear()
    step = nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), nn.SGD(net.trainable_params(), 0.1),
                                            ms.Tensor(np.float32(8.0)))
    step.set_sense_scale(ms.Tensor(np.float32(4.0)))
    assert float(step.scale_sense.asnumpy()) == 4.0
    with pytest.raises(TypeError, match="scale_sense"):
        nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), nn.SGD(net.trainable_params(), 0.1), 8.0)


def test_build_train_network_levels(device):
    net = Linear()
    opt = nn.SGD(net.trainable_params(), 0.1)
    assert type(ms.amp.build_train_network(net, opt, mse, level="O0")) is nn.TrainOneStepCell
    step = ms.amp.build_train_network(Linear(), opt, mse, level="O2")
    assert isinstance(step, nn.TrainOneStepWithLossScaleCell)
    assert float(step.scale_sense.asnumpy()) == 2.0 ** 24
    with pytest.raises(ValueError):
        ms.amp.build_train_network(net, opt, mse, level="O5")


def test_model_with_amp_level_and_loss_scale_manager(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = (x.sum(1, keepdims=True) > 0).astype(np.float32)

    def make():
        ms.set_seed(1)
        return nn.SequentialCell([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 1)])

    losses = {}
    for level, manager in (("O0", None), ("O2", DynamicLossScaleManager(2.0 ** 10, 2, 50)),
                           ("O1", FixedLossScaleManager(64.0))):
        network = make()
        kwargs = {} if manager is None else {"loss_scale_manager": manager}
        model = Model(network, nn.MSELoss(), nn.SGD(network.trainable_params(), 0.05), amp_level=level, **kwargs)
        data = [(ms.Tensor(x[i:i + 4]), ms.Tensor(y[i:i + 4])) for i in range(0, 16, 4)]
        model.train(3, data, progress=False)
        assert all(p.dtype == ms.float32 for p in network.trainable_params())
        out = model.train_network(*data[0])
        losses[level] = float((out[0] if isinstance(out, tuple) else out).asnumpy())
    assert np.isfinite(list(losses.values())).all()
    np.testing.assert_allclose(losses["O2"], losses["O0"], rtol=3e-2, atol=3e-3)
    np.testing.assert_allclose(losses["O1"], losses["O0"], rtol=3e-2, atol=3e-3)


def test_managers_are_also_under_amp():
    assert ms.amp.DynamicLossScaleManager is DynamicLossScaleManager
    assert ms.amp.FixedLossScaleManager is FixedLossScaleManager
    assert FixedLossScaleManager(8.0, drop_overflow_update=False).get_update_cell() is None
    assert DynamicLossScaleManager().get_loss_scale() == 2.0 ** 24


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_a_jitted_loss_scale_step_is_one_captured_graph_and_equals_eager(device, opt, recwarn):
    """Under jit the overflow check, the scale update and the skipped update stay on the device: the
    step is captured whole (a capture failure warns and falls back, which fails this test), and
    every step, overflowing or not, leaves what the eager step leaves."""
    make = {"momentum": lambda p: nn.Momentum(p, 0.1, 0.9), "adam": lambda p: nn.Adam(p, 0.1)}[opt]
    steps = []
    for _ in range(2):
        net = Linear()
        optimizer = make(net.trainable_params())
        manager = DynamicLossScaleManager(init_loss_scale=1024, scale_factor=2, scale_window=2)
        steps.append((nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), optimizer,
                                                       manager.get_update_cell()), optimizer))
    (eager, eager_opt), (step, jit_opt) = steps
    jitted = ms.jit(step)
    with np.errstate(over="ignore", invalid="ignore"):
        for big in (False, True, False, False, True, False):
            expect = [t.asnumpy() for t in eager(*_data(big))]
            got = [t.asnumpy() for t in jitted(*_data(big))]
            for e, g in zip(expect, got):
                np.testing.assert_array_equal(g, e)
            for p, q in zip(jit_opt.get_parameters(), eager_opt.get_parameters()):
                np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7, err_msg=p.name)
    assert float(step.scale_sense.asnumpy()) == float(eager.scale_sense.asnumpy())
    assert not [w for w in recwarn if "CUDA-graph" in str(w.message)], [str(w.message) for w in recwarn]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_a_network_that_overflows_at_every_step_shrinks_the_scale_to_one_and_never_writes(device):
    """Issue 14's bad input: every step overflows. The scale halves down to its floor and stays
    there, every step reports the overflow, and the Parameters and the optimizer state are never
    written (no NaN reaches them), eager and jitted."""
    net = Linear()
    optimizer = nn.Adam(net.trainable_params(), 0.1)
    manager = DynamicLossScaleManager(init_loss_scale=8, scale_factor=2, scale_window=1)
    step = nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, mse), optimizer, manager.get_update_cell())
    state = {p.name: p.asnumpy().copy() for p in optimizer.get_parameters()}
    scales = []
    for run in (step, ms.jit(step)):
        for _ in range(3):
            _, overflow, scale = run(*_data(big=True))
            assert bool(overflow.asnumpy())
            scales.append(float(scale.asnumpy()))
    assert scales == [8.0, 4.0, 2.0, 1.0, 1.0, 1.0] and float(step.scale_sense.asnumpy()) == 1.0
    for p in optimizer.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), state[p.name])
