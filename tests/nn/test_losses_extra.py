"""BCELoss, NLLLoss, SmoothL1Loss, HuberLoss, KLDivLoss, FocalLoss, DiceLoss, MultiClassDiceLoss,
CosineEmbeddingLoss, MarginRankingLoss and their functional ops: NumPy float64 references, MindSpore's
documented examples, gradients against finite differences on both backends, a jitted training step,
and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn, ops
from gpucell.jit import clear_cache, function
from gpucell.ops._dispatch import is_capturable

RNG = np.random.default_rng(11)
REDUCTIONS = ("mean", "sum", "none")
PROBS = RNG.uniform(0.05, 0.95, (4, 3))
TARGETS = RNG.uniform(0, 1, (4, 3))
LOGITS = RNG.standard_normal((5, 4)) * 2
LOG_P = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
LABELS = np.array([0, 3, 1, 3, 2])


def reduce(values, reduction, divisor=None):
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / (values.size if divisor is None else divisor)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss(device, reduction):
    w = RNG.uniform(0.5, 2, (4, 3))
    expected = -w * (TARGETS * np.log(PROBS + 1e-12) + (1 - TARGETS) * np.log(1 - PROBS + 1e-12))
    loss = nn.BCELoss(on(device, w), reduction)
    np.testing.assert_allclose(host(loss(on(device, PROBS), on(device, TARGETS))), reduce(expected, reduction),
                               rtol=1e-12)
    np.testing.assert_allclose(host(ops.binary_cross_entropy(on(device, PROBS), on(device, TARGETS), None,
                                                             reduction)),
                               reduce(expected / w, reduction), rtol=1e-12)
    gradcheck(lambda x, y: loss(x, y), PROBS, TARGETS, positions=(0, 1), device=device)


def test_bce_loss_mindspore_example():
    weight = Tensor(np.array([[1.0, 2.0, 3.0], [4.0, 3.3, 2.2]]), ms.float32)
    logits = Tensor(np.array([[0.1, 0.2, 0.3], [0.5, 0.7, 0.9]]), ms.float32)
    labels = Tensor(np.array([[0, 1, 0], [0, 0, 1]]), ms.float32)
    np.testing.assert_allclose(float(nn.BCELoss(weight)(logits, labels)), 1.8952923, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_nll_loss_weight_ignore_index_and_smoothing(device, reduction, smoothing):
    weight = RNG.uniform(0.5, 2, 4)
    labels = LABELS.copy()
    labels[2] = -100
    valid = labels != -100
    safe = np.where(valid, labels, 0)
    picked = -LOG_P[np.arange(5), safe] * weight[safe] * valid
    smooth = -LOG_P.sum(1) * valid
    if reduction == "none":
        expected = (1 - smoothing) * picked + smoothing / 4 * smooth
    elif reduction == "sum":
        expected = (1 - smoothing) * picked.sum() + smoothing / 4 * smooth.sum()
    else:  # MindSpore: the weighted mean of the picked terms, the plain mean of the smoothing terms
        expected = (1 - smoothing) * picked.sum() / (weight[safe] * valid).sum() + smoothing / 4 * smooth.mean()
    out = ops.nll_loss(on(device, LOG_P), on(device, labels), on(device, weight), -100, reduction, smoothing)
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    gradcheck(lambda z: ops.nll_loss(z, on(device, labels), on(device, weight), -100, reduction, smoothing),
              LOG_P, device=device)
    if not smoothing:
        cell = nn.NLLLoss(on(device, weight), reduction=reduction)
        np.testing.assert_allclose(host(cell(on(device, LOG_P), on(device, labels))), expected, rtol=1e-12)


def test_nll_loss_shapes_and_torch(device):
    z = RNG.standard_normal((2, 3, 4, 5))
    y = RNG.integers(0, 3, (2, 4, 5))
    per_position = -np.take_along_axis(z, y[:, None], 1)[:, 0]
    np.testing.assert_allclose(host(nn.NLLLoss(reduction="none")(on(device, z), on(device, y))), per_position,
                               rtol=1e-12)
    np.testing.assert_allclose(host(nn.NLLLoss()(on(device, z), on(device, y))), per_position.mean(), rtol=1e-12)
    single = ops.nll_loss(on(device, LOG_P[0]), on(device, np.array(2)), reduction="none")
    assert single.shape == () and np.isclose(float(host(single)), -LOG_P[0, 2])
    torch = pytest.importorskip("torch")
    weight = RNG.uniform(0.5, 2, 4)
    for reduction in REDUCTIONS:
        ours = nn.NLLLoss(on(device, weight), 3, reduction)(on(device, LOG_P), on(device, LABELS))
        theirs = torch.nn.functional.nll_loss(torch.from_numpy(LOG_P), torch.from_numpy(LABELS),
                                              torch.from_numpy(weight), ignore_index=3, reduction=reduction)
        np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-12)


def test_nll_loss_out_of_range_labels():
    with pytest.raises(ValueError, match=r"'NLLLoss', every label must be in \[0, 4\), but got 7"):
        nn.NLLLoss()(Tensor(LOG_P), Tensor(np.array([0, 1, 7, 2, 3])))
    # On the GPU the check would read the labels on the host: the loss turns NaN instead.
    out = nn.NLLLoss()(on("GPU", LOG_P), on("GPU", np.array([0, 1, 7, 2, 3])))
    assert np.isnan(host(out))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_and_huber(device, reduction):
    x, y = RNG.standard_normal((3, 4)) * 2, RNG.standard_normal((3, 4))
    d = x - y
    for beta in (1.0, 0.5):
        expected = np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)
        loss = nn.SmoothL1Loss(beta, reduction)
        np.testing.assert_allclose(host(loss(on(device, x), on(device, y))), reduce(expected, reduction), rtol=1e-12)
        gradcheck(lambda a, b: loss(a, b), x, y, positions=(0, 1), device=device)
    yb = RNG.standard_normal((1, 4))  # HuberLoss broadcasts
    db = x - yb
    expected = np.where(np.abs(db) < 1.5, 0.5 * db * db, 1.5 * (np.abs(db) - 0.75))
    huber = nn.HuberLoss(reduction, delta=1.5)
    np.testing.assert_allclose(host(huber(on(device, x), on(device, yb))), reduce(expected, reduction), rtol=1e-12)
    np.testing.assert_allclose(host(ops.huber_loss(on(device, x), on(device, yb), reduction, 1.5)),
                               reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda a, b: huber(a, b), x, yb, positions=(0, 1), device=device)


def test_smooth_l1_and_huber_mindspore_examples():
    logits, labels = Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 2.0, 2.0])
    np.testing.assert_allclose(host(nn.SmoothL1Loss()(logits, labels)), [0.0, 0.0, 0.5])
    np.testing.assert_allclose(float(nn.HuberLoss()(logits, labels)), 0.16666667, rtol=1e-6)
    out = nn.HuberLoss("none")(logits, Tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 2.0]]))
    np.testing.assert_allclose(host(out), [[0.0, 0.5, 1.5], [0.0, 0.0, 0.5]])


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div(device, reduction):
    target = np.exp(LOG_P[:, ::-1].copy())
    target[0, 1] = 0.0  # 0 * log 0 counts as 0
    pointwise = np.where(target > 0, target * np.log(np.where(target > 0, target, 1)), 0) - target * LOG_P
    expected = pointwise.sum() / 5 if reduction == "batchmean" else reduce(pointwise, reduction)
    loss = nn.KLDivLoss(reduction)
    np.testing.assert_allclose(host(loss(on(device, LOG_P), on(device, target))), expected, rtol=1e-12)
    gradcheck(lambda a, b: loss(a, b), LOG_P, target + 0.01, positions=(0, 1), device=device)
    log_target = ops.kl_div(on(device, LOG_P), on(device, np.log(target + 0.01)), reduction, True)
    pointwise = (target + 0.01) * (np.log(target + 0.01) - LOG_P)
    expected = pointwise.sum() / 5 if reduction == "batchmean" else reduce(pointwise, reduction)
    np.testing.assert_allclose(host(log_target), expected, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:reduction")  # torch's note that its 'mean' is not 'batchmean'
def test_kl_div_mindspore_example_and_torch():
    out = nn.KLDivLoss()(Tensor(np.array([0.2, 0.7, 0.1]), ms.float32), Tensor(np.array([0.0, 1.0, 0.0]), ms.float32))
    np.testing.assert_allclose(float(out), -0.23333333, rtol=1e-6)
    torch = pytest.importorskip("torch")
    target = np.exp(LOG_P[::-1].copy())
    for reduction in ("batchmean", "sum", "mean"):
        theirs = torch.nn.functional.kl_div(torch.from_numpy(LOG_P), torch.from_numpy(target), reduction=reduction)
        np.testing.assert_allclose(host(ops.kl_div(Tensor(LOG_P), Tensor(target), reduction)), theirs.numpy(),
                                   rtol=1e-12)


def focal_reference(logits, labels, weight, gamma, ids):
    n, c = logits.shape[:2]
    z = logits.reshape(n, c, -1)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    if ids:
        lab = labels.reshape(n, -1).astype(int)
        lp = np.take_along_axis(log_p, lab[:, None], 1)[:, 0]
        p = np.exp(lp)
        if weight is not None:
            lp = lp * weight[lab]
        return (-(1 - p) ** gamma * lp).mean(1)
    p = np.exp(log_p)
    if weight is not None:
        log_p = log_p * weight[None, :, None]
    return (-(1 - p) ** gamma * labels.reshape(n, c, -1) * log_p).mean(-1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss(device, reduction):
    weight = RNG.uniform(0.5, 2, 3)
    z = RNG.standard_normal((2, 3, 4, 2))
    ids = RNG.integers(0, 3, (2, 1, 4, 2))
    loss = nn.FocalLoss(on(device, weight), 2.0, reduction)
    expected = reduce(focal_reference(z, ids, weight, 2.0, True), reduction)
    np.testing.assert_allclose(host(loss(on(device, z), on(device, ids, np.int32))), expected, rtol=1e-12)
    gradcheck(lambda a: loss(a, on(device, ids, np.int32)), z, device=device)
    soft = RNG.uniform(0, 1, (4, 3))
    z2 = RNG.standard_normal((4, 3))
    plain = nn.FocalLoss(gamma=1.5, reduction=reduction)
    expected = reduce(focal_reference(z2, soft, None, 1.5, False), reduction)
    np.testing.assert_allclose(host(plain(on(device, z2), on(device, soft))), expected, rtol=1e-12)
    gradcheck(lambda a: plain(a, on(device, soft)), z2, device=device)


def test_focal_loss_mindspore_example():
    loss = nn.FocalLoss(weight=Tensor([1, 2]), gamma=2.0, reduction="mean")
    out = loss(Tensor([[0.8, 1.4], [0.5, 0.9], [1.2, 0.9]], ms.float32), Tensor([[1], [1], [0]], ms.int32))
    np.testing.assert_allclose(float(out), 0.12516622, rtol=1e-6)


def test_dice_losses(device):
    x, y = RNG.uniform(0, 1, (3, 4, 5)), (RNG.uniform(0, 1, (3, 4, 5)) > 0.5).astype(np.float64)
    dice = nn.DiceLoss(1e-3)
    expected = 1 - 2 * (x * y).sum() / ((x * x).sum() + (y * y).sum() + 1e-3)
    np.testing.assert_allclose(host(dice(on(device, x), on(device, y))), expected, rtol=1e-12)
    gradcheck(lambda a: dice(a, on(device, y)), x, device=device)

    def binary(a, b):
        return 1 - 2 * (a * b).sum() / ((a * a).sum() + (b * b).sum() + 1e-5)

    weights = RNG.uniform(0.5, 2, (4, 5))
    multi = nn.MultiClassDiceLoss(on(device, weights), ignore_indiex=2, activation="sigmoid")
    act = 1 / (1 + np.exp(-x))
    expected = sum(binary(act[:, i], y[:, i]) * weights[i] for i in (0, 1, 3)) / 4
    np.testing.assert_allclose(host(multi(on(device, x), on(device, y))), expected, rtol=1e-12)
    gradcheck(lambda a: multi(a, on(device, y)), x, device=device)
    plain = nn.MultiClassDiceLoss(activation=None)
    expected = sum(binary(x[:, i], y[:, i]) for i in range(4)) / 4
    np.testing.assert_allclose(host(plain(on(device, x), on(device, y))), expected, rtol=1e-12)


def test_dice_mindspore_examples():
    logits = Tensor(np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]]), ms.float32)
    labels = Tensor(np.array([[0, 1], [1, 0], [0, 1]]), ms.float32)
    np.testing.assert_allclose(float(nn.DiceLoss(smooth=1e-5)(logits, labels)), 0.38596618, rtol=1e-6)
    logits = Tensor(np.array([[0.2, 0.5, 0.7], [0.3, 0.1, 0.5], [0.9, 0.6, 0.3]]), ms.float32)
    labels = Tensor(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]]), ms.float32)
    np.testing.assert_allclose(float(nn.MultiClassDiceLoss()(logits, labels)), 0.54958105, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_and_margin_ranking(device, reduction):
    x1, x2 = RNG.standard_normal((4, 3, 2)), RNG.standard_normal((4, 3, 2))
    labels = np.array([[1, -1], [-1, -1], [1, 1], [-1, 1]])
    cos = (x1 * x2).sum(1) / (np.sqrt((x1 * x1).sum(1)) * np.sqrt((x2 * x2).sum(1)))
    expected = np.where(labels == 1, 1 - cos, np.maximum(cos - 0.1, 0))
    loss = nn.CosineEmbeddingLoss(0.1, reduction)
    np.testing.assert_allclose(host(loss(on(device, x1), on(device, x2), on(device, labels, np.int32))),
                               reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda a, b: loss(a, b, on(device, labels, np.int32)), x1, x2, positions=(0, 1), device=device)
    a, b = RNG.standard_normal(6), RNG.standard_normal(6)
    target = np.sign(RNG.standard_normal(6))
    expected = np.maximum(0, -target * (a - b) + 0.3)
    ranking = nn.MarginRankingLoss(0.3, reduction)
    np.testing.assert_allclose(host(ranking(on(device, a), on(device, b), on(device, target))),
                               reduce(expected, reduction), rtol=1e-12)
    np.testing.assert_allclose(host(ops.margin_ranking_loss(on(device, a), on(device, b), on(device, target), 0.3,
                                                            reduction)), reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda p, q: ranking(p, q, on(device, target)), a, b, positions=(0, 1), device=device)


def test_cosine_and_ranking_mindspore_examples():
    x1 = Tensor(np.array([[0.3, 0.8], [0.4, 0.3]]), ms.float32)
    x2 = Tensor(np.array([[0.4, 1.2], [-0.4, -0.9]]), ms.float32)
    out = nn.CosineEmbeddingLoss()(x1, x2, Tensor(np.array([1, -1]), ms.int32))
    np.testing.assert_allclose(float(out), 0.0003425479, rtol=1e-4)
    input1 = Tensor(np.array([0.3864, -2.4093, -1.4076]), ms.float32)
    input2 = Tensor(np.array([-0.6012, -1.6681, 1.2928]), ms.float32)
    target = ops.sign(Tensor(np.array([-2, -2, 3]), ms.float32))
    np.testing.assert_allclose(host(nn.MarginRankingLoss(reduction="none")(input1, input2, target)),
                               [0.98759997, 0.0, 2.7003999], rtol=1e-6)
    np.testing.assert_allclose(float(nn.MarginRankingLoss()(input1, input2, target)), 1.2293333, rtol=1e-6)


def test_second_order_gradient_through_a_loss(device):
    """The losses are compositions of ops: grad of grad works (a gradient penalty, for example)."""
    x, y = RNG.standard_normal((3, 4)) * 2, RNG.standard_normal((3, 4))
    grad = ms.grad(lambda a: nn.HuberLoss()(a, on(device, y)) + ops.nll_loss(ops.log_softmax(a), on(
        device, np.array([0, 3, 1]))) + nn.FocalLoss()(a, on(device, np.array([[1], [0], [2]]))))
    gradcheck(grad, x, device=device, rtol=1e-5, atol=1e-6)


def test_jitted_training_step_with_the_losses(device):
    """One training step summing every new loss, jitted (a CUDA graph on the GPU), equals eager."""
    rng = np.random.default_rng(4)
    x = on(device, rng.standard_normal((6, 4)), np.float32)
    ids = on(device, np.array([0, 2, 1, 3, 2, 0]), np.int32)
    soft = on(device, rng.uniform(0.05, 0.95, (6, 4)), np.float32)
    sign = on(device, np.sign(rng.standard_normal(6)), np.float32)
    losses = [nn.BCELoss(), nn.NLLLoss(), nn.SmoothL1Loss(reduction="mean"), nn.HuberLoss(), nn.KLDivLoss("batchmean"),
              nn.FocalLoss(), nn.DiceLoss(), nn.MultiClassDiceLoss(), nn.CosineEmbeddingLoss(),
              nn.MarginRankingLoss()]

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(4, 4)

        def construct(self, x, ids, soft, sign):
            z = self.dense(x)
            p, log_p = ops.sigmoid(z), ops.log_softmax(z)
            bce, nll, sl1, huber, kl, focal, dice, mdice, cosine, ranking = losses
            return (bce(p, soft) + nll(log_p, ids) + sl1(z, soft) + huber(z, soft) + kl(log_p, soft)
                    + focal(z, ids.reshape(6, 1)) + dice(p, soft) + mdice(z, soft) + cosine(z, soft, sign)
                    + ranking(z[:, 0], z[:, 1], sign))

    def build():
        ms.set_seed(3)
        net = Net()
        for p in net.get_parameters():
            p.move_to(device)
        return nn.TrainOneStepCell(net, nn.SGD(net.trainable_params(), learning_rate=0.05))

    eager = build()
    eager_losses = [float(host(eager(x, ids, soft, sign))) for _ in range(3)]
    jitted = build()
    step = ms.jit(lambda *a: jitted(*a))
    clear_cache()
    jit_losses = [float(host(step(x, ids, soft, sign))) for _ in range(3)]
    np.testing.assert_allclose(jit_losses, eager_losses, rtol=1e-5)
    assert eager_losses[2] < eager_losses[0]
    (plan,) = function.PLANS._plans.values()
    if device == "GPU":
        assert plan.executor.kind == "cuda-graph" and not plan.executor.failed
        assert plan.executor.graph_breaks == 0, [s.op.name for s in plan.steps if not is_capturable(s.op, s.attrs)]


def test_errors():
    z = Tensor(np.full((2, 3), 0.5, np.float32))
    for cls in (nn.BCELoss, nn.NLLLoss, nn.SmoothL1Loss, nn.HuberLoss, nn.FocalLoss, nn.CosineEmbeddingLoss,
                nn.MarginRankingLoss):
        with pytest.raises(ValueError, match=f"'{cls.__name__}'.*'reduction'.*'avg'"):
            cls(reduction="avg")
    with pytest.raises(ValueError, match="'KLDivLoss'.*'reduction'.*'batchmean'.*'avg'"):
        nn.KLDivLoss("avg")
    with pytest.raises(ValueError, match=r"'BCELoss'.*shape of 'labels' \(3,\).*\(2, 3\)"):
        nn.BCELoss()(z, Tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="'binary_cross_entropy'.*dtype of 'labels'.*Float64"):
        ops.binary_cross_entropy(z, Tensor(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="'BCELoss'.*'weight'.*Tensor or None.*list"):
        nn.BCELoss([1.0])
    with pytest.raises(TypeError, match="'NLLLoss'.*'ignore_index'.*int"):
        nn.NLLLoss(ignore_index=1.5)
    with pytest.raises(TypeError, match="'nll_loss'.*'target'.*int class ids.*Float32"):
        ops.nll_loss(z, Tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"'nll_loss'.*'target'.*\(3,\)"):
        ops.nll_loss(z, Tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"'nll_loss'.*'weight'.*\(3,\).*\(2,\)"):
        ops.nll_loss(z, Tensor([0, 1]), Tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"'nll_loss'.*'label_smoothing'.*1.5"):
        ops.nll_loss(z, Tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="'SmoothL1Loss'.*'beta'.*> 0.*0.0"):
        nn.SmoothL1Loss(0.0)
    with pytest.raises(TypeError, match="'smooth_l1_loss'.*'beta'.*'str'"):
        ops.smooth_l1_loss(z, z, "1")
    with pytest.raises(ValueError, match="'HuberLoss'.*'delta'.*> 0"):
        nn.HuberLoss(delta=-1)
    with pytest.raises(ValueError, match=r"'HuberLoss'.*\(2, 3\).*\(2,\).*broadcast"):
        nn.HuberLoss()(z, Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="'kl_div'.*'batchmean'.*0-d"):
        ops.kl_div(Tensor(1.0), Tensor(1.0), "batchmean")
    with pytest.raises(TypeError, match="'kl_div'.*'log_target'.*bool"):
        ops.kl_div(z, z, log_target=1)
    with pytest.raises(TypeError, match="'FocalLoss'.*'gamma'.*float.*int"):
        nn.FocalLoss(gamma=2)
    with pytest.raises(ValueError, match="'FocalLoss'.*dimension of 'weight'.*2"):
        nn.FocalLoss(Tensor(np.ones((2, 2), np.float32)))
    with pytest.raises(ValueError, match=r"'FocalLoss'.*'labels' shape must be \(2, 3\).*got \(2, 2\)"):
        nn.FocalLoss()(z, Tensor(np.zeros((2, 2), np.int32)))
    with pytest.raises(TypeError, match="'FocalLoss'.*'labels'.*Int32, Int64, Float16, Float32 or Float64.*Bool"):
        nn.FocalLoss()(z, Tensor(np.zeros((2, 1), bool)))
    with pytest.raises(TypeError, match="'DiceLoss'.*'smooth'.*str"):
        nn.DiceLoss("1")
    with pytest.raises(ValueError, match="'DiceLoss'.*'smooth'.*> 0"):
        nn.DiceLoss(0.0)
    with pytest.raises(ValueError, match=r"'DiceLoss'.*'labels' shape \(3,\).*\(2, 3\)"):
        nn.DiceLoss()(z, Tensor(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match="'MultiClassDiceLoss'.*dimension of 'weights' must be 2.*1"):
        nn.MultiClassDiceLoss(Tensor(np.ones(3, np.float32)))
    with pytest.raises(ValueError, match="'MultiClassDiceLoss'.*'activation'.*'gelu'"):
        nn.MultiClassDiceLoss(activation="gelu")
    with pytest.raises(TypeError, match="'MultiClassDiceLoss'.*'ignore_indiex'.*int.*float"):
        nn.MultiClassDiceLoss(ignore_indiex=1.0)
    with pytest.raises(ValueError, match=r"'MultiClassDiceLoss'.*weights.shape\[0\] \(2\).*labels.shape\[1\] \(3\)"):
        nn.MultiClassDiceLoss(Tensor(np.ones((2, 3), np.float32)))(z, z)
    with pytest.raises(TypeError, match="'CosineEmbeddingLoss'.*'margin'.*float.*int"):
        nn.CosineEmbeddingLoss(margin=0)
    with pytest.raises(ValueError, match=r"'CosineEmbeddingLoss'.*'margin'.*\[-1.0, 1.0\].*1.5"):
        nn.CosineEmbeddingLoss(margin=1.5)
    with pytest.raises(ValueError, match=r"'CosineEmbeddingLoss'.*'labels' shape.*\(3,\)"):
        nn.CosineEmbeddingLoss()(z, z, Tensor([1, 1, 1]))
    with pytest.raises(TypeError, match="'MarginRankingLoss'.*'margin'.*'str'"):
        nn.MarginRankingLoss("0")
    with pytest.raises(ValueError, match=r"'margin_ranking_loss'.*shape of 'target' \(2,\)"):
        ops.margin_ranking_loss(z, z, Tensor([1.0, 1.0]))
