"""dropout and dropout2d on the Philox kernels (kernels/dropout.cu).

Each call draws from a counter range reserved on the host (gpucell.random.reserve), so the same
seed gives the same masks on CPU and GPU, dropouts on several streams never share counters, and a
captured graph draws fresh masks on every replay.
"""

from __future__ import annotations

from gpucell.backend import device_of, kernel_ops
from gpucell.backend.kernel_ops.dropout import check_keep_prob
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_bool, check_float, check_tensor
from gpucell.random import reserve

__all__ = ["dropout", "dropout2d", "check_keep_prob", "DROPOUT", "DROPOUT2D"]


def _forward(kernel, per_channel: bool):
    def forward(a, keep_prob):
        state, base = reserve(device_of(a), kernel_ops.dropout_counters(a.shape, per_channel))
        return kernel(a, keep_prob, state, base)
    return forward


def _backward(ctx, g_out, g_mask):
    keep_prob = ctx.attrs["keep_prob"]
    if keep_prob == 0:
        return g_out * 0.0
    mask = ctx.outputs[1]
    return g_out * mask.astype(g_out.dtype) * (1.0 / keep_prob)


DROPOUT = Op("Dropout", _forward(kernel_ops.dropout, False), backward=_backward, multi_output=True,
             saves="output")
DROPOUT2D = Op("Dropout2D", _forward(kernel_ops.dropout2d, True), backward=_backward, multi_output=True,
               saves="output")


def run_dropout(op: Op, x, keep_prob: float):
    """``(output, Bool mask)`` of ``op`` (DROPOUT or DROPOUT2D) on ``x``."""
    check_tensor(op.name, "x", x)
    check_float(op.name, "x", x)
    if op is DROPOUT2D and x.ndim != 4:
        raise ValueError(f"For 'Dropout2D', the dimension of 'x' must be 4 (N, C, H, W), but got "
                         f"{x.ndim} (shape {x.shape}).")
    return apply(op, x, keep_prob=keep_prob)


def dropout(input, p=0.5, training=True, seed=None):
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``.

    Identity when ``training`` is False. The generator is gpucell's Philox state
    (``gpucell.set_seed``); ``seed`` is accepted for MindSpore compatibility and ignored.
    """
    p = check_keep_prob("dropout", p, "p")
    if not check_bool("dropout", "training", training) or p == 0.0:
        return input
    return run_dropout(DROPOUT, input, 1.0 - p)[0]


def dropout2d(input, p=0.5, training=True):
    """Zeroes whole channels of an ``(N, C, H, W)`` input with probability ``p``; scales the rest."""
    p = check_keep_prob("dropout2d", p, "p")
    if not check_bool("dropout2d", "training", training) or p == 0.0:
        return input
    return run_dropout(DROPOUT2D, input, 1.0 - p)[0]
