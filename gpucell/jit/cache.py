"""PlanCache: bounded (LRU) map from call signatures to Plans, with the counters users ask for.

Two bounds, both least-recently-used: ``maxsize`` plans, and ``max_bytes`` of device memory held by
the plans (each plan's constants plus its private pool: static buffers, graph scratch, cached
blocks). A plan's memory is known only once it is captured (its second call), so the byte bound is
checked when a plan is added and again after each capture. The most recently used plan always
stays, even alone over ``max_bytes``: dropping it would retrace every call. A plan leaving the cache
(evicted, invalidated, replaced or cleared) gives its memory back at once (``executor.release()``,
which first waits for the plan's streams), outside the cache's lock.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from functools import partial
from typing import NamedTuple

from gpucell import _config
from gpucell.jit.plan import Plan

__all__ = ["PlanCache", "CacheInfo", "default_max_bytes"]


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    captures: int        # plans captured into CUDA graphs
    graph_breaks: int    # eager segments between captured ones, over the live plans
    invalidations: int   # plans dropped because a Parameter or Cell they used changed
    plans: int
    maxsize: int
    held_bytes: int      # constants and private pools the live plans keep
    evictions: int = 0   # plans dropped (their memory freed) to stay within maxsize and max_bytes
    max_bytes: int = 0   # the bound on held_bytes


def default_max_bytes() -> int:
    """``GPUCELL_JIT_CACHE_BYTES``, else half the current GPU's memory, else 1 GiB (no GPU)."""
    if _config.JIT_CACHE_BYTES is not None:
        return _config.JIT_CACHE_BYTES
    from gpucell.backend.graphs import device_memory

    total = device_memory()
    return total // 2 if total else 1 << 30


def _check_maxsize(maxsize) -> int:
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
        raise ValueError(f"For 'PlanCache', 'maxsize' must be an int >= 1, but got {maxsize!r}.")
    return maxsize


def _check_max_bytes(max_bytes) -> int | None:
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 0):
        raise ValueError(f"For 'PlanCache', 'max_bytes' must be an int >= 0 or None (the default), "
                         f"but got {max_bytes!r}.")
    return max_bytes


def _release(plans: list) -> None:
    for plan in plans:
        plan.executor.release()


def _trim(cache_ref) -> None:
    cache = cache_ref()
    if cache is not None:
        cache.trim()


class PlanCache:
    """Plans by key; a plan whose guards fail is dropped and counted, the least recent evicted."""

    def __init__(self, maxsize: int = 128, max_bytes: int | None = None):
        self.maxsize = _check_maxsize(maxsize)
        self._max_bytes = _check_max_bytes(max_bytes)  # None: default_max_bytes(), asked when needed
        self._plans: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.invalidations = self.evictions = 0

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is None:
            self._max_bytes = default_max_bytes()
        return self._max_bytes

    def set_limits(self, maxsize: int | None = None, max_bytes: int | None = None) -> None:
        """Changes the bounds (None leaves one as it is) and evicts what no longer fits."""
        with self._lock:
            if maxsize is not None:
                self.maxsize = _check_maxsize(maxsize)
            if max_bytes is not None:
                self._max_bytes = _check_max_bytes(max_bytes)
            dropped = self._evict()
        _release(dropped)

    def get(self, key) -> Plan | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                if plan.matches():
                    self._plans.move_to_end(key)
                    self.hits += 1
                    return plan
                del self._plans[key]
                self.invalidations += 1
            self.misses += 1
        if plan is not None:
            plan.executor.release()  # invalidated
        return None

    def peek(self, key) -> Plan | None:
        """The plan for ``key`` if it is there and still valid, without counting a hit or miss."""
        with self._lock:
            plan = self._plans.get(key)
            return plan if plan is not None and plan.matches() else None

    def put(self, key, plan: Plan) -> None:
        executor = plan.executor
        if hasattr(executor, "on_capture"):  # its memory is known after the capture: check again then
            executor.on_capture = partial(_trim, weakref.ref(self))
        with self._lock:
            old = self._plans.get(key)
            dropped = [old] if old is not None and old is not plan else []
            self._plans[key] = plan
            self._plans.move_to_end(key)
            dropped += self._evict()
        _release(dropped)

    def trim(self) -> None:
        """Evicts the least recently used plans until both bounds hold (after a capture)."""
        with self._lock:
            dropped = self._evict()
        _release(dropped)

    def _evict(self) -> list:
        """Under the lock: removes plans, least recent first, until within both bounds, keeping
        the most recent one; returns them, to be released once the lock is let go."""
        dropped = []
        while len(self._plans) > self.maxsize:
            dropped.append(self._plans.popitem(last=False)[1])
        if len(self._plans) > 1:
            sizes = [(key, plan.executor.held_bytes()) for key, plan in self._plans.items()]
            held, limit = sum(size for _, size in sizes), self.max_bytes
            for key, size in sizes[:-1]:
                if held <= limit:
                    break
                dropped.append(self._plans.pop(key))
                held -= size
        self.evictions += len(dropped)
        return dropped

    def clear(self) -> None:
        """Drops every plan and gives its memory back; the counters start again from zero."""
        with self._lock:
            dropped = list(self._plans.values())
            self._plans.clear()
            self.hits = self.misses = self.invalidations = self.evictions = 0
        _release(dropped)

    def info(self) -> CacheInfo:
        with self._lock:
            plans = list(self._plans.values())
            return CacheInfo(
                hits=self.hits, misses=self.misses,
                captures=sum(1 for p in plans if getattr(p.executor, "graphs", None) is not None),
                graph_breaks=sum(p.executor.graph_breaks for p in plans),
                invalidations=self.invalidations, plans=len(plans), maxsize=self.maxsize,
                held_bytes=sum(p.executor.held_bytes() for p in plans),
                evictions=self.evictions, max_bytes=self.max_bytes)
