"""assign, assign_add, assign_sub: in-place updates of a Parameter's buffer.

In place matters: a captured CUDA graph (gpucell.jit) reads and writes the Parameter's buffer by
address, so updates must land in that same buffer rather than replace it.
"""

from __future__ import annotations

from gpucell.ops._dispatch import Op, apply
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["assign", "assign_add", "assign_sub"]


def _writer(name: str, combine):
    def forward(variable, value):
        if hasattr(value, "dtype") and value.dtype.kind == "f" and variable.dtype.kind != "f":
            raise TypeError(f"For '{name}', a float value cannot be written into a variable of dtype "
                            f"{variable.dtype} without losing data.")
        combine(variable, value)
        return variable
    return forward


def _set(variable, value):
    variable[...] = value


def _add(variable, value):
    variable += value


def _sub(variable, value):
    variable -= value


ASSIGN = Op("Assign", _writer("Assign", _set), inplace=True)
ASSIGN_ADD = Op("AssignAdd", _writer("AssignAdd", _add), inplace=True)
ASSIGN_SUB = Op("AssignSub", _writer("AssignSub", _sub), inplace=True)


def _check(name: str, variable, value) -> None:
    if not isinstance(variable, Parameter):
        raise TypeError(f"For '{name}', 'variable' must be a Parameter, but got "
                        f"{type(variable).__name__}.")
    if isinstance(value, Tensor):
        if value.shape != variable.shape and value.size != 1:
            raise ValueError(f"For '{name}', the shape of 'value' {value.shape} must equal the shape "
                             f"of 'variable' {variable.shape} (or hold one element).")
    elif not isinstance(value, (int, float, bool)):
        raise TypeError(f"For '{name}', 'value' must be a Tensor or a number, but got "
                        f"{type(value).__name__}.")


def _run(op: Op, variable, value) -> Parameter:
    _check(op.name, variable, value)
    apply(op, variable, value)
    return variable


def assign(variable: Parameter, value) -> Parameter:
    """Writes ``value`` into ``variable`` in place (cast to its dtype) and returns ``variable``.

    >>> import gpucell as ms
    >>> b = ms.Parameter(ms.Tensor([1.0, 2.0, 3.0]), name="b")
    >>> ms.ops.assign(b, ms.Tensor([7, 8, 9])).asnumpy()
    array([7., 8., 9.], dtype=float32)
    """
    return _run(ASSIGN, variable, value)


def assign_add(variable: Parameter, value) -> Parameter:
    """``variable += value`` in place."""
    return _run(ASSIGN_ADD, variable, value)


def assign_sub(variable: Parameter, value) -> Parameter:
    """``variable -= value`` in place."""
    return _run(ASSIGN_SUB, variable, value)
