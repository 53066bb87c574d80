"""More losses with MindSpore's names and formulas, each a composition of ops (so both backends,
gradients of any order and CUDA-graph capture come from the ops): binary_cross_entropy, nll_loss,
smooth_l1_loss, huber_loss, kl_div and margin_ranking_loss.

Class-index targets go through one op, ``CLASS_TARGETS``: the per-class weights of every position
(a one-hot row times the class weight, zero where ``ignore_index``), made on the device from the
labels. On the CPU an out-of-range label raises; on the GPU, where checking would read the labels
on the host (and break capture), it turns that position's loss into NaN, never a wrong number.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module
from gpucell.ops import reduction as _red
from gpucell.ops import shape as _shape
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._layer_util import check_reduction
from gpucell.ops._util import check_float, check_int, check_tensor, type_name
from gpucell.ops.activation import relu
from gpucell.ops.elementwise import exp, log
from gpucell.ops.loss import _check_labels_cpu, _difference, check_weight_shape, reduce_loss
from gpucell.ops.selection import select

__all__ = [
    "CLASS_TARGETS",
    "binary_cross_entropy",
    "class_targets",
    "huber_loss",
    "kl_div",
    "margin_ranking_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_BCE_EPS = 1e-12  # MindSpore's BinaryCrossEntropy kernels add it inside both logarithms
_KL_REDUCTIONS = ("none", "mean", "batchmean", "sum")


# -- class-index targets -----------------------------------------------------------------------
def _class_targets(like, labels, weight=None, *, ignore_index, where):
    """(q, counted): ``q`` (N, C, ...) in ``like``'s dtype holds ``weight[label]`` at each position's
    label and 0 elsewhere (all 0 where the label is ``ignore_index``); ``counted`` (N, ...) is 1 where
    the position counts, 0 where ignored."""
    xp = array_module(like)
    classes = like.shape[1]
    valid = None if ignore_index is None else labels != ignore_index
    if isinstance(labels, np.ndarray):
        _check_labels_cpu(where, labels.reshape(-1), None if valid is None else valid.reshape(-1), classes)
    per_class = (1, classes) + (1,) * (labels.ndim - 1)
    q = (labels[:, None] == xp.arange(classes, dtype=labels.dtype).reshape(per_class)).astype(like.dtype)
    if weight is not None:
        q *= weight.reshape(per_class)
    counted = xp.ones(labels.shape, like.dtype) if valid is None else valid.astype(like.dtype)
    if valid is not None:
        q *= counted[:, None]
    if not isinstance(labels, np.ndarray):
        inside = (labels >= 0) & (labels < classes)
        if valid is not None:
            inside |= ~valid
        q = xp.where(inside[:, None], q, like.dtype.type(np.nan))
    return q, counted


CLASS_TARGETS = Op("ClassTargets", _class_targets, multi_output=True)  # labels: no gradient


def class_targets(like, labels, weight=None, ignore_index=None, where: str = "ClassTargets"):
    """``(q, counted)`` of :func:`_class_targets` for (N, C, ...) ``like`` and (N, ...) int ``labels``."""
    extra = () if weight is None else (weight,)
    return apply(CLASS_TARGETS, like, labels, *extra, ignore_index=ignore_index, where=where)


# -- checks ------------------------------------------------------------------------------------
def _float_tensor(where: str, name: str, value):
    check_tensor(where, name, value)
    check_float(where, name, value)
    return value


def _same_shape_and_dtype(where: str, first: tuple, *others: tuple) -> None:
    """Each ``(name, tensor)`` in ``others`` has the shape and dtype of ``first``."""
    name0, x = first
    for name, y in others:
        if y.dtype is not x.dtype:
            raise TypeError(f"For '{where}', the dtype of '{name}' ({y.dtype}) must equal the dtype of "
                            f"'{name0}' ({x.dtype}).")
        if y.shape != x.shape:
            raise ValueError(f"For '{where}', the shape of '{name}' {y.shape} must equal the shape of '{name0}' "
                             f"{x.shape}.")


def _number(where: str, name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{where}', the '{name}' must be a float, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    return float(value)


def _positive(where: str, name: str, value) -> float:
    value = _number(where, name, value)
    if value <= 0:
        raise ValueError(f"For '{where}', the '{name}' must be > 0, but got {value}.")
    return value


# -- the losses ----------------------------------------------------------------------------------
def bce_loss(logits, labels, weight, reduction, where: str):
    check_reduction(where, reduction)
    _float_tensor(where, "logits", logits)
    _float_tensor(where, "labels", labels)
    _same_shape_and_dtype(where, ("logits", logits), ("labels", labels))
    if weight is not None:
        _float_tensor(where, "weight", weight)
        if weight.dtype is not logits.dtype:
            raise TypeError(f"For '{where}', the dtype of 'weight' ({weight.dtype}) must equal the dtype of "
                            f"'logits' ({logits.dtype}).")
        check_weight_shape(where, "weight", weight, logits)
    loss = -(labels * log(logits + _BCE_EPS) + (1 - labels) * log(1 - logits + _BCE_EPS))
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(logits, labels, weight=None, reduction="mean"):
    """``-weight * (labels * log(logits) + (1 - labels) * log(1 - logits))`` for probabilities
    ``logits`` (each log taken of its argument plus 1e-12, as MindSpore's kernels do).

    >>> import gpucell as ms
    >>> round(float(ms.ops.binary_cross_entropy(ms.Tensor([0.5]), ms.Tensor([1.0]))), 6)
    0.693147
    """
    return bce_loss(logits, labels, weight, reduction, "binary_cross_entropy")


def nll(inputs, target, weight, ignore_index, reduction, label_smoothing, where: str):
    """The negative log-likelihood of ``inputs`` (log-probabilities, classes on dim 1) at ``target``."""
    check_reduction(where, reduction)
    _float_tensor(where, "inputs", inputs)
    check_tensor(where, "target", target)
    if target.dtype.kind not in (_dt._INT,):
        raise TypeError(f"For '{where}', the 'target' must hold int class ids, but got {target.dtype}.")
    ignore_index = check_int(where, "ignore_index", ignore_index)
    smoothing = _number(where, "label_smoothing", label_smoothing)
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"For '{where}', the 'label_smoothing' must be in range [0.0, 1.0], but got {smoothing}.")
    single = inputs.ndim == 1
    if single:
        inputs, target = _shape.expand_dims(inputs, 0), _shape.expand_dims(target, 0)
    if inputs.ndim < 2 or target.shape != inputs.shape[:1] + inputs.shape[2:]:
        raise ValueError(f"For '{where}', the shape of 'inputs' should be (C,) or (N, C, d_1, ...) and the "
                         f"shape of 'target' () or (N, d_1, ...), but got 'inputs' shape "
                         f"{inputs.shape[1:] if single else inputs.shape} and 'target' shape "
                         f"{target.shape[1:] if single else target.shape}.")
    classes = inputs.shape[1]
    if weight is not None:
        _float_tensor(where, "weight", weight)
        if weight.shape != (classes,) or weight.dtype is not inputs.dtype:
            raise ValueError(f"For '{where}', the 'weight' must have shape ({classes},) and dtype {inputs.dtype}, "
                             f"but got {weight.shape} and {weight.dtype}.")
    q, counted = class_targets(inputs, target, weight, ignore_index, where)
    loss = -_red.sum(q * inputs, 1)
    smooth = -_red.sum(inputs, 1) * counted if smoothing else None
    if reduction == "sum":
        loss = _red.sum(loss)
        smooth = _red.sum(smooth) if smoothing else None
    elif reduction == "mean":  # MindSpore: the weighted mean, the smoothing term a plain mean
        loss = _red.sum(loss) / _red.sum(q)
        smooth = _red.mean(smooth) if smoothing else None
    if smoothing:
        loss = loss * (1.0 - smoothing) + smooth * (smoothing / classes)
    return _shape.reshape(loss, ()) if single and reduction == "none" else loss


def nll_loss(inputs, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """``-weight[t] * inputs[n, t]`` for log-probabilities ``inputs`` (C,) or (N, C, d_1, ...) and int
    class ids ``target`` () or (N, d_1, ...); positions labelled ``ignore_index`` count for nothing.
    'mean' divides by the summed weight of the counted positions. ``label_smoothing`` mixes in the
    mean of ``-inputs`` over the classes (MindSpore's formula).

    >>> import gpucell as ms
    >>> float(ms.ops.nll_loss(ms.Tensor([[-1.0, -2.0]]), ms.Tensor([1])))
    2.0
    """
    return nll(inputs, target, weight, ignore_index, reduction, label_smoothing, "nll_loss")


def smooth_l1(input, target, beta, reduction, where: str):
    check_reduction(where, reduction)
    _float_tensor(where, "input", input)
    _float_tensor(where, "target", target)
    _same_shape_and_dtype(where, ("input", input), ("target", target))
    beta = _positive(where, "beta", beta)
    d = input - target
    ad = abs(d)
    return reduce_loss(select(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def smooth_l1_loss(input, target, beta=1.0, reduction="none"):
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``, for ``d = input - target``.

    >>> import gpucell as ms
    >>> ms.ops.smooth_l1_loss(ms.Tensor([1.0, 2.0, 3.0]), ms.Tensor([1.0, 2.0, 2.0])).asnumpy()
    array([0. , 0. , 0.5], dtype=float32)
    """
    return smooth_l1(input, target, beta, reduction, "smooth_l1_loss")


def huber(input, target, reduction, delta, where: str):
    check_reduction(where, reduction)
    delta = _positive(where, "delta", delta)
    d = _difference(where, input, target)
    ad = abs(d)
    return reduce_loss(select(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, for the broadcast
    ``d = input - target``."""
    return huber(input, target, reduction, delta, "huber_loss")


def kl_divergence(logits, labels, reduction, log_target, where: str):
    if reduction not in _KL_REDUCTIONS:
        raise ValueError(f"For '{where}', the 'reduction' must be one of {list(_KL_REDUCTIONS)}, but got "
                         f"{reduction!r}.")
    _float_tensor(where, "logits", logits)
    _float_tensor(where, "labels", labels)
    _same_shape_and_dtype(where, ("logits", logits), ("labels", labels))
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"For '{where}', the 'log_target' must be a bool, but got {type_name(log_target)}.")
    if reduction == "batchmean" and logits.ndim == 0:
        raise ValueError(f"For '{where}', 'batchmean' needs a batch dimension, but 'logits' is 0-d.")
    if log_target:
        loss = exp(labels) * (labels - logits)
    else:
        positive = labels > 0
        # labels * log(labels), taken as 0 where labels is 0 (its limit); log of 1 on that branch
        # keeps every gradient finite.
        loss = select(positive, labels * log(select(positive, labels, 1.0)), 0.0) - labels * logits
    if reduction == "batchmean":
        return _red.sum(loss) / logits.shape[0]
    return reduce_loss(loss, reduction)


def kl_div(logits, labels, reduction="mean", log_target=False):
    """``labels * (log(labels) - logits)`` elementwise (``exp(labels) * (labels - logits)`` when
    ``log_target``): 'mean' averages over every element, 'batchmean' divides the sum by dim 0
    (the Kullback-Leibler divergence itself), 'sum' and 'none' as usual.

    >>> import gpucell as ms
    >>> round(float(ms.ops.kl_div(ms.Tensor([0.2, 0.7, 0.1]), ms.Tensor([0.0, 1.0, 0.0]))), 6)
    -0.233333
    """
    return kl_divergence(logits, labels, reduction, log_target, "kl_div")


def margin_ranking(input1, input2, target, margin, reduction, where: str):
    check_reduction(where, reduction)
    for name, value in (("input1", input1), ("input2", input2), ("target", target)):
        _float_tensor(where, name, value)
    _same_shape_and_dtype(where, ("input1", input1), ("input2", input2), ("target", target))
    margin = _number(where, "margin", margin)
    return reduce_loss(relu(margin - target * (input1 - input2)), reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)`` with ``target`` 1 or -1.

    >>> import gpucell as ms
    >>> float(ms.ops.margin_ranking_loss(ms.Tensor([1.0]), ms.Tensor([2.0]), ms.Tensor([1.0])))
    1.0
    """
    return margin_ranking(input1, input2, target, margin, reduction, "margin_ranking_loss")
