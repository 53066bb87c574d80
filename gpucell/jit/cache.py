"""PlanCache: bounded (LRU) map from call signatures to Plans, with the counters users ask for."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from gpucell.jit.plan import Plan

__all__ = ["PlanCache", "CacheInfo"]


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    captures: int        # plans captured into CUDA graphs
    graph_breaks: int    # eager segments between captured ones, over the live plans
    invalidations: int   # plans dropped because a Parameter or Cell they used changed
    plans: int
    maxsize: int
    held_bytes: int      # constants and private pools the live plans keep


class PlanCache:
    """Plans by key; a plan whose guards fail is dropped and counted, the least recent evicted."""

    def __init__(self, maxsize: int = 128):
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"For 'PlanCache', 'maxsize' must be an int >= 1, but got {maxsize!r}.")
        self.maxsize = maxsize
        self._plans: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.invalidations = 0

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
            return None

    def peek(self, key) -> Plan | None:
        """The plan for ``key`` if it is there and still valid, without counting a hit or miss."""
        with self._lock:
            plan = self._plans.get(key)
            return plan if plan is not None and plan.matches() else None

    def put(self, key, plan: Plan) -> None:
        with self._lock:
            self._plans[key] = plan
            self._plans.move_to_end(key)
            while len(self._plans) > self.maxsize:
                self._plans.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self.hits = self.misses = self.invalidations = 0

    def info(self) -> CacheInfo:
        with self._lock:
            plans = list(self._plans.values())
            return CacheInfo(
                hits=self.hits, misses=self.misses,
                captures=sum(1 for p in plans if getattr(p.executor, "graphs", None) is not None),
                graph_breaks=sum(p.executor.graph_breaks for p in plans),
                invalidations=self.invalidations, plans=len(plans), maxsize=self.maxsize,
                held_bytes=sum(p.executor.held_bytes() for p in plans))
