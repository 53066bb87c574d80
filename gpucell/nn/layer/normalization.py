"""BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm and InstanceNorm2d with MindSpore's parameters, defaults
and conventions."""

from __future__ import annotations

import numbers

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.layer._checks import (
    check_bool,
    check_channels,
    check_input,
    float_in,
    make_parameter,
    positive_int,
)
from gpucell.ops._util import check_int, type_name
from gpucell.ops.batch_norm import batch_norm
from gpucell.ops.group_instance_norm import instance_norm, normalize_groups
from gpucell.ops.layer_norm import layer_norm_axes

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm2d", "LayerNorm"]


class _BatchNorm(Cell):
    _ndims: tuple = ()
    _shape_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.9, affine=True, gamma_init="ones",
                 beta_init="zeros", moving_mean_init="zeros", moving_var_init="ones",
                 use_batch_statistics=None, data_format="NCHW", dtype=_dt.float32):
        super().__init__()
        where = type(self).__name__
        self.num_features = positive_int(where, "num_features", num_features)
        momentum = float_in(where, "momentum", momentum, 0.0, 1.0)
        self.eps = float_in(where, "eps", eps, 0.0, float("inf"), low_open=True)
        affine = check_bool(where, "affine", affine)
        if use_batch_statistics is not None and not isinstance(use_batch_statistics, bool):
            raise ValueError(f"For '{where}', the 'use_batch_statistics' must be a bool or None, but got "
                             f"{use_batch_statistics!r}.")
        if data_format != "NCHW":
            raise ValueError(f"For '{where}', only data_format 'NCHW' is supported, but got {data_format!r}.")
        self.use_batch_statistics = use_batch_statistics
        self.format = data_format
        # As MindSpore stores it: the weight of the batch statistic in the moving average.
        self.momentum = 1.0 - momentum
        shape = (num_features,)
        self.moving_mean = make_parameter(where, "mean", moving_mean_init, shape, dtype, requires_grad=False)
        self.moving_variance = make_parameter(where, "variance", moving_var_init, shape, dtype,
                                              requires_grad=False)
        self.gamma = make_parameter(where, "gamma", gamma_init, shape, dtype, requires_grad=affine)
        self.beta = make_parameter(where, "beta", beta_init, shape, dtype, requires_grad=affine)

    def construct(self, x):
        where = type(self).__name__
        check_input(where, x, self._ndims, self._shape_text)
        check_channels(where, x, self.num_features, "num_features")
        training = self.training if self.use_batch_statistics is None else self.use_batch_statistics
        return batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, training,
                          self.momentum, self.eps)

    def extend_repr(self) -> str:
        return (f"num_features={self.num_features}, eps={self.eps}, momentum={1.0 - self.momentum}, "
                f"gamma={self.gamma!r}, beta={self.beta!r}, moving_mean={self.moving_mean!r}, "
                f"moving_variance={self.moving_variance!r}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input over dim 1.

    Training (or ``use_batch_statistics=True``) normalises with the batch mean and biased variance
    and updates ``moving = momentum * moving + (1 - momentum) * batch_stat`` in place (the variance
    unbiased); prediction uses the moving statistics.

    >>> import gpucell as ms
    >>> bn = ms.nn.BatchNorm1d(2).set_train()
    >>> _ = bn(ms.Tensor([[1.0, 2.0], [3.0, 6.0]]))
    >>> bn.moving_mean.asnumpy(), bn.moving_variance.asnumpy()
    (array([0.2, 0.4], dtype=float32), array([1.1, 1.7], dtype=float32))
    """

    _ndims = (2, 3)
    _shape_text = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input over dim 1 (see BatchNorm1d)."""

    _ndims = (4,)
    _shape_text = "4-D (N, C, H, W)"


class BatchNorm3d(Cell):
    """Batch normalisation of (N, C, D, H, W) input over dim 1: as MindSpore, a BatchNorm2d (the
    child ``bn2d``, so checkpoints name its Parameters ``bn2d.gamma`` ...) over (N, C, D * H, W).

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.BatchNorm3d(3)(ms.Tensor(np.ones((2, 3, 2, 4, 4), np.float32))).shape
    (2, 3, 2, 4, 4)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.9, affine=True, gamma_init="ones", beta_init="zeros",
                 moving_mean_init="zeros", moving_var_init="ones", use_batch_statistics=None, dtype=_dt.float32):
        super().__init__()
        try:
            self.bn2d = BatchNorm2d(num_features, eps, momentum, affine, gamma_init, beta_init, moving_mean_init,
                                    moving_var_init, use_batch_statistics, dtype=dtype)
        except (TypeError, ValueError) as exc:  # the checks are BatchNorm2d's: name the cell the user made
            raise type(exc)(str(exc).replace("'BatchNorm2d'", "'BatchNorm3d'", 1)) from None

    def construct(self, input_x):
        from gpucell.ops.shape import reshape

        check_input("BatchNorm3d", input_x, (5,), "5-D (N, C, D, H, W)")
        check_channels("BatchNorm3d", input_x, self.bn2d.num_features, "num_features")
        n, c, d, h, w = input_x.shape
        return reshape(self.bn2d(reshape(input_x, (n, c, d * h, w))), input_x.shape)


class LayerNorm(Cell):
    """Normalises dims ``begin_norm_axis..`` of the input; ``gamma`` and ``beta`` have the shape
    ``normalized_shape`` (the input's dims from ``begin_params_axis``).

    >>> import gpucell as ms
    >>> ms.nn.LayerNorm((2,))(ms.Tensor([[1.0, 3.0]])).asnumpy()
    array([[-1.,  1.]], dtype=float32)
    """

    def __init__(self, normalized_shape, begin_norm_axis=-1, begin_params_axis=-1, gamma_init="ones",
                 beta_init="zeros", epsilon=1e-7, dtype=_dt.float32):
        super().__init__()
        if not isinstance(normalized_shape, (tuple, list)):
            raise TypeError(f"For 'LayerNorm', the 'normalized_shape' must be a tuple or list, but got "
                            f"{normalized_shape!r} with type '{type_name(normalized_shape)}'.")
        for d in normalized_shape:
            positive_int("LayerNorm", "normalized_shape", d)
        self.normalized_shape = normalized_shape
        self.begin_norm_axis = check_int("LayerNorm", "begin_norm_axis", begin_norm_axis)
        self.begin_params_axis = check_int("LayerNorm", "begin_params_axis", begin_params_axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
            raise TypeError(f"For 'LayerNorm', the 'epsilon' must be a float, but got {epsilon!r}.")
        self.epsilon = epsilon
        shape = tuple(normalized_shape)
        self.gamma = make_parameter("LayerNorm", "gamma", gamma_init, shape, dtype)
        self.beta = make_parameter("LayerNorm", "beta", beta_init, shape, dtype)

    def construct(self, input_x):
        return layer_norm_axes(input_x, self.gamma, self.beta, self.begin_norm_axis, self.begin_params_axis,
                               self.epsilon)

    def extend_repr(self) -> str:
        # 'gamma' without '=' is how MindSpore 2.x prints it.
        return (f"normalized_shape={self.normalized_shape}, begin_norm_axis={self.begin_norm_axis}, "
                f"begin_params_axis={self.begin_params_axis}, gamma{self.gamma!r}, beta={self.beta!r}")


def _float(where: str, name: str, value) -> float:
    """MindSpore checks these with ``check_value_type(..., [float])``: an int is a TypeError."""
    if not isinstance(value, float):
        raise TypeError(f"For '{where}', the '{name}' must be a float, but got {value!r} with type "
                        f"'{type_name(value)}'.")
    return value


class GroupNorm(Cell):
    """Normalises each of ``num_groups`` groups of channels of each sample of (N, C, ...) input with
    its mean and biased variance, then scales and shifts per channel by ``gamma`` and ``beta``.

    >>> import gpucell as ms, numpy as np
    >>> float(ms.nn.GroupNorm(2, 2)(ms.Tensor(np.ones((1, 2, 4, 4), np.float32))).asnumpy().max())
    0.0
    """

    def __init__(self, num_groups, num_channels, eps=1e-05, affine=True, gamma_init="ones", beta_init="zeros",
                 dtype=_dt.float32):
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"For 'GroupNorm', the 'num_channels' must be divisible by 'num_groups', but got "
                             f"'num_channels': {num_channels}, 'num_groups': {num_groups}.")
        self.eps = _float("GroupNorm", "eps", eps)
        self.affine = check_bool("GroupNorm", "affine", affine)
        shape = (num_channels,)
        self.gamma = make_parameter("GroupNorm", "gamma", gamma_init, shape, dtype, requires_grad=affine)
        self.beta = make_parameter("GroupNorm", "beta", beta_init, shape, dtype, requires_grad=affine)

    def construct(self, x):
        check_input("GroupNorm", x, tuple(range(2, 9)), "(N, C, ...)")
        check_channels("GroupNorm", x, self.num_channels, "num_channels")
        return normalize_groups(x, self.num_groups, self.gamma, self.beta, self.eps)

    def extend_repr(self) -> str:
        return f"num_groups={self.num_groups}, num_channels={self.num_channels}"


class InstanceNorm2d(Cell):
    """Normalises each channel of each sample of (N, C, H, W) input with its own mean and biased
    variance, in training and in prediction alike (as MindSpore), then scales and shifts per channel.

    As MindSpore's InstanceNorm kernel, every call also moves ``moving_mean`` / ``moving_variance``
    (Parameters, not trained) ``momentum`` of the way to the batch mean of the instance means / of
    the unbiased instance variances; they never enter the output.

    >>> import gpucell as ms, numpy as np
    >>> ms.nn.InstanceNorm2d(3)(ms.Tensor(np.ones((2, 3, 2, 2), np.float32))).shape
    (2, 3, 2, 2)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, gamma_init="ones", beta_init="zeros",
                 dtype=_dt.float32):
        super().__init__()
        where = "InstanceNorm2d"
        self.num_features = positive_int(where, "num_features", num_features)
        self.eps = _float(where, "eps", eps)
        self.momentum = float_in(where, "momentum", _float(where, "momentum", momentum), 0.0, 1.0)
        self.affine = check_bool(where, "affine", affine)
        shape = (num_features,)
        self.moving_mean = make_parameter(where, "mean", "zeros", shape, dtype, requires_grad=False)
        self.moving_variance = make_parameter(where, "variance", "ones", shape, dtype, requires_grad=False)
        self.gamma = make_parameter(where, "gamma", gamma_init, shape, dtype, requires_grad=affine)
        self.beta = make_parameter(where, "beta", beta_init, shape, dtype, requires_grad=affine)

    def construct(self, x):
        check_input("InstanceNorm2d", x, (4,), "4-D (N, C, H, W)")
        check_channels("InstanceNorm2d", x, self.num_features, "num_features")
        return instance_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance, self.eps,
                             self.momentum)

    def extend_repr(self) -> str:
        return (f"num_features={self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"gamma={self.gamma!r}, beta={self.beta!r}, moving_mean={self.moving_mean!r}, "
                f"moving_variance={self.moving_variance!r}")
