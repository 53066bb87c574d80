"""MindSpore's ``mindspore.common.dtype`` path: ``import gpucell.common.dtype as mstype``.

>>> import gpucell.common.dtype as mstype
>>> mstype.float32, mstype.dtype_to_nptype(mstype.int32)
(gpucell.float32, <class 'numpy.int32'>)
"""

from __future__ import annotations

from gpucell.dtype import (  # noqa: F401 - re-exported
    DType,
    bool_,
    double,
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
)

__all__ = ["DType", "Type", "bool_", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64",
           "float_", "int_", "half", "single", "double", "int_type", "uint_type", "float_type", "signed_type",
           "number_type", "all_types", "dtype_to_nptype", "pytype_to_dtype", "dtype_to_pytype"]

Type = DType  # MindSpore's base class of dtypes

int_type = (int8, int16, int32, int64)
uint_type = (uint8,)
float_type = (float16, float32, float64)
signed_type = int_type + float_type
number_type = int_type + uint_type + float_type
all_types = (bool_,) + number_type


def dtype_to_nptype(type_):
    """The NumPy scalar type of a gpucell dtype (``int32`` -> ``numpy.int32``)."""
    return to_dtype(type_, "dtype_to_nptype").numpy.type


def pytype_to_dtype(obj) -> DType:
    """The gpucell dtype of a NumPy dtype or type, a Python type (``int`` is Int64) or a dtype."""
    return to_dtype(obj, "pytype_to_dtype")


def dtype_to_pytype(type_):
    """The Python type holding values of a gpucell dtype: bool, int or float."""
    kind = to_dtype(type_, "dtype_to_pytype").numpy.kind
    return bool if kind == "b" else (float if kind == "f" else int)
