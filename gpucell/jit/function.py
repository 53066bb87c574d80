"""JitFunction: call 0 traces and returns the eager result; later calls with the same key replay.

The key is the function, each tensor argument's (shape, dtype, device) and every other argument by
value (Parameters and Cells by identity). A call made while a gradient transform records runs
eagerly instead (a replay would bypass the recording): jit the whole step. What a key cannot hold
(the Parameters and Cells the function reaches through closures and globals) the
plan guards: a changed buffer, shape, dtype or Cell phase makes a new trace.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from gpucell.backend import streams as _streams
from gpucell.jit.cache import PlanCache
from gpucell.jit.executors import make_executor
from gpucell.jit.plan import Plan
from gpucell.jit.tracer import Tracer
from gpucell.nn.cell import Cell, call_observers
from gpucell.ops._dispatch import hooks
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["JitFunction", "PLANS", "tracing"]

PLANS = PlanCache()
_trace_lock = threading.RLock()
_local = threading.local()


def tracing() -> bool:
    """Whether the current thread is inside a trace (nested jitted calls are inlined)."""
    return getattr(_local, "tracer", None) is not None


def _signature(value, tensors: list):
    """A hashable description of an argument; tensors are collected as the plan's inputs."""
    if type(value) is Tensor:  # the common case first
        tensors.append(value)
        data = value._data
        # The dtype object itself: it hashes and compares faster than its .str, which is rebuilt
        # on every access (and it tells byte orders apart the same way). -1 for the CPU, else the
        # GPU's id: a plan's buffers, streams and graphs belong to one device.
        return ("T", data.shape, data.dtype, -1 if type(data) is np.ndarray else data.data.device_id)
    if isinstance(value, Parameter):
        return ("P", id(value))
    if isinstance(value, Tensor):
        tensors.append(value)
        data = value._data
        return ("T", data.shape, data.dtype, -1 if type(data) is np.ndarray else data.data.device_id)
    if isinstance(value, Cell):
        return ("C", id(value), value.phase)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_signature(v, tensors) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _signature(value[k], tensors)) for k in sorted(value, key=repr)))
    if isinstance(value, (int, float, str, bytes, bool, type(None), np.generic)):
        return (type(value), value)
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"For 'jit', an argument of type {type(value).__name__} cannot be part of a "
                        f"plan's key: pass Tensors, numbers, strings, tuples, lists, dicts, Cells or "
                        f"hashable objects.") from None
    return ("obj", id(value), value)


class JitFunction:
    """A function (or Cell, or method) whose calls are traced once per key and then replayed."""

    def __init__(self, fn, cache: PlanCache = PLANS):
        self.fn = fn
        self.cache = cache
        self.name = getattr(fn, "__qualname__", type(fn).__name__)
        functools.update_wrapper(self, fn, updated=())

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self.__call__, obj)

    def __call__(self, *args, **kwargs):
        if tracing() or hooks.recording:
            # Inside another trace its ops join that plan; inside a gradient transform a replay
            # would bypass the autograd recording, so it runs eagerly (jit the whole step instead).
            return self.fn(*args, **kwargs)
        tensors: list[Tensor] = []
        key = (self, tuple([_signature(a, tensors) for a in args]),
               _signature(kwargs, tensors) if kwargs else None)
        plan = self.cache.get(key)
        if plan is not None:
            return plan.executor([t._data for t in tensors])
        with _trace_lock:
            plan = self.cache.peek(key)  # another thread may have traced it meanwhile
            if plan is not None:
                return plan.executor([t._data for t in tensors])
            return self._trace(key, tensors, args, kwargs)

    def _trace(self, key, tensors: list, args: tuple, kwargs: dict):
        tracer = Tracer(self.name)
        for index, tensor in enumerate(tensors):
            tracer.bind_arg(tensor, index)
        saved = (hooks.observers, call_observers.observers, Tensor._read_guard, _streams.observer)
        hooks.observers = saved[0] + (tracer.observe_op,)
        call_observers.observers = saved[1] + (tracer.observe_cell,)
        Tensor._read_guard = tracer.check_read
        _streams.observer = tracer
        _local.tracer = tracer
        try:
            result = self.fn(*args, **kwargs)
        finally:
            _local.tracer = None
            hooks.observers, call_observers.observers, Tensor._read_guard, _streams.observer = saved
        plan = Plan(tracer, result, self.name)
        on_cpu = all(isinstance(t._data, np.ndarray) for t in tensors) and all(
            isinstance(p._data, np.ndarray) for p in tracer.params.values())
        plan.executor = make_executor(plan, on_cpu)
        self.cache.put(key, plan)
        return result

    def __repr__(self) -> str:
        return f"<gpucell.jit of {self.name}>"
