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

Backward rules call ops, which run through ``apply``. Recording is off while a backward runs,
unless an enclosing transform records the one running (``create_graph``): then the rules' ops are
recorded like any forward op, the gradients come back attached to the graph, and the enclosing
transform differentiates them (higher-order gradients). Such a pass retains its graph, which the
enclosing backward runs through again. A graph that holds leaves of other transforms (an
enclosing transform's, still running: not ours to fill; a finished inner transform's: the identity
of the tensor it stood for) is first pruned to the nodes that reach this transform's leaves, and a
rule sees ``ctx.needs(i)`` only for inputs on such a path.
"""

from __future__ import annotations

from collections import deque

from gpucell.autograd import streams as _streams
from gpucell.autograd.node import Leaf, Node, release
from gpucell.ops._dispatch import Op, apply, hooks, wrap
from gpucell.ops.arithmetic import ADD
from gpucell.ops.conversion import CAST

__all__ = ["run_backward"]


def _is_target(leaf: Leaf, owner) -> bool:
    return owner is None or leaf.owner is None or leaf.owner is owner


def _count_dependencies(roots, owner) -> tuple[dict, list, bool]:
    """(per node the edges that will deliver a gradient, this transform's leaves reached, whether
    a leaf of another transform was met)."""
    deps: dict = {}
    leaves = []
    others = False
    seen = set()
    stack = [ref[0] for ref in roots]
    while stack:
        node = stack.pop()
        if node in seen:  # nodes hash by identity
            continue
        seen.add(node)
        if type(node) is Leaf:
            if _is_target(node, owner):
                leaves.append(node)
                continue
            others = True
            if node.owner.active:
                continue
        for edge in node.edges:
            if edge is not None:
                child = edge[0]
                deps[child] = deps.get(child, 0) + 1
                stack.append(child)
    return deps, leaves, others


def _prune(roots, targets: set) -> tuple[dict, dict]:
    """The graph cut down to the nodes from which a leaf in ``targets`` is reached: per such node
    its edges (None where an edge leads elsewhere), and the dependency counts over those edges."""
    def children(node) -> list:
        if type(node) is Leaf and (node in targets or node.owner.active):
            return []
        return [edge[0] for edge in node.edges if edge is not None]

    order = []  # every node after all the nodes its edges reach
    seen = set()
    for ref in roots:
        start = ref[0]
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(children(start)))]
        while stack:
            node, rest = stack[-1]
            for child in rest:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(children(child))))
                    break
            else:
                stack.pop()
                order.append(node)
    reaching = set(targets)
    live: dict = {}
    deps: dict = {}
    for node in order:
        if node in reaching:
            continue
        edges = tuple(edge if edge is not None and edge[0] in reaching else None for edge in node.edges)
        if any(edge is not None for edge in edges):
            reaching.add(node)
            live[node] = edges
            for edge in edges:
                if edge is not None:
                    deps[edge[0]] = deps.get(edge[0], 0) + 1
    return live, deps


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


def run_backward(roots, seeds, retain_graph: bool = False, owner=None, create_graph: bool = False) -> list:
    """Backpropagates ``seeds`` (Tensors) from ``roots`` (``(node, index)`` refs); returns the
    leaves reached, each holding its summed gradient in ``.grad``.

    ``owner``: the Transform whose leaves collect gradients (None: every leaf reached).
    ``create_graph``: record the backward's ops (an enclosing transform differentiates the
    gradients); the graph is then retained.
    """
    previous = hooks.recording
    hooks.recording = create_graph
    try:
        return _run(roots, seeds, retain_graph or create_graph, owner)
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


def _run(roots, seeds, retain_graph: bool, owner) -> list:
    streams = _streams._active
    caller = streams.current()
    if _deferred:
        _release_deferred()
    deps, leaves, others = _count_dependencies(roots, owner)
    live = None     # node -> its edges that reach this transform's leaves; None: every edge does
    targets = None  # this transform's leaves, when other leaves are in the graph; None: every leaf
    if others:
        targets = set(leaves)
        live, deps = _prune(roots, targets)
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
        leaf = type(node) is Leaf
        if leaf and node.stream is None:
            node.stream = source
        if not streams.same(target, source):
            streams.wait(target, streams.record(source))
            if keep is not None:
                kept(target).append(grad)  # made on `source`, read on `target`
        if leaf and (targets is None or node in targets):
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
            buffer = buffers[node] = [None] * (1 if leaf or node.out_meta is None else len(node.out_meta))
        if buffer[index] is None:
            buffer[index] = grad
        else:
            with streams.use(target):
                if keep is not None:
                    kept(target).append(buffer[index])
                buffer[index] = apply(ADD, buffer[index], grad)

    ready = deque()
    queued = set()
    for ref, seed in zip(roots, seeds):
        node = ref[0]
        target = type(node) is Leaf if targets is None else node in targets
        if live is not None and node not in live and not target:
            continue  # reaches none of this transform's leaves
        deliver(ref, seed, caller)
        if not target and deps.get(node, 0) == 0 and id(node) not in queued:
            queued.add(id(node))
            ready.append(node)

    while ready:
        node = ready.popleft()
        edges = node.edges if live is None else live[node]
        passes = type(node) is Leaf  # a finished transform's leaf: the identity
        buffer = buffers.pop(node, None)
        results = None
        if buffer is not None and (buffer[0] is not None or any(g is not None for g in buffer)):
            if passes:
                results = (buffer[0],)
            else:
                with streams.use(node.stream):
                    if live is None:
                        results = node.op.backward(node, *_output_grads(node, buffer))
                    else:
                        node.pruned = tuple(edge is not None for edge in edges)
                        try:
                            results = node.op.backward(node, *_output_grads(node, buffer))
                        finally:
                            node.pruned = None
                    if not isinstance(results, tuple):
                        results = (results,)
                    if len(results) != len(edges):
                        raise ValueError(f"For '{node.op.name}', the backward rule returned {len(results)} "
                                         f"gradients for {len(edges)} inputs.")
                    # The casts read the rule's results: on the node's stream, where those were made.
                    results = tuple(None if r is None or edges[i] is None else _check_grad(node, i, r)
                                    for i, r in enumerate(results))
            if keep is not None:
                arrays = kept(node.stream)
                arrays.extend(g for g in buffer if g is not None)
                if not passes:
                    if node.saved is not None:
                        arrays.extend(v for v in node.saved if hasattr(v, "shape"))
                    if node.out is not None:
                        arrays.append(node.out)
        if not retain_graph and not passes:
            release(node)
        for i, edge in enumerate(edges):
            if edge is None:
                continue
            if results is not None and results[i] is not None:
                deliver(edge, results[i], node.stream)
            child = edge[0]
            deps[child] -= 1
            if deps[child] == 0 and not (type(child) is Leaf if targets is None else child in targets):
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
