"""bernoulli: 0 / 1 samples with success probability ``p``, in the input's shape and dtype.

A uniform draw from the Philox kernels (so ``gpucell.set_seed`` fixes it, CPU and GPU draw the same
numbers, and a captured CUDA graph draws fresh ones on each replay) compared with ``p``. The result
is a constant to autograd, as MindSpore's Bernoulli has no gradient.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.ops._util import broadcasts_to, check_tensor, type_name
from gpucell.ops.random_ops import check_seed
from gpucell.tensor import Tensor

__all__ = ["bernoulli"]


def bernoulli(input, p=0.5, seed=None):
    """1 with probability ``p`` (a float in [0, 1], or a float Tensor broadcast to ``input``'s shape),
    else 0, for each element of ``input``; same shape and dtype as ``input``.

    >>> import gpucell as ms
    >>> ms.set_seed(0)
    >>> ms.ops.bernoulli(ms.ops.zeros((2, 3), ms.int32), p=1.0).asnumpy()
    array([[1, 1, 1],
           [1, 1, 1]], dtype=int32)
    """
    from gpucell.ops.comparison import lt
    from gpucell.ops.conversion import cast
    from gpucell.ops.random_ops import rand_like

    check_tensor("Bernoulli", "input", input)
    if input.dtype.kind not in (_dt._BOOL, _dt._INT, _dt._FLOAT):
        raise TypeError(f"For 'Bernoulli', the dtype of 'input' must be a bool, int or float type, but got "
                        f"{input.dtype}.")
    check_seed("Bernoulli", seed)
    if isinstance(p, Tensor):
        if p.dtype.kind != _dt._FLOAT:
            raise TypeError(f"For 'Bernoulli', a Tensor 'p' must have a float dtype, but got {p.dtype}.")
        if not broadcasts_to(p.shape, input.shape):
            raise ValueError(f"For 'Bernoulli', a Tensor 'p' must broadcast to the shape of 'input' {input.shape}, "
                             f"but got shape {p.shape}.")
    elif isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"For 'Bernoulli', the 'p' must be a float or a Tensor, but got {p!r} with type "
                        f"'{type_name(p)}'.")
    elif not 0.0 <= p <= 1.0:
        raise ValueError(f"For 'Bernoulli', the 'p' must be in [0, 1], but got {p}.")
    uniform = rand_like(input, dtype=_dt.float32 if not isinstance(p, Tensor) else p.dtype)
    return cast(lt(uniform, p), input.dtype)
