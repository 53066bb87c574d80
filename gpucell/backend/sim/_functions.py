"""The NumPy-compatible functions and ufuncs of the simulated CuPy, each one NumPy's own
computation run through _ops.call, with CuPy's signature (checked against CuPy in the tests)."""

from __future__ import annotations

import inspect

import numpy as np

from gpucell.backend.sim import _ops
from gpucell.backend.sim._array import empty_array, ndarray, view_of
from gpucell.backend.sim._ops import CUBLAS, FRESH, SYNC, call

__all__ = ["ufunc", "FUNCTIONS", "UFUNCS", "asarray", "array", "asnumpy", "ascontiguousarray", "asfortranarray",
           "empty", "empty_like", "from_dlpack", "get_array_module", "copyto", "where"]


_UFUNC_KEYWORDS = ("out", "dtype", "casting")  # all that CuPy's ufunc.__call__ takes (NumPy's `where` is not)


def _check_ufunc_keywords(kwargs: dict) -> None:
    unknown = {key: value for key, value in kwargs.items() if key not in _UFUNC_KEYWORDS}
    if unknown:
        raise TypeError(f"Wrong arguments {unknown}")


class ufunc:
    """A universal function over simulated device arrays (see ``cupy.ufunc``): it takes CuPy's
    arguments only, ``(x1, ..., [out1, ...], /, out=None, *, casting='same_kind', dtype=None)``."""

    def __init__(self, np_ufunc: np.ufunc, name: str | None = None):
        self._np = np_ufunc
        self.name = self.__name__ = name or np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args, **kwargs):
        _check_ufunc_keywords(kwargs)
        if not self.nin <= len(args) <= self.nargs:
            raise TypeError(f"Wrong number of arguments for '{self.name}'. It must be either {self.nin} or "
                            f"{self.nargs} (with outputs), but given {len(args)}.")
        if len(args) > self.nin:
            if kwargs.get("out") is not None:
                raise ValueError("Cannot specify 'out' as both a positional and keyword argument")
            outs = args[self.nin:]
            kwargs["out"] = outs[0] if len(outs) == 1 else tuple(outs)
            args = args[:self.nin]
        for value in args:
            if type(value) in (list, tuple):
                raise TypeError(f"Unsupported type {type(value)}")
        return call(f"cupy.{self.name}", self._np, args, kwargs, sequences=False)

    def outer(self, A, B, **kwargs):
        _check_ufunc_keywords(kwargs)
        return call(f"cupy.{self.name}.outer", self._np.outer, (A, B), kwargs, sequences=False)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        return call(f"cupy.{self.name}.reduce", self._np.reduce, (array,),
                    {"axis": axis, "dtype": dtype, "out": out, "keepdims": keepdims}, sequences=False)

    def accumulate(self, array, axis=0, dtype=None, out=None):
        return call(f"cupy.{self.name}.accumulate", self._np.accumulate, (array,),
                    {"axis": axis, "dtype": dtype, "out": out}, sequences=False)

    def at(self, a, indices, b=None):
        def scatter(h, index, *values):
            self._np.at(h, index, *values)

        values = () if b is None else (b,)
        return call(f"cupy.{self.name}.at", scatter, (a, indices, *values), {}, writes=(a,))


_UFUNC_NAMES = (
    "abs absolute acos acosh add arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin asinh atan atan2 atanh "
    "bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift "
    "bitwise_xor cbrt ceil conj conjugate copysign cos cosh deg2rad degrees divide divmod equal exp exp2 expm1 fabs "
    "float_power floor floor_divide fmax fmin fmod frexp gcd greater greater_equal heaviside hypot invert isfinite "
    "isinf isnan lcm ldexp left_shift less less_equal log log10 log1p log2 logaddexp logaddexp2 logical_and "
    "logical_not logical_or logical_xor maximum minimum mod modf multiply negative nextafter not_equal positive "
    "pow power rad2deg radians reciprocal remainder right_shift rint sign signbit sin sinh sqrt square subtract "
    "tan tanh true_divide trunc").split()
UFUNCS = {name: ufunc(getattr(np, name), name) for name in _UFUNC_NAMES
          if isinstance(getattr(np, name, None), np.ufunc)}

# name -> (CuPy's signature, kind). Each runs NumPy's function of that name through _ops.call.
_SIGNATURES = {
    "reshape": ("(a, newshape, order='C', *, copy=None)", FRESH),
    "ravel": ("(a, order='C')", FRESH),
    "transpose": ("(a, axes=None)", FRESH),
    "swapaxes": ("(a, axis1, axis2)", FRESH),
    "moveaxis": ("(a, source, destination)", FRESH),
    "squeeze": ("(a, axis=None)", FRESH),
    "expand_dims": ("(a, axis)", FRESH),
    "broadcast_to": ("(array, shape)", FRESH),
    "broadcast_arrays": ("(*args)", FRESH),
    "atleast_1d": ("(*arys)", FRESH),
    "atleast_2d": ("(*arys)", FRESH),
    "concatenate": ("(tup, axis=0, out=None, *, dtype=None, casting='same_kind')", FRESH),
    "stack": ("(tup, axis=0, out=None, *, dtype=None, casting='same_kind')", FRESH),
    "vstack": ("(tup, *, dtype=None, casting='same_kind')", FRESH),
    "hstack": ("(tup, *, dtype=None, casting='same_kind')", FRESH),
    "split": ("(ary, indices_or_sections, axis=0)", FRESH),
    "array_split": ("(ary, indices_or_sections, axis=0)", FRESH),
    "take": ("(a, indices, axis=None, out=None)", FRESH),
    "take_along_axis": ("(a, indices, axis)", FRESH),
    "sum": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "prod": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "mean": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "var": ("(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", FRESH),
    "std": ("(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False)", FRESH),
    "max": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "min": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "amax": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "amin": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "nansum": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "nanmax": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "nanmin": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "argmax": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "argmin": ("(a, axis=None, dtype=None, out=None, keepdims=False)", FRESH),
    "cumsum": ("(a, axis=None, dtype=None, out=None)", FRESH),
    "cumprod": ("(a, axis=None, dtype=None, out=None)", FRESH),
    "any": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "all": ("(a, axis=None, out=None, keepdims=False)", FRESH),
    "clip": ("(a, a_min, a_max, out=None)", FRESH),
    "around": ("(a, decimals=0, out=None)", FRESH),
    "round": ("(a, decimals=0, out=None)", FRESH),
    "isclose": ("(a, b, rtol=1e-05, atol=1e-08, equal_nan=False)", FRESH),
    "array_equal": ("(a1, a2, equal_nan=False)", FRESH),
    "count_nonzero": ("(a, axis=None)", FRESH),
    "tile": ("(A, reps)", FRESH),
    "flip": ("(a, axis=None)", FRESH),
    "roll": ("(a, shift, axis=None)", FRESH),
    "sort": ("(a, axis=-1, kind=None)", FRESH),
    "argsort": ("(a, axis=-1, kind=None)", FRESH),
    "outer": ("(a, b, out=None)", FRESH),
    "diff": ("(a, n=1, axis=-1, prepend=None, append=None)", FRESH),
    "tril": ("(m, k=0)", FRESH),
    "triu": ("(m, k=0)", FRESH),
    "diag": ("(v, k=0)", FRESH),
    "diagonal": ("(a, offset=0, axis1=0, axis2=1)", FRESH),
    "trace": ("(a, offset=0, axis1=0, axis2=1, dtype=None, out=None)", FRESH),
    "searchsorted": ("(a, v, side='left', sorter=None)", FRESH),
    "pad": ("(array, pad_width, mode='constant', **kwargs)", FRESH),
    "copy": ("(a, order='K')", FRESH),
    "real": ("(val)", FRESH),
    "imag": ("(val)", FRESH),
    "zeros": ("(shape, dtype=float, order='C')", FRESH),
    "ones": ("(shape, dtype=float, order='C')", FRESH),
    "full": ("(shape, fill_value, dtype=None, order='C')", FRESH),
    "zeros_like": ("(a, dtype=None, order='K', subok=None, shape=None)", FRESH),
    "ones_like": ("(a, dtype=None, order='K', subok=None, shape=None)", FRESH),
    "full_like": ("(a, fill_value, dtype=None, order='K', subok=None, shape=None)", FRESH),
    "arange": ("(start, stop=None, step=1, dtype=None)", FRESH),
    "linspace": ("(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)", FRESH),
    "eye": ("(N, M=None, k=0, dtype=float, order='C')", FRESH),
    "identity": ("(n, dtype=float)", FRESH),
    "matmul": ("(*args, axes=None, axis=None, keepdims=False, casting='same_kind', dtype=None, signature=None, "
               "order='K', out=None)", CUBLAS),
    "dot": ("(a, b, out=None)", CUBLAS),
    "vdot": ("(a, b)", CUBLAS),
    "inner": ("(a, b)", CUBLAS),
    "tensordot": ("(a, b, axes=2)", CUBLAS),
    "einsum": ("(*operands, **kwargs)", CUBLAS),
    "nonzero": ("(a)", SYNC),
    "flatnonzero": ("(a)", SYNC),
    "argwhere": ("(a)", SYNC),
    "unique": ("(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True)",
               SYNC),
    "bincount": ("(x, weights=None, minlength=None)", SYNC),
    "repeat": ("(a, repeats, axis=None)", FRESH),
}
_NO_READ = {"zeros_like", "ones_like", "full_like"}  # shape and dtype only: no device work reads the prototype


def _function(name: str, signature: str, kind: str):
    np_func = getattr(np, name)
    parameters = inspect.signature(eval(f"lambda {signature[1:-1]}: None", {"float": float}))  # noqa: S307

    if name in _NO_READ:
        def like(a, *args, **kwargs):
            if type(a) is not ndarray:
                raise TypeError(f"Unsupported type {type(a)}")
            return call(f"cupy.{name}", lambda *rest, **kw: np_func(np.empty(a.shape, a.dtype), *rest, **kw),
                        args, kwargs)
        run = like
    elif name == "reshape":
        def run(a, newshape, order="C", *, copy=None):
            return call("cupy.reshape", lambda h: np.reshape(h, newshape, order=order, copy=copy), (a,), {})
    elif name in ("argmax", "argmin"):
        def run(a, axis=None, dtype=None, out=None, keepdims=False):
            # NumPy's argmax has no dtype: CuPy's casts the indices to it.
            def arg(h, out=None):
                result = np_func(h, axis=axis, out=None if dtype is not None else out, keepdims=keepdims)
                return result if dtype is None else np.asarray(result).astype(dtype)
            return call(f"cupy.{name}", arg, (a,), {} if out is None else {"out": out})
    elif name == "repeat":
        def run(a, repeats, axis=None):
            kind_ = SYNC if type(repeats) is ndarray else FRESH  # array repeats: the output size is read back
            return call("cupy.repeat", np.repeat, (a, repeats), {"axis": axis}, kind=kind_)
    else:
        def run(*args, **kwargs):
            return call(f"cupy.{name}", np_func, args, kwargs, kind=kind)
    run.__name__ = run.__qualname__ = name
    run.__signature__ = parameters
    run.__doc__ = f"``cupy.{name}{signature}`` on the simulated device (NumPy's computation)."
    return run


FUNCTIONS = {name: _function(name, signature, kind) for name, (signature, kind) in _SIGNATURES.items()}


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y``; with one argument, ``nonzero(condition)``."""
    if x is None and y is None:
        return FUNCTIONS["nonzero"](condition)
    return call("cupy.where", np.where, (condition, x, y), {})


def copyto(dst, src, casting="same_kind", where=None):
    """Copies ``src`` into ``dst`` (broadcasting), an in-place write of ``dst``."""
    if type(dst) is not ndarray:
        raise TypeError(f"For 'cupy.copyto', 'dst' must be a cupy.ndarray, but got {type(dst).__name__}")
    call("cupy.copyto", lambda d, s, w: np.copyto(d, s, casting=casting, where=True if w is None else w),
         (dst, src, where), {}, overwrites=(dst,))


def empty(shape, dtype=float, order="C"):
    """An uninitialised array (the simulator fills it with 0xFF bytes, so reading it shows)."""
    return empty_array(shape, dtype, order=order)


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    if type(prototype) is not ndarray:
        raise TypeError(f"Unsupported type {type(prototype)}")
    dtype = prototype.dtype if dtype is None else dtype
    shape = prototype.shape if shape is None else shape
    return empty_array(shape, dtype, order="F" if order == "F" else "C")


def _from_interface(obj) -> ndarray | None:
    """A view of simulated device memory that ``obj`` exposes through ``__cuda_array_interface__``
    (None when it has none); the view keeps ``obj`` alive, as CuPy's UnownedMemory does."""
    interface = getattr(obj, "__cuda_array_interface__", None) if type(obj) is not ndarray else None
    if interface is None:
        return None
    from gpucell.backend.sim._memory import MemoryPointer, memory_at

    pointer = interface["data"][0]
    found = memory_at(pointer)
    if found is None:
        raise ValueError(f"__cuda_array_interface__ of {type(obj).__name__} points at {pointer:#x}, which is not "
                         f"memory of the simulated device")
    memory, offset = found
    view = ndarray(interface["shape"], np.dtype(interface["typestr"]), memptr=MemoryPointer(memory, offset),
                   strides=interface.get("strides"))
    view._base = obj
    return view


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    """``a`` as a device array: the same array when nothing must change, else a copy (host data
    is copied to the device on the current stream)."""
    shared = _from_interface(a)
    if shared is not None:
        a = shared
    if type(a) is ndarray:
        if copy is not True and (dtype is None or np.dtype(dtype) == a.dtype) and order in (None, "K", "A"):
            return a
        if copy is False:
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        return call("cupy.asarray", lambda h: np.array(h, dtype=dtype, order=order or "K"), (a,), {})
    return _ops.wrap_host("a host-to-device copy (cupy.asarray)", np.asarray(a, dtype=dtype, order=order))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A new device array from ``obj`` (copied unless ``copy=False`` allows sharing)."""
    if type(obj) is ndarray:
        if copy is False and (dtype is None or np.dtype(dtype) == obj.dtype) and ndmin <= obj.ndim:
            return obj
        return call("cupy.array", lambda h: np.array(h, dtype=dtype, order=order, ndmin=ndmin), (obj,), {})
    return _ops.wrap_host("a host-to-device copy (cupy.array)", np.array(obj, dtype=dtype, order=order, ndmin=ndmin))


def ascontiguousarray(a, dtype=None):
    """``a`` itself when it is C-contiguous of ``dtype``, else a C-contiguous copy (at least 1-D)."""
    if type(a) is not ndarray:
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy._core.core._ndarray_base, "
                        f"got {type(a).__name__})")
    if a._h.flags.c_contiguous and (dtype is None or np.dtype(dtype) == a.dtype) and a.ndim >= 1:
        return a
    return call("cupy.ascontiguousarray", lambda h: np.ascontiguousarray(h, dtype=dtype), (a,), {})


def asfortranarray(a, dtype=None):
    if type(a) is not ndarray:
        raise TypeError(f"Unsupported type {type(a)}")
    if a._h.flags.f_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return call("cupy.asfortranarray", lambda h: np.asfortranarray(h, dtype=dtype), (a,), {})


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A NumPy copy of ``a`` (a device-to-host copy on ``stream``; NumPy input passes through)."""
    if type(a) is ndarray:
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    if out is None:
        return np.asarray(a, order=order)
    out[...] = a
    return out


def get_array_module(*args):
    """The simulated cupy module if any argument is one of its arrays, else numpy."""
    import gpucell.backend.sim as sim

    return sim if any(type(a) is ndarray for a in args) else np


def from_dlpack(array, *, device=None, copy=None):
    """A view of a simulated device array (other producers hold memory the simulator cannot see)."""
    if type(array) is ndarray:
        return view_of(array, array._h)
    shared = _from_interface(array)  # a producer over simulated memory (a gpucell Tensor, say)
    if shared is not None:
        return shared
    kind = getattr(array, "__dlpack_device__", None)
    device_type = int(kind()[0]) if kind is not None else None
    raise BufferError(f"The simulated device imports only its own arrays through DLPack; got "
                      f"{type(array).__name__} (DLPack device type {device_type}). Copy host data with "
                      f"cupy.asarray instead.")

