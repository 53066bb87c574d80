"""Random tensors: randn, rand, standard_normal, normal, uniform (MindSpore's signatures and dtypes).

Samples come from the Philox kernels (kernels/random.cu): each call draws from a counter range
reserved on the host (gpucell.random.reserve), so the numbers are fixed by ``gpucell.set_seed`` and
call order, uniforms are bit-identical on CPU and GPU (normals to a few ulp), and a jitted step
captured into a CUDA graph draws fresh numbers on every replay. MindSpore's per-op ``seed`` is
checked and otherwise ignored, as ``ops.dropout`` does: one generator serves every random op.

``normal`` and float ``uniform`` are written with ops over a standard sample, so gradients reach
``mean`` / ``stddev`` and ``minval`` / ``maxval`` as in MindSpore.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.backend import array_module, kernel_ops
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import type_name
from gpucell.random import reserve
from gpucell.tensor import Tensor

__all__ = ["randn", "rand", "randn_like", "rand_like", "randint", "standard_normal", "normal", "uniform",
           "UNIFORM_REAL", "STANDARD_NORMAL", "UNIFORM_INT", "check_seed", "sample_shape"]


def _sampler(kind: str, device: str):
    draw = kernel_ops.uniform if kind == "uniform" else kernel_ops.normal

    def forward(shape, dtype):
        size = int(np.prod(shape, dtype=np.int64))
        state, base = reserve(device, kernel_ops.random_counters(kind, size))
        return draw(shape, dtype, state, base)
    return forward


def _uniform_int(low, high, *, shape):
    # The float64 uniform is w * 2^-32 exactly, so its words come back exactly; (w * range) >> 32
    # then maps them onto [0, range) with integer arithmetic only (no rounding, no host read).
    xp = array_module(low)
    device = "CPU" if xp is np else "GPU"
    words = (_sampler("uniform", device)(shape, np.float64) * 4294967296.0).astype(np.uint64)
    span = (high.astype(np.int64) - low.astype(np.int64)).astype(np.uint64)
    return ((words * span) >> np.uint64(32)).astype(np.int64) + low.astype(np.int64)


# No inputs: the result goes to the current device (gpucell.set_context), like ops.zeros.
UNIFORM_REAL = Op("UniformReal", _sampler("uniform", "CPU"), _sampler("uniform", "GPU"))
STANDARD_NORMAL = Op("StandardNormal", _sampler("normal", "CPU"), _sampler("normal", "GPU"))
UNIFORM_INT = Op("UniformInt", _uniform_int)


def check_seed(where: str, seed) -> None:
    """``seed``: None or a non-negative int (MindSpore's check; the value itself is not used)."""
    if seed is None:
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"For '{where}', the 'seed' must be a non-negative int or None, but got {seed!r} "
                        f"with type '{type_name(seed)}'.")
    if seed < 0:
        raise ValueError(f"For '{where}', the 'seed' must be a non-negative int or None, but got {seed}.")


def _float_dtype(where: str, dtype) -> _dt.DType:
    target = _dt.float32 if dtype is None else _dt.to_dtype(dtype, where)
    if target.kind != _dt._FLOAT:
        raise ValueError(f"For '{where}', the 'dtype' must be a float type, but got {target}.")
    return target


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _size(where: str, size: tuple) -> tuple:
    """MindSpore's reading of ``*size``: nothing is (1,), one int n is (n,), one tuple or list is
    itself, several ints are the shape."""
    if not size:
        shape = (1,)
    elif len(size) == 1 and isinstance(size[0], (tuple, list)):
        shape = tuple(size[0])
    else:
        shape = size
    if not all(_is_int(s) for s in shape):
        raise TypeError(f"For '{where}', the 'size' must be ints, or one tuple or list of ints, but got "
                        f"{size!r}.")
    if any(s < 0 for s in shape):
        raise ValueError(f"For '{where}', the 'size' must not have negative dims, but got {tuple(shape)}.")
    return tuple(int(s) for s in shape)


def sample_shape(where: str, shape, positive: bool = True) -> tuple:
    """A tuple of ints (or a 1-D int Tensor) as a shape; MindSpore's random ops want positive dims."""
    if isinstance(shape, Tensor):
        if shape.ndim != 1 or shape.dtype.kind != _dt._INT:
            raise ValueError(f"For '{where}', a Tensor 'shape' must be 1-D with int values, but got shape "
                             f"{shape.shape} and dtype {shape.dtype}.")
        shape = tuple(int(s) for s in shape.asnumpy())
    if not isinstance(shape, tuple):
        raise TypeError(f"For '{where}', the 'shape' must be a tuple of ints or a Tensor, but got "
                        f"{type_name(shape)}.")
    for s in shape:
        if not _is_int(s):
            raise TypeError(f"For '{where}', the elements of 'shape' must be ints, but got {s!r} with type "
                            f"'{type_name(s)}'.")
        if s < (1 if positive else 0):
            raise ValueError(f"For '{where}', the elements of 'shape' must be positive ints, but got {shape}.")
    return tuple(int(s) for s in shape)


def randn(*size, dtype=None, seed=None):
    """Standard normal samples of shape ``size`` (Float32 unless ``dtype``, a float type).

    >>> import gpucell as ms
    >>> ms.set_seed(1)
    >>> ms.ops.randn(2, 3).shape
    (2, 3)
    """
    check_seed("randn", seed)
    target = _float_dtype("randn", dtype)
    return apply(STANDARD_NORMAL, shape=_size("randn", size), dtype=target.numpy)


def rand(*size, dtype=None, seed=None):
    """Uniform samples in [0, 1) of shape ``size`` (Float32 unless ``dtype``, a float type)."""
    check_seed("rand", seed)
    target = _float_dtype("rand", dtype)
    return apply(UNIFORM_REAL, shape=_size("rand", size), dtype=target.numpy)


def randn_like(input, seed=None, *, dtype=None):
    """Standard normal samples of ``input``'s shape, on its device (Float32 unless ``dtype``, as in
    MindSpore, whose randn_like does not follow ``input``'s dtype)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"For 'randn_like', the 'input' must be a Tensor, but got {type_name(input)}.")
    check_seed("randn_like", seed)
    target = _float_dtype("randn_like", dtype)
    return _on(input, apply(STANDARD_NORMAL, shape=input.shape, dtype=target.numpy))


def rand_like(input, seed=None, *, dtype=None):
    """Uniform samples in [0, 1) of ``input``'s shape, on its device, of ``input``'s dtype unless
    ``dtype`` (either must be a float type)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"For 'rand_like', the 'input' must be a Tensor, but got {type_name(input)}.")
    check_seed("rand_like", seed)
    target = _float_dtype("rand_like", input.dtype if dtype is None else dtype)
    return _on(input, apply(UNIFORM_REAL, shape=input.shape, dtype=target.numpy))


def _on(like: Tensor, out: Tensor) -> Tensor:
    return out if out.device == like.device else out.move_to(like.device)


def randint(low, high, size, seed=None, *, dtype=None):
    """Integers drawn uniformly from ``[low, high)``, of shape ``size`` (a tuple), Int64 unless
    ``dtype`` (an int type).

    >>> import gpucell as ms
    >>> ms.ops.randint(3, 4, (2,)).asnumpy()
    array([3, 3])
    """
    where = "randint"
    target = _dt.int64 if dtype is None else _dt.to_dtype(dtype, where)
    if target.kind != _dt._INT:
        raise ValueError(f"For '{where}', the 'dtype' must be an int type, but got {target}.")
    if not isinstance(size, tuple):
        raise ValueError(f"For '{where}', the input 'size' must be a tuple, but got {size!r}.")
    for name, value in (("low", low), ("high", high)):
        if not _is_int(value):
            raise TypeError(f"For '{where}', '{name}' must be an int, but got {value!r} with type "
                            f"'{type_name(value)}'.")
    if not -2**31 <= low < high <= 2**31 - 1:
        raise ValueError(f"For '{where}', 'low' must be less than 'high', both in the Int32 range (as MindSpore "
                         f"draws them), but got {low} and {high}.")
    check_seed(where, seed)
    from gpucell.ops.conversion import cast
    from gpucell.ops.creation import full

    out = apply(UNIFORM_INT, full((), int(low), dtype=_dt.int64), full((), int(high), dtype=_dt.int64),
                shape=sample_shape(where, size, positive=False))
    return out if target is _dt.int64 else cast(out, target)


def standard_normal(shape, seed=None):
    """Float32 standard normal samples of ``shape`` (a tuple of positive ints, or a 1-D Tensor)."""
    check_seed("standard_normal", seed)
    return apply(STANDARD_NORMAL, shape=sample_shape("standard_normal", shape), dtype=np.float32)


def _check_moment(where: str, name: str, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Tensor, int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"For '{where}', the type of '{name}' must be Tensor, int, or float, but got "
                        f"{type_name(value)}.")
    return value


def normal(shape, mean, stddev, seed=None):
    """``standard_normal(shape) * stddev + mean``, broadcast: ``mean`` and ``stddev`` are Tensors or
    numbers, and gradients flow to the Tensors.

    >>> import gpucell as ms
    >>> ms.ops.normal((3, 1, 2), ms.Tensor([[3.0, 4.0], [5.0, 6.0]]), 1.0).shape
    (3, 2, 2)
    """
    _check_moment("normal", "mean", mean)
    _check_moment("normal", "stddev", stddev)
    check_seed("normal", seed)
    if not isinstance(shape, tuple):
        raise TypeError(f"For 'normal', the type of 'shape' must be tuple, but got {type_name(shape)}.")
    sample = standard_normal(sample_shape("normal", shape))
    for param in (mean, stddev):
        if isinstance(param, Tensor):
            sample = _on(param, sample)  # on the parameters' device, like uniform's
            break
    return sample * stddev + mean


def uniform(shape, minval, maxval, seed=None, dtype=_dt.float32):
    """Samples in ``[minval, maxval)``: Float32 (``minval`` and ``maxval`` Float32 Tensors, broadcast
    against ``shape``; gradients flow to them) or Int32 (one-element Int32 Tensors).

    >>> import gpucell as ms
    >>> ms.ops.uniform((4, 2), ms.Tensor(1, ms.int32), ms.Tensor(2, ms.int32), dtype=ms.int32).asnumpy()
    array([[1, 1],
           [1, 1],
           [1, 1],
           [1, 1]], dtype=int32)
    """
    where = "uniform"
    if not isinstance(minval, Tensor) or not isinstance(maxval, Tensor):
        raise TypeError(f"For '{where}', the 'minval' and 'maxval' must be Tensors, but got "
                        f"{type_name(minval)} and {type_name(maxval)}.")
    check_seed(where, seed)
    target = _dt.to_dtype(dtype, where)
    if target not in (_dt.int32, _dt.float32):
        raise TypeError(f"For '{where}', the 'dtype' must be Int32 or Float32, but got {target}.")
    for name, value in (("minval", minval), ("maxval", maxval)):
        if value.dtype is not target:
            raise TypeError(f"For '{where}', the dtype of '{name}' ({value.dtype}) must be the 'dtype' "
                            f"{target}.")
    shape = sample_shape(where, shape)
    if target is _dt.int32:
        for name, value in (("minval", minval), ("maxval", maxval)):
            if value.size != 1:
                raise ValueError(f"For '{where}', an Int32 '{name}' must hold one value, but got shape "
                                 f"{value.shape}.")
        low, high = int(minval.item()), int(maxval.item())
        if low >= high:
            raise ValueError(f"For '{where}', the 'minval' must be less than the 'maxval', but got {low} "
                             f"and {high}.")
        from gpucell.ops.conversion import cast
        from gpucell.ops.shape import reshape

        return cast(apply(UNIFORM_INT, reshape(minval, ()), reshape(maxval, ()), shape=shape), _dt.int32)
    sample = apply(UNIFORM_REAL, shape=shape, dtype=np.float32)
    if sample.device != minval.device:
        sample = sample.move_to(minval.device)
    return sample * (maxval - minval) + minval
