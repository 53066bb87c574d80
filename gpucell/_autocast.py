"""Operator-level mixed precision: MindSpore's ``amp_level="auto"``.

While a network that ``auto_mixed_precision(net, "auto", dtype)`` marked runs its construct, every
op call passes through :func:`_cast_inputs` first (``ops._dispatch.hooks.autocast``):

- ops on the white list (the matmuls and convolutions, which tensor cores run) get their float32
  inputs cast to ``dtype`` and compute in it;
- ops on the black list (exp, log, pow, softmax, the normalisations, reductions and losses, whose
  results float16 cannot hold) get their low-precision inputs cast to float32;
- every other op follows its inputs' dtype, and ops with several inputs promote to the widest, as
  they always do (MindSpore's promote list).

Cells do the same for their Parameters, which their own checks compare with their inputs: the
white-list Cells (Dense, the convolutions, the RNN cells) run in ``dtype`` and the black-list ones
(the normalisations) in float32, through ``to_float``. The casts are ``Cast`` ops, so gradients
flow back through them to the float32 Parameters, a jit trace records them, and the backward pass
(which runs after construct) needs no hook of its own.
In-place ops are never cast: what they write must land in the caller's buffer.
"""

from __future__ import annotations

import numpy as np

from gpucell.tensor import Tensor

__all__ = ["WHITE_LIST", "BLACK_LIST", "AutoCast", "autocast_scope"]

# gpucell's op names for MindSpore's auto_whitelist: Conv2D, Conv2DTranspose, Conv3D, MatMul,
# BatchMatMul, Dense, PReLU, Einsum, Addmm, ... (the names this runtime has, or will have).
WHITE_LIST = frozenset({
    "MatMul", "BatchMatMul", "Dense", "DenseReLU", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose",
    "Conv2DTranspose", "Conv3DTranspose", "PReLU", "Einsum",
})

# MindSpore's auto_blacklist, in gpucell's op names.
BLACK_LIST = frozenset({
    "Pow", "ACos", "Asin", "Cosh", "Erfinv", "Exp", "Expm1", "Log", "Log10", "Log1p", "Log2", "Reciprocal",
    "Rsqrt", "Sinh", "Tan", "Softplus", "LayerNorm", "BatchNorm", "BatchNormInfer", "GroupNorm",
    "InstanceNorm", "KLDivLoss", "SmoothL1Loss", "SoftMarginLoss", "BCEWithLogitsLoss", "BCELoss", "Cdist",
    "ReduceProd", "Softmax", "LogSoftmax", "CumProd", "CumSum", "ReduceSum", "ReduceMean", "Norm",
    "L1Loss", "MSELoss", "NLLLoss", "SoftmaxCrossEntropy", "SoftmaxCrossEntropyAndGrad",
})

_F32 = np.dtype(np.float32)


class AutoCast:
    """What ``auto_mixed_precision(net, "auto", dtype)`` leaves as the network's ``_amp_dtype``:
    construct runs with the lists applied for ``dtype``, and returns float32. ``cell_dtype``: the
    dtype the network itself was already cast to by ``to_float`` (a white- or black-list Cell
    used as the whole network), else None."""

    __slots__ = ("dtype", "cell_dtype")

    def __init__(self, dtype, cell_dtype=None):
        self.dtype = dtype
        self.cell_dtype = cell_dtype

    def __repr__(self) -> str:
        return f"AutoCast({self.dtype}, cell_dtype={self.cell_dtype})"


def _cast_inputs(low):
    """The hook for ``dispatch.hooks.autocast``: casts ``inputs`` per the lists for ``low``."""
    from gpucell import dtype as _dt
    from gpucell.ops._dispatch import apply
    from gpucell.ops.conversion import CAST

    low_np, f32 = low.numpy, _dt.float32.numpy
    narrow = {np.dtype(np.float16)} | ({_dt.BF16_NUMPY} if _dt.BF16_NUMPY is not None else set())

    def hook(op, inputs):
        name = op.name
        if op.inplace:
            return inputs
        if name in WHITE_LIST:
            return tuple(apply(CAST, x, dtype=low_np) if isinstance(x, Tensor) and x._data.dtype == _F32 else x
                         for x in inputs)
        if name in BLACK_LIST:
            return tuple(apply(CAST, x, dtype=f32) if isinstance(x, Tensor) and x._data.dtype in narrow
                         else x for x in inputs)
        return inputs

    return hook


class autocast_scope:
    """Installs the autocast hook for ``dtype`` while the block runs (nested scopes restore the
    outer one); the casts themselves run with the hook off."""

    __slots__ = ("_hook", "_saved")

    def __init__(self, dtype):
        self._hook = _cast_inputs(dtype)
        self._saved = None

    def __enter__(self):
        from gpucell.ops._dispatch import hooks

        self._saved = hooks.autocast
        hooks.autocast = self._hook
        return self

    def __exit__(self, *exc) -> None:
        from gpucell.ops._dispatch import hooks

        hooks.autocast = self._saved
