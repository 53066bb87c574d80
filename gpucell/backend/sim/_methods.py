"""ndarray's operators, methods and indexing, bound onto the class (each one an _ops.call)."""

from __future__ import annotations

import numpy as np

from gpucell.backend.sim import _ops
from gpucell.backend.sim._array import ndarray, view_of
from gpucell.backend.sim._functions import FUNCTIONS, UFUNCS
from gpucell.backend.sim._ops import FRESH, SYNC, call

__all__ = ["install"]

_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "and": "bitwise_and",
           "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift"}
_COMPARE = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal", "eq": "equal",
            "ne": "not_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}
_SCALARS = (int, float, bool, complex)


def _operand_ok(other) -> bool:
    # NumPy arrays and sequences go to the ufunc too, which refuses them with CuPy's TypeError
    # ("Unsupported type ..."), as CuPy's operators do; other objects get their reflected method.
    return type(other) is ndarray or isinstance(other, (_SCALARS, np.generic, np.ndarray, list, tuple))


def _binary(name: str):
    fn = UFUNCS[name]

    def forward(self, other):
        return fn(self, other) if _operand_ok(other) else NotImplemented

    def reflected(self, other):
        return fn(other, self) if _operand_ok(other) else NotImplemented

    def inplace(self, other):
        return fn(self, other, out=self)

    return forward, reflected, inplace


def _method(name: str, kind: str = FRESH):
    function = FUNCTIONS[name]

    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__ = name
    return method


def _is_basic(key: tuple) -> bool:
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) and not isinstance(k, bool)
               for k in key)


def _device_index(key: tuple) -> tuple:
    """Host arrays and lists in an index are copied to the device first, as CuPy does."""
    out = []
    for k in key:
        if isinstance(k, (np.ndarray, list)):
            out.append(_ops.wrap_host("a host-to-device copy of an index", np.asarray(k)))
        else:
            out.append(k)
    return tuple(out)


def getitem(self, key):
    key = key if isinstance(key, tuple) else (key,)
    if _is_basic(key):
        if not any(k is Ellipsis for k in key):
            key = key + (Ellipsis,)  # a 0-d view rather than a NumPy scalar, as CuPy returns
        return view_of(self, self._h[key])
    key = _device_index(key)
    masked = any(type(k) is ndarray and k.dtype == np.bool_ for k in key)
    # A boolean mask: the output's size is the mask's count, read back by the host.
    return call("ndarray.__getitem__", lambda h, k: h[k], (self, key), {}, kind=SYNC if masked else FRESH)


def setitem(self, key, value):
    key = key if isinstance(key, tuple) else (key,)
    if isinstance(value, np.ndarray):
        value = _ops.wrap_host("a host-to-device copy of assigned values", value)
    elif isinstance(value, list):
        value = _ops.wrap_host("a host-to-device copy of assigned values", np.asarray(value))
    if _is_basic(key):
        target = view_of(self, self._h[key + (Ellipsis,)] if not any(k is Ellipsis for k in key) else self._h[key])

        def assign(t, v):
            t[...] = v
        call("ndarray.__setitem__", assign, (target, value), {}, overwrites=(target,))
        return
    key = _device_index(key)

    def scatter(h, k, v):
        h[k] = v
    call("ndarray.__setitem__", scatter, (self, key, value), {}, overwrites=(self,))


def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
    dtype = np.dtype(dtype)
    if not copy and dtype == self.dtype and (order in ("K", "A") or self._h.flags[order + "_CONTIGUOUS"]):
        return self
    return call("ndarray.astype", lambda h: h.astype(dtype, order=order, casting=casting or "unsafe"), (self,), {})


def copy(self, order="C"):
    return call("ndarray.copy", lambda h: h.copy(order=order), (self,), {})


def view(self, dtype=None, type=None):
    return view_of(self, self._h.view() if dtype is None else self._h.view(dtype))


def reshape(self, *shape, order="C", copy=None):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return call("ndarray.reshape", lambda h: h.reshape(shape, order=order, copy=copy), (self,), {})


def clip(self, min=None, max=None, out=None):
    return FUNCTIONS["clip"](self, min, max, out=out)


def argmax(self, axis=None, out=None, dtype=None, keepdims=False):
    return FUNCTIONS["argmax"](self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def argmin(self, axis=None, out=None, dtype=None, keepdims=False):
    return FUNCTIONS["argmin"](self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def flatten(self, order="C"):
    return call("ndarray.flatten", lambda h: h.flatten(order=order), (self,), {})


def dot(self, b, out=None):
    return FUNCTIONS["dot"](self, b, out=out)


def transpose(self, *axes):
    axes = axes[0] if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))) else axes
    return view_of(self, self._h.transpose(axes) if axes else self._h.transpose())


def fill(self, value):
    def run(h):
        h.fill(value)
    call("ndarray.fill", run, (self,), {}, overwrites=(self,))


def sort(self, axis=-1, kind=None):
    def run(h):
        h.sort(axis=axis)
    call("ndarray.sort", run, (self,), {}, writes=(self,))


def _simple(name: str, kind: str = FRESH, np_name: str | None = None):
    def method(self, *args, **kwargs):
        return call(f"ndarray.{name}", lambda h, *a, **k: getattr(h, np_name or name)(*a, **k),
                    (self, *args), kwargs, kind=kind)
    method.__name__ = name
    return method


def install() -> None:
    for short, name in _BINARY.items():
        forward, reflected, inplace = _binary(name)
        setattr(ndarray, f"__{short}__", forward)
        setattr(ndarray, f"__r{short}__", reflected)
        setattr(ndarray, f"__i{short}__", inplace)
    for short, name in _COMPARE.items():
        setattr(ndarray, f"__{short}__", _binary(name)[0])
    for short, name in _UNARY.items():
        fn = UFUNCS[name]
        setattr(ndarray, f"__{short}__", lambda self, _fn=fn: _fn(self))
    matmul = FUNCTIONS["matmul"]
    ndarray.__matmul__ = lambda self, other: matmul(self, other) if type(other) is ndarray else NotImplemented
    ndarray.__rmatmul__ = lambda self, other: matmul(other, self) if type(other) is ndarray else NotImplemented
    ndarray.__divmod__ = lambda self, other: UFUNCS["divmod"](self, other)
    ndarray.__getitem__ = getitem
    ndarray.__setitem__ = setitem
    for name in ("sum", "prod", "mean", "var", "std", "max", "min", "cumsum", "cumprod",
                 "any", "all", "round", "ravel", "squeeze", "swapaxes", "take", "repeat", "argsort",
                 "diagonal", "trace", "nonzero"):
        setattr(ndarray, name, _method(name) if name in FUNCTIONS else _simple(name))
    ndarray.conj = ndarray.conjugate = lambda self: UFUNCS["conjugate"](self)
    ndarray.real = property(lambda self: view_of(self, self._h.real) if self.dtype.kind == "c" else self)
    ndarray.imag = property(lambda self: view_of(self, self._h.imag) if self.dtype.kind == "c"
                            else FUNCTIONS["zeros_like"](self))
    for fn in (astype, copy, view, reshape, transpose, fill, sort, clip, argmax, argmin, flatten, dot):
        setattr(ndarray, fn.__name__, fn)
    ndarray.__array_ufunc__ = _array_ufunc
    ndarray.__array_function__ = _array_function


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    fn = UFUNCS.get(ufunc.__name__)
    if fn is None:
        return NotImplemented
    for x in inputs:
        if isinstance(x, np.ndarray):  # numpy.add(host, device): CuPy's ufunc refuses the host array
            raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(kwargs.get("out"), tuple) and len(kwargs["out"]) == 1:
        kwargs["out"] = kwargs["out"][0]
    target = fn if method == "__call__" else getattr(fn, method, None)
    return NotImplemented if target is None else target(*inputs, **kwargs)


def _array_function(self, func, types, args, kwargs):
    import gpucell.backend.sim as sim

    target = getattr(sim, func.__name__, None)
    if target is None or target is func or not all(issubclass(t, (ndarray, np.ndarray)) for t in types):
        return NotImplemented
    return target(*args, **kwargs)
