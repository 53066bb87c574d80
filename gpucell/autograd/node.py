"""Graph nodes, recorded by ``ops._dispatch.apply`` while a gradient transform runs.

A tensor that takes part in the graph holds ``_node = (node, index)``: the node that produced it
and which of that node's outputs it is. A node holds, per input, the ``(node, index)`` edge it
reads from (None for inputs that need no gradient), what its backward rule reads (``Op.saves``),
the input shapes and dtypes, and the stream its forward ran on.

Saved buffers are registered so that an in-place write into one of them (``t[i] = v``,
``ops.assign``) raises instead of silently changing what the backward will read.

Higher-order gradients use the same graph. What a backward rule reads (``ctx.input(i)``,
``ctx.output``) comes back as a Tensor still attached to the graph (the input's edge, the node's
own output), so when an enclosing transform records the backward (see gpucell.autograd.engine),
the rule's ops join that transform's graph. A transform's ``Leaf`` knows its ``Transform``: while
that transform runs, the leaf is where its gradient collects; once it has finished, the leaf is the
identity of the tensor it stood for (``edges``: that tensor's place in an enclosing graph).
"""

from __future__ import annotations

import numpy as np

from gpucell.autograd import streams as _streams
from gpucell.backend import array_module, is_gpu_array
from gpucell.ops._dispatch import Op, hooks, wrap
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["Node", "Leaf", "Transform", "record", "before_inplace", "release", "clear_saved", "saved_count"]

_FLOAT_KINDS = "fcV"  # V: bfloat16 (ml_dtypes), the only void-kind dtype gpucell holds
_TENSOR_TYPES = frozenset((Tensor, Parameter))  # exact types the two-input fast path accepts


class Node:
    """One recorded op call; also the ``ctx`` its backward rule receives."""

    __slots__ = ("op", "edges", "saved", "out", "shapes", "dtypes", "attrs", "stream", "out_meta",
                 "pruned", "__weakref__")

    def __init__(self, op: Op, edges: tuple, saved, out, shapes, dtypes, attrs: dict, stream,
                 out_meta):
        self.op = op
        self.edges = edges
        self.saved = saved        # input arrays / Python scalars, or None
        self.out = out            # output array (tuple of arrays for multi-output), or None
        self.shapes = shapes      # per input: shape, or None for a Python scalar
        self.dtypes = dtypes      # per input: numpy dtype, or None
        self.attrs = attrs
        self.stream = stream
        self.out_meta = out_meta  # multi-output ops: per output (shape, dtype, xp), for zero grads
        self.pruned = None        # while a nested backward runs it: per input, whether it is wanted

    # -- what backward rules read --------------------------------------------------------------
    def input(self, i: int):
        """Input ``i`` as the forward saw it (a Tensor on the input's edge, or a Python number): a
        backward that an enclosing transform records differentiates through it."""
        if self.saved is None:
            raise RuntimeError(f"For '{self.op.name}', the saved inputs were already released: the "
                               f"backward of this graph has run once (retain the graph to run it again).")
        value = self.saved[i]
        if not _is_array(value):
            return value
        t = wrap(value)
        t._node = self.edges[i]
        return t

    @property
    def output(self) -> Tensor:
        if self.out is None:
            raise RuntimeError(f"For '{self.op.name}', the saved output was already released.")
        t = wrap(self.out)
        if t._data.dtype.kind in _FLOAT_KINDS:
            t._node = (self, 0)
        return t

    @property
    def outputs(self) -> tuple:
        if self.out is None:
            raise RuntimeError(f"For '{self.op.name}', the saved outputs were already released.")
        outs = tuple(wrap(o) for o in self.out)
        for i, t in enumerate(outs):
            if t._data.dtype.kind in _FLOAT_KINDS:
                t._node = (self, i)
        return outs

    def shape(self, i: int) -> tuple:
        return self.shapes[i]

    def dtype(self, i: int):
        return self.dtypes[i]

    def needs(self, i: int) -> bool:
        """Whether input ``i`` wants a gradient (rules skip the work for the others)."""
        pruned = self.pruned
        return self.edges[i] is not None and (pruned is None or pruned[i])

    @property
    def name(self) -> str:
        return self.op.name

    def __repr__(self) -> str:
        return f"Node({self.op.name})"


class Transform:
    """One running gradient transform (a grad / value_and_grad / GradOperation call): it owns the
    leaves it made; ``active`` until the call returns."""

    __slots__ = ("active",)

    def __init__(self):
        self.active = True


class Leaf:
    """Where gradients for one differentiated tensor (an input position or a weight) collect.

    ``owner``: the Transform that differentiates with respect to it (None: any backward that
    reaches it). ``edges``: ``(ref,)``, the tensor's place in an enclosing transform's graph, when
    one records this transform (higher-order gradients), else ``()``.
    """

    __slots__ = ("tensor", "grad", "stream", "edges", "owner", "__weakref__")

    def __init__(self, tensor: Tensor, owner: Transform | None = None, edges: tuple = ()):
        self.tensor = tensor
        self.grad = None
        self.stream = None
        self.edges = edges
        self.owner = owner

    @property
    def name(self) -> str:
        return getattr(self.tensor, "name", "input")

    def __repr__(self) -> str:
        return f"Leaf({self.name})"


# id(array) -> [array, count, op name]: the buffers that recorded nodes saved and still hold.
_saved: dict[int, list] = {}


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or is_gpu_array(value)


def _hold(array, op_name: str) -> None:
    entry = _saved.get(id(array))
    if entry is None:
        _saved[id(array)] = [array, 1, op_name]
    else:
        entry[1] += 1


def _drop(array) -> None:
    entry = _saved.get(id(array))
    if entry is not None:
        entry[1] -= 1
        if entry[1] <= 0:
            del _saved[id(array)]


def saved_count() -> int:
    """How many distinct buffers recorded nodes still hold for their backward (tests, debugging)."""
    return len(_saved)


def clear_saved() -> None:
    """Forgets every registered buffer (a gradient transform ends; its graph is gone)."""
    _saved.clear()


def release(node: Node) -> None:
    """Frees what ``node`` saved for its backward."""
    if node.saved is not None:
        for value in node.saved:
            if _is_array(value):
                _drop(value)
        node.saved = None
    if node.out is not None:
        for value in (node.out if node.op.multi_output else (node.out,)):
            _drop(value)
        node.out = None


_SAVES_INPUTS = frozenset(("inputs", "both"))
_SAVES_OUTPUT = frozenset(("output", "both"))


def record(op: Op, inputs: tuple, outputs, attrs: dict) -> None:
    """Installed as ``hooks.record``: adds a node for ``op(inputs) -> outputs`` to the graph."""
    if op.inplace:
        _record_inplace(op, inputs, outputs, attrs)
        return
    if len(inputs) == 2 and type(inputs[0]) in _TENSOR_TYPES and type(inputs[1]) in _TENSOR_TYPES:
        # The common case (a binary op on two tensors), without the general loop.
        x, y = inputs
        a = x._data
        b = y._data
        edges = (x._node, y._node)
        shapes = (a.shape, b.shape)
        dtypes = (a.dtype, b.dtype)
        saved = None
        if op.saves in _SAVES_INPUTS:
            saved = (a, b)
            _hold(a, op.name)
            _hold(b, op.name)
    else:
        edges, shapes, dtypes, values = [], [], [], []
        for x in inputs:  # one pass: this runs for every recorded op with other than two tensors
            if isinstance(x, Tensor):
                a = x._data
                edges.append(x._node)
                shapes.append(a.shape)
                dtypes.append(a.dtype)
                values.append(a)
            else:
                edges.append(None)
                shapes.append(None)
                dtypes.append(None)
                values.append(x)
        edges, shapes, dtypes = tuple(edges), tuple(shapes), tuple(dtypes)
        saved = None
        if op.saves in _SAVES_INPUTS:
            saved = tuple(values)
            for value in saved:
                if _is_array(value):
                    _hold(value, op.name)
    keep_output = op.saves in _SAVES_OUTPUT
    if op.multi_output:
        arrays = tuple(o._data for o in outputs)
        out_meta = tuple((a.shape, a.dtype, array_module(a)) for a in arrays)
        if keep_output:
            for a in arrays:
                _hold(a, op.name)
        node = Node(op, edges, saved, arrays if keep_output else None, shapes, dtypes, attrs,
                    _streams._active.current(), out_meta)
        for i, o in enumerate(outputs):
            if o._data.dtype.kind in _FLOAT_KINDS:
                o._node = (node, i)
        return
    out = None
    if keep_output:
        out = outputs._data
        _hold(out, op.name)
    node = Node(op, edges, saved, out, shapes, dtypes, attrs, _streams._active.current(), None)
    if outputs._data.dtype.kind in _FLOAT_KINDS:
        outputs._node = (node, 0)


def before_inplace(op: Op, inputs: tuple, attrs: dict) -> None:
    """Installed as ``hooks.before_inplace``: refuses writes that would corrupt a recorded graph."""
    for index in op.writes(len(inputs), attrs):
        target = inputs[index]
        if isinstance(target, Tensor):
            _check_write(op, target)


def _check_write(op: Op, target: Tensor) -> None:
    entry = _saved.get(id(target._data))
    if entry is not None and entry[0] is target._data:
        raise RuntimeError(
            f"For '{op.name}', the tensor written in place (shape {target.shape}, {target.dtype}) "
            f"was saved by '{entry[2]}' for the backward pass, so the write would make the gradient "
            f"wrong. Write into a copy (t = t.copy()) or make the update outside the gradient "
            f"transform.")
    ref = target._node
    if ref is not None and isinstance(ref[0], Leaf):
        raise RuntimeError(
            f"For '{op.name}', the tensor written in place (shape {target.shape}, {target.dtype}) is "
            f"one that the gradient is taken with respect to; write into a copy instead "
            f"(t = t.copy()).")


def _record_inplace(op: Op, inputs: tuple, outputs, attrs: dict) -> None:
    # Only a differentiable write (t[index] = value) gets here: the target now holds a new value
    # that depends on its old value and on ``value``, so it moves to a new node.
    target = inputs[0]
    if target._data.dtype.kind not in _FLOAT_KINDS:
        return
    edges = tuple(x._node if isinstance(x, Tensor) else None for x in inputs)
    shapes = tuple(x.shape if isinstance(x, Tensor) else None for x in inputs)
    dtypes = tuple(x._data.dtype if isinstance(x, Tensor) else None for x in inputs)
    node = Node(op, edges, None, None, shapes, dtypes, attrs, _streams._active.current(), None)
    target._node = (node, 0)


def install() -> None:
    hooks.record = record
    hooks.before_inplace = before_inplace
