"""``gpucell.jit``: trace a function once per signature, then replay the recorded plan.

Call 0 of a key runs eagerly while the tracer records every op; later calls replay the plan: over
NumPy on the CPU, as CUDA graphs on the GPU. ``cache_info()`` reports hits, misses, captures, graph
breaks and held memory; ``set_cache_limits()`` bounds the cache by plans and by bytes. docs/DESIGN.md
("jit and the plan cache") is the blueprint.

The module itself is callable, so ``gpucell.jit`` is both the decorator and this namespace:
``@gpucell.jit`` / ``gpucell.jit(fn)`` as well as ``gpucell.jit.cache_info()``,
``gpucell.jit.clear_cache()`` and ``gpucell.jit.set_cache_limits()``; ``from gpucell.jit import
jit`` gives the plain function.
"""

from __future__ import annotations

import sys
import types

from gpucell.jit.cache import CacheInfo
from gpucell.jit.function import PLANS, JitFunction
from gpucell.jit.tracer import TraceError
from gpucell.ops._dispatch import hooks

__all__ = ["jit", "cache_info", "clear_cache", "set_cache_limits", "JitFunction", "TraceError", "CacheInfo"]


def jit(function=None, *, mode: str = "PSJit", jit_config=None, input_signature=None):
    """Decorator: ``@jit``, ``@jit()`` or ``jit(fn)``, for functions, Cell methods and Cells.

    >>> import gpucell as ms
    >>> @ms.jit
    ... def double(x):
    ...     return x * 2
    >>> double(ms.Tensor([1.0])).asnumpy()
    array([2.], dtype=float32)
    """
    def decorate(fn):
        if not callable(fn):
            raise TypeError(f"For 'jit', expected a function or a Cell, but got {type(fn).__name__}.")
        return JitFunction(fn)

    return decorate if function is None else decorate(function)


def cache_info() -> CacheInfo:
    """Counters of the process-wide plan cache: hits, misses, captures, graph breaks,
    invalidations, evictions, plans, and the device memory the plans hold (``held_bytes``) with its
    bound (``max_bytes``).

    >>> from gpucell.jit import cache_info
    >>> cache_info().held_bytes >= 0
    True
    """
    return PLANS.info()


def clear_cache() -> None:
    """Drops every plan and gives its device memory back (graphs, static buffers, private pool)."""
    PLANS.clear()


def set_cache_limits(maxsize: int | None = None, max_bytes: int | None = None) -> None:
    """Bounds the process-wide plan cache: at most ``maxsize`` plans (default 128) holding at most
    ``max_bytes`` of device memory (default ``GPUCELL_JIT_CACHE_BYTES``, else half the GPU's memory);
    least recently used plans are evicted and their memory freed. None leaves a bound as it is.

    >>> from gpucell.jit import set_cache_limits
    >>> set_cache_limits(max_bytes=2 << 30)  # 2 GiB
    """
    PLANS.set_limits(maxsize, max_bytes)


def _graph_call(cell, inputs: tuple, kwargs: dict):
    """Under GRAPH_MODE: a top-level Cell call runs through the Cell's own JitFunction."""
    from gpucell.jit.function import tracing
    if tracing() or hooks.recording:
        return cell._plain_call(inputs, kwargs)  # inside a plan or a gradient transform: eager
    compiled = cell.__dict__.get("_graph_mode_fn")
    if compiled is None:
        compiled = JitFunction(lambda *a, **k: cell._plain_call(a, k))
        compiled.name = f"{type(cell).__name__} (GRAPH_MODE)"
        cell.__dict__["_graph_mode_fn"] = compiled
    return compiled(*inputs, **kwargs)


def set_graph_mode(enabled: bool) -> None:
    """Makes every top-level Cell call run through jit (set_context(mode=GRAPH_MODE) calls this)."""
    from gpucell.nn.cell import call_observers
    call_observers.graph_call = _graph_call if enabled else None


class _CallableModule(types.ModuleType):
    """The type of the ``gpucell.jit`` module: calling the module calls :func:`jit`, so
    ``import gpucell as ms`` gives both ``@ms.jit`` and ``ms.jit.cache_info()``."""

    def __call__(self, function=None, *, mode: str = "PSJit", jit_config=None, input_signature=None):
        return jit(function, mode=mode, jit_config=jit_config, input_signature=input_signature)


sys.modules[__name__].__class__ = _CallableModule
