"""The global seed, host generators for initializers, and the Philox counters of random kernels.

Random kernels draw Philox words at ``state[1] + base``: ``state`` is a small uint64 array
``[seed, offset]`` on the device, only read by them, and ``base`` a counter range that
:func:`reserve` hands out on the host, one per launch, in call order. So launches on several
streams never share counters and never race on a shared state (DESIGN.md invariant 7b), and the
CPU backend, which reserves the same ranges in the same order, draws the identical numbers.

A CUDA graph bakes its kernels' arguments in, so a captured launch instead reads a state of the
graph's own (:func:`graph_draws`, with bases counted from 0 within the graph), and before each
replay :meth:`GraphDraws.refresh` reserves a fresh range on the host and writes it into that
state with a kernel (DESIGN.md invariant 5: what changes per replay lives in device memory).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

from gpucell import _config, backend
from gpucell.backend import streams as _streams

__all__ = ["set_seed", "get_seed", "host_generator", "philox_state", "reserve", "graph_draws", "GraphDraws"]

_seed: int = _config.SEED
_host_draws: int = 0
_states: dict[tuple, object] = {}   # device key -> [seed, 0] on that device
_next: dict[tuple, int] = {}        # device key -> first counter not yet reserved
_capturing = threading.local()      # .draws: the GraphDraws of a capture in progress on this thread
_WRAP = 1 << 64


def set_seed(seed: int) -> None:
    """Seeds every random source of gpucell: initializers and random kernels, on both devices."""
    global _seed, _host_draws
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"For 'set_seed', 'seed' must be an int, but got {seed!r} of type "
                        f"'{type(seed).__name__}'.")
    if not 0 <= seed < 2**63:
        raise ValueError(f"For 'set_seed', 'seed' must be in [0, 2**63), but got {seed}.")
    _seed = seed
    _host_draws = 0
    _next.clear()
    for key, state in list(_states.items()):
        if key[0] == "CPU":
            state[0] = seed
        elif key[2] != id(backend.cupy):
            del _states[key]  # made by a GPU module no longer in use
        else:
            with backend.cupy.cuda.Device(key[1]):  # written on its own device, as CUDA requires
                state[0] = seed


def get_seed() -> int:
    return _seed


def host_generator() -> np.random.Generator:
    """A NumPy generator for the next host-side draw (initializers); deterministic after set_seed."""
    global _host_draws
    _host_draws += 1
    return np.random.Generator(np.random.Philox(key=_seed, counter=_host_draws))


def _key(device: str) -> tuple:
    """One generator per device: the CPU, or a GPU by its id (and by the GPU module in use)."""
    if device == "CPU":
        return ("CPU",)
    return ("GPU", backend.cupy.cuda.Device().id, id(backend.cupy))


def philox_state(device: str):
    """The ``[seed, 0]`` uint64 array that random kernels on ``device`` read (never write)."""
    key = _key(device)
    state = _states.get(key)
    if state is None:
        state = backend.xp_for(device).asarray(np.array([_seed, 0], dtype=np.uint64))
        # Made once, then read from every stream: wait for the copy here, so no stream can read
        # the state before it is there (the first use may be on a side stream).
        _streams.current_stream().synchronize()
        _states[key] = state
    return state


def _reserve_on_host(key: tuple, counters: int) -> int:
    base = _next.get(key, 0)
    _next[key] = (base + counters) % _WRAP
    return base


def reserve(device: str, counters: int) -> tuple:
    """``(state, base)`` for one random launch on ``device`` consuming ``counters`` counters."""
    draws = getattr(_capturing, "draws", None)
    if draws is not None and device != "CPU":
        return draws.reserve(counters)
    return philox_state(device), _reserve_on_host(_key(device), counters)


class GraphDraws:
    """The random launches of one captured graph: their own state, their total counters."""

    def __init__(self, device: str):
        self.key = _key(device)
        self.state = backend.xp_for(device).zeros(2, dtype=np.uint64)
        self.total = 0

    def reserve(self, counters: int) -> tuple:
        base, self.total = self.total, self.total + counters
        return self.state, base

    def refresh(self) -> None:
        """Before a replay: a fresh counter range, so this replay draws new numbers (a kernel on
        the current stream; call it on the stream that then launches the graph)."""
        if self.total:
            from gpucell.backend.kernel_ops.dropout import set_state

            set_state(self.state, _seed, _reserve_on_host(self.key, self.total))


@contextlib.contextmanager
def graph_draws(device: str) -> Iterator[GraphDraws]:
    """While a graph is captured on this thread: random launches draw from its own state."""
    draws = GraphDraws(device)
    previous = getattr(_capturing, "draws", None)
    _capturing.draws = draws
    try:
        yield draws
    finally:
        _capturing.draws = previous
