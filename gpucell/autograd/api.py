"""``grad``, ``value_and_grad`` and ``GradOperation`` with MindSpore's return shapes.

A transform runs the function with recording on: differentiated inputs and weights become
leaves, every op on them records a node, and the engine then runs the graph backward once. The
graph lives only for the call (MindSpore's PyNative model), so nothing is recorded outside it.

Transforms nest to any order (``grad(grad(f))``, a loss that calls ``grad``). A transform entered
while an enclosing one records (not under ``no_grad``) links its leaves to the tensors they stand
for, records its backward, keeps its graph and returns its value and gradients attached: the
enclosing transform differentiates them like any other op's result.
"""

from __future__ import annotations

from gpucell.autograd import engine
from gpucell.autograd.node import Leaf, Transform, clear_saved
from gpucell.ops import creation
from gpucell.ops._dispatch import apply, hooks, wrap
from gpucell.ops._util import check_bool
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["grad", "value_and_grad", "GradOperation"]

_depth = 0  # transforms running now; the saved-buffer registry is cleared when the last ends


def _check_positions(where: str, grad_position):
    if grad_position is None:
        return None
    items = grad_position if isinstance(grad_position, tuple) else (grad_position,)
    if not items:
        raise ValueError(f"For '{where}', 'grad_position' must not be an empty tuple.")
    for p in items:
        if isinstance(p, bool) or not isinstance(p, int):
            raise TypeError(f"For '{where}', 'grad_position' must be an int or a tuple of ints, but got "
                            f"{grad_position!r} with type '{type(grad_position).__name__}'.")
        if p < 0:
            raise ValueError(f"For '{where}', 'grad_position' must be >= 0, but got {p}.")
    return items


def _check_weights(where: str, weights):
    if weights is None:
        return None
    items = (weights,) if isinstance(weights, Parameter) else weights
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"For '{where}', 'weights' must be a Parameter, a list or tuple of Parameters or "
                        f"a ParameterTuple, but got {type(weights).__name__}.")
    for i, w in enumerate(items):
        if not isinstance(w, Parameter):
            raise TypeError(f"For '{where}', every element of 'weights' must be a Parameter, but element "
                            f"{i} is {type(w).__name__}.")
    return tuple(items)


def _tensors_in(value, where: str) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        out = []
        for v in value:
            out.extend(_tensors_in(v, where))
        return out
    raise TypeError(f"For '{where}', the function must return a Tensor or a tuple of Tensors to be "
                    f"differentiated, but got {type(value).__name__}.")


def _detach(value) -> None:
    for t in _tensors_in(value, "detach") if value is not None else ():
        t._node = None


def _seeds(where: str, roots: list, sens) -> list:
    if sens is None:
        # The FillLike op itself (the roots are Tensors already): a jit plan still sees the seed.
        return [apply(creation.FILL_LIKE, t, value=1, dtype=None) for t in roots]
    items = list(sens) if isinstance(sens, (tuple, list)) else [sens]
    if len(items) != len(roots):
        raise ValueError(f"For '{where}', 'sens' must hold one Tensor per output ({len(roots)}), but "
                         f"got {len(items)}.")
    out = []
    for s, t in zip(items, roots):
        if not isinstance(s, Tensor):
            raise TypeError(f"For '{where}', 'sens' must be a Tensor, but got {type(s).__name__}.")
        if s.shape != t.shape:
            raise ValueError(f"For '{where}', the shape of 'sens' {s.shape} must equal the shape of the "
                             f"output {t.shape}.")
        out.append(s if s.dtype is t.dtype else s.astype(t.dtype))
    return out


def _differentiate(where, fn, args, positions, weights, has_aux, sens):
    """Runs ``fn(*args)`` under recording and backward; returns (output, position grads, weight grads)."""
    global _depth
    if positions is not None and max(positions) >= len(args):
        raise ValueError(f"For '{where}', 'grad_position' {max(positions)} is out of range: the function "
                         f"got {len(args)} positional arguments.")
    args = list(args)
    previous = hooks.recording
    # An enclosing transform records this call: it will differentiate what this one returns.
    create_graph = previous
    owner = Transform()

    def make_leaf(tensor, previous_ref):
        return Leaf(tensor, owner, (previous_ref,) if create_graph and previous_ref is not None else ())

    position_leaves = {}
    for p in positions or ():
        x = args[p]
        if not isinstance(x, Tensor):
            raise TypeError(f"For '{where}', the argument at grad_position {p} must be a Tensor, but got "
                            f"{type(x).__name__}.")
        if p not in position_leaves:
            leaf_input = wrap(x._data)
            leaf = make_leaf(leaf_input, x._node)
            if x._data.dtype.kind in "fV":  # V: bfloat16
                leaf_input._node = (leaf, 0)
            position_leaves[p] = leaf
            args[p] = leaf_input
    weight_leaves = {}
    previous_nodes = []
    for w in weights or ():
        if id(w) not in weight_leaves:
            weight_leaves[id(w)] = leaf = make_leaf(w, w._node)
            previous_nodes.append((w, w._node))
            if w.requires_grad and w._data.dtype.kind in "fV":  # V: bfloat16
                w._node = (leaf, 0)
    _depth += 1
    hooks.recording = True
    try:
        output = fn(*args)
        hooks.recording = False
        if has_aux:
            if not isinstance(output, tuple) or len(output) < 1:
                raise TypeError(f"For '{where}', with has_aux=True the function must return a tuple "
                                f"(output, aux...), but got {type(output).__name__}.")
            target = output[0]
        else:
            target = output
        roots = _tensors_in(target, where)
        seeds = _seeds(where, roots, sens)
        tracked = [(t._node, s) for t, s in zip(roots, seeds) if t._node is not None]
        engine.run_backward([r for r, _ in tracked], [s for _, s in tracked], owner=owner,
                            create_graph=create_graph)
    finally:
        owner.active = False
        hooks.recording = previous
        for w, node in previous_nodes:
            w._node = node
        _depth -= 1
        if _depth == 0:
            clear_saved()
    if not create_graph:
        _detach(output)

    def result(leaf):
        return leaf.grad if leaf.grad is not None else creation.zeros_like(leaf.tensor)

    position_grads = None
    if positions is not None:
        position_grads = tuple(result(position_leaves[p]) for p in positions)
    weight_grads = None
    if weights is not None:
        weight_grads = tuple(result(weight_leaves[id(w)]) for w in weights)
    return output, position_grads, weight_grads


def _shape_result(position_grads, weight_grads, positions_given: bool, weights_given: bool):
    if positions_given and weights_given:
        return position_grads, weight_grads
    return position_grads if positions_given else weight_grads


def _make(where: str, fn, grad_position, weights, has_aux: bool, with_value: bool, return_ids: bool = False):
    if not callable(fn):
        raise TypeError(f"For '{where}', 'fn' must be callable, but got {type(fn).__name__}.")
    positions = _check_positions(where, grad_position)
    weight_items = _check_weights(where, weights)
    if positions is None and weight_items is None:
        raise ValueError(f"For '{where}', 'grad_position' and 'weights' can not be None at the same time.")
    if not isinstance(has_aux, bool):
        raise TypeError(f"For '{where}', 'has_aux' must be a bool, but got {type(has_aux).__name__}.")
    check_bool(where, "return_ids", return_ids)
    single_position = isinstance(grad_position, int)
    single_weight = isinstance(weights, Parameter)

    def transformed(*args):
        output, pgrads, wgrads = _differentiate(where, fn, args, positions, weight_items, has_aux, None)
        if return_ids:
            # MindSpore's return_ids: each gradient paired with its input's position or its weight's name.
            pgrads = pgrads if pgrads is None else tuple(zip(positions, pgrads))
            wgrads = wgrads if wgrads is None else tuple((w.name, g) for w, g in zip(weight_items, wgrads))
        if pgrads is not None and single_position:
            pgrads = pgrads[0]
        if wgrads is not None and single_weight:
            wgrads = wgrads[0]
        grads = _shape_result(pgrads, wgrads, positions is not None, weight_items is not None)
        if with_value:
            return output, grads
        if has_aux:
            return grads, tuple(output[1:])
        return grads

    transformed.__name__ = f"{where}_{getattr(fn, '__name__', type(fn).__name__)}"
    return transformed


def grad(fn, grad_position=0, weights=None, has_aux: bool = False, return_ids: bool = False):
    """A function returning the gradients of ``fn`` with respect to inputs and/or weights.

    ``grad_position``: an int (one Tensor back), a tuple (a tuple back) or None; ``weights``: a
    Parameter, a list/tuple of them or None. Asking for both returns ``(input_grads,
    weight_grads)``. A non-scalar output is differentiated with a sens of ones. ``return_ids=True``
    pairs each gradient with its input's position or its weight's name: ``(0, grad)``, ``('w', grad)``.
    Also ``gpucell.ops.grad``.

    Transforms nest to any order: the gradient of a gradient is a second derivative.

    >>> import gpucell as ms
    >>> ms.grad(lambda x: x * 2)(ms.Tensor([1.0, 3.0]))
    Tensor(shape=[2], dtype=Float32, value= [ 2.00000000e+00,  2.00000000e+00])
    >>> ms.grad(ms.grad(lambda x: (x * x * x).sum()))(ms.Tensor([3.0]))
    Tensor(shape=[1], dtype=Float32, value= [ 1.80000000e+01])
    """
    return _make("grad", fn, grad_position, weights, has_aux, with_value=False, return_ids=return_ids)


def value_and_grad(fn, grad_position=0, weights=None, has_aux: bool = False, return_ids: bool = False):
    """Like :func:`grad`, but the function returns ``(fn's output, gradients)``. Also
    ``gpucell.ops.value_and_grad``.

    >>> import gpucell as ms
    >>> loss, g = ms.value_and_grad(lambda x: (x * x).sum())(ms.Tensor([1.0, 2.0]))
    >>> float(loss), g.asnumpy()
    (5.0, array([2., 4.], dtype=float32))
    """
    return _make("value_and_grad", fn, grad_position, weights, has_aux, with_value=True, return_ids=return_ids)


class GradOperation:
    """MindSpore's higher-order gradient primitive: ``GradOperation(...)(net, params)(*inputs)``.

    ``get_all``: gradients for every Tensor input (a tuple) instead of the first only;
    ``get_by_list``: gradients for ``params``; both: ``(input_grads, param_grads)``. Without
    ``params``, a Cell's trainable Parameters at the time of each call (MindSpore's PyNative default).
    ``sens_param``: the last input is the output's gradient (the sens) instead of ones.
    """

    def __init__(self, get_all: bool = False, get_by_list: bool = False, sens_param: bool = False):
        self.get_all = check_bool("GradOperation", "get_all", get_all)
        self.get_by_list = check_bool("GradOperation", "get_by_list", get_by_list)
        self.sens_param = check_bool("GradOperation", "sens_param", sens_param)

    def __call__(self, fn, weights=None):
        where = "GradOperation"
        if not callable(fn):
            raise TypeError(f"For '{where}', the function must be callable, but got {type(fn).__name__}.")
        default_weights = None
        if self.get_by_list and weights is None:
            # MindSpore (PyNative) then differentiates the network's trainable Parameters.
            default_weights = getattr(fn, "trainable_params", None)
            if not callable(default_weights):
                raise ValueError(f"For '{where}', get_by_list=True needs the weights when the function is not "
                                 f"a Cell: GradOperation(get_by_list=True)(fn, params), but got no params for "
                                 f"{type(fn).__name__}.")
        weight_items = _check_weights(where, weights) if self.get_by_list and weights is not None else None

        def after_grad(*args):
            sens = None
            if self.sens_param:
                if not args:
                    raise ValueError(f"For '{where}', sens_param=True needs the sens as the last input.")
                args, sens = args[:-1], args[-1]
            if self.get_all:
                positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor)) or None
            else:
                positions = (0,) if args else None
            chosen = weight_items if default_weights is None else tuple(default_weights())
            _, pgrads, wgrads = _differentiate(where, fn, args, positions, chosen, False, sens)
            if pgrads is None:
                pgrads = ()
            if self.get_all and self.get_by_list:
                return pgrads, wgrads
            if self.get_by_list:
                return wgrads
            return pgrads if self.get_all else pgrads[0]

        return after_grad
