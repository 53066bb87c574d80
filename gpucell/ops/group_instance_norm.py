"""group_norm and instance_norm, composed from ops that already run (and differentiate to any
order) on both backends: no kernel of their own.

GroupNorm normalises each group of channels of each sample with its mean and biased variance.
InstanceNorm is BatchNorm over a batch of one with N * C channels (each sample's channel is its
own "channel"), which reuses the fused BatchNorm op; the moving statistics are then updated with
the batch mean of the per-instance statistics, as MindSpore's InstanceNorm kernel does (cuDNN
running statistics per instance, averaged over the batch).
"""

from __future__ import annotations

from gpucell.ops._dispatch import apply
from gpucell.ops._util import check_float, check_int, check_tensor

__all__ = ["group_norm", "normalize_groups", "instance_norm"]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """MindSpore's ``ops.group_norm``: (N, C, ...) ``input`` normalised per sample over each of
    ``num_groups`` groups of channels (mean and biased variance), then scaled by ``weight`` and
    shifted by ``bias`` (C,) where given.

    >>> import gpucell as ms
    >>> x = ms.ops.arange(8.0).reshape(1, 4, 2)
    >>> ms.ops.group_norm(x, 2).asnumpy().round(3)[0, :, 0]
    array([-1.342,  0.447, -1.342,  0.447], dtype=float32)
    """
    num_groups = check_int("group_norm", "num_groups", num_groups)
    if num_groups < 1:
        raise ValueError(f"For 'group_norm', the 'num_groups' must be a positive int, but got {num_groups}.")
    return normalize_groups(input, num_groups, weight, bias, float(eps), "group_norm")


def normalize_groups(x, num_groups: int, gamma, beta, eps: float, where: str = "GroupNorm"):
    """(N, C, ...) ``x`` normalised per sample over each of ``num_groups`` groups of channels, then
    scaled and shifted per channel by ``gamma`` and ``beta`` (C,; None: not scaled / shifted)."""
    from gpucell.ops.elementwise import rsqrt
    from gpucell.ops.reduction import mean
    from gpucell.ops.shape import reshape

    check_tensor(where, "x", x)
    check_float(where, "x", x)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"For '{where}', the input must be (N, C, ...) with C divisible by num_groups "
                         f"{num_groups}, but got shape {x.shape}.")
    grouped = reshape(x, (x.shape[0], num_groups, -1))
    centred = grouped - mean(grouped, 2, True)
    y = reshape(centred * rsqrt(mean(centred * centred, 2, True) + eps), x.shape)
    channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if gamma is not None:
        y = y * reshape(gamma, channel)
    return y if beta is None else y + reshape(beta, channel)


def instance_norm(x, gamma, beta, moving_mean, moving_variance, eps: float, momentum: float,
                  where: str = "InstanceNorm2d"):
    """(N, C, H, W) ``x`` normalised per sample and channel over H, W; ``moving_mean`` and
    ``moving_variance`` (Parameters) move ``momentum`` of the way to the batch mean of the
    instance means and of the unbiased instance variances."""
    from gpucell.ops.batch_norm import BATCH_NORM, MOVING_AVERAGE
    from gpucell.ops.conversion import stop_gradient
    from gpucell.ops.reduction import mean
    from gpucell.ops.shape import reshape, tile

    n, c = x.shape[:2]
    count = x.size // (n * c)
    if count < 2:
        raise ValueError(f"For '{where}', each instance needs more than one value to compute a variance, but got "
                         f"input of shape {x.shape}.")
    flat = reshape(x, (1, n * c, count))
    y, batch_mean, batch_var = apply(BATCH_NORM, flat, tile(gamma, (n,)), tile(beta, (n,)), eps=float(eps))
    stats_mean = mean(reshape(stop_gradient(batch_mean), (n, c)), 0)
    stats_var = mean(reshape(stop_gradient(batch_var), (n, c)), 0)
    apply(MOVING_AVERAGE, moving_mean, stats_mean, momentum=float(momentum), factor=1.0)
    apply(MOVING_AVERAGE, moving_variance, stats_var, momentum=float(momentum), factor=count / (count - 1))
    return reshape(y, x.shape)
