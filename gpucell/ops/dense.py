"""dense: ``x @ weight.T + bias`` (optionally followed by ReLU) in one matmul_bias call.

The forward and the backward each cost one dispatch: the gradient op computes only the gradients
asked for (input, weight, bias), all on the matmul kernel and the reduce kernel (capturable).
"""

from __future__ import annotations

from gpucell import dtype as _dt
from gpucell.ops._dispatch import Op, apply, hooks, round_bfloat16, run_bfloat16, widen_bfloat16
from gpucell.ops._layer_util import matmul, needs, reduce_sum, spread
from gpucell.ops._util import check_float, check_tensor, no_higher_order

__all__ = ["DENSE", "DENSE_GRAD", "DENSE_RELU", "dense", "dense_relu"]

_BF16 = _dt.BF16_NUMPY


def _dense(x, w, b=None, relu=False):
    if x.ndim == 1:
        return matmul(x.reshape(1, -1), w, b, transpose_b=True, relu=relu).reshape(-1)
    return matmul(x, w, b, transpose_b=True, relu=relu)


def _dense_grad(g, x, w, out=None, *, wanted, donated: bool = False):
    # ``donated``: g is a temporary of a jit plan that nothing reads afterwards (gpucell.jit.donation).
    if out is not None:  # fused ReLU: no gradient where the output was clipped
        if donated:
            g *= out > 0
        else:
            g = g * (out > 0)
    flat = g.ndim != 2  # (batch..., features): matmuls over the rows of 2-D views
    g2 = g.reshape(-1, w.shape[0]) if flat else g
    grads = []
    if wanted[0]:
        gx = matmul(g2, w)
        grads.append(gx.reshape(x.shape) if flat else gx)
    if wanted[1]:
        grads.append(matmul(g2, x.reshape(-1, w.shape[1]) if flat else x, transpose_a=True))
    if len(wanted) > 2 and wanted[2]:
        grads.append(reduce_sum(g2, axis=0))
    return tuple(grads)


def _dense_grad_gpu(g, x, w, out=None, *, wanted, donated: bool = False):
    """DenseGrad's GPU forward: bfloat16 reaches it as it is (bfloat16_native); the CPU forward,
    which never sees bfloat16, pays no dtype check."""
    if g.dtype == _BF16 or x.dtype == _BF16:
        return _dense_grad_bfloat16(g, x, w, out, wanted)
    return _dense_grad(g, x, w, out, wanted=wanted, donated=donated)


def _dense_grad_bfloat16(g, x, w, out, wanted):
    """DenseGrad of bfloat16 arrays on the GPU: the two matmuls read bfloat16 on the tensor cores
    (float32 sums, one rounding: what the float32 path computes of the same inputs); the ReLU mask
    and the bias sum, which CuPy cannot compute in bfloat16, run on float32 copies."""
    if not (g.dtype == x.dtype == w.dtype == _BF16):  # mixed dtypes: all in float32, as apply would
        return run_bfloat16(_dense_grad, DENSE_GRAD, (g, x, w, out), {"wanted": wanted})
    if out is not None:  # masking by 0 or 1 loses nothing: the rounding back is exact
        g = round_bfloat16(widen_bfloat16(g) * (widen_bfloat16(out) > 0))
    g2 = g.reshape(-1, w.shape[0])
    grads = []
    if wanted[0]:
        grads.append(matmul(g2, w).reshape(x.shape))
    if wanted[1]:
        grads.append(matmul(g2, x.reshape(-1, w.shape[1]), transpose_a=True))
    if len(wanted) > 2 and wanted[2]:
        grads.append(round_bfloat16(reduce_sum(widen_bfloat16(g2), axis=0)))
    return tuple(grads)


def _backward(ctx, g):
    wanted = needs(ctx, len(ctx.shapes))
    out = ctx.output if ctx.op is DENSE_RELU else None
    if hooks.recording:  # an enclosing transform differentiates this backward: ops it can follow
        return _backward_in_ops(ctx, g, out, wanted)
    return spread(wanted, apply(DENSE_GRAD, g, ctx.input(0), ctx.input(1), out, wanted=wanted))


def _backward_in_ops(ctx, g, out, wanted):
    """DenseGrad's arithmetic as differentiable ops (matmul, ReluGrad, sum)."""
    from gpucell.ops.activation import RELU_GRAD
    from gpucell.ops.linalg import MATMUL
    from gpucell.ops.reduction import sum as sum_op
    from gpucell.ops.shape import reshape

    x, w = ctx.input(0), ctx.input(1)
    if out is not None:
        g = apply(RELU_GRAD, g, out)
    g2 = g if g.ndim == 2 else reshape(g, (-1, w.shape[0]))
    gx = None
    if wanted[0]:
        gx = apply(MATMUL, g2, w)
        gx = gx if gx.shape == x.shape else reshape(gx, x.shape)
    gw = None
    if wanted[1]:
        gw = apply(MATMUL, g2, x if x.ndim == 2 else reshape(x, (-1, w.shape[1])), transpose_a=True)
    gb = sum_op(g2, 0) if len(wanted) > 2 and wanted[2] else None
    return (gx, gw) + ((gb,) if len(wanted) > 2 else ())


# bfloat16_native: on the GPU the matmul kernel reads bfloat16 itself (tensor cores, float32 sums).
DENSE = Op("Dense", _dense, backward=_backward, saves="inputs", bfloat16_native=True)
def _dense_relu(x, w, b=None):
    return _dense(x, w, b, relu=True)


DENSE_RELU = Op("DenseReLU", _dense_relu, backward=_backward, saves="both", bfloat16_native=True)
# Under an enclosing transform Dense's backward runs as ops instead (``_backward_in_ops``).
DENSE_GRAD = Op("DenseGrad", _dense_grad, _dense_grad_gpu, multi_output=True, backward=no_higher_order("Dense"),
                bfloat16_native=True)


def check_dense(where: str, x, weight, bias) -> None:
    check_tensor(where, "x", x)
    check_tensor(where, "weight", weight)
    check_float(where, "x", x)
    if weight.ndim != 2:
        raise ValueError(f"For '{where}', the 'weight' must be 2-D (out_channels, in_channels), but got "
                         f"shape {weight.shape}.")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"For '{where}', the last dim of 'x' must equal in_channels {weight.shape[1]}, "
                         f"but got x of shape {x.shape}.")
    if x.dtype is not weight.dtype:
        raise TypeError(f"For '{where}', the dtype of 'x' ({x.dtype}) must equal the dtype of 'weight' "
                        f"({weight.dtype}).")
    if bias is not None:
        check_tensor(where, "bias", bias)
        if bias.shape != (weight.shape[0],) or bias.dtype is not weight.dtype:
            raise ValueError(f"For '{where}', the 'bias' must have shape ({weight.shape[0]},) and dtype "
                             f"{weight.dtype}, but got shape {bias.shape} and dtype {bias.dtype}.")


def dense(input, weight, bias=None):
    """``input @ weight.T + bias`` over the last dim of ``input`` (any leading dims).

    >>> import gpucell as ms
    >>> ms.ops.dense(ms.Tensor([[1.0, 2.0]]), ms.Tensor([[1.0, 1.0]]), ms.Tensor([0.5])).asnumpy()
    array([[3.5]], dtype=float32)
    """
    check_dense("Dense", input, weight, bias)
    if bias is None:
        return apply(DENSE, input, weight)
    return apply(DENSE, input, weight, bias)


def dense_relu(input, weight, bias=None):
    """``relu(dense(input, weight, bias))`` fused into the matmul kernel (nn.Dense's 'relu')."""
    if bias is None:
        return apply(DENSE_RELU, input, weight)
    return apply(DENSE_RELU, input, weight, bias)

