"""Plan: the steps a traced call ran, over slots, with the guards that say when it still applies.

A plan is replayed by an executor (``executors.py``): straight over the arrays on the CPU, and
through CUDA graphs on the GPU. ``matches()`` checks the guards a cache key cannot hold: each
Parameter the trace touched still has the same buffer, shape and dtype, and each Cell it called is
still in the same phase.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

from gpucell.jit.donation import donate
from gpucell.jit.fusion import fuse
from gpucell.jit.liveness import dead_after
from gpucell.jit.tracer import ARG, CONST, PARAM, TEMP, Step, Tracer
from gpucell.nn.cell import structure
from gpucell.ops._dispatch import wrap
from gpucell.parameter import Parameter, guard_epoch
from gpucell.tensor import Tensor

__all__ = ["Plan", "OutSlot"]


class OutSlot:
    """Marks where a returned tensor lives in the plan's slots."""

    __slots__ = ("slot",)

    def __init__(self, slot: int):
        self.slot = slot


def _param_guard(param: Parameter) -> tuple:
    return (param, id(param._data), param.shape, param._data.dtype, param._version)


class Plan:
    """Replayable record of one traced call (see the module docstring)."""

    def __init__(self, tracer: Tracer, output, name: str):
        self.name = name
        self.steps: tuple[Step, ...] = tuple(tracer.steps)
        self.n_slots = len(tracer.kinds)
        self.arg_slots = tuple((slot, kind[1]) for slot, kind in enumerate(tracer.kinds)
                               if kind[0] == ARG)
        self.param_slots = tuple((slot, kind[1]) for slot, kind in enumerate(tracer.kinds)
                                 if kind[0] == PARAM)
        self.const_slots = tuple((slot, kind[1]) for slot, kind in enumerate(tracer.kinds)
                                 if kind[0] == CONST)
        self.temp_slots = tuple(slot for slot, kind in enumerate(tracer.kinds) if kind[0] == TEMP)
        self.param_guards = tuple(_param_guard(p) for p in tracer.params.values())
        self.cell_guards = tuple(tracer.cells.values())
        self.structure_epoch = structure.epoch
        self.checked_epoch = None  # the guard_epoch at the last successful check of the guards
        self.output = self._mark_outputs(output, tracer)
        # A plan over several streams keeps its steps as traced (the syncs refer to positions, and
        # a rewrite must not merge steps of two streams); on one stream the syncs order nothing.
        self.n_streams = tracer.n_streams
        self.syncs = tuple(tracer.syncs) if self.n_streams > 1 else ()
        returned = self._output_slots(self.output)
        if self.n_streams == 1:
            self.steps = fuse(self.steps, returned, dict(self.const_slots))
            self.steps = donate(self.steps, returned, tracer.kinds)
        # Per step, the temporaries a step-by-step replay drops after it (liveness.py); in trace
        # order, which is also the order a CPU replay of a multi-stream plan runs its steps in.
        self.dead = dead_after(self.steps, returned, tracer.kinds)
        self.executor = None  # set by the cache: executors.make_executor(plan)

    def _output_slots(self, value) -> list:
        if isinstance(value, OutSlot):
            return [value.slot]
        if isinstance(value, (tuple, list)):
            return [s for v in value for s in self._output_slots(v)]
        if isinstance(value, dict):
            return [s for v in value.values() for s in self._output_slots(v)]
        return []

    def _mark_outputs(self, value, tracer: Tracer):
        if isinstance(value, Parameter):
            return value  # a Parameter returned is the live object, as in eager mode
        if isinstance(value, Tensor):
            slot = tracer.slot_of(value)
            return OutSlot(slot) if slot is not None else wrap(value._data.copy())
        if isinstance(value, (tuple, list)):
            marked = [self._mark_outputs(v, tracer) for v in value]
            return type(value)(marked) if isinstance(value, list) else tuple(marked)
        if isinstance(value, dict):
            return {k: self._mark_outputs(v, tracer) for k, v in value.items()}
        return value

    def matches(self) -> bool:
        """Whether every Parameter and Cell the trace saw is still as it was."""
        if structure.epoch != self.structure_epoch:
            return False
        epoch = guard_epoch.value  # read first: a change during the check leaves it stale
        if epoch == self.checked_epoch:
            return True  # no buffer replaced, no phase changed anywhere since the last check
        for param, buffer_id, shape, dtype, version in self.param_guards:
            data = param._data
            if id(data) != buffer_id or param._version != version or data.shape != shape \
                    or data.dtype != dtype:
                return False
        for cell, phase in self.cell_guards:
            if cell.phase != phase:
                return False
        self.checked_epoch = epoch
        return True

    def initial_env(self, arg_arrays: list) -> list:
        """The slot table before the first step: arguments, live Parameter buffers, constants."""
        env = [None] * self.n_slots
        for slot, index in self.arg_slots:
            env[slot] = arg_arrays[index]
        for slot, param in self.param_slots:
            env[slot] = param._data
        for slot, value in self.const_slots:
            env[slot] = value
        return env

    def build_output(self, env: list, copy: bool):
        """The call's return value with each marked tensor taken from ``env`` (copied if asked)."""
        return self._unmark(self.output, env, copy)

    def _unmark(self, value, env, copy: bool):
        if isinstance(value, OutSlot):
            array = env[value.slot]
            return wrap(array.copy() if copy else array)
        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return wrap(value._data.copy())  # a constant: each call gets its own
        if isinstance(value, (tuple, list)):
            items = [self._unmark(v, env, copy) for v in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            return {k: self._unmark(v, env, copy) for k, v in value.items()}
        return value

    def held_bytes(self) -> int:
        """Bytes of the constants the plan keeps alive (executors add their own buffers)."""
        return sum(getattr(v, "nbytes", 0) for _, v in self.const_slots)


def run_steps(steps, env: list, dead=None) -> None:
    """Runs ``steps`` over ``env`` in order, writing each result into its slot; with ``dead``
    (``Plan.dead``), clears after each step the slots nothing reads any more."""
    for step, drop in zip(steps, dead if dead is not None else repeat(())):
        args = [env[i] for i in step.ins]
        if step.casts is not None:
            args = [a if c is None else a.astype(c) for a, c in zip(args, step.casts)]
        result = step.fn(*args, **step.attrs)
        outs = step.outs
        if type(outs) is int:
            # NumPy returns 0-d results as scalars; apply() makes them arrays, so must a replay.
            env[outs] = np.asarray(result) if isinstance(result, np.generic) else result
        elif outs is not None:  # None: the step wrote in place
            for slot, value in zip(outs, result):
                env[slot] = np.asarray(value) if isinstance(value, np.generic) else value
        for slot in drop:
            env[slot] = None
