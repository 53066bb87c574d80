"""The global seed, host generators for initializers, and the Philox (seed, offset) state.

Random kernels read ``(seed, offset)`` from a small uint64 array on the device instead of taking
them as arguments, so a captured CUDA graph that advances the offset draws fresh numbers on every
replay (DESIGN.md, invariants 5 and 6). The CPU backend keeps the same pair in a NumPy array and
draws the identical stream.
"""

from __future__ import annotations

import numpy as np

from gpucell import _config, backend

__all__ = ["set_seed", "get_seed", "host_generator", "philox_state"]

_seed: int = _config.SEED
_host_draws: int = 0
_states: dict[str, object] = {}


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
    for state in _states.values():
        state[0] = seed
        state[1] = 0


def get_seed() -> int:
    return _seed


def host_generator() -> np.random.Generator:
    """A NumPy generator for the next host-side draw (initializers); deterministic after set_seed."""
    global _host_draws
    _host_draws += 1
    return np.random.Generator(np.random.Philox(key=_seed, counter=_host_draws))


def philox_state(device: str):
    """The ``[seed, offset]`` uint64 array that random kernels on ``device`` read and advance."""
    state = _states.get(device)
    if state is None:
        state = backend.xp_for(device).asarray(np.array([_seed, 0], dtype=np.uint64))
        _states[device] = state
    return state
