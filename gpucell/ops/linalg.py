"""matmul with NumPy's semantics (batched, 1-D operands promoted) and MindSpore's shape errors."""

from __future__ import annotations

import numpy as np

from gpucell.ops._dispatch import Op, apply, gpu_ufunc
from gpucell.tensor import Tensor

__all__ = ["matmul", "MATMUL", "check_matmul_shapes"]

MATMUL = Op("MatMul", np.matmul, gpu_ufunc("matmul"), promote=True)


def check_matmul_shapes(x_shape: tuple, w_shape: tuple, where: str = "MatMul") -> None:
    """Raises ValueError naming both dims when ``x @ w`` is undefined."""
    if len(x_shape) == 0 or len(w_shape) == 0:
        raise ValueError(f"For '{where}', the inputs must have at least 1 dimension, but got shapes "
                         f"{x_shape} and {w_shape}.")
    k_x = x_shape[-1]
    k_w = w_shape[0] if len(w_shape) == 1 else w_shape[-2]
    if k_x != k_w:
        axis = "first" if len(w_shape) <= 2 else "second-to-last"
        raise ValueError(f"For '{where}', the last dim of x ({k_x}) must equal the {axis} dim of w "
                         f"({k_w}); got shapes {x_shape} and {w_shape}.")
    batch_x, batch_w = x_shape[:-2], w_shape[:-2]
    try:
        np.broadcast_shapes(batch_x, batch_w)
    except ValueError:
        raise ValueError(f"For '{where}', the batch dims {batch_x} and {batch_w} do not broadcast; "
                         f"got shapes {x_shape} and {w_shape}.") from None


def matmul(input, other):
    """Matrix product of two tensors, batched over leading dims.

    >>> import gpucell as ms
    >>> ms.ops.matmul(ms.Tensor([[1.0, 2.0]]), ms.Tensor([[3.0], [4.0]]))
    Tensor(shape=[1, 1], dtype=Float32, value=
    [[ 1.10000000e+01]])
    """
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"For 'MatMul', '{name}' must be a Tensor, but got {type(value).__name__}.")
    check_matmul_shapes(input.shape, other.shape)
    return apply(MATMUL, input, other)
