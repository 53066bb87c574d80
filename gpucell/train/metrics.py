"""Metrics for ``Model.eval`` (MindSpore's ``mindspore.train`` metrics): Accuracy, Loss, MAE, MSE,
Precision, Recall, Fbeta, F1, TopKCategoricalAccuracy, Top1CategoricalAccuracy and
Top5CategoricalAccuracy, also by MindSpore's names in ``Model(..., metrics={...})``: ``accuracy``
(``acc``), ``loss``, ``mae``, ``mse``, ``precision``, ``recall``, ``F1`` (gpucell also takes ``f1``),
``top_1_accuracy``, ``top_5_accuracy`` (``names()`` lists them).

Each metric accumulates on the host over a pass: ``clear()``, ``update(...)`` per batch, ``eval()``;
calling a metric does all three on one batch. ``set_indexes([i, j])`` picks which of ``update``'s
inputs it reads, as in MindSpore.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from gpucell.tensor import Tensor

__all__ = ["Metric", "Accuracy", "Loss", "MAE", "MSE", "Precision", "Recall", "Fbeta", "F1",
           "TopKCategoricalAccuracy", "Top1CategoricalAccuracy", "Top5CategoricalAccuracy",
           "rearrange_inputs", "names", "get_metric_fn", "get_metric_by_name", "get_metrics"]

_EPS = sys.float_info.min  # MindSpore's guard against 0 / 0 in precision, recall and F-beta


def rearrange_inputs(func):
    """Decorator of ``update``: the inputs reordered (and picked) by the metric's ``indexes``."""
    @functools.wraps(func)
    def wrapper(self, *inputs):
        indexes = self.indexes
        return func(self, *(inputs if not indexes else [inputs[i] for i in indexes]))
    return wrapper


def _host(value, where: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.asnumpy()
    if isinstance(value, (np.ndarray, list, tuple, int, float)):
        return np.asarray(value)
    raise TypeError(f"For '{where}', the inputs must be Tensors, arrays, lists or numbers, but got "
                    f"{type(value).__name__}.")


class Metric:
    """Base class: ``clear()``, ``update(*inputs)`` and ``eval()``."""

    def __init__(self):
        self._indexes = None
        self.clear()

    @property
    def indexes(self):
        """The positions of ``update``'s inputs this metric reads (None: all, in order)."""
        return getattr(self, "_indexes", None)

    def set_indexes(self, indexes: list) -> Metric:
        """Reads ``update``'s inputs at ``indexes`` (a list of int), in that order; returns self."""
        if not isinstance(indexes, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                    for i in indexes):
            raise ValueError(f"For 'set_indexes', the argument 'indexes' must be a list and all its elements "
                             f"must be int, but got {indexes!r}.")
        self._indexes = indexes
        return self

    def __call__(self, *inputs):
        """The metric of one batch: ``clear()``, ``update(*inputs)``, ``eval()``."""
        self.clear()
        self.update(*inputs)
        return self.eval()

    def clear(self) -> None:
        raise NotImplementedError

    def update(self, *inputs) -> None:
        raise NotImplementedError

    def eval(self):
        raise NotImplementedError


class Accuracy(Metric):
    """The fraction of samples classified right.

    ``update(y_pred, y)``: ``y_pred`` scores of shape (N, C); ``y`` class indices (N,) or one-hot
    (N, C). With ``eval_type='multilabel'``, ``y_pred`` holds probabilities rounded at 0.5 and a
    sample counts when all its labels match.

    >>> import numpy as np
    >>> from gpucell.train import Accuracy
    >>> m = Accuracy()
    >>> m.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    >>> m.eval()
    0.5
    """

    def __init__(self, eval_type: str = "classification"):
        if eval_type not in ("classification", "multilabel"):
            raise ValueError(f"For 'Accuracy', the 'eval_type' must be 'classification' or 'multilabel', but "
                             f"got {eval_type!r}.")
        self.eval_type = eval_type
        super().__init__()

    def clear(self) -> None:
        self._correct_num = 0
        self._total_num = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        if len(inputs) != 2:
            raise ValueError(f"For 'Accuracy.update', it needs 2 inputs (y_pred, y), but got {len(inputs)}.")
        y_pred, y = _host(inputs[0], "Accuracy.update"), _host(inputs[1], "Accuracy.update")
        if self.eval_type == "multilabel":
            if y_pred.shape != y.shape:
                raise ValueError(f"For 'Accuracy.update', multilabel y_pred {y_pred.shape} and y {y.shape} "
                                 f"must have one shape.")
            hits = (np.round(y_pred) == y).reshape(len(y), -1).all(axis=1)
        else:
            if y_pred.ndim < 2:
                raise ValueError(f"For 'Accuracy.update', y_pred must be scores of shape (N, C), but got "
                                 f"shape {y_pred.shape}.")
            if y.ndim == y_pred.ndim:
                y = y.argmax(axis=-1)
            if y.shape != y_pred.shape[:-1]:
                raise ValueError(f"For 'Accuracy.update', y {y.shape} must hold one label per row of "
                                 f"y_pred {y_pred.shape}.")
            hits = y_pred.argmax(axis=-1) == y
        self._correct_num += int(hits.sum())
        self._total_num += int(hits.size)

    def eval(self) -> float:
        if self._total_num == 0:
            raise RuntimeError("For 'Accuracy.eval', the accuracy can not be calculated, because the "
                               "number of samples is 0.")
        return self._correct_num / self._total_num


class Loss(Metric):
    """The mean of the per-batch losses (a scalar, or the mean of a 1-D loss)."""

    def clear(self) -> None:
        self._sum_loss = 0.0
        self._total_num = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        if len(inputs) != 1:
            raise ValueError(f"For 'Loss.update', it needs 1 input (loss), but got {len(inputs)}.")
        loss = _host(inputs[0], "Loss.update")
        if loss.ndim > 1:
            raise ValueError(f"For 'Loss.update', the loss must be a scalar or 1-D, but got shape "
                             f"{loss.shape}.")
        self._sum_loss += float(loss.mean())
        self._total_num += 1

    def eval(self) -> float:
        if self._total_num == 0:
            raise RuntimeError("For 'Loss.eval', the total number of batches can not be 0.")
        return self._sum_loss / self._total_num


def _pair(name: str, inputs: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``(y_pred, y)`` on the host, refusing any other number of inputs."""
    if len(inputs) != 2:
        raise ValueError(f"For '{name}.update', it needs 2 inputs (predicted value, true value), but got "
                         f"{len(inputs)}.")
    return _host(inputs[0], f"{name}.update"), _host(inputs[1], f"{name}.update")


def _is_one_hot(y: np.ndarray) -> bool:
    """MindSpore's test: 0/1 values summing to 1 along axis 1."""
    if y.ndim > 1 and np.equal(y ** 2, y).all():
        return bool(np.equal(np.ones((y.shape[0],) + y.shape[2:]), y.sum(axis=1)).all())
    return False


def _class_indices(name: str, y_pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Labels as class indices of shape y_pred.shape[:1] + y_pred.shape[2:] (one-hot is argmaxed)."""
    if y_pred.ndim == y.ndim and _is_one_hot(y):
        y = y.argmax(axis=1)
    if y_pred.ndim != y.ndim + 1 or y.shape != (y_pred.shape[0],) + y_pred.shape[2:]:
        raise ValueError(f"For '{name}.update', in classification y_pred (predicted value) must have shape "
                         f"(N, C) and y (true value) shape (N,) or one-hot (N, C), but got y_pred shape "
                         f"{y_pred.shape} and y shape {y.shape}.")
    return y


class MAE(Metric):
    """The mean absolute error: the sum of ``|y_pred - y|`` over the samples seen, divided by their
    number (the first dimension), as MindSpore defines it.

    >>> import numpy as np
    >>> from gpucell.train import MAE
    >>> round(MAE()(np.array([0.1, 0.2, 0.6, 0.9]), np.array([0.1, 0.25, 0.7, 0.9])), 6)
    0.0375
    """

    _power = 1

    def clear(self) -> None:
        self._error_sum = 0.0
        self._samples_num = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        name = type(self).__name__
        y_pred, y = _pair(name, inputs)
        if y.size != y_pred.size:
            raise ValueError(f"For '{name}.update', y (true value) must have as many elements as y_pred "
                             f"(predicted value), but got shapes {y.shape} and {y_pred.shape}.")
        error = np.abs(y.reshape(y_pred.shape) - y_pred) ** self._power
        self._error_sum += float(error.sum())
        self._samples_num += y.shape[0] if y.ndim else 1

    def eval(self) -> float:
        if self._samples_num == 0:
            raise RuntimeError(f"The '{type(self).__name__}' can not be calculated, because the number of "
                               f"samples is 0; call update before eval.")
        return self._error_sum / self._samples_num


class MSE(MAE):
    """The mean squared error: the sum of ``(y_pred - y) ** 2`` divided by the number of samples."""

    _power = 2


class TopKCategoricalAccuracy(Metric):
    """The fraction of samples whose label is among the ``k`` highest scores of ``y_pred`` (N, C);
    labels are indices (N,) or one-hot (N, C).

    >>> import numpy as np
    >>> from gpucell.train import TopKCategoricalAccuracy
    >>> x = np.array([[0.2, 0.5, 0.3, 0.6, 0.2], [0.1, 0.35, 0.5, 0.2, 0.], [0.9, 0.6, 0.2, 0.01, 0.3]])
    >>> round(TopKCategoricalAccuracy(3)(x, np.array([2, 0, 1])), 4)
    0.6667
    """

    def __init__(self, k: int):
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"For '{type(self).__name__}', the argument 'k' must be an int, but got {k!r} "
                            f"with type '{type(k).__name__}'.")
        if k < 1:
            raise ValueError(f"For '{type(self).__name__}', the argument 'k' must be at least 1, but got {k}.")
        self.k = k
        super().__init__()

    def clear(self) -> None:
        self._correct_num = 0
        self._samples_num = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        name = type(self).__name__
        y_pred, y = _pair(name, inputs)
        if y_pred.ndim != 2:
            raise ValueError(f"For '{name}.update', y_pred (predicted value) must have shape (N, C), but got "
                             f"shape {y_pred.shape}.")
        if y.ndim == 2 and _is_one_hot(y):
            y = y.argmax(axis=1)
        if y.reshape(-1).shape[0] != y_pred.shape[0]:
            raise ValueError(f"For '{name}.update', y (true value) must hold one label per row of y_pred, but "
                             f"got shapes {y.shape} and {y_pred.shape}.")
        top = np.argsort(-y_pred, axis=1, kind="stable")[:, :self.k]  # ties: the first class wins
        self._correct_num += int((top == y.reshape(-1, 1)).any(axis=1).sum())
        self._samples_num += y_pred.shape[0]

    def eval(self) -> float:
        if self._samples_num == 0:
            raise RuntimeError(f"The '{type(self).__name__}' can not be calculated, because the number of "
                               f"samples is 0; call update before eval.")
        return self._correct_num / self._samples_num


class Top1CategoricalAccuracy(TopKCategoricalAccuracy):
    """TopKCategoricalAccuracy with k = 1."""

    def __init__(self):
        super().__init__(1)


class Top5CategoricalAccuracy(TopKCategoricalAccuracy):
    """TopKCategoricalAccuracy with k = 5."""

    def __init__(self):
        super().__init__(5)


class _PerClass(Metric):
    """Precision and Recall: true positives over predicted (precision) or actual (recall) positives,
    per class. ``eval(average=False)`` returns one value per class; ``average=True`` their mean."""

    _denominator = ""  # "positives" (predicted) or "actual"

    def __init__(self, eval_type: str = "classification"):
        if eval_type not in ("classification", "multilabel"):
            raise TypeError(f"For '{type(self).__name__}', the argument 'eval_type' must be 'classification' "
                            f"or 'multilabel', but got {eval_type!r}.")
        self.eval_type = eval_type
        super().__init__()

    def clear(self) -> None:
        self._class_num = 0
        multilabel = self.eval_type == "multilabel"
        self._true_positives = np.empty(0) if multilabel else 0
        self._positives = np.empty(0) if multilabel else 0
        self._true_positives_average = 0.0
        self._positives_average = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        name = type(self).__name__
        y_pred, y = _pair(name, inputs)
        if self.eval_type == "classification":
            y = _class_indices(name, y_pred, y)
        elif y_pred.shape != y.shape or not (np.equal(y_pred ** 2, y_pred).all() and np.equal(y ** 2, y).all()):
            raise ValueError(f"For '{name}.update', in the multilabel case y_pred and y must have one shape and "
                             f"hold only 0 and 1, but got shapes {y_pred.shape} and {y.shape}.")
        if self._class_num == 0:
            self._class_num = y_pred.shape[1]
        elif y_pred.shape[1] != self._class_num:
            raise ValueError(f"For '{name}.update', the number of classes changed: the last y_pred had "
                             f"{self._class_num}, this one has {y_pred.shape[1]}.")
        classes = self._class_num
        if self.eval_type == "classification":
            if y.size and int(y.max()) + 1 > classes:
                raise ValueError(f"For '{name}.update', y (true value) holds class {int(y.max())}, but y_pred "
                                 f"(predicted value) has only {classes} classes.")
            y = np.eye(classes)[y.reshape(-1).astype(np.int64)]
            y_pred = np.eye(classes)[y_pred.argmax(axis=1).reshape(-1)]
        else:  # MindSpore's multilabel: per sample, over its classes
            y_pred = y_pred.swapaxes(1, 0).reshape(classes, -1)
            y = y.swapaxes(1, 0).reshape(classes, -1)
        positives = (y_pred if self._denominator == "positives" else y).sum(axis=0)
        true_positives = (y * y_pred).sum(axis=0)
        if self.eval_type == "multilabel":
            self._true_positives_average += float(np.sum(true_positives / (positives + _EPS)))
            self._positives_average += len(positives)
            self._true_positives = np.concatenate((self._true_positives, true_positives))
            self._positives = np.concatenate((self._positives, positives))
        else:
            self._true_positives = self._true_positives + true_positives
            self._positives = self._positives + positives

    def eval(self, average: bool = False):
        name = type(self).__name__
        if self._class_num == 0:
            raise RuntimeError(f"The '{name}' can not be calculated, because the number of samples is 0; call "
                               f"update before eval.")
        if not isinstance(average, bool):
            raise TypeError(f"For '{name}.eval', 'average' must be a bool, but got {average!r}.")
        result = self._true_positives / (self._positives + _EPS)
        if not average:
            return result
        if self.eval_type == "multilabel":
            result = np.asarray(self._true_positives_average / (self._positives_average + _EPS))
        return result.mean()


class Precision(_PerClass):
    """Precision per class, ``tp / (tp + fp)``; for 'classification' the predicted class is the
    argmax of ``y_pred`` (N, C); 'multilabel' takes 0/1 ``y_pred`` and ``y`` of one shape.

    >>> import numpy as np
    >>> from gpucell.train import Precision
    >>> Precision()(np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]]), np.array([1, 0, 1]))
    array([0.5, 1. ])
    """

    _denominator = "positives"


class Recall(_PerClass):
    """Recall per class, ``tp / (tp + fn)``; inputs as for Precision.

    >>> import numpy as np
    >>> from gpucell.train import Recall
    >>> Recall()(np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]]), np.array([1, 0, 1]))
    array([1. , 0.5])
    """

    _denominator = "actual"


class Fbeta(Metric):
    """The F-beta score per class, ``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)`` (classification:
    ``y_pred`` (N, C) scores, ``y`` indices or one-hot); ``eval(average=True)`` averages the classes.

    >>> import numpy as np
    >>> from gpucell.train import Fbeta
    >>> Fbeta(1)(np.array([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]]), np.array([1, 0, 1])).round(4)
    array([0.6667, 0.6667])
    """

    def __init__(self, beta):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)):
            raise TypeError(f"For '{type(self).__name__}', the argument 'beta' must be a float, but got "
                            f"{beta!r}.")
        if not beta > 0:
            raise ValueError(f"For '{type(self).__name__}', the argument 'beta' must be greater than 0, but got "
                             f"{beta}.")
        self.beta = beta
        super().__init__()

    def clear(self) -> None:
        self._true_positives = 0
        self._actual_positives = 0
        self._positives = 0
        self._class_num = 0

    @rearrange_inputs
    def update(self, *inputs) -> None:
        name = type(self).__name__
        y_pred, y = _pair(name, inputs)
        y = _class_indices(name, y_pred, y)
        if self._class_num == 0:
            self._class_num = y_pred.shape[1]
        elif y_pred.shape[1] != self._class_num:
            raise ValueError(f"For '{name}.update', the number of classes changed: the last y_pred had "
                             f"{self._class_num}, this one has {y_pred.shape[1]}.")
        classes = self._class_num
        if y.size and int(y.max()) + 1 > classes:
            raise ValueError(f"For '{name}.update', y (true value) holds class {int(y.max())}, but y_pred "
                             f"(predicted value) has only {classes} classes.")
        y = np.eye(classes)[y.reshape(-1).astype(np.int64)]
        y_pred = np.eye(classes)[y_pred.argmax(axis=1).reshape(-1)]
        self._true_positives = self._true_positives + (y * y_pred).sum(axis=0)
        self._positives = self._positives + y_pred.sum(axis=0)
        self._actual_positives = self._actual_positives + y.sum(axis=0)

    def eval(self, average: bool = False):
        name = type(self).__name__
        if not isinstance(average, bool):
            raise TypeError(f"For '{name}.eval', 'average' must be a bool, but got {average!r}.")
        if self._class_num == 0:
            raise RuntimeError(f"The '{name}' can not be calculated, because the number of samples is 0; call "
                               f"update before eval.")
        b2 = self.beta ** 2
        fbeta = (1.0 + b2) * self._true_positives / (b2 * self._actual_positives + self._positives + _EPS)
        return fbeta.mean() if average else fbeta


class F1(Fbeta):
    """Fbeta with beta = 1."""

    def __init__(self):
        super().__init__(1.0)


# MindSpore's names (mindspore.train.metrics.__factory__, the ones gpucell has); 'f1' is gpucell's.
_NAMES = {"accuracy": Accuracy, "acc": Accuracy, "loss": Loss, "mae": MAE, "mse": MSE,
          "precision": Precision, "recall": Recall, "F1": F1, "f1": F1, "topk": TopKCategoricalAccuracy,
          "top_1_accuracy": Top1CategoricalAccuracy, "top_5_accuracy": Top5CategoricalAccuracy}


def names() -> list[str]:
    """The metric names ``get_metric_fn`` and ``Model(metrics={...})`` know."""
    return sorted(_NAMES)


def get_metric_fn(name: str, *args, **kwargs) -> Metric:
    """The Metric of that name, made with ``args`` and ``kwargs`` (``get_metric_fn('topk', k=3)``)."""
    if not isinstance(name, str) or name not in _NAMES:
        raise KeyError(f"For 'get_metric_fn', unsupported metric {name!r}; the names are {names()}.")
    return _NAMES[name](*args, **kwargs)


def get_metric_by_name(name: str, *args, **kwargs) -> Metric:
    """``get_metric_fn`` under its older name."""
    return get_metric_fn(name, *args, **kwargs)


def _by_name(name) -> Metric:
    if not isinstance(name, str):
        raise TypeError(f"For 'Model', a metric name must be a str, but got {name!r}.")
    try:
        return get_metric_fn(name)
    except TypeError as exc:  # 'topk' needs k
        raise TypeError(f"For 'Model', the metric {name!r} cannot be made from its name alone ({exc}); pass "
                        f"an instance in a dict, such as {{'top_3': TopKCategoricalAccuracy(3)}}.") from None


def get_metrics(metrics) -> dict | None:
    """``{name: Metric}`` from a set/list of names or a dict of name -> Metric (or name)."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        out = {}
        for name, m in metrics.items():
            if not isinstance(name, str):
                raise TypeError(f"For 'Model', the keys of 'metrics' must be str, but got {name!r}.")
            out[name] = _by_name(m) if isinstance(m, str) else m
            if not isinstance(out[name], Metric):
                raise TypeError(f"For 'Model', the metric {name!r} must be a Metric, but got "
                                f"{type(m).__name__}.")
        return out
    if isinstance(metrics, (set, list, tuple)):
        made = {name: _by_name(name) for name in metrics}
        return dict(sorted(made.items()))
    raise TypeError(f"For 'Model', the 'metrics' must be a set or dict, but got {type(metrics).__name__}.")
