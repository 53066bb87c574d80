"""Buffer donation: let an op of a plan overwrite an input that nothing reads after it.

Eager execution cannot know that a gradient handed to the optimizer is dead afterwards (the user
holds it), so the update allocates a scratch array; a plan sees the whole step and can tell. A
temporary is donated to the step that reads it when

- that step is its only reader and the call does not return it (nothing sees it afterwards), and
- the step that produced it makes fresh arrays (so no view of another buffer is overwritten).

The op then writes into it instead of allocating (``donated=True``): the same arithmetic, so a
replay stays bit-identical to eager, with one allocation and one memory pass fewer per buffer.
(JAX calls this ``donate_argnums``; here the plan finds the buffers itself.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from gpucell.jit.tracer import TEMP
from gpucell.ops.dense import DENSE_GRAD
from gpucell.ops.loss import SOFTMAX_CROSS_ENTROPY_AND_GRAD, SOFTMAX_CROSS_ENTROPY_GRAD
from gpucell.ops.optim import SGD_UPDATE

__all__ = ["donate"]

# Ops whose every output is a new array.
_FRESH = frozenset((DENSE_GRAD, SOFTMAX_CROSS_ENTROPY_AND_GRAD, SOFTMAX_CROSS_ENTROPY_GRAD))


def _donatable(slot: int, producer: dict, reads: Counter, kinds: list) -> bool:
    return kinds[slot][0] == TEMP and reads[slot] == 1 and producer.get(slot) in _FRESH


def donate(steps: tuple, protected: list, kinds: list) -> tuple:
    """``steps`` with ``donated`` set where the rules above allow; ``protected``: the slots the
    call returns; ``kinds``: the tracer's kind of each slot."""
    reads = Counter(protected)
    producer = {}
    for step in steps:
        reads.update(step.ins)
        outs = () if step.outs is None else ((step.outs,) if type(step.outs) is int else step.outs)
        for slot in outs:
            producer[slot] = step.op
    out = []
    for step in steps:
        if step.op is DENSE_GRAD and len(step.ins) == 4 and _donatable(step.ins[0], producer, reads, kinds):
            step = replace(step, attrs={**step.attrs, "donated": True})
        elif step.op is SGD_UPDATE:
            width = step.attrs["width"]
            per_param = tuple(
                {**attrs, "donated": True} if _donatable(step.ins[i * width + 1], producer, reads, kinds)
                else attrs for i, attrs in enumerate(step.attrs["per_param"]))
            if per_param != step.attrs["per_param"]:
                step = replace(step, attrs={**step.attrs, "per_param": per_param})
        out.append(step)
    return tuple(out)
