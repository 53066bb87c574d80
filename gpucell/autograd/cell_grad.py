"""Cell-level gradient features: a user-written ``bprop`` and ``register_backward_hook``.

``Cell._run_construct`` sends a Cell here while a gradient transform records, when the Cell
defines ``bprop`` or has backward hooks. A bprop Cell runs construct without recording and
becomes one node whose backward calls ``cell.bprop(*inputs, out, dout)``. Backward hooks wrap the
Cell's tracked inputs and outputs in identity nodes: the output node sees the output gradients,
the input node calls each hook with both and may replace the input gradients.
"""

from __future__ import annotations

from gpucell.autograd.engine import custom_op
from gpucell.autograd.mode import no_grad
from gpucell.autograd.node import record
from gpucell.ops._dispatch import wrap
from gpucell.tensor import Tensor

__all__ = ["call", "has_bprop"]


def has_bprop(cls) -> bool:
    return getattr(cls, "bprop", None) is not None


def _name(cell) -> str:
    return type(cell).__name__


def _tensors(cell, out, what: str) -> tuple:
    outs = out if isinstance(out, tuple) else (out,)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"For '{_name(cell)}', {what} must return a Tensor or a tuple of Tensors, "
                            f"but output {i} is {type(o).__name__}.")
    return outs


# -- bprop --------------------------------------------------------------------------------------
def _bprop_backward(ctx, *douts):
    cell = ctx.attrs["cell"]
    count = len(ctx.edges)
    inputs = tuple(ctx.input(i) for i in range(count))
    outs = ctx.outputs
    as_tuple = ctx.attrs["tuple"]
    grads = cell.bprop(*inputs, outs if as_tuple else outs[0], douts if as_tuple else douts[0])
    if isinstance(grads, Tensor) and count == 1:
        grads = (grads,)
    if not isinstance(grads, (tuple, list)):
        raise TypeError(f"For '{_name(cell)}', bprop must return a tuple with one gradient per input, "
                        f"but returned {type(grads).__name__}.")
    if len(grads) != count:
        raise ValueError(f"For '{_name(cell)}', bprop must return {count} gradient(s), one per input of "
                         f"construct, but returned {len(grads)}.")
    checked = []
    for i, (g, shape) in enumerate(zip(grads, ctx.shapes)):
        if shape is None or g is None:  # not a Tensor input, or no gradient for it
            checked.append(None)
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"For '{_name(cell)}', bprop's gradient {i} must be a Tensor or None, but got "
                            f"{type(g).__name__}.")
        if g.shape != shape:
            raise ValueError(f"For '{_name(cell)}', bprop's gradient {i} has shape {g.shape}, but input "
                             f"{i} has shape {shape}.")
        checked.append(g)
    return tuple(checked)


BPROP = custom_op("Bprop", _bprop_backward, saves="both")


def _run_bprop(cell, inputs: tuple, kwargs: dict):
    with no_grad():
        out = cell.construct(*inputs, **kwargs)
    if not any(isinstance(x, Tensor) and x._node is not None for x in inputs):
        return out
    fresh = tuple(wrap(o._data) for o in _tensors(cell, out, "construct"))
    record(BPROP, inputs, fresh, {"cell": cell, "tuple": isinstance(out, tuple)})
    return fresh if isinstance(out, tuple) else fresh[0]


# -- backward hooks -----------------------------------------------------------------------------
def _call_hooks(state: dict, grad_input: tuple) -> tuple:
    cell = state["cell"]
    for hook in tuple(cell._backward_hooks.values()):
        result = hook(cell, grad_input, state["grad_output"])
        if result is None:
            continue
        result = (result,) if isinstance(result, Tensor) else tuple(result)
        if len(result) != len(grad_input):
            raise ValueError(f"For '{_name(cell)}', a backward hook must return None or {len(grad_input)} "
                             f"gradient(s), one per input, but returned {len(result)}.")
        grad_input = result
    return grad_input


def _hook_out_backward(ctx, *grads):
    state = ctx.attrs["state"]
    state["grad_output"] = grads
    if not state["inputs_tracked"]:
        _call_hooks(state, (None,) * state["inputs"])  # the Cell's inputs need no gradient
    return grads


def _hook_in_backward(ctx, *grads):
    return _call_hooks(ctx.attrs["state"], grads)


HOOK_IN = custom_op("CellBackwardHookInputs", _hook_in_backward)
HOOK_OUT = custom_op("CellBackwardHookOutputs", _hook_out_backward)


def _pass_through(op, values: tuple, places: list, state: dict) -> tuple:
    """``values`` with those at ``places`` replaced by identity outputs of one ``op`` node."""
    tracked = tuple(values[i] for i in places)
    fresh = tuple(wrap(x._data) for x in tracked)
    record(op, tracked, fresh, {"state": state})
    values = list(values)
    for i, t in zip(places, fresh):
        values[i] = t
    return tuple(values)


def _hook_inputs(cell, inputs: tuple):
    state = {"cell": cell, "grad_output": None, "inputs": 0, "inputs_tracked": False}
    places = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._node is not None]
    state["inputs"] = len(places) or sum(isinstance(x, Tensor) for x in inputs)
    if places:
        state["inputs_tracked"] = True
        inputs = _pass_through(HOOK_IN, inputs, places, state)
    return inputs, state


def _hook_outputs(cell, out, state: dict):
    outs = _tensors(cell, out, "construct")
    places = [i for i, o in enumerate(outs) if o._node is not None]
    if not places:
        return out
    outs = _pass_through(HOOK_OUT, outs, places, state)
    return outs if isinstance(out, tuple) else outs[0]


def call(cell, inputs: tuple, kwargs: dict):
    """Runs ``cell``'s construct under recording with its bprop and backward hooks wired in."""
    hooked = bool(cell._backward_hooks)
    if hooked:
        inputs, state = _hook_inputs(cell, inputs)
    if has_bprop(type(cell)):
        out = _run_bprop(cell, inputs, kwargs)
    else:
        out = cell.construct(*inputs, **kwargs)
    if hooked:
        out = _hook_outputs(cell, out, state)
    return out
