"""Set-overlap losses for segmentation: DiceLoss and MultiClassDiceLoss (MindSpore's formulas)."""

from __future__ import annotations

import numbers

from gpucell.nn.cell import Cell
from gpucell.nn.layer.activation import get_activation
from gpucell.nn.loss.loss import LossBase
from gpucell.ops import reduction as _red
from gpucell.ops._util import check_float, check_tensor, type_name
from gpucell.tensor import Tensor

__all__ = ["DiceLoss", "MultiClassDiceLoss"]

_DICE_ACTIVATIONS = ("softmax", "logsoftmax", "relu", "relu6", "tanh", "sigmoid")


def _pair(where: str, logits, labels) -> None:
    for name, value in (("logits", logits), ("labels", labels)):
        check_tensor(where, name, value)
        check_float(where, name, value)
    if logits.shape != labels.shape:
        raise ValueError(f"For '{where}', the 'labels' shape {labels.shape} must equal the 'logits' shape "
                         f"{logits.shape}.")


class DiceLoss(LossBase):
    """``1 - 2 * sum(logits * labels) / (sum(logits**2) + sum(labels**2) + smooth)`` over all elements.

    >>> import gpucell as ms
    >>> logits = ms.Tensor([[0.2, 0.5], [0.3, 0.1], [0.9, 0.6]])
    >>> labels = ms.Tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> round(float(ms.nn.DiceLoss()(logits, labels)), 6)
    0.385966
    """

    def __init__(self, smooth=1e-5):
        super().__init__()
        if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real):
            raise TypeError(f"For 'DiceLoss', the 'smooth' must be a float, but got {smooth!r} with type "
                            f"'{type_name(smooth)}'.")
        if smooth <= 0:
            raise ValueError(f"For 'DiceLoss', the 'smooth' must be > 0, but got {smooth}.")
        self.smooth = float(smooth)

    def construct(self, logits, labels):
        _pair("DiceLoss", logits, labels)
        intersection = _red.sum(logits * labels)
        union = _red.sum(logits * logits) + _red.sum(labels * labels)
        return 1 - intersection * 2 / (union + self.smooth)


class MultiClassDiceLoss(LossBase):
    """The mean over the classes (dim 1 of (N, C, ...) ``logits`` and ``labels``) of each class's
    DiceLoss, after ``activation`` (a name, a Cell or None) is applied to ``logits``; ``weights``
    (num_classes, dim) scales class ``i``'s loss by row ``i``; class ``ignore_indiex`` (MindSpore's
    spelling) is left out of the sum but not out of the divisor, as in MindSpore.

    Note that 'softmax' is ``nn.Softmax()``, over the last axis, as MindSpore's default is.
    """

    def __init__(self, weights=None, ignore_indiex=None, activation="softmax"):
        super().__init__()
        where = "MultiClassDiceLoss"
        if weights is not None:
            if not isinstance(weights, Tensor):
                raise TypeError(f"For '{where}', the 'weights' must be a Tensor or None, but got "
                                f"{type_name(weights)}.")
            if weights.ndim != 2:
                raise ValueError(f"For '{where}', the dimension of 'weights' must be 2, but got {weights.ndim}.")
        if ignore_indiex is not None and (isinstance(ignore_indiex, bool) or not isinstance(ignore_indiex, int)):
            raise TypeError(f"For '{where}', the 'ignore_indiex' must be an int or None, but got "
                            f"{type_name(ignore_indiex)}.")
        if isinstance(activation, str):
            if activation not in _DICE_ACTIVATIONS:
                raise ValueError(f"For '{where}', the 'activation' must be in {list(_DICE_ACTIVATIONS)}, but got "
                                 f"{activation!r}.")
            activation = get_activation(activation, where)
        if activation is not None and not isinstance(activation, Cell):
            raise TypeError(f"For '{where}', the 'activation' must be str or Cell, but got {type_name(activation)}.")
        self.weights = weights
        self.ignore_indiex = ignore_indiex
        self.activation = activation
        self.binarydiceloss = DiceLoss(smooth=1e-5)

    def construct(self, logits, labels):
        where = "MultiClassDiceLoss"
        _pair(where, logits, labels)
        if labels.ndim < 2:
            raise ValueError(f"For '{where}', the 'logits' and 'labels' must be at least 2-D (N, C, ...), but got "
                             f"shape {labels.shape}.")
        classes = labels.shape[1]
        if self.weights is not None and self.weights.shape[0] != classes:
            raise ValueError(f"For '{where}', the weights.shape[0] ({self.weights.shape[0]}) must equal "
                             f"labels.shape[1] ({classes}).")
        if self.activation is not None:
            logits = self.activation(logits)
        total = None
        for i in range(classes):
            if i == self.ignore_indiex:
                continue
            loss = self.binarydiceloss(logits[:, i], labels[:, i])
            if self.weights is not None:
                loss = loss * self.weights[i]
            total = loss if total is None else total + loss
        if total is None:  # every class ignored
            return _red.sum(logits) * 0.0
        return total / classes
