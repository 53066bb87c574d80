"""gpucell.ops: MindSpore's functional ops. Every call goes through ``ops._dispatch.apply``."""

from gpucell.ops.arithmetic import abs, add, div, floor_divide, mod, mul, neg, pow, sub
from gpucell.ops.assign import assign, assign_add, assign_sub
from gpucell.ops.comparison import (
    equal, ge, greater, greater_equal, gt, le, less, less_equal, logical_and, logical_not, logical_or,
    logical_xor, lt, not_equal,
)
from gpucell.ops.conversion import cast, copy
from gpucell.ops.linalg import matmul
from gpucell.ops.shape import reshape, transpose

__all__ = [
    "abs", "add", "div", "floor_divide", "mod", "mul", "neg", "pow", "sub",
    "assign", "assign_add", "assign_sub",
    "equal", "ge", "greater", "greater_equal", "gt", "le", "less", "less_equal", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "not_equal",
    "cast", "copy", "matmul", "reshape", "transpose",
]
