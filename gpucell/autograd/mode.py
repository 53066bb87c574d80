"""``no_grad``: a block (or function) in which no graph is recorded, even inside a transform."""

from __future__ import annotations

import contextlib
import functools

from gpucell.ops._dispatch import hooks

__all__ = ["no_grad", "is_recording", "recording"]


class no_grad:
    """Context manager and decorator: ops inside record no graph nodes.

    >>> import gpucell as ms
    >>> def f(x):
    ...     with ms.no_grad():
    ...         scale = x * 2          # not differentiated
    ...     return (x * scale).sum()
    >>> ms.grad(f)(ms.Tensor([1.0, 2.0])).asnumpy()
    array([2., 4.], dtype=float32)
    """

    def __init__(self):
        self._previous: list[bool] = []

    def __enter__(self) -> no_grad:
        self._previous.append(hooks.recording)
        hooks.recording = False
        return self

    def __exit__(self, *exc) -> None:
        hooks.recording = self._previous.pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


def is_recording() -> bool:
    """Whether ops called now record graph nodes."""
    return hooks.recording


@contextlib.contextmanager
def recording(*tensors):
    """Inside the block ops record nodes for ``tensors`` as a gradient transform's forward would
    (benchmarks and tests measure that cost without a backward)."""
    from gpucell.autograd.node import Leaf, clear_saved

    previous = [(t, t._node) for t in tensors]
    state = hooks.recording
    for t in tensors:
        t._node = (Leaf(t), 0)
    hooks.recording = True
    try:
        yield
    finally:
        hooks.recording = state
        for t, node in previous:
            t._node = node
        clear_saved()
