"""Dense, Dropout, Dropout2d, Flatten and Identity."""

from __future__ import annotations

import math

from gpucell.initializer import HeUniform, Uniform
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import check_bool, float_in, make_parameter, positive_int
from gpucell.nn.layer.activation import ReLU, get_activation
from gpucell.ops import shape as _shape
from gpucell.ops._dispatch import apply
from gpucell.ops._util import check_int, type_name
from gpucell.ops.array import identity as _identity
from gpucell.ops.dense import DENSE, DENSE_RELU, check_dense
from gpucell.ops.dropout import DROPOUT, DROPOUT2D, run_dropout
from gpucell.ops.primitives import Primitive

__all__ = ["Dense", "Dropout", "Dropout2d", "Flatten", "Identity"]


class Dense(Cell):
    """``activation(x @ weight.T + bias)`` over the last dim of ``x``; ``weight`` is (out, in).

    Default init as MindSpore 2.x: ``weight`` HeUniform(negative_slope=sqrt(5)) and ``bias``
    U(-1/sqrt(in), 1/sqrt(in)). ``activation``: a name ('relu', ...) or a Cell; 'relu' is fused
    into the matmul kernel.

    >>> import gpucell as ms
    >>> ms.nn.Dense(3, 4)
    Dense(input_channels=3, output_channels=4, has_bias=True)
    """

    def __init__(self, in_channels, out_channels, weight_init=None, bias_init=None, has_bias=True,
                 activation=None):
        super().__init__()
        self.in_channels = positive_int("Dense", "in_channels", in_channels)
        self.out_channels = positive_int("Dense", "out_channels", out_channels)
        self.has_bias = check_bool("Dense", "has_bias", has_bias)
        if weight_init is None:
            weight_init = HeUniform(negative_slope=math.sqrt(5))
        self.weight = make_parameter("Dense", "weight", weight_init, (out_channels, in_channels))
        if has_bias:
            if bias_init is None:
                bias_init = Uniform(1 / math.sqrt(in_channels))
            self.bias = make_parameter("Dense", "bias", bias_init, (out_channels,))
        else:
            self.bias = None
        self.activation = get_activation(activation, "Dense") if isinstance(activation, str) else activation
        if activation is not None and not isinstance(self.activation, (Cell, Primitive)):
            raise TypeError(f"For 'Dense', the 'activation' must be a str, a Cell or a Primitive, but got "
                            f"{type_name(activation)}.")
        self.activation_flag = self.activation is not None

    def _fused_relu(self) -> bool:
        act = self.activation
        return type(act) is ReLU and not act._forward_hooks and not act._forward_pre_hooks

    def construct(self, x):
        if self.activation_flag and not self._fused_relu():
            return self.activation(self._dense(x, DENSE))
        return self._dense(x, DENSE_RELU if self.activation_flag else DENSE)

    def _dense(self, x, op):
        weight, bias = self.weight, self.bias
        check_dense("Dense", x, weight, bias)
        return apply(op, x, weight) if bias is None else apply(op, x, weight, bias)

    def absorbs(self, follower: Cell) -> bool:
        """Whether ``follower`` (the next cell of a SequentialCell) can run fused into this one."""
        return type(self) is Dense and type(follower) is ReLU

    def call_absorbing(self, x, follower: Cell):
        """``follower(self(x))`` as one Dense+ReLU op, or None where hooks or an activation of
        this layer's own must see the separate calls."""
        if self.activation_flag or not (self.hook_free() and follower.hook_free()):
            return None
        return self._dense(x, DENSE_RELU)

    def extend_repr(self) -> str:
        s = f"input_channels={self.in_channels}, output_channels={self.out_channels}"
        if self.has_bias:
            s += f", has_bias={self.has_bias}"
        if self.activation_flag:
            s += f", activation={self.activation}"
        return s


class Dropout(Cell):
    """Zeroes each element with probability ``p`` (or ``1 - keep_prob``) while training and scales
    the rest by ``1 / keep_prob``; the identity when not training."""

    def __init__(self, keep_prob=0.5, p=None):
        super().__init__()
        if p is None:
            keep_prob = float_in("Dropout", "keep_prob", keep_prob, 0.0, 1.0, low_open=True, ints=False)
        else:
            p = float_in("Dropout", "p", p, 0.0, 1.0, high_open=True)
            keep_prob = 1.0 - p
        self.keep_prob = keep_prob
        self.p = p

    def construct(self, x):
        if not self.training or self.keep_prob == 1.0:
            return x
        return run_dropout(DROPOUT, x, self.keep_prob)[0]

    def extend_repr(self) -> str:
        return f"keep_prob={self.keep_prob}" if self.p is None else f"p={self.p}"


class Dropout2d(Cell):
    """Zeroes whole channels of an (N, C, H, W) input with probability ``p`` while training."""

    def __init__(self, p=0.5):
        super().__init__()
        self.keep_prob = 1.0 - float_in("Dropout2d", "p", p, 0.0, 1.0, ints=False)

    def construct(self, x):
        if not self.training or self.keep_prob == 1.0:
            return x
        return run_dropout(DROPOUT2D, x, self.keep_prob)[0]

    def extend_repr(self) -> str:
        # MindSpore 2.x prints the keep probability under the name 'p'; kept for identical output.
        return f"p={self.keep_prob}"


class Flatten(Cell):
    """Merges dims ``start_dim..end_dim`` into one (by default all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check_int("Flatten", "start_dim", start_dim)
        self.end_dim = check_int("Flatten", "end_dim", end_dim)

    def construct(self, x):
        return _shape.flatten(x, start_dim=self.start_dim, end_dim=self.end_dim)


class Identity(Cell):
    """Returns a new Tensor with the shape, dtype and values of its input (the gradient passes).

    >>> import gpucell as ms
    >>> ms.nn.Identity()(ms.Tensor([1, 2])).asnumpy()
    array([1, 2])
    """

    def construct(self, x):
        return _identity(x)
