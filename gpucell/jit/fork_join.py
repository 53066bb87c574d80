"""Replaying a multi-stream plan segment on real streams, fork/join included (for CUDA-graph capture).

A stream joins a capture only by waiting on an event recorded on a capturing stream, and every
stream must join back before the capture ends. So a segment first forks each side stream from the
capture stream, then runs its steps each on its own stream with the traced records and waits
between them, and finally joins every side stream back. The fork and the join order nothing that
eager execution did not: before the segment the side streams had no work of this call queued
after the segment's start, and after it the call's outputs are read on the capture stream.

A wait for an event recorded outside the segment (in an eager segment, or before it) is dropped:
the fork already orders the side stream after all of that.
"""

from __future__ import annotations

from gpucell.jit.plan import run_steps
from gpucell.jit.tracer import Sync

__all__ = ["interleave", "run_on_streams"]


def interleave(steps: tuple, start: int, syncs: tuple, last: bool) -> list:
    """The steps of a segment (plan positions ``start``...) with the syncs that fall among them,
    in traced order; ``last``: the segment ends the plan, so it also takes the syncs after the
    final step."""
    end = start + len(steps)
    inside = [s for s in syncs if start <= s.position < end or (last and s.position == end)]
    items, k = [], 0
    for offset, step in enumerate(steps):
        while k < len(inside) and inside[k].position <= start + offset:
            items.append(inside[k])
            k += 1
        items.append(step)
    items.extend(inside[k:])
    return items


def run_on_streams(items: list, env: list, streams: list) -> None:
    """Runs ``items`` (Steps and Syncs) over ``env``; ``streams[i]`` is plan stream i, each with
    ``record() -> event``, ``wait_event(event)`` and ``with stream:`` (cupy.cuda.Stream's API);
    ``streams[0]`` is the capturing stream."""
    main = streams[0]
    fork = main.record()
    for side in streams[1:]:
        side.wait_event(fork)
    events = {}
    for item in items:
        if type(item) is Sync:
            if item.kind == "record":
                events[item.event] = streams[item.stream].record()
            elif item.event in events:
                streams[item.stream].wait_event(events[item.event])
            continue
        with streams[item.stream]:
            run_steps((item,), env)
    for side in streams[1:]:
        main.wait_event(side.record())
