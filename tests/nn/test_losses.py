"""Loss Cells against NumPy float64 references (and torch), stability, reductions, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_testing import gradcheck, host, on

import gpucell as ms
from gpucell import Tensor, nn

RNG = np.random.default_rng(9)
LOGITS = RNG.standard_normal((6, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2, 3])
PROBS = RNG.random((6, 4))
PROBS /= PROBS.sum(1, keepdims=True)


def log_softmax(z, axis=-1):
    shifted = z - z.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


def reduce(values, reduction, divisor=None):
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / (divisor if divisor is not None else values.size)


REDUCTIONS = ("mean", "sum", "none")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1(device, reduction):
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))  # labels broadcast
    for cls, reference in ((nn.MSELoss, lambda d: d * d), (nn.L1Loss, np.abs)):
        loss = cls(reduction)
        out = loss(on(device, x), on(device, y))
        np.testing.assert_allclose(host(out), reduce(reference(x - y), reduction))
        gradcheck(loss, x, y + 0.05, positions=(0, 1), device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_cross_entropy_with_logits(device, reduction):
    sparse = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction=reduction)
    expected = -log_softmax(LOGITS)[np.arange(6), LABELS]
    np.testing.assert_allclose(host(sparse(on(device, LOGITS), on(device, LABELS, np.int32))),
                               reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda z: sparse(z, on(device, LABELS)), LOGITS, device=device)
    dense = nn.SoftmaxCrossEntropyWithLogits(reduction=reduction)
    expected = -(PROBS * log_softmax(LOGITS)).sum(1)
    out = dense(on(device, LOGITS), on(device, PROBS))
    np.testing.assert_allclose(host(out), reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda z: dense(z, on(device, PROBS)), LOGITS, device=device)


def test_softmax_cross_entropy_defaults_and_gradient():
    loss = nn.SoftmaxCrossEntropyWithLogits()
    assert loss.sparse is False and loss.reduction == "none"
    z = Tensor(LOGITS.astype(np.float32))
    grad = ms.grad(lambda z: nn.SoftmaxCrossEntropyWithLogits(True, "mean")(z, Tensor(LABELS)))(z)
    expected = np.exp(log_softmax(LOGITS))
    expected[np.arange(6), LABELS] -= 1
    np.testing.assert_allclose(host(grad), expected / 6, rtol=1e-5, atol=1e-7)


def test_cross_entropies_are_stable_for_huge_logits(device):
    z = on(device, np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], np.float32))
    labels = on(device, np.array([0, 2], np.int32))
    out = host(nn.SoftmaxCrossEntropyWithLogits(True, "none")(z, labels))
    np.testing.assert_allclose(out, [0.0, 1e4])
    out = host(nn.CrossEntropyLoss(reduction="none")(z, labels))
    np.testing.assert_allclose(out, [0.0, 1e4])
    bce = host(nn.BCEWithLogitsLoss(reduction="none")(on(device, np.array([1e4, -1e4, 50.0], np.float32)),
                                                      on(device, np.array([0.0, 1.0, 1.0], np.float32))))
    np.testing.assert_allclose(bce, [1e4, 1e4, 0.0], atol=1e-6)
    assert np.isfinite(bce).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_loss_weight_ignore_smoothing(device, reduction):
    weight = RNG.random(4) + 0.5
    labels = LABELS.copy()
    labels[2] = -100
    smoothing = 0.1
    logp = log_softmax(LOGITS)
    valid = labels != -100
    safe = np.where(valid, labels, 0)
    target = np.eye(4)[safe] * (1 - smoothing) + smoothing / 4
    per_row = -(target * weight * logp).sum(1) * valid
    divisor = (weight[safe] * valid).sum()
    loss = nn.CrossEntropyLoss(on(device, weight), reduction=reduction, label_smoothing=smoothing)
    out = loss(on(device, LOGITS), on(device, labels))
    np.testing.assert_allclose(host(out), reduce(per_row, reduction, divisor), rtol=1e-12)
    gradcheck(lambda z: loss(z, on(device, labels)), LOGITS, device=device)


def test_cross_entropy_loss_shapes(device):
    z = RNG.standard_normal((2, 3, 4, 5))
    y = RNG.integers(0, 3, (2, 4, 5))
    per_position = -np.take_along_axis(log_softmax(z, 1), y[:, None], 1)[:, 0]
    loss = nn.CrossEntropyLoss(reduction="none")
    np.testing.assert_allclose(host(loss(on(device, z), on(device, y))), per_position, rtol=1e-12)
    np.testing.assert_allclose(host(nn.CrossEntropyLoss()(on(device, z), on(device, y))), per_position.mean())
    gradcheck(lambda z: nn.CrossEntropyLoss()(z, on(device, y)), z, device=device)
    probs = np.exp(log_softmax(RNG.standard_normal((2, 3, 4, 5)), 1))
    out = nn.CrossEntropyLoss(reduction="none")(on(device, z), on(device, probs))
    np.testing.assert_allclose(host(out), -(probs * log_softmax(z, 1)).sum(1), rtol=1e-12)
    single = nn.CrossEntropyLoss(reduction="none")(on(device, LOGITS[0]), on(device, np.array(2)))
    assert single.shape == () and np.isclose(host(single), -log_softmax(LOGITS[0])[2])


def test_cross_entropy_loss_matches_torch():
    torch = pytest.importorskip("torch")
    weight = RNG.random(4) + 0.5
    labels = LABELS.copy()
    labels[0] = 7  # ignored
    for reduction in REDUCTIONS:
        ours = nn.CrossEntropyLoss(Tensor(weight), 7, reduction, 0.2)(Tensor(LOGITS), Tensor(labels))
        theirs = torch.nn.functional.cross_entropy(torch.from_numpy(LOGITS), torch.from_numpy(labels),
                                                   torch.from_numpy(weight), ignore_index=7,
                                                   reduction=reduction, label_smoothing=0.2)
        np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-12)
        ours = nn.CrossEntropyLoss(Tensor(weight), reduction=reduction, label_smoothing=0.1)(Tensor(LOGITS),
                                                                                         Tensor(PROBS))
        theirs = torch.nn.functional.cross_entropy(torch.from_numpy(LOGITS), torch.from_numpy(PROBS),
                                                   torch.from_numpy(weight), reduction=reduction,
                                                   label_smoothing=0.1)
        np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(device, reduction):
    x, y = LOGITS, RNG.random((6, 4))
    w, pw = RNG.random((6, 4)), RNG.random(4) + 0.5
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    expected = -w * (pw * y * log_sig + (1 - y) * log_one_minus)
    loss = nn.BCEWithLogitsLoss(reduction, on(device, w), on(device, pw))
    out = loss(on(device, x), on(device, y))
    np.testing.assert_allclose(host(out), reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda x, y: loss(x, y), x, y, positions=(0, 1), device=device)
    plain = nn.BCEWithLogitsLoss(reduction)
    expected = -(y * log_sig + (1 - y) * log_one_minus)
    out = plain(on(device, x), on(device, y))
    np.testing.assert_allclose(host(out), reduce(expected, reduction), rtol=1e-12)
    gradcheck(lambda x, y: plain(x, y), x, y, positions=(0, 1), device=device)


def test_bce_matches_torch():
    torch = pytest.importorskip("torch")
    x, y, w, pw = LOGITS, RNG.random((6, 4)), RNG.random((6, 4)), RNG.random(4) + 0.5
    ours = nn.BCEWithLogitsLoss("mean", Tensor(w), Tensor(pw))(Tensor(x), Tensor(y))
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        *(torch.from_numpy(a) for a in (x, y, w)), pos_weight=torch.from_numpy(pw))
    np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-12)


def test_reprs_and_errors():
    assert repr(nn.MSELoss()) == "MSELoss()"
    for cls in (nn.MSELoss, nn.L1Loss, nn.CrossEntropyLoss, nn.BCEWithLogitsLoss):
        with pytest.raises(ValueError, match=f"'{cls.__name__}'.*'reduction'.*'avg'"):
            cls(reduction="avg")
    with pytest.raises(ValueError, match="'SoftmaxCrossEntropyWithLogits'.*'reduction'"):
        nn.SoftmaxCrossEntropyWithLogits(reduction="avg")
    z = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"'MSELoss'.*\(2, 3\).*\(2, 2\)"):
        nn.MSELoss()(z, Tensor(np.zeros((2, 2), np.float32)))
    with pytest.raises(ValueError, match=r"'SoftmaxCrossEntropyWithLogits'.*'labels'.*\(2,\).*\(3,\)"):
        nn.SoftmaxCrossEntropyWithLogits(True)(z, Tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="'SoftmaxCrossEntropyWithLogits'.*int class ids.*Float32"):
        nn.SoftmaxCrossEntropyWithLogits(True)(z, Tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="'SoftmaxCrossEntropyWithLogits'.*dense 'labels'"):
        nn.SoftmaxCrossEntropyWithLogits()(z, Tensor([0, 1]))
    with pytest.raises(ValueError, match=r"'SoftmaxCrossEntropyWithLogits'.*2-D.*\(3,\)"):
        nn.SoftmaxCrossEntropyWithLogits(True)(Tensor([0.0, 1.0, 2.0]), Tensor(0))
    with pytest.raises(ValueError, match=r"'CrossEntropyLoss'.*\[0, 3\).*5"):
        nn.CrossEntropyLoss()(z, Tensor([0, 5]))
    with pytest.raises(ValueError, match=r"'CrossEntropyLoss'.*'weight'.*\(3,\)"):
        nn.CrossEntropyLoss(Tensor([1.0, 1.0]))(z, Tensor([0, 1]))
    with pytest.raises(ValueError, match=r"'CrossEntropyLoss'.*'label_smoothing'.*1.5"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"'BCEWithLogitsLoss'.*'label'.*\(2,\).*\(2, 3\)"):
        nn.BCEWithLogitsLoss()(z, Tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="'BCEWithLogitsLoss'.*'logits'.*Tensor"):
        nn.BCEWithLogitsLoss()(np.zeros(2), Tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="'L1Loss'.*'input'.*Int64"):
        nn.L1Loss()(Tensor([1, 2]), Tensor([1.0, 2.0]))


@pytest.mark.parametrize("dtype", [ms.int8, ms.int32, ms.int64, ms.uint8])
@pytest.mark.parametrize("bad", [-1, 4, 100])
def test_out_of_range_sparse_labels_are_refused_on_the_cpu(dtype, bad):
    if bad < 0 and dtype is ms.uint8:
        pytest.skip("an unsigned label cannot be negative")
    labels = LABELS.copy()
    labels[2] = bad
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    logits = Tensor(LOGITS.astype(np.float32))
    with pytest.raises(ValueError, match=rf"For 'SoftmaxCrossEntropyWithLogits', every label must be in "
                                         rf"\[0, 4\), but got {bad}\."):
        loss_fn(logits, Tensor(labels, dtype))
    # The jit's fused loss-and-gradient op checks the same way.
    grad_fn = ms.jit(ms.value_and_grad(lambda x, y: loss_fn(x, y)))
    good = Tensor(LABELS, dtype)
    grad_fn(logits, good)
    grad_fn(logits, good)
    with pytest.raises(ValueError, match="every label must be in"):
        grad_fn(logits, Tensor(labels, dtype))
