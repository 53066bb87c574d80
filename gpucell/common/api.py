"""MindSpore's ``mindspore.common.api`` path: ``jit`` and its deprecated alias ``ms_function``."""

from __future__ import annotations

import warnings

__all__ = ["jit", "ms_function"]


def jit(function=None, *, mode: str = "PSJit", jit_config=None, input_signature=None):
    """:func:`gpucell.jit` (imported on first use: gpucell.jit sits below gpucell.common)."""
    from gpucell.jit import jit as _jit

    return _jit(function, mode=mode, jit_config=jit_config, input_signature=input_signature)


def ms_function(fn=None, input_signature=None, hash_args=None, jit_config=None):
    """Deprecated alias of :func:`gpucell.jit`, as in MindSpore 2.x (which logs the same advice).

    >>> import warnings, gpucell as ms
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     double = ms.ms_function(lambda x: x * 2)
    >>> double(ms.Tensor([1.0])).asnumpy()
    array([2.], dtype=float32)
    """
    warnings.warn("'gpucell.ms_function' will be deprecated and removed in a future version. "
                  "Please use 'gpucell.jit' instead.", DeprecationWarning, stacklevel=2)
    return jit(fn, jit_config=jit_config, input_signature=input_signature)
