"""MindSpore's ``mindspore.common.dtype`` path: ``import gpucell.common.dtype as mstype``.

>>> import gpucell.common.dtype as mstype
>>> mstype.float32, mstype.dtype_to_nptype(mstype.int32)
(gpucell.float32, <class 'numpy.int32'>)
"""

from __future__ import annotations

from gpucell.dtype import (  # noqa: F401 - re-exported
    DType,
    bool_,
    complex64,
    complex128,
    double,
    dtype_to_nptype,
    dtype_to_pytype,
    float16,
    float32,
    float64,
    float_,
    half,
    int8,
    int16,
    int32,
    int64,
    int_,
    single,
    to_dtype,
    uint8,
    uint16,
    uint32,
    uint64,
)

__all__ = ["DType", "Type", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128", "float_", "int_", "half", "single", "double",
           "int_type", "uint_type", "float_type", "complex_type", "signed_type", "number_type", "all_types",
           "dtype_to_nptype", "pytype_to_dtype", "dtype_to_pytype"]

Type = DType  # MindSpore's base class of dtypes

int_type = (int8, int16, int32, int64)
uint_type = (uint8, uint16, uint32, uint64)
float_type = (float16, float32, float64)
complex_type = (complex64, complex128)
signed_type = int_type + float_type + complex_type
number_type = int_type + uint_type + float_type + complex_type
all_types = (bool_,) + number_type


def pytype_to_dtype(obj) -> DType:
    """The gpucell dtype of a NumPy dtype or type, a Python type (``int`` is Int64) or a dtype."""
    return to_dtype(obj, "pytype_to_dtype")
