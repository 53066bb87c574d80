"""Console output shared by the callbacks: lines go around an active progress bar, not through it."""

from __future__ import annotations

import sys

__all__ = ["write", "loss_value"]

_active_bars: list = []  # tqdm bars now on screen (the progress callback registers its own)


def write(text: str) -> None:
    """Prints one line; above the progress bar when a tqdm bar is showing."""
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
