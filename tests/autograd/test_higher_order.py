"""Higher-order gradients: nested grad / value_and_grad / GradOperation to any order.

Every differentiable op gpucell.ops exports is checked to the second and third order in float64,
against central finite differences of the order below (a Hessian-vector product against the
difference of two gradients, and so on), on both backends. Which ops count is read off
gpucell.ops' public functions and the Op constants its modules define (the op registry): a new op
without a case here, or a reason to leave it out, fails ``test_every_op_has_a_case``.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn, ops
from gpucell.autograd import node
from gpucell.ops._dispatch import Op, apply, hooks
from gpucell.ops._util import no_higher_order
from gpucell.ops.conv_transpose import conv_transpose2d_padded
from gpucell.ops.dense import dense_relu
from gpucell.tensor import Tensor

F64 = ms.float64
STEP = 1e-5  # central differences in float64: truncation ~1e-10, rounding ~1e-11


def T(values, device, dtype=F64):
    return ms.Tensor(np.asarray(values), dtype, device=device)


def rng(seed=0):
    return np.random.default_rng(seed)


# -- the check: order k+1 against central differences of order k ------------------------------
def _float_outputs(out) -> list:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == 2]  # gpucell.dtype._FLOAT


def _scalar(fn, weights):
    """``sum_i <weights_i, fn(...)_i ** 3>`` over fn's float outputs: a cube after the op, so the
    op's backward is itself differentiated (its incoming gradient depends on the inputs)."""
    def scalar(*xs):
        total = None
        for o, r in zip(_float_outputs(fn(*xs)), weights):
            term = (o * o * o * r).sum()
            total = term if total is None else total + term
        return total
    return scalar


def _directional(grads_fn, direction):
    """``x -> sum_i <grads_fn(x)_i, direction_i>``: differentiating it gives the next order along
    ``direction`` (a Hessian-vector product for the gradient)."""
    def inner(*xs):
        total = None
        for g, d in zip(grads_fn(*xs), direction):
            term = (g * d).sum()
            total = term if total is None else total + term
        return total
    return inner


def _shifted(arrays, direction, step, device):
    return [T(a + step * d, device) for a, d in zip(arrays, direction)]


def check_orders(fn, arrays, device, order=3, rtol=1e-6, atol=1e-8, seed=1, step=STEP):
    """Checks the gradients of orders 2..``order`` of ``fn`` with respect to every array in
    ``arrays`` (all positions, so mixed partials too) against central differences."""
    r = rng(seed)
    tensors = [T(a, device) for a in arrays]
    outs = _float_outputs(fn(*tensors))
    weights = [T(r.standard_normal(o.shape), device) for o in outs]
    positions = tuple(range(len(arrays)))
    current = ms.grad(_scalar(fn, weights), positions)  # order 1
    for k in range(2, order + 1):
        direction = [r.standard_normal(np.shape(a)) for a in arrays]
        directed = [T(d, device) for d in direction]
        nxt = ms.grad(_directional(current, directed), positions)
        got = nxt(*tensors)
        plus = current(*_shifted(arrays, direction, step, device))
        minus = current(*_shifted(arrays, direction, -step, device))
        for i, (g, p, m) in enumerate(zip(got, plus, minus)):
            expected = (p.asnumpy() - m.asnumpy()) / (2 * step)
            scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
            np.testing.assert_allclose(g.asnumpy(), expected, rtol=rtol, atol=atol * scale,
                                       err_msg=f"order {k}, input {i}")
        current = nxt
    assert not hooks.recording and node.saved_count() == 0


# -- one case per differentiable op ------------------------------------------------------------
@dataclass
class Case:
    id: str
    fn: object                 # fn(*float64 tensors) -> Tensor or tuple
    arrays: list               # the float64 inputs, every one differentiated
    covers: tuple = ()         # the public gpucell.ops functions it exercises
    ops: tuple = ()            # the Ops (registry names) its nested gradient records
    order: int = 3
    rtol: float = 1e-6
    step: float = STEP


R = rng(42)


def _away(shape, low=0.3, high=1.5):
    """Values whose magnitude is in [low, high], random signs: away from kinks at 0."""
    return R.uniform(low, high, shape) * R.choice([-1.0, 1.0], shape)


def _distinct(shape):
    """Values at least 0.1 apart (no ties for max / min / max-pooling), shuffled."""
    n = int(np.prod(shape))
    return (R.permutation(n) * 0.1 - 0.05 * n + R.uniform(-0.02, 0.02, n)).reshape(shape)


def _positive(shape, low=0.5, high=2.0):
    return R.uniform(low, high, shape)


def _labels(values):
    return ms.Tensor(np.asarray(values, np.int64))


def _with_device(t, like):
    return t.move_to(like.device) if t.device != like.device else t


def _seeded(fn):
    def run(*xs):
        ms.set_seed(7)  # the same dropout mask on every evaluation, so differences are meaningful
        return fn(*xs)
    return run


def _const(array, like):
    return ms.Tensor(array, F64, device=like.device)


_CONV_X = R.standard_normal((2, 4, 5, 5))
_CE_WEIGHT = R.uniform(0.5, 2.0, 4)
_CE_PROBS = np.full((3, 4), 0.1) + np.eye(3, 4) * 0.6
_BCE_WEIGHT, _BCE_POS_WEIGHT = R.uniform(0.5, 2.0, 3), R.uniform(0.5, 2.0, 3)
_POOL_X = _distinct((2, 2, 5, 5))
_HARD_X = np.array([-4.5, -2.4, -1.1, 0.4, 1.7, 2.6, 3.8])  # every piece of hardswish, hardsigmoid
# input - target: on both sides of beta (0.9) and delta (0.8, 1.0), away from them and from 0
_L1_TARGET, _L1_D = rng(11).standard_normal((2, 3)), np.array([[-2.0, -0.5, 0.3], [1.7, 0.6, -1.4]])
_MASK = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
# distinct magnitudes in every row and column, distinct absolute row sums and column sums: no ties
_NORM_X = np.array([[1.65, 1.95, -1.2, -0.45], [0.3, -0.6, -0.9, -1.35], [-1.05, -0.75, 1.5, 1.7]])

CASES = [
    # arithmetic
    Case("add", lambda x, y: ops.add(x, y), [R.standard_normal((2, 3)), R.standard_normal(3)], ("add",), ("Add",)),
    Case("add_scalar", lambda x: x + 2.5, [R.standard_normal(3)], ("add",), ("Add",)),
    Case("sub", lambda x, y: ops.sub(x, y), [R.standard_normal((2, 3)), R.standard_normal((2, 1))], ("sub",),
         ("Sub",)),
    Case("mul", lambda x, y: ops.mul(x, y), [R.standard_normal((2, 3)), R.standard_normal(3)], ("mul",), ("Mul",)),
    Case("div", lambda x, y: ops.div(x, y), [R.standard_normal((2, 3)), _away(3, 0.8, 1.5)], ("div",),
         ("Div",)),
    Case("pow", lambda x, y: ops.pow(x, y), [_positive(4), R.standard_normal(4)], ("pow",), ("Pow",)),
    Case("pow_scalar", lambda x: x ** 3, [_away(4)], ("pow",), ("Pow",)),
    Case("neg", lambda x: ops.neg(ops.depend(x, x * 2)), [R.standard_normal(4)], ("neg", "depend"), ("Neg",)),
    Case("abs", lambda x: ops.abs(x), [_away(4)], ("abs",), ("Abs",)),
    Case("mod", lambda x, y: (ops.mod(x, y), ops.floor_mod(x * 3, y), ops.remainder(-x, y)),
         [R.uniform(0.2, 0.4, 4), R.uniform(1.5, 2.0, 4)], ("mod", "floor_mod", "remainder"), ("FloorMod",)),
    # elementwise
    Case("exp", lambda x: ops.exp(x), [R.standard_normal(4)], ("exp",), ("Exp",)),
    Case("log", lambda x: ops.log(x), [_positive(4)], ("log",), ("Log",)),
    Case("sqrt", lambda x: ops.sqrt(x), [_positive(4)], ("sqrt",), ("Sqrt",)),
    Case("rsqrt", lambda x: ops.rsqrt(x), [_positive(4)], ("rsqrt",), ("Rsqrt",)),
    Case("square", lambda x: ops.square(x), [R.standard_normal(4)], ("square",), ("Square",)),
    Case("maximum", lambda x, y: ops.maximum(x, y), [_distinct(6)[:3], _distinct(6)[3:]], ("maximum",),
         ("Maximum",)),
    Case("minimum", lambda x, y: ops.minimum(x, y), [_distinct(6)[:3], _distinct(6)[3:]], ("minimum",),
         ("Minimum",)),
    Case("clamp", lambda x: ops.clamp(x, -0.5, 0.5), [np.array([-1.0, -0.2, 0.3, 0.9])], ("clamp", "clip"),
         ("Maximum", "Minimum")),
    Case("clamp_tensor_bounds", lambda x, lo: ops.clip(x, lo, 0.5), [np.array([-1.0, 0.2, 0.9]),
         np.array([-0.5, -0.3, 0.0])], ("clip",), ("Maximum", "Minimum")),
    Case("clip_by_value", lambda x, hi: ops.clip_by_value((x, x * 2), -0.5, hi),
         [np.array([-1.0, -0.2, 0.1, 0.9]), np.array([0.5, 0.5, 0.6, 0.7])], ("clip_by_value",),
         ("Maximum", "Minimum")),
    # activations
    Case("relu", lambda x: ops.relu(x), [_away(5)], ("relu",), ("ReLU", "ReluGrad")),
    Case("sigmoid", lambda x: ops.sigmoid(x), [R.standard_normal(5)], ("sigmoid",), ("Sigmoid",)),
    Case("tanh", lambda x: ops.tanh(x), [R.standard_normal(5)], ("tanh",), ("Tanh",)),
    Case("gelu", lambda x: ops.gelu(x), [R.standard_normal(5)], ("gelu",), ("GeLU", "GeLUGrad")),
    Case("gelu_tanh", lambda x: ops.gelu(x, approximate="tanh"), [R.standard_normal(5)], ("gelu",),
         ("GeLU", "GeLUGrad")),
    Case("silu", lambda x: ops.silu(x), [R.standard_normal(5)], ("silu",), ("SiLU",)),
    Case("softmax", lambda x: ops.softmax(x, 0), [R.standard_normal((3, 2))], ("softmax",), ("Softmax",)),
    Case("log_softmax", lambda x: ops.log_softmax(x), [R.standard_normal((2, 4))], ("log_softmax",),
         ("Softmax",)),
    # reductions
    Case("sum", lambda x: (ops.sum(x), ops.sum(x, (0, 2), keepdim=True), ops.sum(x, 1)),
         [R.standard_normal((2, 3, 2))], ("sum",), ("ReduceSum",)),
    Case("mean", lambda x: (ops.mean(x), ops.mean(x, 1, True), ops.mean(x, (0, 1))),
         [R.standard_normal((2, 3, 2))], ("mean",), ("ReduceMean",)),
    Case("max", lambda x: (ops.max(x)[0], ops.max(x, 1)[0], ops.amax(x, 0, keepdims=True)),
         [_distinct((3, 4))], ("max", "amax"), ("ArgMaxWithValue",)),
    Case("min", lambda x: (ops.min(x)[0], ops.min(x, 0, keepdims=True)[0], ops.amin(x, 1)),
         [_distinct((3, 4))], ("min", "amin"), ("ArgMinWithValue",)),
    Case("var_std", lambda x: (ops.var(x), ops.var(x, 1, ddof=1, keepdims=True), ops.std(x, (0, 2))),
         [R.standard_normal((2, 3, 2))], ("var", "std"), ("ReduceMean", "ReduceSum", "Sqrt")),
    # shapes
    Case("reshape", lambda x: ops.reshape(x, (3, 2)), [R.standard_normal((2, 3))], ("reshape",), ("Reshape",)),
    Case("transpose", lambda x: (ops.transpose(x, (2, 0, 1)), ops.permute(x, (1, -1, 0))),
         [R.standard_normal((2, 3, 2))], ("transpose", "permute"), ("Transpose",)),
    Case("expand_squeeze", lambda x: (ops.expand_dims(x, 1), ops.squeeze(ops.reshape(x, (2, 1, 3)), 1),
                                      ops.unsqueeze(x, -1)),
         [R.standard_normal((2, 3))], ("expand_dims", "squeeze", "unsqueeze"), ("Reshape",)),
    Case("flatten", lambda x: ops.flatten(x), [R.standard_normal((2, 3, 2))], ("flatten",), ()),
    Case("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), [R.standard_normal((3, 1))],
         ("broadcast_to",), ("BroadcastTo",)),
    Case("tile", lambda x: ops.tile(x, (2, 1, 3)), [R.standard_normal((2, 2))], ("tile",), ("Tile",)),
    Case("concat", lambda x, y: (ops.concat((x, y), 1), ops.cat((y, x))),
         [R.standard_normal((2, 3)), R.standard_normal((2, 3))], ("concat", "cat"), ("Concat",)),
    Case("stack", lambda x, y: ops.stack((x, y), 1), [R.standard_normal((2, 3)), R.standard_normal((2, 3))],
         ("stack",), ("Stack",)),
    Case("split", lambda x: ops.split(x, (1, 3), 1), [R.standard_normal((2, 4))], ("split",), ("Split",)),
    Case("gather", lambda x: ops.gather(x, _with_device(_labels([2, 0, 2, 1]), x), 1),
         [R.standard_normal((2, 3))], ("gather",), ("Gather", "GatherGrad")),
    Case("getitem", lambda x: (x[1:, ::2], x[_with_device(_labels([0, 2, 0]), x)]),
         [R.standard_normal((3, 4))], (), ("Getitem", "GetitemGrad")),
    Case("setitem", lambda x, v: _setitem(x, v), [R.standard_normal((3, 4)), R.standard_normal(4)], (),
         ("Setitem", "Copy")),
    # selection, conversion
    Case("select", lambda x, y: (ops.select(x > 0, x, y), ops.where(y > 0, x * y, 1.5)),
         [_away(5), _away(5)], ("select", "where"), ("Select",)),
    Case("cast_copy", lambda x: (ops.cast(x * x, F64), ops.copy(x)), [R.standard_normal(4)],
         ("cast", "copy"), ("Cast", "Copy")),
    # linear algebra, layers
    Case("matmul", lambda a, b, v: (ops.matmul(a, b), ops.matmul(v, b), ops.matmul(a, v),
                                    ops.matmul(ops.reshape(b, (2, 2, 2)), b[:2])),
         [R.standard_normal((3, 4)), R.standard_normal((4, 2)), R.standard_normal(4)], ("matmul",), ("MatMul",)),
    Case("matmul_transposed", lambda a, b: ops.MatMul(True, True)(a, b),
         [R.standard_normal((4, 3)), R.standard_normal((2, 4))], (), ("MatMul",)),
    Case("bias_add", lambda x, b: ops.bias_add(x, b), [R.standard_normal((2, 3, 2)), R.standard_normal(3)],
         ("bias_add",), ("BiasAdd",)),
    Case("dense", lambda x, w, b: (ops.dense(x, w, b), ops.dense(ops.reshape(x, (1, 2, 3)), w), ops.dense(x[0], w)),
         [R.standard_normal((2, 3)), R.standard_normal((4, 3)), R.standard_normal(4)], ("dense",), ("Dense",)),
    Case("dense_relu", lambda x, w, b: dense_relu(x, w, b),
         [np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.1]]), np.array([[0.9, 0.2, -0.4], [-0.7, 0.1, 0.5]]),
          np.array([0.1, -0.2])], (), ("DenseReLU", "ReluGrad")),
    Case("conv2d", lambda x, w, b: ops.conv2d(x, w, b, stride=2, pad_mode="pad", padding=1),
         [_CONV_X, R.standard_normal((3, 4, 3, 3)), R.standard_normal(3)], ("conv2d",), ("Conv2D", "Conv2DGrad")),
    Case("conv2d_groups", lambda x, w: ops.conv2d(x, w, pad_mode="same", dilation=2, groups=2),
         [_CONV_X, R.standard_normal((2, 2, 2, 2))], ("conv2d",), ("Conv2D", "Conv2DGrad")),
    Case("max_pool2d", lambda x: (ops.max_pool2d(x, 2, 2, padding=1),
                                  ops.max_pool2d(x, 3, 2, ceil_mode=True, return_indices=True)[0]),
         [_POOL_X], ("max_pool2d",), ("MaxPool", "MaxPoolWithArgmax", "MaxPoolGrad", "MaxPoolPick")),
    Case("avg_pool2d", lambda x: (ops.avg_pool2d(x, 2, 2, padding=1, count_include_pad=False),
                                  ops.avg_pool2d(x, 3, 2, ceil_mode=True)),
         [R.standard_normal((2, 2, 5, 5))], ("avg_pool2d",), ("AvgPool", "AvgPoolGrad")),
    Case("batch_norm_train", lambda x, g, b: _batch_norm(x, g, b, True),
         [R.standard_normal((4, 3, 2)), _positive(3), R.standard_normal(3)], ("batch_norm",), ("BatchNorm",)),
    Case("batch_norm_infer", lambda x, g, b, m, v: ops.batch_norm(x, m, v, g, b, False),
         [R.standard_normal((2, 3, 2, 2)), _positive(3), R.standard_normal(3), R.standard_normal(3),
          _positive(3)], ("batch_norm",), ("BatchNormInfer",)),
    Case("layer_norm", lambda x, g, b: ops.layer_norm(x, (2, 3), g, b),
         [R.standard_normal((2, 2, 3)), _positive((2, 3)), R.standard_normal((2, 3))], ("layer_norm",),
         ("LayerNorm",)),
    Case("embedding", lambda t: ops.embedding(_with_device(_labels([[1, 3], [1, 0]]), t), t),
         [R.standard_normal((4, 3))], ("embedding",), ("Embedding", "EmbeddingGrad")),
    # losses
    Case("cross_entropy", lambda x: ops.cross_entropy(x, _with_device(_labels([2, 0, 1]), x)),
         [R.standard_normal((3, 4))], ("cross_entropy",), ("SoftmaxCrossEntropy",)),
    # Labels, class weights and pos_weight get no gradient (as in MindSpore): constants here.
    Case("cross_entropy_options", lambda x: (
        ops.cross_entropy(x, _with_device(_labels([2, -100, 1]), x), _const(_CE_WEIGHT, x), reduction="sum",
                          label_smoothing=0.1),
        ops.cross_entropy(x, _const(_CE_PROBS, x), reduction="none")),
        [R.standard_normal((3, 4))], ("cross_entropy",), ("SoftmaxCrossEntropy",)),
    Case("cross_entropy_spatial", lambda x: ops.cross_entropy(x, _with_device(_labels([[0, 2], [1, 1]]), x)),
         [R.standard_normal((2, 3, 2))], ("cross_entropy",), ("SoftmaxCrossEntropy",)),
    Case("bce_with_logits", lambda x, y: ops.binary_cross_entropy_with_logits(x, y),
         [R.standard_normal((2, 3)), R.uniform(0, 1, (2, 3))], ("binary_cross_entropy_with_logits",),
         ("BCEWithLogitsLoss",)),
    Case("bce_with_logits_weights", lambda x, y: (
        ops.binary_cross_entropy_with_logits(x, y, _const(_BCE_WEIGHT, x), _const(_BCE_POS_WEIGHT, x),
                                             reduction="sum"),
        ops.binary_cross_entropy_with_logits(x, y, reduction="none")),
        [R.standard_normal((2, 3)), R.uniform(0, 1, (2, 3))],
        ("binary_cross_entropy_with_logits",), ("BCEWithLogitsLoss",)),
    Case("mse_loss", lambda x, y: (ops.mse_loss(x, y), ops.mse_loss(x, y, "none")),
         [R.standard_normal((2, 3)), R.standard_normal(3)], ("mse_loss",), ()),
    Case("l1_loss", lambda x, y: ops.l1_loss(x, y, "sum"), [_away((2, 3)), np.zeros(3)], ("l1_loss",), ()),
    # The global norm is summed in float32: differences over a wider step, to a looser tolerance.
    Case("clip_by_global_norm", lambda x, y: ops.clip_by_global_norm((x, y), 0.5),
         [R.standard_normal((2, 3)), R.standard_normal(2)], ("clip_by_global_norm",), (), rtol=2e-3,
         step=1e-3),
    # random: a fixed seed draws the same mask for every evaluation
    Case("dropout", _seeded(lambda x: ops.dropout(x, 0.3)), [R.standard_normal((4, 5))], ("dropout",),
         ("Dropout",)),
    Case("dropout2d", _seeded(lambda x: ops.dropout2d(x, 0.5)), [R.standard_normal((2, 4, 2, 2))],
         ("dropout2d",), ("Dropout2D",)),
    # complex parts: a complex intermediate between real inputs and a real output
    Case("complex_parts", lambda x: ops.real(ops.cast(x, ms.complex128) * ms.Tensor(
        np.array([2 - 1j]), device=x.device)) * ops.conj(x) * x + ops.imag(x),
        [R.standard_normal((2, 3))], ("real", "imag", "conj"), ("Real", "Imag", "Conj")),
    # activations of the second batch: inputs away from each kink (0, and +-3 for the hard ones)
    Case("leaky_relu", lambda x: ops.leaky_relu(x, 0.1), [_away(6)], ("leaky_relu",), ("LeakyReLU",)),
    Case("prelu", lambda x, w: (ops.prelu(x, w), ops.prelu(x[0, 0], w[:1])),
         [_away((2, 3, 2)), R.uniform(0.1, 0.5, 3)], ("prelu",), ("Select",)),
    Case("elu", lambda x: (ops.elu(x), ops.elu(x, 0.7)), [_away(6)], ("elu",), ("Elu",)),
    Case("mish", lambda x: ops.mish(x), [R.standard_normal(6)], ("mish",), ("Mish", "Softplus")),
    Case("hardswish_hardsigmoid", lambda x: (ops.hardswish(x), ops.hardsigmoid(x)), [_HARD_X],
         ("hardswish", "hardsigmoid"), ("HSwish", "HSigmoid")),
    # beta * x crosses the threshold at x = 1.5: inputs on both sides, away from it
    Case("softplus", lambda x: (ops.softplus(x), ops.softplus(x, 2, 3)), [np.array([-2.0, -0.4, 0.3, 1.2, 1.9, 2.5])],
         ("softplus",), ("Softplus",)),
    Case("softsign", lambda x: ops.softsign(x), [_away(6)], ("softsign",), ("Softsign",)),
    # elementwise math of the second batch
    Case("sin_cos", lambda x: (ops.sin(x), ops.cos(x * 2)), [R.standard_normal(5)], ("sin", "cos"), ("Sin", "Cos")),
    Case("reciprocal", lambda x: ops.reciprocal(x), [_away(5, 0.5, 1.5)], ("reciprocal",), ("Reciprocal",)),
    Case("log1p", lambda x: ops.log1p(x), [R.uniform(-0.5, 2.0, 5)], ("log1p",), ("Log1p",)),
    Case("erf", lambda x: ops.erf(x), [R.standard_normal(5)], ("erf",), ("Erf",)),
    # losses of the second batch; labels and class weights are constants, as in MindSpore
    Case("binary_cross_entropy", lambda p, y: (
        ops.binary_cross_entropy(p, y), ops.binary_cross_entropy(p, y, _const(_BCE_WEIGHT, p), reduction="none")),
        [R.uniform(0.1, 0.9, (2, 3)), R.uniform(0, 1, (2, 3))], ("binary_cross_entropy",), ("Log",)),
    Case("nll_loss", lambda x: (
        ops.nll_loss(x, _with_device(_labels([2, 0, 1]), x)),
        ops.nll_loss(x, _with_device(_labels([2, -100, 3]), x), _const(_CE_WEIGHT, x), reduction="sum",
                     label_smoothing=0.2),
        ops.nll_loss(x[0], _with_device(ms.Tensor(np.int64(1)), x), reduction="none")),
        [R.standard_normal((3, 4))], ("nll_loss",), ("ReduceSum",)),
    Case("nll_loss_spatial", lambda x: ops.nll_loss(x, _with_device(_labels([[0, 2], [1, 1]]), x), reduction="none"),
         [R.standard_normal((2, 3, 2))], ("nll_loss",), ("ReduceSum",)),
    Case("smooth_l1_huber", lambda x, y: (ops.smooth_l1_loss(x, y, 0.9), ops.huber_loss(x, y, "sum", 0.8)),
         [_L1_TARGET + _L1_D, _L1_TARGET], ("smooth_l1_loss", "huber_loss"), ("Select", "Abs")),
    Case("huber_broadcast", lambda x, y: ops.huber_loss(x, y, "none"), [_L1_TARGET[1] + _L1_D, _L1_TARGET[1]],
         ("huber_loss",), ("Select",)),
    Case("kl_div", lambda x, y: (ops.kl_div(x, y), ops.kl_div(x, y, "batchmean"), ops.kl_div(x, y, "none", True)),
         [R.standard_normal((2, 3)), _positive((2, 3), 0.1, 1.0)], ("kl_div",), ("Log", "Exp")),
    # labels of 0 contribute 0 * log(0) = 0: constants here (the log has no derivative there)
    Case("kl_div_zero_labels", lambda x: ops.kl_div(x, _const(np.array([[0.0, 0.6, 0.4], [0.5, 0.0, 0.5]]), x), "sum"),
         [R.standard_normal((2, 3))], ("kl_div",), ("Mul",)),
    Case("margin_ranking_loss", lambda a, b: (
        ops.margin_ranking_loss(a, b, _const(np.array([1.0, -1.0, 1.0, -1.0]), a), 0.1),
        ops.margin_ranking_loss(a, b, _const(np.array([-1.0, -1.0, 1.0, 1.0]), a), reduction="none")),
        [np.array([0.3, 1.2, -0.8, 0.9]), np.array([1.1, 0.2, 0.4, -0.6])], ("margin_ranking_loss",), ("ReLU",)),
    # layers of the second batch
    Case("conv1d", lambda x, w, b: (ops.conv1d(x, w, b, stride=2, pad_mode="pad", padding=1),
                                    ops.conv1d(x, w[:2, :2, :2], pad_mode="same", dilation=2, groups=2)),
         [R.standard_normal((2, 4, 7)), R.standard_normal((3, 4, 3)), R.standard_normal(3)], ("conv1d",),
         ("Conv2D", "Conv2DGrad")),
    Case("conv_transpose2d", lambda x, w: conv_transpose2d_padded(x, w, (2, 2), (1, 1), (1, 0, 1, 0), 1, (6, 6),
                                                                  "Conv2dTranspose"),
         [R.standard_normal((2, 3, 3, 3)), R.standard_normal((3, 2, 3, 3))], (),
         ("Conv2DTranspose", "Conv2D", "Conv2DGrad")),
    Case("avg_pool1d", lambda x: (ops.avg_pool1d(x, 2, 2), ops.avg_pool1d(x, 3, 2, 1, True, False)),
         [R.standard_normal((2, 3, 7))], ("avg_pool1d",), ("AvgPool", "AvgPoolGrad")),
    Case("pad", lambda x: (ops.pad(x, (1, 2, 0, 1), value=0.5), ops.pad(x, (2, 1), "reflect"),
                           ops.pad(x, (1, 2, 1, 1), "replicate"), ops.pad(x, (3, 1, 2, 0), "circular")),
         [R.standard_normal((2, 3, 4))], ("pad",), ("Pad", "PadGrad")),
    Case("interpolate", lambda x, y: (
        ops.interpolate(x, scale_factor=2.0), ops.interpolate(x, size=7, mode="linear"),
        ops.interpolate(x, size=4, mode="linear", align_corners=True), ops.interpolate(x, size=3, mode="area"),
        ops.interpolate(y, size=(3, 5), mode="bilinear"), ops.interpolate(y, scale_factor=(1.5, 0.5))),
        [R.standard_normal((2, 2, 5)), R.standard_normal((1, 2, 4, 3))], ("interpolate",),
        ("Resample", "ResampleGrad")),
    Case("adaptive_avg_pool2d", lambda x: (ops.adaptive_avg_pool2d(x, (2, 3)), ops.adaptive_avg_pool2d(x[0], 3)),
         [R.standard_normal((2, 2, 5, 4))], ("adaptive_avg_pool2d",), ("Resample", "ResampleGrad")),
    # attention's ops
    Case("masked_fill", lambda x, v: (ops.masked_fill(x, _const(_MASK, x) > 0, 0.5),
                                      ops.masked_fill(x * x, _const(_MASK[0], x) > 0, ops.reshape(v, ()))),
         [R.standard_normal((2, 3)), R.standard_normal(1)], ("masked_fill",), ("Select",)),
    Case("bmm", lambda a, b: (ops.bmm(a, b), ops.bmm(a[:1], b)),
         [R.standard_normal((2, 3, 4)), R.standard_normal((2, 4, 2))], ("bmm",), ("MatMul",)),
    Case("swapaxes", lambda x: ops.swapaxes(x, 0, -1), [R.standard_normal((2, 3, 4))], ("swapaxes",),
         ("Transpose",)),
    Case("tril_triu", lambda x: (ops.tril(x), ops.triu(x, 1), ops.tril(x * x, -1)), [R.standard_normal((2, 3, 4))],
         ("tril", "triu"), ("Tril", "Triu")),
    # shapes, orders and gathers of the second batch
    Case("chunk", lambda x: ops.chunk(x, 3, 1), [R.standard_normal((2, 5))], ("chunk",), ("Split",)),
    Case("repeat", lambda x: (x.repeat(2, 1), x.repeat((1, 3), 0), x.repeat(2)), [R.standard_normal((2, 3))], (),
         ("Repeat",)),
    Case("cumsum", lambda x: (ops.cumsum(x, 1), ops.cumsum(x * x, 0)), [R.standard_normal((3, 4))], ("cumsum",),
         ("CumSum",)),
    Case("sort_topk", lambda x: (ops.sort(x)[0], ops.sort(x, 0, True)[0], ops.topk(x, 2)[0],
                                 ops.topk(x, 2, 0, largest=False)[0]),
         [_distinct((3, 4))], ("sort", "topk"), ("Sort", "TopK", "GatherElementsGrad")),
    Case("gather_elements", lambda x: ops.gather_elements(x, 1, _with_device(_labels([[0, 2, 2], [-1, 0, 1]]), x)),
         [R.standard_normal((2, 3))], ("gather_elements",), ("GatherElements", "GatherElementsGrad")),
    Case("logsumexp", lambda x: (ops.logsumexp(x, 1), ops.logsumexp(x, (0, 2), True)),
         [R.standard_normal((2, 3, 2))], ("logsumexp",), ("Exp", "Log", "ReduceSum")),
    # vector norms 2, 1, inf, -inf and p = 3; matrix norms 'fro', inf and 1 (distinct magnitudes: no ties)
    Case("norm", lambda x: (ops.norm(x), ops.norm(x, 1, 1), ops.norm(x, math.inf, 0), ops.norm(x, -math.inf, 1),
                            ops.norm(x, 3.0, 1, True), ops.norm(x, "fro", (0, 1)), ops.norm(x, math.inf),
                            ops.norm(x, 1)),
         [_NORM_X], ("norm",), ("Sqrt", "Abs", "Pow")),
    Case("prod", lambda x: (ops.prod(x), ops.prod(x, 1), ops.prod(x, (0, 2), True)),
         [_away((2, 3, 2), 0.5, 1.5)], ("prod",), ("ReduceProd",)),
    # a zero among the factors: its gradient is the product of the others, not NaN (no division)
    Case("prod_with_zero", lambda x: ops.prod(x, 1), [np.array([[0.0, 1.5, -0.8], [0.7, 1.2, 0.9]])], ("prod",),
         ("ReduceProd",)),
    # adaptive pools: uneven, overlapping windows (distinct values: one maximum per window); exp before a pool
    # makes the seed of its gradient's gradient depend on the input, so AdaptiveMaxPoolPick is recorded
    Case("adaptive_pools", lambda x, y: (ops.adaptive_max_pool2d(x, (2, 3)), ops.adaptive_max_pool2d(x[0], (None, 5)),
                                         ops.adaptive_max_pool1d(ops.exp(y), 3), ops.adaptive_avg_pool1d(y, 2)),
         [_distinct((2, 2, 5, 4)), _distinct((2, 3, 7))],
         ("adaptive_max_pool2d", "adaptive_max_pool1d", "adaptive_avg_pool1d"),
         ("AdaptiveMaxPool2D", "AdaptiveMaxPool2DGrad", "AdaptiveMaxPoolPick", "Resample", "ResampleGrad")),
    # 3-D: conv3d is Conv2D over depth windows folded into channels; the pools are 2-D pools per plane, then along depth
    Case("conv3d", lambda x, w, b: ops.conv3d(x, w, b, (2, 1, 1), "pad", (1, 0, 1), (1, 2, 1), 2),
         [R.standard_normal((1, 4, 4, 5, 3)), R.standard_normal((2, 2, 2, 2, 2)), R.standard_normal(2)], ("conv3d",),
         ("DepthWindows", "DepthWindowsAdd", "Conv2D", "Conv2DGrad")),
    Case("pools3d", lambda x: (ops.max_pool3d(x, 2, 2, padding=1),
                               ops.max_pool3d(x, (2, 3, 2), 2, ceil_mode=True, return_indices=True)[0],
                               ops.avg_pool3d(x, 2, 1, 1, count_include_pad=False)),
         [_distinct((1, 2, 4, 5, 4))], ("max_pool3d", "avg_pool3d"),
         ("MaxPool", "MaxPoolWithArgmax", "MaxPoolGrad", "MaxPoolPick", "AvgPool", "AvgPoolGrad")),
    Case("group_norm", lambda x, w, b: ops.group_norm(x, 2, w, b, 1e-3),
         [R.standard_normal((2, 4, 3)), R.standard_normal(4), R.standard_normal(4)], ("group_norm",)),
]


def _setitem(x, v):
    y = x.copy()
    y[1] = v * v
    return y


def _batch_norm(x, gamma, beta, training):
    mean = ms.Parameter(ms.Tensor(np.zeros(3), F64, device=x.device), name="mean", requires_grad=False)
    var = ms.Parameter(ms.Tensor(np.ones(3), F64, device=x.device), name="var", requires_grad=False)
    return ops.batch_norm(x, mean, var, gamma, beta, training)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_higher_orders(case, device):
    seen = set()

    def observe(op, inputs, outputs, attrs):
        if hooks.recording and any(isinstance(x, Tensor) and x._node is not None for x in inputs):
            seen.add(op.name)

    before = hooks.observers
    hooks.observers = before + (observe,)
    try:
        check_orders(case.fn, case.arrays, device, case.order, case.rtol, step=case.step)
    finally:
        hooks.observers = before
    missing = set(case.ops) - seen
    assert not missing, f"the nested gradient of {case.id!r} did not record {sorted(missing)}"


# Public functions of gpucell.ops that no case above differentiates, and why.
EXCLUDED_FUNCTIONS = {
    "floor_divide": "piecewise constant: its gradient is zero wherever it exists (no backward)",
    "sign": "piecewise constant: its gradient is zero wherever it exists (no backward)",
    "floor": "piecewise constant: its gradient is zero wherever it exists (no backward)",
    "ceil": "piecewise constant: its gradient is zero wherever it exists (no backward)",
    "round": "piecewise constant: its gradient is zero wherever it exists (no backward)",
    "argsort": "integer result",
    "isnan": "Bool result", "isinf": "Bool result",
    "argmax": "integer result", "argmin": "integer result",
    "equal": "Bool result", "ge": "Bool result", "greater": "Bool result", "greater_equal": "Bool result",
    "gt": "Bool result", "le": "Bool result", "less": "Bool result", "less_equal": "Bool result",
    "lt": "Bool result", "not_equal": "Bool result", "logical_and": "Bool result",
    "logical_not": "Bool result", "logical_or": "Bool result", "logical_xor": "Bool result",
    "fill": "no Tensor input", "full": "no Tensor input", "zeros": "no Tensor input", "ones": "no Tensor input",
    "arange": "no Tensor input",
    "eye": "no Tensor input", "linspace": "no Tensor input (its start and end are numbers)",
    "full_like": "a constant of the input's shape (no gradient)",
    "zeros_like": "a constant of the input's shape (no gradient)",
    "ones_like": "a constant of the input's shape (no gradient)",
    "assign": "an in-place write into a Parameter (no gradient, as MindSpore's Assign)",
    "assign_add": "an in-place write into a Parameter (no gradient)",
    "assign_sub": "an in-place write into a Parameter (no gradient)",
    "shape": "returns a tuple of ints", "rank": "returns an int", "size": "returns an int",
    "nonzero": "integer indices", "one_hot": "integer indices in, a constant out",
    "rand": "random samples of a given shape (no Tensor input)", "randn": "random samples (no Tensor input)",
    "uniform": "random samples (no differentiable input)", "standard_normal": "random samples (no Tensor input)",
    "normal": "random samples; the mean and stddev are not differentiated (as MindSpore's normal)",
    "rand_like": "random samples shaped like the input (no gradient)",
    "randn_like": "random samples shaped like the input (no gradient)", "randint": "integer random samples",
    "bernoulli": "0 / 1 samples: a constant to autograd (MindSpore's Bernoulli has no gradient)",
    "grad": "the gradient transform itself (ms.grad): every case here nests it",
    "value_and_grad": "the gradient transform itself (ms.value_and_grad), as grad",
    "stop_gradient": "a constant to autograd by definition, so finite differences of the function "
                     "disagree on purpose; test_stop_gradient_at_every_order checks it",
}
# Ops of the registry without a case, and why: the backward of each is never recorded under an
# enclosing transform, because the op that calls it switches to differentiable ops there.
RUN_AS_OPS_WHEN_NESTED = {
    "DenseGrad": "Dense", "LayerNormGrad": "LayerNorm", "BatchNormGrad": "BatchNorm",
    "BatchNormInferGrad": "BatchNormInfer", "SoftmaxCrossEntropyGrad": "SoftmaxCrossEntropy",
    "BCEWithLogitsLossGrad": "BCEWithLogitsLoss", "ReduceProdGrad": "ReduceProd",
}


def _registry() -> dict:
    """Every Op constant the modules of gpucell.ops define, by name."""
    found = {}
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"gpucell.ops.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Op):
                found[value.name] = value
    return found


def test_every_op_has_a_case():
    covered_functions = {name for case in CASES for name in case.covers}
    functions = [name for name in ops.__all__ if name[0].islower()]
    unknown = [n for n in functions if n not in covered_functions and n not in EXCLUDED_FUNCTIONS]
    assert not unknown, f"gpucell.ops functions with no higher-order case and no reason to skip: {unknown}"
    covered_ops = {name for case in CASES for name in case.ops}
    registry = _registry()
    for name, op in registry.items():
        if not op.differentiable:
            # No backward claims "no gradient": never a gradient op, which would then be zero.
            # (SoftmaxCrossEntropyAndGrad exists only in jit plans, built by fusion, never dispatched.)
            assert not name.endswith("Grad") or name == "SoftmaxCrossEntropyAndGrad", \
                f"the gradient op {name!r} states no backward of its own"
            continue
        refuses = op.backward.__qualname__.startswith("no_higher_order")
        if refuses:
            assert name in RUN_AS_OPS_WHEN_NESTED, f"{name!r} refuses higher orders; say why here"
            continue
        assert name in covered_ops, f"the differentiable op {name!r} has no higher-order case"


# -- analytic values, orders, positions, weights ---------------------------------------------
def test_grad_of_grad_of_cube_to_order_three(device):
    f = lambda x: (x * x * x).sum()  # noqa: E731
    x = T([3.0], device, ms.float32)
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), [27.0])
    np.testing.assert_allclose(ms.grad(ms.grad(f))(x).asnumpy(), [18.0])
    np.testing.assert_allclose(ms.grad(ms.grad(ms.grad(f)))(x).asnumpy(), [6.0])
    np.testing.assert_allclose(ms.grad(ms.grad(ms.grad(ms.grad(f))))(x).asnumpy(), [0.0])
    assert not hooks.recording and node.saved_count() == 0


def test_analytic_second_and_third_derivatives(device):
    x = np.array([0.3, -0.7, 1.1])
    cases = [  # f, f'', f'''
        (lambda t: ops.exp(t * 2), lambda a: 4 * np.exp(2 * a), lambda a: 8 * np.exp(2 * a)),
        (lambda t: ops.tanh(t), lambda a: -2 * np.tanh(a) * (1 - np.tanh(a) ** 2),
         lambda a: (6 * np.tanh(a) ** 2 - 2) * (1 - np.tanh(a) ** 2)),
        (lambda t: ops.log(t * t + 1), lambda a: 2 * (1 - a * a) / (1 + a * a) ** 2,
         lambda a: 4 * a * (a * a - 3) / (1 + a * a) ** 3),
        (lambda t: ops.sigmoid(t), lambda a: _s(a) * (1 - _s(a)) * (1 - 2 * _s(a)),
         lambda a: _s(a) * (1 - _s(a)) * (1 - 6 * _s(a) + 6 * _s(a) ** 2)),
    ]
    for f, second, third in cases:
        g1 = ms.grad(lambda t: f(t).sum())
        g2 = ms.grad(lambda t: g1(t).sum())
        g3 = ms.grad(lambda t: g2(t).sum())
        np.testing.assert_allclose(g2(T(x, device)).asnumpy(), second(x), rtol=1e-10)
        np.testing.assert_allclose(g3(T(x, device)).asnumpy(), third(x), rtol=1e-10)


def _s(a):
    return 1 / (1 + np.exp(-a))


def test_mixed_partials(device):
    # f = x^2 y^3 + exp(x y): d2f/dxdy = 6 x y^2 + exp(xy) (1 + xy), either way round
    f = lambda x, y: (x * x * y * y * y + ops.exp(x * y)).sum()  # noqa: E731
    a, b = np.array([0.5, -1.0]), np.array([1.5, 0.25])
    x, y = T(a, device), T(b, device)
    expected = 6 * a * b * b + np.exp(a * b) * (1 + a * b)
    dxdy = ms.grad(lambda x, y: ms.grad(f, 1)(x, y).sum(), 0)(x, y)
    dydx = ms.grad(lambda x, y: ms.grad(f, 0)(x, y).sum(), 1)(x, y)
    np.testing.assert_allclose(dxdy.asnumpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(dydx.asnumpy(), expected, rtol=1e-12)
    # The whole Hessian row block: grad of both positions of grad of both positions.
    hx, hy = ms.grad(lambda x, y: sum(g.sum() for g in ms.grad(f, (0, 1))(x, y)), (0, 1))(x, y)
    dxx = 2 * b ** 3 + b * b * np.exp(a * b)
    dyy = 6 * a * a * b + a * a * np.exp(a * b)
    np.testing.assert_allclose(hx.asnumpy(), dxx + expected, rtol=1e-12)
    np.testing.assert_allclose(hy.asnumpy(), dyy + expected, rtol=1e-12)


def test_grad_operation_and_value_and_grad_nest(device):
    f = lambda x: (x * x * x * x).sum()  # noqa: E731
    x = T([0.5, 2.0], device)
    a = x.asnumpy()
    inner = ops.GradOperation()(f)
    second = ops.GradOperation(get_all=True)(lambda t: inner(t).sum())(x)
    np.testing.assert_allclose(second[0].asnumpy(), 12 * a * a)
    # value_and_grad outside: the value is the first derivative's sum, the gradient the second
    value, g2 = ms.value_and_grad(lambda t: ms.grad(f)(t).sum())(x)
    np.testing.assert_allclose(float(value), (4 * a ** 3).sum())
    np.testing.assert_allclose(g2.asnumpy(), 12 * a * a)
    # value_and_grad inside: its value stays differentiable by the enclosing transform
    g = ms.grad(lambda t: ms.value_and_grad(f)(t)[0] + ms.value_and_grad(f)(t)[1].sum())(x)
    np.testing.assert_allclose(g.asnumpy(), 4 * a ** 3 + 12 * a * a)
    # sens_param: the sens is an input of the inner transform, differentiable too
    sens_grad = ops.GradOperation(sens_param=True)
    gs = ms.grad(lambda s: sens_grad(lambda t: t * t)(x, s).sum())(T([1.0, 1.0], device))
    np.testing.assert_allclose(gs.asnumpy(), 2 * a)


def test_has_aux_nests(device):
    def f(x):
        return (x * x * x).sum(), x * 2

    x = T([1.0, -2.0], device)
    (g, aux) = ms.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g.asnumpy(), [3.0, 12.0])
    np.testing.assert_allclose(aux[0].asnumpy(), [2.0, -4.0])

    def outer(x):
        g, aux = ms.grad(f, has_aux=True)(x)
        return g.sum(), aux[0]

    (g2, aux2) = ms.grad(outer, has_aux=True)(x)
    np.testing.assert_allclose(g2.asnumpy(), [6.0, -12.0])
    np.testing.assert_allclose(aux2[0].asnumpy(), [2.0, -4.0])
    assert aux2[0]._node is None and g2._node is None  # the outermost results leave no graph
    (value, aux3), g3 = ms.value_and_grad(outer, has_aux=True)(x)
    np.testing.assert_allclose(float(value), 15.0)  # sum(3 x^2)
    np.testing.assert_allclose(g3.asnumpy(), [6.0, -12.0])
    np.testing.assert_allclose(aux3.asnumpy(), [2.0, -4.0])


class Small(nn.Cell):
    def __init__(self):
        super().__init__()
        r = rng(3)
        self.w1 = ms.Parameter(ms.Tensor(r.standard_normal((4, 3)), F64), name="w1")
        self.b1 = ms.Parameter(ms.Tensor(r.standard_normal(4), F64), name="b1")
        self.w2 = ms.Parameter(ms.Tensor(r.standard_normal((1, 4)), F64), name="w2")
        self.b2 = ms.Parameter(ms.Tensor(r.standard_normal(1), F64), name="b2")

    def construct(self, x):
        return ops.dense(ops.tanh(ops.dense(x, self.w1, self.b1)), self.w2, self.b2)


def _net(device):
    net = Small()
    for p in net.get_parameters():
        p.move_to(device)
    return net


def _finite_differences(loss, params, step=1e-6) -> list:
    grads = []
    for p in params:
        base = p.asnumpy().copy()
        g = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                moved = base.copy()
                moved[i] += sign * step
                p.set_data(ms.Tensor(moved, F64, device=p.device))
                g[i] += sign * float(loss()) / (2 * step)
        p.set_data(ms.Tensor(base, F64, device=p.device))
        grads.append(g)
    return grads


def test_weights_second_order(device):
    net = _net(device)
    params = net.trainable_params()
    x = T(rng(4).standard_normal((5, 3)), device)

    def loss():
        return (net(x) ** 2).sum()

    def grad_norm():  # ||d loss / d weights||^2, differentiated again with respect to the weights
        grads = ms.grad(lambda: loss(), None, params)()
        return sum((g * g).sum() for g in grads)

    got = ms.grad(grad_norm, None, params)()
    for g, fd in zip(got, _finite_differences(grad_norm, params)):
        np.testing.assert_allclose(g.asnumpy(), fd, rtol=1e-6, atol=1e-8)
    # The same weights in both transforms: the inner leaves stand for the outer ones.
    hvp = ms.grad(lambda: ms.grad(lambda: loss(), None, params[0])().sum(), None, params[0])()
    fd = _finite_differences(lambda: ms.grad(lambda: loss(), None, params[0])().sum(), [params[0]])[0]
    np.testing.assert_allclose(hvp.asnumpy(), fd, rtol=1e-6, atol=1e-8)


class MLP(nn.Cell):
    """3-5-1, ReLU fused into the first Dense (DenseReLU), tanh after it, float64 weights."""

    def __init__(self, device):
        super().__init__()
        r = rng(5)

        self.hidden = nn.Dense(3, 5, activation="relu")
        self.out = nn.Dense(5, 1)
        for layer in (self.hidden, self.out):  # nn.Dense makes float32 weights: swap in float64 ones
            for name in ("weight", "bias"):
                shape = getattr(layer, name).shape
                setattr(layer, name, ms.Parameter(ms.Tensor(r.standard_normal(shape), F64, device=device),
                                                  name=name))

    def construct(self, x):
        return self.out(ops.tanh(self.hidden(x)))


def test_gradient_penalty_on_an_mlp(device):
    net = MLP(device)
    params = net.trainable_params()
    assert all(p.dtype == F64 for p in params)
    x = T(rng(6).standard_normal((4, 3)), device)
    y = T(rng(7).standard_normal((4, 1)), device)

    def loss_fn(x, y):
        out = net(x)
        gx = ms.grad(lambda z: net(z).sum())(x)  # d output / d input, for every sample
        return ((out - y) ** 2).mean() + 0.5 * (gx * gx).sum()

    value, grads = ms.value_and_grad(loss_fn, None, params)(x, y)
    expected = _finite_differences(lambda: loss_fn(x, y), params)
    np.testing.assert_allclose(float(value), float(loss_fn(x, y)), rtol=1e-12)
    for g, fd, p in zip(grads, expected, params):
        np.testing.assert_allclose(g.asnumpy(), fd, rtol=1e-6, atol=1e-8, err_msg=p.name)
    assert not hooks.recording and node.saved_count() == 0


# -- what each transform's leaves are ----------------------------------------------------------
def test_inner_transform_does_not_touch_outer_gradients(device):
    w = ms.Parameter(T([2.0], device), name="w")

    def f(x):
        # the inner transform differentiates x only; w belongs to the outer one
        gx = ms.grad(lambda z: (z * z * w).sum())(x)  # 2 x w
        return (gx * w).sum()  # 2 x w^2

    gx, gw = ms.grad(f, 0, w)(T([3.0], device))
    np.testing.assert_allclose(gx.asnumpy(), [8.0])     # 2 w^2
    np.testing.assert_allclose(gw.asnumpy(), [24.0])    # 4 x w


def test_tensors_made_inside_the_inner_transform(device):
    def f(x):
        def inner(z):
            c = ops.ones_like(z) * 3.0  # a constant made inside the inner transform
            y = x * z                   # x: the outer transform's input, closed over
            return (y * y * c).sum()    # 3 x^2 z^2, whose gradient in z is 6 x^2 z
        return ms.grad(inner)(x * 2).sum()  # z = 2x (made by the outer): f(x) = 12 x^3

    x = T([1.5], device)
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), [36 * 1.5 ** 2])


def test_no_grad_inside_the_outer_transform_gives_a_constant(device):
    def f(x):
        with ms.no_grad():
            g = ms.grad(lambda z: (z * z * z).sum())(x)  # a constant for the outer transform
        return (g * x).sum()

    x = T([2.0], device)
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), [12.0])  # 3 x^2, not 9 x^2


def test_stop_gradient_at_every_order(device):
    x = T([3.0], device)
    f = lambda t: (t * t * ops.stop_gradient(t)).sum()  # noqa: E731
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), [18.0])          # 2 t * c
    np.testing.assert_allclose(ms.grad(ms.grad(f))(x).asnumpy(), [6.0])  # 2 c
    np.testing.assert_allclose(ms.grad(ms.grad(ms.grad(f)))(x).asnumpy(), [0.0])


def test_graph_is_retained_for_the_outer_backward_and_freed_after(device):
    def f(x):
        h = ops.exp(x)  # saves its output, which the inner backward reads and the outer again
        g = ms.grad(lambda z: (ops.exp(z) * h).sum())(x)
        return (g * h).sum()

    x = T([0.5, -0.25], device)
    a = x.asnumpy()
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), 3 * np.exp(3 * a), rtol=1e-12)
    assert node.saved_count() == 0


def test_bprop_cell_differentiates_twice(device):
    class Cube(nn.Cell):
        def construct(self, x):
            return x * x * x

        def bprop(self, x, out, dout):
            return (dout * 3 * x * x,)

    cube = Cube()
    x = T([2.0], device)
    np.testing.assert_allclose(ms.grad(ms.grad(lambda t: cube(t).sum()))(x).asnumpy(), [12.0])


def test_jit_inside_a_nested_transform_runs_eagerly(device):
    from gpucell import jit

    cube = jit(lambda t: t * t * t)
    x = T([2.0], device)
    np.testing.assert_allclose(ms.grad(ms.grad(lambda t: cube(t).sum()))(x).asnumpy(), [12.0])


def test_jit_of_a_step_with_a_gradient_penalty_replays_it(device):
    from gpucell import jit

    w = ms.Parameter(T([0.5, -1.0], device), name="w")

    def step(x):
        loss, g = ms.value_and_grad(
            lambda t: (ops.tanh(t * w) ** 2).sum() + (ms.grad(lambda z: ops.tanh(z * w).sum())(t) ** 2).sum(),
            None, w)(x)
        return loss, g

    x = T([0.3, 0.8], device)
    eager = step(x)
    jitted = jit(step)
    for _ in range(3):  # trace, then replays
        got = jitted(x)
        np.testing.assert_allclose(got[0].asnumpy(), eager[0].asnumpy(), rtol=1e-12)
        np.testing.assert_allclose(got[1].asnumpy(), eager[1].asnumpy(), rtol=1e-12)


def test_jit_replays_a_nested_cross_entropy_with_each_calls_labels(device):
    from gpucell import jit

    w = ms.Parameter(T(rng(8).standard_normal((3, 4)), device), name="w")

    def step(x, labels):
        def loss(t):
            return ops.cross_entropy(ops.matmul(t, w), labels)
        return ms.grad(lambda t: (ms.grad(loss)(t) ** 2).sum(), None, w)(x)

    jitted = jit(step)
    x = T(rng(9).standard_normal((2, 3)), device)
    for labels in ([0, 3], [2, 1], [1, 1]):  # the first call traces, the others replay
        y = ms.Tensor(np.array(labels, np.int64), device=device)
        np.testing.assert_allclose(jitted(x, y).asnumpy(), step(x, y).asnumpy(), rtol=1e-12)


def test_streams_nested_gradients_on_a_side_stream(device):
    from gpucell.backend import streams

    side = streams.Stream(non_blocking=True) if device == "GPU" else None
    x = T([0.5, 1.5], device)

    def f(t):
        if side is None:
            return (ops.exp(t) * t).sum()
        side.wait_event(streams.current_stream().record())
        with side:
            h = ops.exp(t)
        streams.current_stream().wait_event(side.record())
        return (h * t).sum()

    g2 = ms.grad(lambda t: ms.grad(f)(t).sum())(x)
    a = x.asnumpy()
    np.testing.assert_allclose(g2.asnumpy(), np.exp(a) * (a + 2), rtol=1e-12)


# -- the clear error ---------------------------------------------------------------------------
def _cube_grad(g, a):
    return g * 3 * a * a  # raw arrays: nothing here is recorded


CUBE_GRAD = Op("CubeGrad", _cube_grad, backward=no_higher_order("Cube"))
CUBE = Op("Cube", lambda a: a * a * a, backward=lambda ctx, g: apply(CUBE_GRAD, g, ctx.input(0)))


def test_a_backward_without_a_gradient_raises_naming_the_op(device):
    f = lambda x: apply(CUBE, x).sum()  # noqa: E731
    x = T([2.0], device)
    np.testing.assert_allclose(ms.grad(f)(x).asnumpy(), [12.0])  # the first order is fine
    with pytest.raises(NotImplementedError, match=r"For 'Cube', higher-order gradients are not supported: "
                                                  r"its backward runs 'CubeGrad'"):
        ms.grad(ms.grad(f))(x)
    assert not hooks.recording and node.saved_count() == 0
    # A fused gradient op reached by a transform directly refuses too, rather than being zero.
    from gpucell.ops.dense import DENSE_GRAD

    w = T(np.ones((2, 2)), device)
    with pytest.raises(NotImplementedError, match="For 'Dense'"):
        ms.grad(lambda g: apply(DENSE_GRAD, g, w, w, None, wanted=(True, True))[0].sum())(w)
