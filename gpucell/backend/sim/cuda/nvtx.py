"""``cupy.cuda.nvtx``: ranges and marks cost nothing on the simulated device."""

from __future__ import annotations

__all__ = ["Mark", "MarkC", "RangePush", "RangePushC", "RangePop", "available"]

available = True
_depth = 0


def Mark(message, id_color=-1) -> None:
    return None


def MarkC(message, color=0) -> None:
    return None


def RangePush(message, id_color=-1) -> None:
    global _depth
    _depth += 1


def RangePushC(message, color=0) -> None:
    RangePush(message)


def RangePop() -> None:
    global _depth
    _depth -= 1
