"""Fused, numerically stable losses: softmax cross-entropy and binary cross-entropy with logits.

Softmax cross-entropy works on (rows, classes) logits with log-softmax (log-sum-exp); its gradient
is ``scale * (softmax * sum(q) - q)`` where ``q`` are the per-class target weights (a one-hot row
for a plain sparse label), computed in one op. Labels get no gradient, as in MindSpore. The mean
divisor stays on the device (no host read), so the op can be captured in a CUDA graph.
"""

from __future__ import annotations

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops import arithmetic as _ar
from gpucell.ops import reduction as _red
from gpucell.ops import shape as _shape
from gpucell.ops._dispatch import Op, apply, hooks
from gpucell.ops._layer_util import check_reduction, needs, reduce_sum, spread
from gpucell.ops._util import broadcasts_to, check_float, check_tensor, no_higher_order

# The ufuncs' own reductions: ndarray.sum / max / min add a Python wrapper per call.
_np_sum, _np_max, _np_min = np.add.reduce, np.maximum.reduce, np.minimum.reduce
_UNSIGNED = {np.dtype(s): np.dtype(u) for s, u in
             ((np.int8, np.uint8), (np.int16, np.uint16), (np.int32, np.uint32), (np.int64, np.uint64))}

__all__ = [
    "BCE_WITH_LOGITS",
    "SOFTMAX_CROSS_ENTROPY",
    "binary_cross_entropy_with_logits",
    "check_class_labels",
    "check_weight_shape",
    "cross_entropy",
    "l1_loss",
    "mse_loss",
    "reduce_loss",
    "softmax_cross_entropy",
]


def _check_labels_cpu(where: str, labels, valid, classes: int) -> None:
    checked = labels if valid is None else labels[valid]
    # One reduction: seen as unsigned, a negative label is larger than any class count.
    unsigned = _UNSIGNED.get(checked.dtype)
    if unsigned is not None:
        out_of_range = checked.size and _np_max(checked.view(unsigned)) >= classes
    else:
        out_of_range = checked.size and (_np_min(checked) < 0 or _np_max(checked) >= classes)
    if out_of_range:
        bad = checked[(checked < 0) | (checked >= classes)][0]
        raise ValueError(f"For '{where}', every label must be in [0, {classes}), but got {int(bad)}.")


def _targets(logits, labels, weight, *, sparse, ignore_index, smoothing, where):
    """(q, valid, divisor): per-class target weights (None on the plain sparse path), the rows that
    count (None: all) and the mean's divisor (a number, or a 0-d array left on the device)."""
    xp = array_module(logits)
    rows, classes = logits.shape
    if not sparse:
        q = labels if not smoothing else labels * (1 - smoothing) + smoothing / classes
        return (q if weight is None else q * weight), None, rows
    valid = None if ignore_index is None else labels != ignore_index
    if isinstance(labels, np.ndarray):
        _check_labels_cpu(where, labels, valid, classes)
        safe = labels if valid is None else np.where(valid, labels, 0)
    else:  # out-of-range labels on the GPU give NaN (see _nan_out_of_range), never a wrong number
        safe = xp.clip(labels if valid is None else xp.where(valid, labels, 0), 0, classes - 1)
    if weight is None and not smoothing:
        divisor = rows if valid is None else valid.sum(dtype=logits.dtype)
        return None, (safe, valid), divisor
    q = xp.zeros((rows, classes), dtype=logits.dtype)
    q[xp.arange(rows), safe] = 1 - smoothing
    if smoothing:
        q += smoothing / classes
    row_weight = xp.ones(rows, dtype=logits.dtype) if weight is None else weight[safe]
    if weight is not None:
        q *= weight
    if valid is not None:
        q *= valid[:, None]
        row_weight = row_weight * valid
    return q, (safe, valid), reduce_sum(row_weight)


def _reduce(loss, reduction: str, divisor):
    if reduction == "none":
        return loss
    total = reduce_sum(loss)
    return total if reduction == "sum" else total / divisor


def _plain_cpu(logits, labels, weight, sparse, ignore_index, smoothing, reduction) -> bool:
    """The common case, hand-fused on the CPU: NumPy float32/64, int labels, nothing optional."""
    return (sparse and weight is None and ignore_index is None and not smoothing
            and reduction != "none" and type(logits) is np.ndarray and logits.dtype != np.float16)


def _shifted_exp(logits):
    """(logits - row max, its exp, the exp's row sums): the pieces of a stable (log-)softmax."""
    shifted = logits - _np_max(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return shifted, exp, _np_sum(exp, axis=1, keepdims=True)


def _softmax_ce(logits, labels, weight=None, *, sparse, ignore_index, smoothing, reduction, where):
    if _plain_cpu(logits, labels, weight, sparse, ignore_index, smoothing, reduction):
        _check_labels_cpu(where, labels, None, logits.shape[1])
        shifted, _, total = _shifted_exp(logits)
        rows = np.arange(len(labels))
        loss = _np_sum(np.log(total[:, 0])) - _np_sum(shifted[rows, labels])
        return np.asarray(loss / len(labels) if reduction == "mean" else loss, dtype=logits.dtype)
    log_p = kernel_ops.softmax(logits, -1, log=True)
    q, picked, divisor = _targets(logits, labels, weight, sparse=sparse, ignore_index=ignore_index,
                                  smoothing=smoothing, where=where)
    if q is None:
        xp = array_module(logits)
        safe, valid = picked
        loss = -xp.take_along_axis(log_p, safe[:, None], 1)[:, 0]
        if valid is not None:
            loss = xp.where(valid, loss, loss.dtype.type(0))
    else:
        loss = -reduce_sum(q * log_p, axis=1)
    if sparse and not isinstance(loss, np.ndarray):
        valid = picked[1]
        inside = (labels >= 0) & (labels < logits.shape[1])
        if valid is not None:
            inside |= ~valid
        loss = array_module(loss).where(inside, loss, loss.dtype.type(np.nan))
    return _reduce(loss, reduction, divisor)


def _softmax_ce_grad(g, logits, labels, weight=None, *, sparse, ignore_index, smoothing, reduction, where):
    if _plain_cpu(logits, labels, weight, sparse, ignore_index, smoothing, reduction):
        _, grad, total = _shifted_exp(logits)
        grad /= total
        grad[np.arange(len(labels)), labels] -= 1
        grad *= g / len(labels) if reduction == "mean" else g
        return grad
    xp = array_module(logits)
    grad = kernel_ops.softmax(logits, -1, log=False)
    q, picked, divisor = _targets(logits, labels, weight, sparse=sparse, ignore_index=ignore_index,
                                  smoothing=smoothing, where=where)
    if q is None:
        safe, valid = picked
        grad[xp.arange(grad.shape[0]), safe] -= 1
        if valid is not None:
            grad *= valid[:, None]
    else:
        grad *= reduce_sum(q, axis=1, keepdims=True)
        grad -= q
    if reduction == "none":
        grad *= g[:, None]
    else:
        grad *= g / divisor if reduction == "mean" else g
    return grad


def _softmax_ce_backward(ctx, g):
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        grad = _softmax_ce_grad_in_ops(g, *(ctx.input(i) for i in range(len(ctx.shapes))), **ctx.attrs)
    else:
        grad = apply(SOFTMAX_CROSS_ENTROPY_GRAD, g, *(ctx.input(i) for i in range(len(ctx.shapes))),
                     **ctx.attrs)
    return (grad,) + (None,) * (len(ctx.shapes) - 1)


def _softmax_ce_grad_in_ops(g, logits, labels, weight=None, *, reduction, **attrs):
    """``scale * (softmax * sum(q) - q)`` as differentiable ops in the logits and ``g``; the targets
    ``q`` and the mean's divisor are constants (labels and weights get no gradient) that an op makes,
    so a jit plan recomputes them from each call's labels."""
    from gpucell.ops.activation import softmax

    extra = () if weight is None else (weight,)
    q, divisor = apply(SOFTMAX_CROSS_ENTROPY_TARGETS, logits, labels, *extra, reduction=reduction, **attrs)
    grad = softmax(logits, -1) * _red.sum(q, 1, True) - q
    if reduction == "none":
        return grad * _shape.reshape(g, (-1, 1))
    return grad * (g / divisor if reduction == "mean" else g)


def _softmax_ce_targets(logits, labels, weight=None, *, sparse, ignore_index, smoothing, reduction, where):
    """(q, divisor): every row's per-class target weights (one-hot rows for plain sparse labels,
    zero rows where ignored) and the mean's divisor, 0-d in the logits' dtype."""
    xp = array_module(logits)
    q, picked, divisor = _targets(logits, labels, weight, sparse=sparse, ignore_index=ignore_index,
                                  smoothing=smoothing, where=where)
    if q is None:
        safe, valid = picked
        q = xp.zeros(logits.shape, dtype=logits.dtype)
        q[xp.arange(logits.shape[0]), safe] = 1
        if valid is not None:
            q *= valid[:, None]
    elif q is labels:
        q = q.copy()  # results own their memory
    if not hasattr(divisor, "dtype"):
        divisor = xp.full((), divisor, dtype=logits.dtype)
    return q, divisor.astype(logits.dtype, copy=False)


def _softmax_ce_and_grad(logits, labels, weight=None, *, sparse, ignore_index, smoothing, reduction,
                         where):
    """(loss, its gradient for a sens of one) in one pass: what a jit plan runs when the loss is the
    value being differentiated (gpucell.jit.fusion), sharing the softmax between the two."""
    if _plain_cpu(logits, labels, weight, sparse, ignore_index, smoothing, reduction):
        _check_labels_cpu(where, labels, None, logits.shape[1])
        shifted, grad, total = _shifted_exp(logits)
        rows = np.arange(len(labels))
        loss = _np_sum(np.log(total[:, 0])) - _np_sum(shifted[rows, labels])
        grad /= total
        grad[rows, labels] -= 1
        if reduction == "mean":
            loss /= len(labels)
            grad *= np.ones((), logits.dtype) / len(labels)  # exactly what the unfused gradient does
        return np.asarray(loss, dtype=logits.dtype), grad
    attrs = dict(sparse=sparse, ignore_index=ignore_index, smoothing=smoothing, reduction=reduction,
                 where=where)
    loss = _softmax_ce(logits, labels, weight, **attrs)
    one = array_module(logits).ones(loss.shape, loss.dtype)
    return loss, _softmax_ce_grad(one, logits, labels, weight, **attrs)


SOFTMAX_CROSS_ENTROPY = Op("SoftmaxCrossEntropy", _softmax_ce, backward=_softmax_ce_backward)
# Under an enclosing transform the backward runs as ops instead (``_softmax_ce_grad_in_ops``).
SOFTMAX_CROSS_ENTROPY_GRAD = Op("SoftmaxCrossEntropyGrad", _softmax_ce_grad,
                                backward=no_higher_order("SoftmaxCrossEntropy"))
SOFTMAX_CROSS_ENTROPY_TARGETS = Op("SoftmaxCrossEntropyTargets", _softmax_ce_targets, multi_output=True)
SOFTMAX_CROSS_ENTROPY_AND_GRAD = Op("SoftmaxCrossEntropyAndGrad", _softmax_ce_and_grad,
                                    multi_output=True, differentiable=False)


def softmax_cross_entropy(logits, labels, weight=None, *, sparse: bool, reduction: str = "mean",
                          ignore_index=None, label_smoothing: float = 0.0,
                          where: str = "SoftmaxCrossEntropy"):
    """Cross-entropy of softmax(``logits``) (rows, classes) against ``labels``: int class ids (rows,)
    when ``sparse``, else per-class probabilities (rows, classes). ``weight``: per-class weights;
    rows labelled ``ignore_index`` count for nothing. Checked by the calling Cells."""
    attrs = {"sparse": sparse, "ignore_index": ignore_index, "smoothing": float(label_smoothing),
             "reduction": reduction, "where": where}
    if weight is None:
        return apply(SOFTMAX_CROSS_ENTROPY, logits, labels, **attrs)
    return apply(SOFTMAX_CROSS_ENTROPY, logits, labels, weight, **attrs)


# -- binary cross-entropy with logits ---------------------------------------------------------
def _softplus_neg(xp, x):
    """log(1 + exp(-x)), stable for any x."""
    return xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, x.dtype.type(0))


def _bce(x, y, w=None, pw=None, *, reduction):
    xp = array_module(x)
    sp = _softplus_neg(xp, x)
    if pw is not None:
        sp *= 1 + (pw - 1) * y
    loss = (1 - y) * x
    loss += sp
    if w is not None:
        loss *= w
    return _reduce(loss, reduction, loss.size)


def _bce_grad(g, x, y, w=None, pw=None, *, reduction, wanted):
    xp = array_module(x)
    scale = g / x.size if reduction == "mean" else g
    if w is not None:
        scale = scale * w
    grads = []
    if wanted[0]:
        s = (xp.tanh(x * x.dtype.type(0.5)) + 1) * x.dtype.type(0.5)  # sigmoid, stable
        coef = 1 if pw is None else 1 + (pw - 1) * y
        gx = (s - 1) * coef
        gx += 1 - y
        grads.append(gx * scale)
    if wanted[1]:
        gy = -x if pw is None else (pw - 1) * _softplus_neg(xp, x) - x
        grads.append(gy * scale)
    return tuple(grads)


def _bce_backward(ctx, g):
    wanted = needs(ctx, 2)
    count = len(ctx.shapes)
    inputs = [ctx.input(i) for i in range(count)]
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return _bce_grad_in_ops(g, *inputs, reduction=ctx.attrs["reduction"], wanted=wanted) + \
            (None,) * (count - 2)
    return spread(wanted, apply(BCE_WITH_LOGITS_GRAD, g, *inputs, wanted=wanted, **ctx.attrs)) + \
        (None,) * (count - 2)


def _bce_grad_in_ops(g, x, y, w=None, pw=None, *, reduction, wanted):
    """BCEWithLogitsLossGrad's arithmetic as differentiable ops."""
    from gpucell.ops.activation import sigmoid
    from gpucell.ops.elementwise import exp, log, maximum

    scale = g / x.size if reduction == "mean" else g
    if w is not None:
        scale = scale * w
    gx = gy = None
    if wanted[0]:
        gx = sigmoid(x) - 1
        if pw is not None:
            gx = gx * ((pw - 1) * y + 1)
        gx = (gx - y + 1) * scale
    if wanted[1]:
        if pw is None:
            gy = -x * scale
        else:
            softplus_neg = log(exp(-_ar.abs(x)) + 1) + maximum(-x, 0.0)  # log(1 + exp(-x)), stable
            gy = ((pw - 1) * softplus_neg - x) * scale
    return gx, gy


BCE_WITH_LOGITS = Op("BCEWithLogitsLoss", _bce, backward=_bce_backward)
# Under an enclosing transform the backward runs as ops instead (``_bce_grad_in_ops``).
BCE_WITH_LOGITS_GRAD = Op("BCEWithLogitsLossGrad", _bce_grad, multi_output=True,
                          backward=no_higher_order("BCEWithLogitsLoss"))


def check_weight_shape(where: str, name: str, weight, logits) -> None:
    """A per-element weight must broadcast to the shape of ``logits`` without growing it."""
    if not broadcasts_to(weight.shape, logits.shape):
        raise ValueError(f"For '{where}', the '{name}' shape {weight.shape} must broadcast to the 'logits' shape "
                         f"{logits.shape}.")


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean",
                                     where: str = "binary_cross_entropy_with_logits"):
    """``-w * (pos_weight * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x)))``, computed stably.

    >>> import gpucell as ms
    >>> float(ms.ops.binary_cross_entropy_with_logits(ms.Tensor([0.0]), ms.Tensor([1.0])))
    0.6931471824645996
    """
    check_reduction(where, reduction)
    for name, value in (("logits", input), ("label", target), ("weight", weight), ("pos_weight", pos_weight)):
        if value is None and name in ("weight", "pos_weight"):
            continue
        check_tensor(where, name, value)
        check_float(where, name, value)
        if value.dtype is not input.dtype:
            raise TypeError(f"For '{where}', the dtype of '{name}' ({value.dtype}) must equal the dtype of "
                            f"'logits' ({input.dtype}).")
    if target.shape != input.shape:
        raise ValueError(f"For '{where}', the 'label' shape {target.shape} must equal the 'logits' shape "
                         f"{input.shape}.")
    extra = []
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            check_weight_shape(where, name, value, input)
        extra.append(value)
    if pos_weight is None:
        extra = extra[:1] if weight is not None else []
    return apply(BCE_WITH_LOGITS, input, target, *extra, reduction=reduction)


# -- functional forms with MindSpore's names ---------------------------------------------------
def check_class_labels(where: str, logits, labels, sparse: bool) -> None:
    """Sparse labels: ints shaped like ``logits`` without dim 1; dense: ``logits``' shape and dtype."""
    if sparse:
        if labels.dtype.kind != _dt._INT:
            raise TypeError(f"For '{where}', sparse 'labels' must be int class ids, but got {labels.dtype}.")
        if labels.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"For '{where}', the 'labels' shape must be "
                             f"{logits.shape[:1] + logits.shape[2:]} for 'logits' of shape {logits.shape}, "
                             f"but got {labels.shape}.")
    elif labels.shape != logits.shape or labels.dtype is not logits.dtype:
        raise ValueError(f"For '{where}', dense 'labels' must have the shape and dtype of 'logits' "
                         f"({logits.shape}, {logits.dtype}), but got {labels.shape}, {labels.dtype}.")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  where: str = "cross_entropy"):
    """Cross-entropy of softmax(``input``) along dim 1 of (N, C, ...) or (C,) logits against int class
    ids (``ignore_index`` entries count for nothing) or probabilities of ``input``'s shape.

    ``weight`` (C,) weights the classes; 'mean' then divides by the summed weight of the counted
    entries. ``label_smoothing`` mixes the targets with the uniform distribution.

    >>> import gpucell as ms
    >>> round(float(ms.ops.cross_entropy(ms.Tensor([[0.0, 0.0]]), ms.Tensor([1]))), 6)
    0.693147
    """
    check_reduction(where, reduction)
    check_tensor(where, "input", input)
    check_float(where, "input", input)
    check_tensor(where, "target", target)
    sparse = target.dtype.kind != _dt._FLOAT
    single = input.ndim == 1
    if single:
        input, target = _shape.expand_dims(input, 0), _shape.expand_dims(target, 0)
    if input.ndim < 2:
        raise ValueError(f"For '{where}', the 'input' must be (C,) or (N, C, ...), but got {input.shape}.")
    check_class_labels(where, input, target, sparse)
    classes = input.shape[1]
    if weight is not None:
        check_tensor(where, "weight", weight)
        if weight.shape != (classes,) or weight.dtype is not input.dtype:
            raise ValueError(f"For '{where}', the 'weight' must have shape ({classes},) and dtype "
                             f"{input.dtype}, but got {weight.shape} and {weight.dtype}.")
    spatial = input.shape[2:]
    if spatial:  # classes last, one row per position
        perm = (0,) + tuple(range(2, input.ndim)) + (1,)
        input = _shape.reshape(_shape.transpose(input, perm), (-1, classes))
        target = _shape.reshape(target, (-1,)) if sparse else \
            _shape.reshape(_shape.transpose(target, perm), (-1, classes))
    loss = softmax_cross_entropy(input, target, weight, sparse=sparse, reduction=reduction,
                                 ignore_index=ignore_index if sparse else None,
                                 label_smoothing=label_smoothing, where=where)
    if reduction == "none" and (spatial or single):
        loss = _shape.reshape(loss, (-1,) + spatial if spatial else ())
    return loss


def _difference(where: str, input, target):
    for name, value in (("input", input), ("target", target)):
        check_tensor(where, name, value)
        check_float(where, name, value)
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"For '{where}', the shapes of 'input' {input.shape} and 'target' {target.shape} "
                         f"must broadcast.") from None
    return _ar.sub(input, target)


def reduce_loss(x, reduction: str):
    if reduction == "mean":
        return _red.mean(x)
    return _red.sum(x) if reduction == "sum" else x


def mse_loss(input, target, reduction="mean", where: str = "mse_loss"):
    """``(input - target) ** 2`` (broadcast), reduced by ``reduction``."""
    check_reduction(where, reduction)
    d = _difference(where, input, target)
    return reduce_loss(_ar.mul(d, d), reduction)


def l1_loss(input, target, reduction="mean", where: str = "l1_loss"):
    """``|input - target|`` (broadcast), reduced by ``reduction``."""
    check_reduction(where, reduction)
    return reduce_loss(_ar.abs(_difference(where, input, target)), reduction)

