"""dtype objects, inference from Python data, and MindSpore's promotion rules.

>>> import gpucell as ms
>>> print(ms.float32), ms.float32
Float32 gpucell.float32
"""

from __future__ import annotations

import numpy as np

try:  # bfloat16's NumPy storage: the extension dtype JAX uses (a dependency; guarded for a clear error)
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes is a declared dependency
    _ml_dtypes = None

__all__ = [
    "DType", "bool_", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32", "float64",
    "float_", "int_", "half", "single", "double", "to_dtype", "from_numpy", "infer_dtype",
    "promote_types", "scalar_result_type", "is_floating", "is_integer", "all_dtypes",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class DType:
    """A tensor element type. ``str`` is MindSpore's spelling (``Float32``), ``repr`` the attribute."""

    __slots__ = ("name", "numpy", "kind", "itemsize", "_title")

    def __init__(self, name: str, numpy_dtype, kind: int, title: str, itemsize: int | None = None):
        self.name = name
        self.numpy = None if numpy_dtype is None else np.dtype(numpy_dtype)
        self.kind = kind
        self.itemsize = itemsize if self.numpy is None else self.numpy.itemsize
        self._title = title

    def __str__(self) -> str:
        return self._title

    def __repr__(self) -> str:
        return f"gpucell.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))

    @property
    def is_floating_point(self) -> bool:
        return self.kind == _FLOAT


bool_ = DType("bool_", np.bool_, _BOOL, "Bool")
int8 = DType("int8", np.int8, _INT, "Int8")
int16 = DType("int16", np.int16, _INT, "Int16")
int32 = DType("int32", np.int32, _INT, "Int32")
int64 = DType("int64", np.int64, _INT, "Int64")
uint8 = DType("uint8", np.uint8, _INT, "UInt8")
float16 = DType("float16", np.float16, _FLOAT, "Float16")
# Without ml_dtypes the name exists (so code that mentions it imports) but nothing can hold it.
bfloat16 = DType("bfloat16", None if _ml_dtypes is None else _ml_dtypes.bfloat16, _FLOAT, "BFloat16", 2)
float32 = DType("float32", np.float32, _FLOAT, "Float32")
float64 = DType("float64", np.float64, _FLOAT, "Float64")

# MindSpore's aliases.
float_, int_, half, single, double = float32, int32, float16, float32, float64

all_dtypes = (bool_, int8, int16, int32, int64, uint8, float16, float32, float64)
if _ml_dtypes is not None:
    all_dtypes = (*all_dtypes[:7], bfloat16, *all_dtypes[7:])
# NumPy dtype of bfloat16 storage (None without ml_dtypes): ops compute it in float32 and round.
BF16_NUMPY = bfloat16.numpy
_BY_NUMPY = {d.numpy: d for d in all_dtypes}
_BY_NAME = {d.name: d for d in all_dtypes}
_BY_NAME.update({"bool": bool_, "float": float32, "int": int64, "half": float16, "double": float64})
for _d in all_dtypes:
    _BY_NAME[_d._title.lower()] = _d


def from_numpy(np_dtype) -> DType:
    """The DType of a NumPy (or CuPy) dtype; TypeError for types gpucell does not hold."""
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        found = _BY_NUMPY.get(np.dtype(np_dtype))
        if found is None:
            supported = ", ".join(d.name for d in all_dtypes)
            raise TypeError(f"For 'Tensor', the dtype {np.dtype(np_dtype)} is not supported; "
                            f"supported: {supported}.")
    return found


def to_dtype(value, where: str = "dtype") -> DType:
    """Accepts a DType, a NumPy dtype or type, a Python type or a name such as ``'float32'``."""
    if isinstance(value, DType):
        if value.numpy is None:
            raise TypeError(f"For '{where}', bfloat16 needs the 'ml_dtypes' package "
                            f"(pip install ml_dtypes), which is not installed.")
        return value
    if isinstance(value, str):
        found = _BY_NAME.get(value) or _BY_NAME.get(value.lower())
        if found is None and value.lower() in ("bfloat16", "bf16"):
            return to_dtype(bfloat16, where)
        if found is None:
            raise TypeError(f"For '{where}', unknown dtype name {value!r}; expected one of "
                            f"{sorted(_BY_NAME)}.")
        return found
    if value is bool:
        return bool_
    if value is int:
        return int64
    if value is float:
        return float32
    try:
        return from_numpy(np.dtype(value))
    except TypeError:
        raise TypeError(f"For '{where}', expected a gpucell dtype, but got {value!r} of type "
                        f"'{type(value).__name__}'.") from None


def _kind_of_python(obj, where: str) -> int:
    if isinstance(obj, (bool, np.bool_)):
        return _BOOL
    if isinstance(obj, (int, np.integer)):
        return _INT
    if isinstance(obj, (float, np.floating)):
        return _FLOAT
    if isinstance(obj, (list, tuple)):
        kind = _BOOL
        for item in obj:
            kind = max(kind, _kind_of_python(item, where))
        return kind
    raise TypeError(f"For '{where}', expected numbers, bools or nested lists of them, "
                    f"but got an element of type '{type(obj).__name__}'.")


def _holds_values(obj) -> bool:
    if isinstance(obj, (list, tuple)):
        return any(_holds_values(item) for item in obj)
    return True


def infer_dtype(obj, where: str = "Tensor") -> DType:
    """MindSpore's inference for Python data: bool -> Bool, int -> Int64, float -> Float32.

    An empty list holds no values to infer from and is Float32, as in MindSpore.
    """
    kind = _kind_of_python(obj, where)
    if kind == _BOOL and not _holds_values(obj):
        return float32
    return (bool_, int64, float32)[kind]


def is_floating(dtype: DType) -> bool:
    return dtype.kind == _FLOAT


def is_integer(dtype: DType) -> bool:
    return dtype.kind == _INT


def _promote(a: DType, b: DType) -> DType:
    if a.kind != b.kind:
        return a if a.kind > b.kind else b  # bool < int < float; the float keeps its width
    if a.kind == _INT:
        return from_numpy(np.promote_types(a.numpy, b.numpy))  # uint8 + int8 -> int16
    if a.itemsize == b.itemsize and a is not b:
        return float32  # float16 with bfloat16: neither holds the other (MindSpore: Float32)
    return a if a.itemsize >= b.itemsize else b


_PROMOTE = {(a, b): _promote(a, b) for a in all_dtypes for b in all_dtypes}


def promote_types(a: DType, b: DType) -> DType:
    """Result dtype of an op on two tensors (MindSpore: int32 + float32 -> float32, not float64)."""
    return _PROMOTE[a, b]


def scalar_result_type(tensor_dtype: DType, scalar) -> DType:
    """Result dtype of ``tensor op python_scalar``: the tensor's dtype unless the scalar is of a higher kind."""
    if isinstance(scalar, bool):
        return tensor_dtype
    if isinstance(scalar, int):
        return int64 if tensor_dtype.kind == _BOOL else tensor_dtype
    return tensor_dtype if tensor_dtype.kind == _FLOAT else float32
