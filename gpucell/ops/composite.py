"""MindSpore's ``mindspore.ops.composite`` path (``from gpucell.ops import composite as C``):
``GradOperation``, and ``MultitypeFuncGraph`` / ``HyperMap`` / ``Map``, the type-dispatched functions
and maps over tuples that MindSpore optimizers are written with; ``clip_by_value`` and
``clip_by_global_norm``.

>>> import gpucell as ms
>>> from gpucell.ops import composite as C, functional as F
>>> scale = C.MultitypeFuncGraph("scale")
>>> @scale.register("Number", "Tensor")
... def _scale_tensor(factor, x):
...     return x * factor
>>> C.HyperMap()(F.partial(scale, 2.0), (ms.Tensor([1.0]), ms.Tensor([3.0])))[1].asnumpy()
array([6.], dtype=float32)
"""

from __future__ import annotations

import numbers

from gpucell.ops.clip import clip_by_global_norm, clip_by_value
from gpucell.tensor import Tensor

# GradOperation is here too, resolved on first use (module __getattr__ below).
__all__ = ["MultitypeFuncGraph", "HyperMap", "Map", "clip_by_value", "clip_by_global_norm"]


def _is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, Tensor)


# MindSpore's type names in MultitypeFuncGraph.register, as tests on Python values.
_TYPE_TESTS = {
    "Tensor": lambda x: isinstance(x, Tensor),
    "Number": _is_number,
    "Bool": lambda x: isinstance(x, bool),
    "Int": lambda x: isinstance(x, numbers.Integral) and not isinstance(x, bool),
    "Float": lambda x: isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral),
    "Tuple": lambda x: isinstance(x, tuple),
    "List": lambda x: isinstance(x, list),
    "Dictionary": lambda x: isinstance(x, dict),
    "String": lambda x: isinstance(x, str),
    "None": lambda x: x is None,
    "Function": lambda x: callable(x) and not isinstance(x, (Tensor, type)),
}


class MultitypeFuncGraph:
    """A function with one implementation per tuple of argument types, chosen at the call.

    ``register(*type_names)`` decorates an implementation; type names are MindSpore's: 'Tensor',
    'Number', 'Bool', 'Int', 'Float', 'Tuple', 'List', 'Dictionary', 'String', 'None', 'Function'.
    Implementations are tried in registration order; the first whose types all match runs.
    """

    def __init__(self, name: str, read_value: bool = False, doc_url: str = ""):
        if not isinstance(name, str):
            raise TypeError(f"For 'MultitypeFuncGraph', the 'name' must be a str, but got {type(name).__name__}.")
        self.name = name
        self.read_value = read_value
        self.entries: list[tuple[tuple[str, ...], object]] = []

    def register(self, *type_names: str):
        for t in type_names:
            if t not in _TYPE_TESTS:
                raise TypeError(f"For 'MultitypeFuncGraph' {self.name!r}, unknown type name {t!r}; expected one "
                                f"of {sorted(_TYPE_TESTS)}.")

        def deco(fn):
            self.entries.append((tuple(type_names), fn))
            return fn
        return deco

    def __call__(self, *args):
        for types, fn in self.entries:
            if len(types) == len(args) and all(_TYPE_TESTS[t](a) for t, a in zip(types, args)):
                return fn(*args)
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"For 'MultitypeFuncGraph' {self.name!r}, no registered function takes ({got}); "
                        f"registered: {[types for types, _ in self.entries]}.")

    def __repr__(self) -> str:
        return f"MultitypeFuncGraph({self.name!r})"


class Map:
    """``Map(ops=None, reverse=False)(fn?, *sequences)``: ``fn`` applied to the elements of tuples
    or lists of one length, position by position (one level deep); the result has the first
    sequence's type. Without ``ops``, the first argument is the function."""

    _recursive = False

    def __init__(self, ops=None, reverse: bool = False):
        if ops is not None and not callable(ops):
            raise TypeError(f"For '{type(self).__name__}', the 'ops' must be callable or None, but got "
                            f"{type(ops).__name__}.")
        self.ops = ops
        self.reverse = bool(reverse)

    def __call__(self, *args):
        fn, args = (self.ops, args) if self.ops is not None else (args[0] if args else None, args[1:])
        if not callable(fn):
            raise TypeError(f"For '{type(self).__name__}', the first input must be a function, but got "
                            f"{type(fn).__name__}.")
        if not args:
            raise TypeError(f"For '{type(self).__name__}', at least one sequence is needed.")
        return self._map(fn, args)

    def _map(self, fn, args):
        where = type(self).__name__
        if not any(isinstance(a, (tuple, list)) for a in args):
            return fn(*args)
        kind = type(args[0])
        for a in args:
            if not isinstance(a, (tuple, list)) or len(a) != len(args[0]):
                kinds = [f"{type(x).__name__}[{len(x)}]" if isinstance(x, (tuple, list)) else type(x).__name__
                         for x in args]
                raise TypeError(f"For '{where}', the inputs must be tuples or lists of one length, but got "
                                f"{kinds}.")
        order = range(len(args[0]) - 1, -1, -1) if self.reverse else range(len(args[0]))
        results = {}
        for i in order:
            items = tuple(a[i] for a in args)
            results[i] = self._map(fn, items) if self._recursive else fn(*items)
        out = [results[i] for i in range(len(args[0]))]
        return kind(out) if kind in (tuple, list) else tuple(out)


class HyperMap(Map):
    """Like :class:`Map`, but nested tuples and lists are mapped into, down to their leaves."""

    _recursive = True


def __getattr__(name: str):
    # GradOperation lives in gpucell.autograd, a layer below ops; resolved on first use.
    if name == "GradOperation":
        from gpucell.autograd import GradOperation

        return GradOperation
    raise AttributeError(f"module 'gpucell.ops.composite' has no attribute {name!r}")
