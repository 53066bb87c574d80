"""``gpucell.jit``: compile a function or Cell for repeated calls.

At this stage of the project ``jit`` runs the function eagerly through the same op dispatch, so
its results are exactly the eager ones; tracing into plans and CUDA-graph replay replace the body
of ``_call`` without changing this interface (see DESIGN.md, "jit and the plan cache").
"""

from __future__ import annotations

import functools

__all__ = ["jit"]


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

        @functools.wraps(fn)
        def _call(*args, **kwargs):
            return fn(*args, **kwargs)
        return _call

    return decorate if function is None else decorate(function)
