"""The tracer: watches one eager run of a function and writes each op call down over slots.

A slot is one array the run touched: an argument, a Parameter's buffer (read live at replay), a
constant (captured now), or a temporary some step produced. In-place ops (assign, setitem) write
into the slot of their target, so a replay updates Parameters exactly as the eager run did.

Streams: each step notes the stream it ran on (0: the call's own; 1, 2...: the side streams the
function entered through ``gpucell.Stream``), and the events recorded and waited on between them
are written down as ``Sync`` entries, so a CUDA-graph capture can reproduce the fork/join.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import numpy as np

from gpucell.backend import streams as _streams
from gpucell.dtype import BF16_NUMPY as _BF16
from gpucell.ops._dispatch import Op, bfloat16_forward, promotion_casts
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["Tracer", "Step", "Sync", "TraceError", "ARG", "PARAM", "CONST", "TEMP"]

ARG, PARAM, CONST, TEMP = "arg", "param", "const", "temp"


class TraceError(RuntimeError):
    """A jitted function did something a replayed plan could not reproduce."""


@dataclass(frozen=True)
class Step:
    """One op call: ``outs = fn(*[env[i] cast to casts[i]], **attrs)``."""

    op: Op
    fn: object
    ins: tuple
    casts: tuple | None
    attrs: dict
    outs: object  # an int slot, a tuple of slots (multi-output ops), or None (wrote in place)
    stream: int = 0  # the plan stream it ran on (0: the call's)


@dataclass(frozen=True)
class Sync:
    """Before step ``position``: an event recorded on a plan stream (``kind`` "record"), or a plan
    stream made to wait for one recorded earlier in the same call ("wait")."""

    position: int
    kind: str
    stream: int
    event: int


def _user_frame() -> str:
    """``file:line`` of the innermost frame outside gpucell: the user's line that asked."""
    frame = sys._getframe(1)
    package = __name__.split(".")[0]
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != package and not module.startswith(package + "."):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Tracer:
    """Records the op calls of the current thread into ``steps`` while installed."""

    def __init__(self, name: str):
        self.name = name
        self.thread = threading.get_ident()
        self.kinds: list[tuple] = []          # per slot: (ARG, index) | (PARAM, p) | (CONST, v) | (TEMP,)
        self.steps: list[Step] = []
        self.params: dict[int, Parameter] = {}
        self.cells: dict[int, tuple] = {}     # id(cell) -> (cell, phase) for every Cell called
        self._slot_of: dict[int, int] = {}    # id(array) -> slot
        self._alive: list = []                # every array seen: ids stay unique while tracing
        self.syncs: list[Sync] = []
        self._streams: dict = {}              # stream key -> plan stream index
        self._stream_stack = [self._stream_index(_streams.current_stream())]
        self._events: dict[int, int] = {}     # id(event) -> event index, for events this call recorded

    # -- slots ---------------------------------------------------------------------------------
    def _new_slot(self, array, kind: tuple) -> int:
        slot = len(self.kinds)
        self.kinds.append(kind)
        if array is not None:
            self._slot_of[id(array)] = slot
            self._alive.append(array)
        return slot

    def bind_arg(self, tensor: Tensor, index: int) -> int:
        """Declares ``tensor`` as argument ``index`` of the plan."""
        known = self._slot_of.get(id(tensor._data))
        if known is not None:  # the same tensor passed twice: one slot, filled from the first
            return known
        return self._new_slot(tensor._data, (ARG, index))

    def slot_of(self, tensor: Tensor) -> int | None:
        return self._slot_of.get(id(tensor._data))

    def _input_slot(self, x) -> int:
        if isinstance(x, Tensor):
            if isinstance(x, Parameter):
                self.params[id(x)] = x
            slot = self._slot_of.get(id(x._data))
            if slot is None:
                kind = (PARAM, x) if isinstance(x, Parameter) else (CONST, x._data)
                slot = self._new_slot(x._data, kind)
            return slot
        if isinstance(x, np.generic):
            x = x.item()
        return self._new_slot(None, (CONST, x))

    def _output_slot(self, array) -> int:
        known = self._slot_of.get(id(array))
        return known if known is not None else self._new_slot(array, (TEMP,))

    # -- observers -----------------------------------------------------------------------------
    def observe_op(self, op: Op, inputs, outputs, attrs) -> None:
        if threading.get_ident() != self.thread:
            return
        ins = tuple(self._input_slot(x) for x in inputs)
        # The backend of the inputs; creation ops (Fill, Arange) have none: that of the output.
        first = next((x for x in inputs if isinstance(x, Tensor)), None)
        if first is None:
            first = outputs[0] if op.multi_output else outputs
        on_cpu = isinstance(first._data, np.ndarray)
        fn = op.cpu if on_cpu else op.gpu
        casts = promotion_casts(op, inputs)
        if _BF16 is not None and (on_cpu or not op.bfloat16_native) and (
                any(isinstance(x, Tensor) and x._data.dtype is _BF16 for x in inputs)
                or (casts is not None and _BF16 in casts)):
            fn = bfloat16_forward(fn, op)  # as apply runs it: in float32, rounded back
        if op.multi_output:
            outs = tuple(self._output_slot(o._data) for o in outputs)
        else:
            outs = self._output_slot(outputs._data)
            if op.inplace and outs in ins:
                outs = None
        self.steps.append(Step(op, fn, ins, casts, dict(attrs), outs,
                               self._stream_stack[-1]))

    # -- streams (gpucell.backend.streams.observer) ---------------------------------------------
    @property
    def n_streams(self) -> int:
        return len(self._streams)

    def _stream_index(self, stream) -> int:
        raw = stream.raw
        key = ("cuda", raw.ptr) if raw is not None else ("host", id(stream))
        index = self._streams.get(key)
        if index is None:
            index = self._streams[key] = len(self._streams)
            self._alive.append(stream)
        return index

    def enter(self, stream) -> None:
        if threading.get_ident() == self.thread:
            self._stream_stack.append(self._stream_index(stream))

    def exit(self, stream) -> None:
        if threading.get_ident() == self.thread and len(self._stream_stack) > 1:
            self._stream_stack.pop()

    def recorded(self, event, stream) -> None:
        if threading.get_ident() != self.thread:
            return
        index = self._events[id(event)] = len(self._events)
        self._alive.append(event)
        self.syncs.append(Sync(len(self.steps), "record", self._stream_index(stream), index))

    def waited(self, stream, event) -> None:
        # An event recorded before the call needs no wait in the plan: a replay starts after
        # everything queued before it.
        index = self._events.get(id(event))
        if threading.get_ident() == self.thread and index is not None:
            self.syncs.append(Sync(len(self.steps), "wait", self._stream_index(stream), index))

    def observe_cell(self, cell):
        if threading.get_ident() == self.thread:
            self.cells.setdefault(id(cell), (cell, cell.phase))
        return None

    def check_read(self, tensor: Tensor, what: str) -> None:
        """Refuses host reads of traced values: a replay could not repeat a Python decision."""
        if threading.get_ident() != self.thread:
            return
        slot = self._slot_of.get(id(tensor._data))
        if slot is not None and self.kinds[slot][0] != CONST:
            raise TraceError(
                f"gpucell.jit: {what} of a tensor computed inside the jitted function '{self.name}' "
                f"at {_user_frame()} reads its value on the host; a compiled plan replays ops, not "
                f"Python decisions on their results. Move this out of the function, or compute "
                f"the branch with ops (ops.select, ops.where).")
