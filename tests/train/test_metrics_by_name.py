"""MindSpore's metric classes (MAE, MSE, Precision, Recall, Fbeta/F1, top-k accuracies), their names
in Model(..., metrics=...), and their errors. Expected values are those of MindSpore's own examples."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.train import (
    F1,
    MAE,
    MSE,
    Accuracy,
    Fbeta,
    Loss,
    Model,
    Precision,
    Recall,
    Top1CategoricalAccuracy,
    Top5CategoricalAccuracy,
    TopKCategoricalAccuracy,
    get_metric_fn,
    names,
)

SCORES = np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]])
LABELS = np.array([1, 0, 1])
TOPK_X = np.array([[0.2, 0.5, 0.3, 0.6, 0.2], [0.1, 0.35, 0.5, 0.2, 0.], [0.9, 0.6, 0.2, 0.01, 0.3]], np.float32)
TOPK_Y = np.array([2, 0, 1], np.float32)


def test_mindspores_examples(device):
    t = lambda a: Tensor(a)  # noqa: E731 - the inputs as Tensors on the device under test
    np.testing.assert_allclose(Precision("classification")(t(SCORES), t(LABELS)), [0.5, 1.0])
    np.testing.assert_allclose(Recall("classification")(t(SCORES), t(LABELS)), [1.0, 0.5])
    np.testing.assert_allclose(Fbeta(1)(t(SCORES), t(LABELS)), [2 / 3, 2 / 3])
    np.testing.assert_allclose(F1()(t(SCORES), t(LABELS)), [2 / 3, 2 / 3])
    assert TopKCategoricalAccuracy(3)(t(TOPK_X), t(TOPK_Y)) == pytest.approx(2 / 3)
    assert Top1CategoricalAccuracy()(t(TOPK_X), t(TOPK_Y)) == 0.0
    assert Top5CategoricalAccuracy()(t(TOPK_X), t(TOPK_Y)) == 1.0
    x = np.array([0.1, 0.2, 0.6, 0.9], np.float32)
    assert MAE()(t(x), t(np.array([0.1, 0.25, 0.7, 0.9], np.float32))) == pytest.approx(0.0375, abs=1e-7)
    assert MSE()(t(x), t(np.array([0.1, 0.25, 0.5, 0.9], np.float32))) == pytest.approx(0.003125, abs=1e-8)


def test_accumulation_one_hot_labels_and_averages():
    p = Precision()
    p.update(SCORES[:2], np.eye(2)[LABELS[:2]])  # one-hot labels count as class indices
    p.update(SCORES[2:], LABELS[2:])
    np.testing.assert_allclose(p.eval(), [0.5, 1.0])
    assert p.eval(average=True) == pytest.approx(0.75)
    mae = MAE()
    mae.update(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    mae.update(np.array([[1.0, 1.0]]), np.array([[1.0, 1.0]]))
    assert mae.eval() == pytest.approx(1.5)  # |error| summed over elements, divided by samples (2)
    top2 = get_metric_fn("topk", k=2)
    top2.update(TOPK_X, np.eye(5)[TOPK_Y.astype(int)])
    assert top2.eval() == pytest.approx(1 / 3)


def test_multilabel_precision_and_recall_are_per_sample_as_in_mindspore():
    y_pred = np.array([[0, 1, 1], [1, 0, 1]])
    y = np.array([[0, 1, 0], [1, 1, 1]])
    np.testing.assert_allclose(Precision("multilabel")(y_pred, y), [0.5, 1.0])
    np.testing.assert_allclose(Recall("multilabel")(y_pred, y), [1.0, 2 / 3])
    recall = Recall("multilabel")
    recall.update(y_pred, y)
    assert recall.eval(average=True) == pytest.approx((1.0 + 2 / 3) / 2)


def test_set_indexes_picks_the_inputs():
    metric = MAE().set_indexes([0, 2])
    metric.update(np.array([1.0, 2.0]), np.array([9.0, 9.0]), np.array([1.0, 4.0]))
    assert metric.eval() == pytest.approx(1.0)
    assert metric.indexes == [0, 2]
    with pytest.raises(ValueError, match="For 'set_indexes', the argument 'indexes' must be a list"):
        MAE().set_indexes((0, 1))


def test_names_are_mindspores():
    assert {"accuracy", "acc", "loss", "mae", "mse", "precision", "recall", "F1", "topk", "top_1_accuracy",
            "top_5_accuracy"} <= set(names())
    kinds = {name: type(get_metric_fn(name)) for name in names() if name != "topk"}
    assert kinds["top_1_accuracy"] is Top1CategoricalAccuracy and kinds["top_5_accuracy"] is Top5CategoricalAccuracy
    assert kinds["F1"] is F1 and kinds["f1"] is F1 and kinds["mae"] is MAE and kinds["mse"] is MSE
    assert kinds["precision"] is Precision and kinds["recall"] is Recall and kinds["loss"] is Loss
    assert kinds["acc"] is Accuracy
    assert ms.train.Precision is Precision and ms.train.metrics.F1 is F1


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    x = np.eye(3, 4, dtype=np.float32)[y] * 3 + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return x, y


def test_model_eval_reports_metrics_named_in_a_set(device):
    x, y = blobs()
    ms.set_seed(0)
    net = nn.Dense(4, 3)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
                  nn.SGD(net.trainable_params(), 0.5),
                  metrics={"accuracy", "top_1_accuracy", "top_5_accuracy", "precision", "recall", "F1", "f1"})
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)]
    model.train(10, batches, progress=False)
    result = model.eval(batches)
    assert list(result) == sorted(result)
    assert result["top_1_accuracy"] == pytest.approx(result["accuracy"]) and result["accuracy"] > 0.9
    assert result["top_5_accuracy"] == 1.0  # 3 classes: every label is among the top 5
    for name in ("precision", "recall", "F1", "f1"):
        assert result[name].shape == (3,) and (result[name] > 0.8).all(), name
    np.testing.assert_allclose(result["F1"], result["f1"])


def test_model_eval_reports_regression_errors(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    ms.set_seed(0)
    net = nn.Dense(3, 1)
    model = Model(net, nn.MSELoss(), nn.SGD(net.trainable_params(), 0.1), metrics={"mae", "mse", "loss"})
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    model.train(30, batches, progress=False)
    result = model.eval(batches)
    assert set(result) == {"loss", "mae", "mse"}
    out = net(Tensor(x)).asnumpy()
    assert result["mse"] == pytest.approx(float(((out - y) ** 2).mean()), rel=1e-4)  # one output per sample
    assert result["mae"] == pytest.approx(float(np.abs(out - y).mean()), rel=1e-4)
    assert result["loss"] == pytest.approx(result["mse"], rel=1e-4)


@pytest.mark.parametrize("make, error, fragment", [
    (lambda: TopKCategoricalAccuracy(0), ValueError,
     "For 'TopKCategoricalAccuracy', the argument 'k' must be at least 1"),
    (lambda: TopKCategoricalAccuracy(1.5), TypeError, "For 'TopKCategoricalAccuracy', the argument 'k' must be an int"),
    (lambda: Fbeta(0), ValueError, "For 'Fbeta', the argument 'beta' must be greater than 0"),
    (lambda: Fbeta("1"), TypeError, "For 'Fbeta', the argument 'beta' must be a float"),
    (lambda: Precision("binary"), TypeError, "For 'Precision', the argument 'eval_type' must be 'classification'"),
    (lambda: MAE().update(np.zeros(2)), ValueError, r"For 'MAE.update', it needs 2 inputs"),
    (lambda: MSE().update(np.zeros(2), np.zeros(3)), ValueError,
     "For 'MSE.update', y \\(true value\\) must have as many"),
    (lambda: MAE().update("a", "b"), TypeError, "For 'MAE.update', the inputs must be Tensors"),
    (lambda: MAE().eval(), RuntimeError, "The 'MAE' can not be calculated, because the number of samples is 0"),
    (lambda: Recall().eval(), RuntimeError, "The 'Recall' can not be calculated"),
    (lambda: Precision().update(SCORES, np.array([1, 0, 2])), ValueError,
     "For 'Precision.update', y \\(true value\\) holds class 2, but y_pred \\(predicted value\\) has only 2"),
    (lambda: Recall().update(SCORES, np.array([[1, 0, 1]])), ValueError, "For 'Recall.update', in classification"),
    (lambda: Precision("multilabel").update(np.array([[0.5, 1]]), np.array([[1, 0]])), ValueError,
     "in the multilabel case y_pred and y must have one shape and hold only 0 and 1"),
    (lambda: TopKCategoricalAccuracy(2).update(np.zeros(3), np.zeros(3)), ValueError,
     "y_pred \\(predicted value\\) must have shape \\(N, C\\)"),
    (lambda: get_metric_fn("auc"), KeyError, "For 'get_metric_fn', unsupported metric 'auc'"),
    (lambda: Model(nn.Dense(2, 2), nn.MSELoss(), metrics={"topk"}), TypeError,
     "For 'Model', the metric 'topk' cannot be made from its name alone"),
    (lambda: Model(nn.Dense(2, 2), nn.MSELoss(), metrics={"auc"}), KeyError, "unsupported metric 'auc'"),
    (lambda: Model(nn.Dense(2, 2), nn.MSELoss(), metrics={3}), TypeError, "For 'Model', a metric name must be a str"),
])
def test_errors_name_the_metric(make, error, fragment):
    with pytest.raises(error, match=fragment):
        make()


def test_class_count_must_stay_the_same():
    f1 = F1()
    f1.update(SCORES, LABELS)
    with pytest.raises(ValueError, match="For 'F1.update', the number of classes changed: the last y_pred had 2"):
        f1.update(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(TypeError, match="For 'F1.eval', 'average' must be a bool"):
        f1.eval(average=1)
