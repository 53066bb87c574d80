"""Shape ops: reshape, transpose, permute, expand_dims, squeeze, broadcast_to, tile, concat, stack,
split, gather. Results own their memory (no views), so an in-place write never reaches a source."""

from __future__ import annotations

import numpy as np

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import (
    check_axis,
    check_int,
    check_tensor,
    check_tensors,
    scatter_add,
    sum_to,
)

__all__ = ["reshape", "transpose", "permute", "expand_dims", "squeeze", "broadcast_to", "tile",
           "concat", "cat", "stack", "split", "gather", "flatten", "unsqueeze"]


def _reshape(a, shape):
    return a.reshape(shape).copy()


def _transpose(a, perm):
    return a.transpose(perm).copy()


def _broadcast_to(a, shape):
    return array_module(a).broadcast_to(a, shape).copy()


def _tile(a, multiples):
    return array_module(a).tile(a, multiples)


def _concat(*arrays, axis):
    return array_module(arrays[0]).concatenate(arrays, axis=axis)


def _stack(*arrays, axis):
    return array_module(arrays[0]).stack(arrays, axis=axis)


def _split(a, sections, axis):
    xp = array_module(a)
    bounds = np.cumsum(sections)[:-1].tolist()
    return tuple(part.copy() for part in xp.split(a, bounds, axis=axis))


def _gather(a, indices, axis):
    n = a.shape[axis]
    if indices.size:
        low, high = int(indices.min()), int(indices.max())  # one host read: Gather is not capturable
        if low < -n or high >= n:
            raise ValueError(f"For 'Gather', the indices must be in [{-n}, {n}) for axis {axis} of "
                             f"'input_params' with shape {a.shape}, but got values in [{low}, {high}].")
    return array_module(a).take(a, indices, axis=axis)


def _gather_grad(g, indices, shape, axis):
    # Indices may repeat: scatter_add sums every contribution (a fancy assignment would keep one).
    xp = array_module(g)
    grid = xp.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    return scatter_add(xp, shape, xp.take(grid, indices, axis=axis), g)


def _reshape_backward(ctx, g):
    return reshape(g, ctx.shape(0))


def _transpose_backward(ctx, g):
    perm = ctx.attrs["perm"]
    return apply(TRANSPOSE, g, perm=tuple(int(i) for i in np.argsort(perm)))


def _broadcast_backward(ctx, g):
    return sum_to(g, ctx.shape(0))


def _tile_backward(ctx, g):
    shape = ctx.shape(0)
    multiples = ctx.attrs["multiples"]
    padded = (1,) * (len(multiples) - len(shape)) + tuple(shape)
    split_shape = []
    for m, n in zip(multiples, padded):
        split_shape += [m, n]
    from gpucell.ops import reduction

    summed = reduction.sum(reshape(g, tuple(split_shape)), tuple(range(0, 2 * len(padded), 2)))
    return reshape(summed, shape)


def _concat_backward(ctx, g):
    axis = ctx.attrs["axis"]
    sections = tuple(s[axis] for s in ctx.shapes)
    return apply(SPLIT, g, sections=sections, axis=axis)


def _stack_backward(ctx, g):
    axis = ctx.attrs["axis"]
    parts = apply(SPLIT, g, sections=(1,) * len(ctx.shapes), axis=axis)
    return tuple(reshape(p, s) for p, s in zip(parts, ctx.shapes))


def _split_backward(ctx, *grads):
    return apply(CONCAT, *grads, axis=ctx.attrs["axis"])


def _gather_backward(ctx, g):
    indices = ctx.input(1)
    return (apply(GATHER_GRAD, g, indices, shape=ctx.shape(0), axis=ctx.attrs["axis"]), None)


def _gather_grad_backward(ctx, gg):
    # GatherGrad is the adjoint of Gather (linear in g), so its gradient is Gather again.
    return apply(GATHER, gg, ctx.input(1), axis=ctx.attrs["axis"]), None


RESHAPE = Op("Reshape", _reshape, backward=_reshape_backward, saves="none")
TRANSPOSE = Op("Transpose", _transpose, backward=_transpose_backward, saves="none")
BROADCAST_TO = Op("BroadcastTo", _broadcast_to, backward=_broadcast_backward, saves="none")
TILE = Op("Tile", _tile, backward=_tile_backward, saves="none")
CONCAT = Op("Concat", _concat, backward=_concat_backward, promote=True, saves="none")
STACK = Op("Stack", _stack, backward=_stack_backward, promote=True, saves="none")
SPLIT = Op("Split", _split, backward=_split_backward, multi_output=True, saves="none")
# The index bounds check reads the indices on the host and the scatter-add synchronises: both run
# between captured segments of a jit plan on the GPU.
GATHER = Op("Gather", _gather, backward=_gather_backward, capturable=False)
GATHER_GRAD = Op("GatherGrad", _gather_grad, backward=_gather_grad_backward, capturable=False)


def reshape(input, shape):
    """``input`` with a new shape holding the same number of elements (one dim may be -1)."""
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    known = 1
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < -1:
            raise ValueError(f"For 'Reshape', 'shape' must hold ints >= -1, but got {shape}.")
        known *= d if d != -1 else 1
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != input.size) or \
            (shape.count(-1) == 1 and (known == 0 or input.size % known)):
        raise ValueError(f"For 'Reshape', cannot reshape a tensor of shape {input.shape} "
                         f"({input.size} elements) into {shape}.")
    return apply(RESHAPE, input, shape=tuple(int(d) for d in shape))


def flatten(input, order="C", *, start_dim=1, end_dim=-1):
    """Dims ``start_dim..end_dim`` merged into one; by default all but the batch dim (MindSpore 2.x;
    ``Tensor.flatten`` starts at dim 0). ``order='F'`` reads the dims in reverse (column-major) order
    first. A 0-d or 1-d input gives a 1-d result.

    >>> import gpucell as ms
    >>> ms.ops.flatten(ms.ops.ones((1, 2, 3, 4))).shape
    (1, 24)
    """
    check_tensor("flatten", "input", input)
    if not isinstance(order, str):
        raise TypeError(f"For 'flatten', the 'order' must be a str, but got {order!r} with type "
                        f"'{type(order).__name__}'.")
    if order not in ("C", "F"):
        raise ValueError(f"For 'flatten', the 'order' must be 'C' or 'F', but got {order!r}.")
    start_dim = check_int("flatten", "start_dim", start_dim)
    end_dim = check_int("flatten", "end_dim", end_dim)
    if order == "F" and input.ndim > 1:
        input = transpose(input, tuple(range(input.ndim - 1, -1, -1)))
    if input.ndim <= 1 and start_dim == 1 and end_dim == -1:
        return reshape(input, (-1,))  # the default on a 0-d or 1-d input, which has no dim 1
    start = check_axis("flatten", start_dim, input.ndim, "start_dim")
    end = check_axis("flatten", end_dim, input.ndim, "end_dim")
    if start > end:
        raise ValueError(f"For 'flatten', 'start_dim' {start_dim} must not come after 'end_dim' {end_dim}.")
    if input.ndim <= 1:
        return reshape(input, (-1,))
    return reshape(input, input.shape[:start] + (-1,) + input.shape[end + 1:])


def transpose(input, input_perm):
    """``input`` with its axes permuted by ``input_perm``."""
    perm = tuple(input_perm)
    if sorted(int(p) % max(input.ndim, 1) if isinstance(p, (int, np.integer)) else p for p in perm) \
            != list(range(input.ndim)):
        raise ValueError(f"For 'Transpose', 'input_perm' must be a permutation of "
                         f"{tuple(range(input.ndim))}, but got {perm}.")
    return apply(TRANSPOSE, input, perm=tuple(int(p) % input.ndim for p in perm))


def permute(input, axis):
    """Like :func:`transpose`; ``axis`` may hold negative dims."""
    check_tensor("permute", "input", input)
    return transpose(input, axis)


def expand_dims(input_x, axis):
    """A new size-1 dim inserted at ``axis`` (in ``[-ndim-1, ndim]``)."""
    check_tensor("ExpandDims", "input_x", input_x)
    axis = check_axis("ExpandDims", axis, input_x.ndim + 1)
    return reshape(input_x, input_x.shape[:axis] + (1,) + input_x.shape[axis:])


def unsqueeze(input, dim):
    """A new size-1 dim inserted at ``dim`` (in ``[-ndim-1, ndim]``), as ``Tensor.unsqueeze``."""
    check_tensor("unsqueeze", "input", input)
    dim = check_int("unsqueeze", "dim", dim)
    return expand_dims(input, check_axis("unsqueeze", dim, input.ndim + 1, "dim"))


def squeeze(input, axis=None):
    """``input`` without its size-1 dims (or only those in ``axis``, an int or tuple)."""
    check_tensor("Squeeze", "input", input)
    if axis is None:
        dims = tuple(d for d, n in enumerate(input.shape) if n == 1)
    else:
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        dims = tuple(check_axis("Squeeze", a, input.ndim) for a in items)
        for d in dims:
            if input.shape[d] != 1:
                raise ValueError(f"For 'Squeeze', the dim {d} of 'input' with shape {input.shape} must "
                                 f"be 1 to be squeezed, but is {input.shape[d]}.")
    return reshape(input, tuple(n for d, n in enumerate(input.shape) if d not in dims))


def broadcast_to(input, shape):
    """``input`` broadcast to ``shape`` (a -1 keeps that dim of ``input``)."""
    check_tensor("BroadcastTo", "input", input)
    shape = tuple(shape)
    lead = len(shape) - input.ndim
    if lead < 0:
        raise ValueError(f"For 'BroadcastTo', the target shape {shape} must have at least as many dims "
                         f"as 'input' {input.shape}.")
    target = tuple(input.shape[d - lead] if n == -1 and d >= lead else n for d, n in enumerate(shape))
    for d, n in enumerate(input.shape):
        if n != 1 and n != target[lead + d]:
            raise ValueError(f"For 'BroadcastTo', 'input' of shape {input.shape} cannot be broadcast to "
                             f"{shape}.")
    if any(n < 0 for n in target):
        raise ValueError(f"For 'BroadcastTo', a -1 in {shape} must stand for a dim of 'input'.")
    return apply(BROADCAST_TO, input, shape=target)


def tile(input, multiples):
    """``input`` repeated ``multiples[d]`` times along each dim."""
    check_tensor("Tile", "input", input)
    multiples = tuple(multiples)
    if any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0 for m in multiples):
        raise ValueError(f"For 'Tile', 'multiples' must hold ints >= 0, but got {multiples}.")
    if len(multiples) < input.ndim:
        raise ValueError(f"For 'Tile', 'multiples' {multiples} must have at least as many entries as "
                         f"'input' has dims ({input.ndim}).")
    return apply(TILE, input, multiples=tuple(int(m) for m in multiples))


def _sequence(where: str, tensors) -> tuple:
    return check_tensors(where, "tensors", tensors)


def concat(tensors, axis=0):
    """The tensors joined along an existing ``axis``."""
    tensors = _sequence("Concat", tensors)
    first = tensors[0]
    axis = check_axis("Concat", axis, first.ndim)
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim or any(a != b for d, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if d != axis):
            raise ValueError(f"For 'Concat', the shape of element {i} {t.shape} must match element 0 "
                             f"{first.shape} except in axis {axis}.")
    return apply(CONCAT, *tensors, axis=axis)


cat = concat


def stack(tensors, axis=0):
    """The tensors (all of one shape) stacked along a new ``axis``."""
    tensors = _sequence("Stack", tensors)
    axis = check_axis("Stack", axis, tensors[0].ndim + 1)
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise ValueError(f"For 'Stack', all tensors must have the same shape, but element {i} has "
                             f"{t.shape} and element 0 has {tensors[0].shape}.")
    return apply(STACK, *tensors, axis=axis)


def split(tensor, split_size_or_sections, axis=0):
    """A tuple of pieces: of size ``split_size_or_sections`` (an int; the last may be smaller), or
    of the sizes it lists."""
    check_tensor("Split", "tensor", tensor)
    axis = check_axis("Split", axis, tensor.ndim)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (tuple, list)):
        sections = tuple(check_int("Split", "split_size_or_sections", s) for s in split_size_or_sections)
        if any(s < 0 for s in sections) or sum(sections) != length:
            raise ValueError(f"For 'Split', the sections {sections} must be >= 0 and sum to the length "
                             f"{length} of axis {axis}.")
    else:
        size = check_int("Split", "split_size_or_sections", split_size_or_sections)
        if size <= 0:
            raise ValueError(f"For 'Split', 'split_size_or_sections' must be > 0, but got {size}.")
        sections = (size,) * (length // size) + ((length % size,) if length % size else ())
        sections = sections or (0,)
    return apply(SPLIT, tensor, sections=sections, axis=axis)


def gather(input_params, input_indices, axis, batch_dims=0):
    """Slices of ``input_params`` along ``axis`` at ``input_indices`` (an int Tensor)."""
    check_tensor("Gather", "input_params", input_params)
    check_tensor("Gather", "input_indices", input_indices)
    if input_indices.dtype.kind != 1:  # gpucell.dtype._INT
        raise TypeError(f"For 'Gather', the dtype of 'input_indices' must be an int type, but got "
                        f"{input_indices.dtype}.")
    if batch_dims != 0:
        raise ValueError(f"For 'Gather', only batch_dims=0 is supported, but got {batch_dims}.")
    axis = check_axis("Gather", axis, input_params.ndim)
    return apply(GATHER, input_params, input_indices, axis=axis)
