"""Metrics for ``Model.eval``: Accuracy and Loss (MindSpore's ``mindspore.train`` metrics).

Each metric accumulates on the host over a pass: ``clear()``, ``update(...)`` per batch, ``eval()``.
"""

from __future__ import annotations

import numpy as np

from gpucell.tensor import Tensor

__all__ = ["Metric", "Accuracy", "Loss", "get_metric_by_name", "get_metrics"]


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
        self.clear()

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


_NAMES = {"accuracy": Accuracy, "acc": Accuracy, "loss": Loss}


def get_metric_by_name(name: str, *args, **kwargs) -> Metric:
    if name not in _NAMES:
        raise KeyError(f"Unknown metric {name!r}; gpucell knows {sorted(_NAMES)}.")
    return _NAMES[name](*args, **kwargs)


def get_metrics(metrics) -> dict | None:
    """``{name: Metric}`` from a set/list of names or a dict of name -> Metric (or name)."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        out = {}
        for name, m in metrics.items():
            out[name] = get_metric_by_name(m) if isinstance(m, str) else m
            if not isinstance(out[name], Metric):
                raise TypeError(f"For 'Model', the metric {name!r} must be a Metric, but got "
                                f"{type(m).__name__}.")
        return out
    if isinstance(metrics, (set, list, tuple)):
        return {name: get_metric_by_name(name) for name in sorted(metrics)}
    raise TypeError(f"For 'Model', the 'metrics' must be a set or dict, but got {type(metrics).__name__}.")
