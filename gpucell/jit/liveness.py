"""Liveness: which temporaries a CPU replay can let go of after each step.

Eager execution drops a temporary as soon as nothing refers to it (autograd frees saved
activations once their backward has run), so NumPy's allocator hands the same blocks back to the
next arrays. A replay keeps its arrays in a slot table; holding every temporary there until the
call ends makes the step's peak memory the sum of all its temporaries. Arrays of 128 KiB and up
come from ``mmap`` (glibc's threshold), so each call then faults in fresh pages for every one of
them and returns them all at the end: ``benchmarks/transformer_step.py`` measured about 4300 minor
page faults per replayed step against 1200 eager, and the replay slower than eager.

So the plan notes, for each step, the temporaries whose last use (read or write) is that step, and
the CPU replay clears those slots right after it. Only temporaries: arguments are the caller's,
Parameters live on, constants belong to the plan; slots the call returns stay. A temporary that is
a view of another keeps its base alive through NumPy itself, so clearing a slot never frees memory
that another slot still sees.

CUDA-graph capture does not use this: a captured graph reads and writes fixed addresses, so its
static slot table must hold every buffer for the graph's lifetime.
"""

from __future__ import annotations

from gpucell.jit.tracer import TEMP

__all__ = ["dead_after"]


def _slots(outs) -> tuple:
    if outs is None:
        return ()
    return (outs,) if type(outs) is int else tuple(outs)


def dead_after(steps, protected, kinds: list) -> tuple:
    """Per step, the temporary slots to clear once it has run (``()`` where none).

    ``protected``: the slots the call returns; ``kinds``: the tracer's kind of each slot.
    """
    last_use: dict[int, int] = {}
    for position, step in enumerate(steps):
        for slot in step.ins:
            last_use[slot] = position
        for slot in _slots(step.outs):
            last_use[slot] = position
    keep = set(protected)
    dead: list[list[int]] = [[] for _ in steps]
    for slot, position in last_use.items():
        if kinds[slot][0] == TEMP and slot not in keep:
            dead[position].append(slot)
    return tuple(tuple(sorted(slots)) for slots in dead)
