"""Shape ops: reshape and transpose."""

from __future__ import annotations

from gpucell.ops._dispatch import Op, apply

__all__ = ["reshape", "transpose"]


def _reshape(a, shape):
    return a.reshape(shape).copy()


def _transpose(a, perm):
    return a.transpose(perm).copy()


RESHAPE = Op("Reshape", _reshape)
TRANSPOSE = Op("Transpose", _transpose)


def reshape(input, shape):
    """``input`` with a new shape holding the same number of elements (one dim may be -1)."""
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    known = 1
    for d in shape:
        if not isinstance(d, int) or d < -1:
            raise ValueError(f"For 'Reshape', 'shape' must hold ints >= -1, but got {shape}.")
        known *= d if d != -1 else 1
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != input.size) or \
            (shape.count(-1) == 1 and (known == 0 or input.size % known)):
        raise ValueError(f"For 'Reshape', cannot reshape a tensor of shape {input.shape} "
                         f"({input.size} elements) into {shape}.")
    return apply(RESHAPE, input, shape=shape)


def transpose(input, input_perm):
    """``input`` with its axes permuted by ``input_perm``."""
    perm = tuple(input_perm)
    if sorted(perm) != list(range(input.ndim)):
        raise ValueError(f"For 'Transpose', 'input_perm' must be a permutation of "
                         f"{tuple(range(input.ndim))}, but got {perm}.")
    return apply(TRANSPOSE, input, perm=perm)
