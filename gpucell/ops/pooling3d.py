"""max_pool3d and avg_pool3d (NCDHW): a 2-D pool of every depth plane, then a pool along depth.

A box window is separable: its maximum is the maximum over depth of each plane's (h, w) maximum,
and its average the depth average of the plane averages, with a divisor that is the product of the
per-axis counts (whole kernel, taps inside the input, or inside the input and its padding, with
ceil_mode's extra padding never counted: every rule of the 2-D pools is per axis). So the 3-D pools
are two calls of the 2-D pool ops on reshaped views, (N, C * D, H, W) then (N, C, D, OH * OW) with a
(kd, 1) window, and inherit their gradients to every order and their capture. kh * kw + kd taps
instead of kd * kh * kw. Max pooling keeps the first maximum in (d, h, w) order, as MindSpore.
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_bool, check_int
from gpucell.ops.conv3d import six_pads, triple
from gpucell.ops.pooling import WITH_PADDING, check_pool_input, pool2d

__all__ = ["MAX_POOL3D_ARGMAX", "avg_pool3d", "max_pool3d", "pool3d"]


def _volume_argmax(depth_index, plane_index, *, plane: int):
    """The flat D x H x W index of each maximum from the two steps' indices: ``depth_index`` flat over
    (D, OH * OW) picks the depth, ``plane_index`` (N, C, D, OH * OW) holds each depth's H x W index."""
    xp = array_module(depth_index)
    depth = depth_index // depth_index.dtype.type(plane_index.shape[3])
    return depth * depth_index.dtype.type(plane) + xp.take_along_axis(plane_index, depth, 2)


# Integer indices, in range by construction: no gradient and no bounds check (which would read the
# host, as GatherElements' does, and break a CUDA graph).
MAX_POOL3D_ARGMAX = Op("MaxPool3DArgmax", _volume_argmax)


def pool3d(kind: str, x, kernel, stride, pads, dilation=(1, 1, 1), divisor=None, where: str = "",
           ceil_mode: bool = False, return_indices: bool = False):
    """A 3-D pool with resolved geometry: ``kind`` 'max' or 'avg', ``pads`` (front, back, top,
    bottom, left, right); ``divisor`` and ``return_indices`` as :func:`gpucell.ops.pooling.pool2d`'s
    (the indices flat over each D x H x W volume)."""
    from gpucell.ops.shape import reshape

    where = where or ("MaxPool3d" if kind == "max" else "AvgPool3d")
    check_pool_input(where, x, kernel, stride, dilation, pads)
    n, c, d, h, w = x.shape
    # A number divides the window sum once (the planes are summed first); the counting rules multiply.
    first, second = (1, divisor) if isinstance(divisor, (int, float)) else (divisor, divisor)
    planes = pool2d(kind, reshape(x, (n, c * d, h, w)), kernel[1:], stride[1:], pads[2:], dilation[1:],
                    first, where, ceil_mode, return_indices)
    planes, plane_index = planes if return_indices else (planes, None)
    oh, ow = planes.shape[2:]
    out = pool2d(kind, reshape(planes, (n, c, d, oh * ow)), (kernel[0], 1), (stride[0], 1),
                 (pads[0], pads[1], 0, 0), (dilation[0], 1), second, where, ceil_mode, return_indices)
    if not return_indices:
        return reshape(out, (n, c, -1, oh, ow))
    out, depth_index = out
    index = apply(MAX_POOL3D_ARGMAX, depth_index, reshape(plane_index, (n, c, d, oh * ow)), plane=h * w)
    return reshape(out, (n, c, -1, oh, ow)), reshape(index, (n, c, -1, oh, ow))


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over (kd, kh, kw) windows of NCDHW ``x``; ``padding`` (an int or (d, h, w), both sides)
    pads with -inf. With ``return_indices`` returns ``(output, argmax)``, argmax the flat index
    (int64) of each maximum in its D x H x W volume.

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(27, dtype=np.float32).reshape(1, 1, 3, 3, 3))
    >>> ms.ops.max_pool3d(x, 2, 1).asnumpy().ravel()
    array([13., 14., 16., 17., 22., 23., 25., 26.], dtype=float32)
    """
    kernel = triple("max_pool3d", "kernel_size", kernel_size)
    stride = kernel if stride is None else triple("max_pool3d", "stride", stride)
    dilation = triple("max_pool3d", "dilation", dilation)
    pads = six_pads("max_pool3d", padding, (1, 3))
    return pool3d("max", x, kernel, stride, pads, dilation, where="max_pool3d",
                  ceil_mode=check_bool("max_pool3d", "ceil_mode", ceil_mode),
                  return_indices=check_bool("max_pool3d", "return_indices", return_indices))


def avg_pool3d(input_x, kernel_size=1, stride=1, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=0):
    """Mean over (kd, kh, kw) windows of NCDHW ``input_x``; ``padding``: an int or (front, back, top,
    bottom, left, right) zeros, counted unless ``count_include_pad`` is False (ceil_mode's extra
    padding never counts); a non-zero ``divisor_override`` replaces the divisor.

    >>> import gpucell as ms, numpy as np
    >>> x = ms.Tensor(np.arange(8, dtype=np.float32).reshape(1, 1, 2, 2, 2))
    >>> ms.ops.avg_pool3d(x, 2).asnumpy().ravel()
    array([3.5], dtype=float32)
    """
    kernel = triple("avg_pool3d", "kernel_size", kernel_size)
    stride = triple("avg_pool3d", "stride", stride)
    pads = six_pads("avg_pool3d", padding, (1, 6))
    divisor = check_int("avg_pool3d", "divisor_override", divisor_override)
    if divisor < 0:
        raise ValueError(f"For 'avg_pool3d', the 'divisor_override' must be >= 0 (0: none), but got {divisor}.")
    if not divisor:
        divisor = WITH_PADDING if check_bool("avg_pool3d", "count_include_pad", count_include_pad) else None
    return pool3d("avg", input_x, kernel, stride, pads, divisor=divisor, where="avg_pool3d",
                  ceil_mode=check_bool("avg_pool3d", "ceil_mode", ceil_mode))
