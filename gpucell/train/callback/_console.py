"""Console output shared by the callbacks: lines go around an active progress bar, not through it."""

from __future__ import annotations

import sys

__all__ = ["write", "loss_value", "rank_zero"]

_active_bars: list = []  # tqdm bars now on screen (the progress callback registers its own)


def rank_zero() -> bool:
    """Whether this process prints and saves (data-parallel runs: rank 0 alone)."""
    from gpucell.communication.management import is_rank_zero

    return is_rank_zero()


def write(text: str) -> None:
    """Prints one line (on rank 0 only); above the progress bar when a tqdm bar is showing."""
    if not rank_zero():
        return
    if _active_bars:
        _active_bars[-1].write(text, file=sys.stdout)
    else:
        print(text, flush=True)


def loss_value(outputs):
    """The loss a training step returned, as a Python float (the first element of a tuple)."""
    from gpucell.tensor import Tensor

    if isinstance(outputs, (tuple, list)) and outputs:
        outputs = outputs[0]
    if isinstance(outputs, Tensor):
        data = outputs.asnumpy()
        return float(data.mean()) if data.size != 1 else float(data.reshape(()))
    if isinstance(outputs, (int, float)):
        return float(outputs)
    return None
