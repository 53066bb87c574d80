"""dtype objects, inference from Python data, and MindSpore's promotion rules.

>>> import gpucell as ms
>>> str(ms.float32), ms.float32, str(ms.complex64), str(ms.uint32)
('Float32', gpucell.float32, 'Complex64', 'UInt32')
"""

from __future__ import annotations

import numpy as np

try:  # bfloat16's NumPy storage: the extension dtype JAX uses (a dependency; guarded for a clear error)
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes is a declared dependency
    _ml_dtypes = None

__all__ = [
    "DType", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "bfloat16", "float32", "float64", "complex64", "complex128", "float_", "int_", "half", "single", "double",
    "to_dtype", "from_numpy", "infer_dtype", "promote_types", "scalar_result_type", "is_floating", "is_integer",
    "is_complex", "all_dtypes", "dtype_to_nptype", "dtype_to_pytype",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


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
uint16 = DType("uint16", np.uint16, _INT, "UInt16")
uint32 = DType("uint32", np.uint32, _INT, "UInt32")
uint64 = DType("uint64", np.uint64, _INT, "UInt64")
float16 = DType("float16", np.float16, _FLOAT, "Float16")
# Without ml_dtypes the name exists (so code that mentions it imports) but nothing can hold it.
bfloat16 = DType("bfloat16", None if _ml_dtypes is None else _ml_dtypes.bfloat16, _FLOAT, "BFloat16", 2)
float32 = DType("float32", np.float32, _FLOAT, "Float32")
float64 = DType("float64", np.float64, _FLOAT, "Float64")
complex64 = DType("complex64", np.complex64, _COMPLEX, "Complex64")
complex128 = DType("complex128", np.complex128, _COMPLEX, "Complex128")

# MindSpore's aliases.
float_, int_, half, single, double = float32, int32, float16, float32, float64

all_dtypes = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, float64,
              complex64, complex128)
if _ml_dtypes is not None:
    all_dtypes = (*all_dtypes[:10], bfloat16, *all_dtypes[10:])
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
    if value is complex:
        return complex128
    if value is None:  # np.dtype(None) would answer float64
        raise TypeError(f"For '{where}', expected a gpucell dtype, but got None.")
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
    if isinstance(obj, (complex, np.complexfloating)):
        return _COMPLEX
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
    """MindSpore's inference for Python data: bool -> Bool, int -> Int64, float -> Float32,
    complex -> Complex128 (MindSpore narrows only Python floats; a complex keeps NumPy's width).

    An empty list holds no values to infer from and is Float32, as in MindSpore.
    """
    kind = _kind_of_python(obj, where)
    if kind == _BOOL and not _holds_values(obj):
        return float32
    return (bool_, int64, float32, complex128)[kind]


def is_floating(dtype: DType) -> bool:
    return dtype.kind == _FLOAT


def is_integer(dtype: DType) -> bool:
    return dtype.kind == _INT


def is_complex(dtype: DType) -> bool:
    return dtype.kind == _COMPLEX


# UInt16/32/64 meet the other integer types in no MindSpore promotion: NumPy's answer (uint64 + int64 ->
# float64, uint32 + int32 -> int64) would change values or widths silently, so such a pair is refused.
_WIDE_UNSIGNED = ("uint16", "uint32", "uint64")


def _promote(a: DType, b: DType) -> DType | None:
    if a is b:
        return a
    if a.kind != b.kind:
        low, high = (a, b) if a.kind < b.kind else (b, a)
        if high.kind == _COMPLEX and low.kind == _FLOAT and low.itemsize > high.itemsize // 2:
            return complex128  # complex64 with float64: only complex128 holds both
        return high  # bool < int < float < complex; the higher kind keeps its width
    if a.kind == _INT:
        if a.name in _WIDE_UNSIGNED or b.name in _WIDE_UNSIGNED:
            return None
        return from_numpy(np.promote_types(a.numpy, b.numpy))  # uint8 + int8 -> int16
    if a.itemsize == b.itemsize:
        return float32  # float16 with bfloat16: neither holds the other (MindSpore: Float32)
    return a if a.itemsize >= b.itemsize else b


_PROMOTE = {(a, b): _promote(a, b) for a in all_dtypes for b in all_dtypes}


def promote_types(a: DType, b: DType) -> DType:
    """Result dtype of an op on two tensors (MindSpore: int32 + float32 -> float32, not float64;
    complex64 + float64 -> complex128). TypeError for a pair with no implicit promotion (a UInt16,
    UInt32 or UInt64 tensor with another integer type): cast one of them first."""
    found = _PROMOTE[a, b]
    if found is None:
        raise TypeError(f"For type promotion, a {a} tensor and a {b} tensor have no common dtype: "
                        f"{', '.join(str(to_dtype(n)) for n in _WIDE_UNSIGNED)} are not implicitly promoted "
                        f"with other integer types. Cast one of them first (ops.cast).")
    return found


def scalar_result_type(tensor_dtype: DType, scalar) -> DType:
    """Result dtype of ``tensor op python_scalar``: the tensor's dtype unless the scalar is of a higher kind."""
    if isinstance(scalar, bool):
        return tensor_dtype
    if isinstance(scalar, int):
        return int64 if tensor_dtype.kind == _BOOL else tensor_dtype
    if isinstance(scalar, complex):
        return tensor_dtype if tensor_dtype.kind == _COMPLEX else complex64
    return tensor_dtype if tensor_dtype.kind >= _FLOAT else float32


def dtype_to_nptype(type_):
    """The NumPy scalar type of a gpucell dtype, as MindSpore's ``dtype_to_nptype``.

    >>> import gpucell as ms
    >>> ms.dtype_to_nptype(ms.uint32), ms.dtype_to_nptype(ms.complex64)
    (<class 'numpy.uint32'>, <class 'numpy.complex64'>)
    """
    return to_dtype(type_, "dtype_to_nptype").numpy.type


def dtype_to_pytype(type_):
    """The Python type that holds one value of a gpucell dtype: bool, int, float or complex.

    >>> import gpucell as ms
    >>> ms.dtype_to_pytype(ms.uint64), ms.dtype_to_pytype(ms.complex128)
    (<class 'int'>, <class 'complex'>)
    """
    return (bool, int, float, complex)[to_dtype(type_, "dtype_to_pytype").kind]
