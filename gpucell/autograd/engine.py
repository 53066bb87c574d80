"""The backward engine: dependency counts, a ready queue, and streams (DESIGN.md invariant 7).

1. Walk the graph from the roots and count, per node, the edges that will deliver a gradient.
2. Seed the roots; every node whose count is zero is ready.
3. Pop a ready node, run its backward rule on the stream its forward ran on (the dtype casts of
   its results too), hand each input gradient down its edge (summing where an input was used
   more than once), and free what the node saved. A gradient that crosses streams is ordered by
   an event recorded on the producer's stream and waited on by the consumer's, before the
   consumer adds it or reads it.
4. The caller's stream waits for the stream of every leaf, so the caller may read the gradients.
5. A buffer read on a stream other than the one that made it is not freed early (DESIGN.md 7b):
   CuPy's pool hands a freed block straight back to its allocating stream, which could overwrite
   it while the reading stream's kernel is still queued. When the graph spans several streams,
   the engine keeps every array a node's backward read, and every gradient it replaced, until an
   event recorded on that node's stream at the end of the pass has completed (PyTorch's
   ``record_stream``); the references are dropped by a later pass once the event is done.

Backward rules call ops, which run through ``apply`` with recording off.
"""

from __future__ import annotations

from collections import deque

from gpucell.autograd import streams as _streams
from gpucell.autograd.node import Leaf, Node, release
from gpucell.ops._dispatch import Op, apply, hooks, wrap
from gpucell.ops.arithmetic import ADD
from gpucell.ops.conversion import CAST

__all__ = ["run_backward"]


def _count_dependencies(roots) -> tuple[dict, list]:
    deps: dict = {}
    leaves = []
    seen = set()
    stack = [ref[0] for ref in roots]
    while stack:
        node = stack.pop()
        if node in seen:  # nodes hash by identity
            continue
        seen.add(node)
        if isinstance(node, Leaf):
            leaves.append(node)
            continue
        for edge in node.edges:
            if edge is not None:
                child = edge[0]
                deps[child] = deps.get(child, 0) + 1
                stack.append(child)
    return deps, leaves


def _check_grad(node: Node, i: int, grad):
    if not hasattr(grad, "_data"):
        raise TypeError(f"For '{node.op.name}', the backward rule must return Tensors or None, but "
                        f"gave {type(grad).__name__} for input {i}.")
    shape = node.shapes[i]
    if grad.shape != shape:
        raise ValueError(f"For '{node.op.name}', the gradient for input {i} has shape {grad.shape}, "
                         f"but the input has shape {shape}.")
    dtype = node.dtypes[i]
    if grad._data.dtype != dtype:
        grad = apply(CAST, grad, dtype=dtype)
    return grad


def _output_grads(node: Node, buffer) -> tuple:
    if node.out_meta is None:
        return (buffer[0],)
    grads = []
    for g, (shape, dtype, xp) in zip(buffer, node.out_meta):
        grads.append(wrap(xp.zeros(shape, dtype)) if g is None else g)
    return tuple(grads)


def run_backward(roots, seeds, retain_graph: bool = False) -> list:
    """Backpropagates ``seeds`` (Tensors) from ``roots`` (``(node, index)`` refs); returns the
    leaves reached, each holding its summed gradient in ``.grad``."""
    previous = hooks.recording
    hooks.recording = False
    try:
        return _run(roots, seeds, retain_graph)
    finally:
        hooks.recording = previous


# (streams, event, arrays): arrays read on the event's stream, kept alive until the event is done.
_deferred: list = []


def _release_deferred() -> None:
    """Drops the arrays whose reading stream has passed its event."""
    _deferred[:] = [entry for entry in _deferred if not entry[0].done(entry[1])]


def _spans_streams(caller, deps: dict, leaves: list, streams) -> bool:
    for node in deps:
        if node.stream is not None and not streams.same(node.stream, caller):
            return True
    return any(leaf.stream is not None and not streams.same(leaf.stream, caller) for leaf in leaves)


def _run(roots, seeds, retain_graph: bool) -> list:
    streams = _streams._active
    caller = streams.current()
    if _deferred:
        _release_deferred()
    deps, leaves = _count_dependencies(roots)
    buffers: dict = {}
    # stream -> arrays read there (kept until its end event is done); None: one stream, nothing to keep
    keep: dict | None = {} if _spans_streams(caller, deps, leaves, streams) else None

    def kept(stream) -> list:
        for known, arrays in keep.items():
            if streams.same(known, stream):
                return arrays
        return keep.setdefault(stream, [])

    def deliver(ref, grad, source) -> None:
        node, index = ref
        target = node.stream if node.stream is not None else source
        if isinstance(node, Leaf) and node.stream is None:
            node.stream = source
        if not streams.same(target, source):
            streams.wait(target, streams.record(source))
            if keep is not None:
                kept(target).append(grad)  # made on `source`, read on `target`
        if isinstance(node, Leaf):
            if node.grad is None:
                node.grad = grad
            else:
                with streams.use(target):
                    if keep is not None:
                        kept(target).append(node.grad)
                    node.grad = apply(ADD, node.grad, grad)
            return
        buffer = buffers.get(node)
        if buffer is None:
            buffer = buffers[node] = [None] * (1 if node.out_meta is None else len(node.out_meta))
        if buffer[index] is None:
            buffer[index] = grad
        else:
            with streams.use(target):
                if keep is not None:
                    kept(target).append(buffer[index])
                buffer[index] = apply(ADD, buffer[index], grad)

    for ref, seed in zip(roots, seeds):
        deliver(ref, seed, caller)
    ready = deque()
    queued = set()
    for ref in roots:
        node = ref[0]
        if not isinstance(node, Leaf) and deps.get(node, 0) == 0 and id(node) not in queued:
            queued.add(id(node))
            ready.append(node)

    while ready:
        node = ready.popleft()
        buffer = buffers.pop(node, None)
        results = None
        if buffer is not None and (buffer[0] is not None or any(g is not None for g in buffer)):
            with streams.use(node.stream):
                results = node.op.backward(node, *_output_grads(node, buffer))
                if not isinstance(results, tuple):
                    results = (results,)
                if len(results) != len(node.edges):
                    raise ValueError(f"For '{node.op.name}', the backward rule returned {len(results)} "
                                     f"gradients for {len(node.edges)} inputs.")
                # The casts read the rule's results: on the node's stream, where those were made.
                results = tuple(None if r is None or node.edges[i] is None else _check_grad(node, i, r)
                                for i, r in enumerate(results))
            if keep is not None:
                arrays = kept(node.stream)
                arrays.extend(g for g in buffer if g is not None)
                if node.saved is not None:
                    arrays.extend(v for v in node.saved if hasattr(v, "shape"))
                if node.out is not None:
                    arrays.append(node.out)
        if not retain_graph:
            release(node)
        for i, edge in enumerate(node.edges):
            if edge is None:
                continue
            if results is not None and results[i] is not None:
                deliver(edge, results[i], node.stream)
            child = edge[0]
            deps[child] -= 1
            if deps[child] == 0 and not isinstance(child, Leaf):
                ready.append(child)

    for leaf in leaves:
        if leaf.stream is not None and not streams.same(caller, leaf.stream):
            streams.wait(caller, streams.record(leaf.stream))
    if keep:
        for stream, arrays in keep.items():
            _deferred.append((streams, streams.record(stream), arrays))
    return leaves


def custom_op(name: str, backward, multi_output: bool = True, saves: str = "none") -> Op:
    """An Op that is only ever recorded by hand (Cell.bprop, backward hooks), never dispatched."""
    def _never(*_args, **_kwargs):
        raise RuntimeError(f"'{name}' is a graph node only; it has no forward to dispatch.")
    return Op(name, _never, backward=backward, multi_output=multi_output, saves=saves)
