"""``initializer(init, shape, dtype)`` and the Initializer classes, as in MindSpore.

Values are drawn on the host from ``gpucell.random.host_generator()`` (so ``gpucell.set_seed`` makes
them reproducible) and then placed on the current device.

>>> import gpucell as ms
>>> from gpucell.common.initializer import initializer, One
>>> initializer("ones", [1, 2], ms.float32)
Tensor(shape=[1, 2], dtype=Float32, value=
[[ 1.00000000e+00,  1.00000000e+00]])
"""

from __future__ import annotations

import math

import numpy as np

from gpucell import dtype as _dt
from gpucell._lazy_tensor import lazy
from gpucell.random import host_generator
from gpucell.tensor import Tensor, _short_repr

__all__ = ["Initializer", "Zero", "One", "Constant", "Normal", "Uniform", "TruncatedNormal",
           "XavierUniform", "XavierNormal", "HeUniform", "HeNormal", "Identity", "Orthogonal",
           "Dirac", "initializer"]


def _fans(shape: tuple, where: str) -> tuple[int, int]:
    """(fan_in, fan_out) for a weight of ``shape``: (out, in, *kernel) as Dense and Conv store them."""
    if len(shape) < 2:
        raise ValueError(f"For '{where}', fan in and fan out need a shape of at least 2 dims, "
                         f"but got {shape}.")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _gain(nonlinearity: str, param: float | None, where: str) -> float:
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"For '{where}', unknown nonlinearity {nonlinearity!r}; expected 'linear', "
                     f"'sigmoid', 'conv1d', 'conv2d', 'conv3d', 'tanh', 'relu', 'leaky_relu' or 'selu'.")


class Initializer:
    """Base class: ``_fill(shape, rng) -> np.ndarray`` of float64 values for ``shape``;
    ``_check(shape)`` raises for a shape it cannot fill (run when the lazy tensor is made, so a bad
    shape fails at ``initializer(...)``, not at first use)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs

    def _check(self, shape: tuple) -> None:
        return None  # most initializers fill any shape

    def _fill(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _fill")

    def __call__(self, shape, dtype=_dt.float32) -> Tensor:
        return initializer(self, shape, dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"


class Zero(Initializer):
    def _fill(self, shape, rng):
        return np.zeros(shape)


class One(Initializer):
    def _fill(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"For 'Constant', 'value' must be an int or a float, but got {value!r}.")
        super().__init__(value=value)
        self.value = value

    def _fill(self, shape, rng):
        return np.full(shape, self.value, dtype=np.float64 if isinstance(self.value, float) else np.int64)


class Normal(Initializer):
    """N(mean, sigma**2)."""

    def __init__(self, sigma: float = 0.01, mean: float = 0.0):
        super().__init__(sigma=sigma, mean=mean)
        self.sigma, self.mean = sigma, mean

    def _fill(self, shape, rng):
        return rng.normal(self.mean, self.sigma, shape)


class Uniform(Initializer):
    """U(-scale, scale)."""

    def __init__(self, scale: float = 0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _fill(self, shape, rng):
        return rng.uniform(-self.scale, self.scale, shape)


class TruncatedNormal(Initializer):
    """N(mean, sigma**2) redrawn until every value lies in [a, b]."""

    def __init__(self, sigma: float = 0.01, mean: float = 0.0, a: float = -2.0, b: float = 2.0):
        if a >= b:
            raise ValueError(f"For 'TruncatedNormal', 'a' ({a}) must be less than 'b' ({b}).")
        super().__init__(sigma=sigma, mean=mean, a=a, b=b)
        self.sigma, self.mean, self.a, self.b = sigma, mean, a, b

    def _fill(self, shape, rng):
        out = rng.normal(self.mean, self.sigma, shape)
        bad = (out < self.a) | (out > self.b)
        while bad.any():
            out[bad] = rng.normal(self.mean, self.sigma, int(bad.sum()))
            bad = (out < self.a) | (out > self.b)
        return out


class _Xavier(Initializer):
    def __init__(self, gain: float = 1.0):
        super().__init__(gain=gain)
        self.gain = gain

    def _check(self, shape):
        _fans(shape, type(self).__name__)


class XavierUniform(_Xavier):
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""

    def _fill(self, shape, rng):
        fan_in, fan_out = _fans(shape, "XavierUniform")
        bound = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape)


class XavierNormal(_Xavier):
    """N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out))."""

    def _fill(self, shape, rng):
        fan_in, fan_out = _fans(shape, "XavierNormal")
        return rng.normal(0.0, self.gain * math.sqrt(2.0 / (fan_in + fan_out)), shape)


class _He(Initializer):
    def __init__(self, negative_slope: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"For '{type(self).__name__}', 'mode' must be 'fan_in' or 'fan_out', "
                             f"but got {mode!r}.")
        super().__init__(negative_slope=negative_slope, mode=mode, nonlinearity=nonlinearity)
        self.negative_slope, self.mode, self.nonlinearity = negative_slope, mode, nonlinearity

    def _check(self, shape):
        self._std(shape)

    def _std(self, shape) -> float:
        fan_in, fan_out = _fans(shape, type(self).__name__)
        fan = fan_in if self.mode == "fan_in" else fan_out
        return _gain(self.nonlinearity, self.negative_slope, type(self).__name__) / math.sqrt(fan)


class HeUniform(_He):
    """U(-bound, bound), bound = gain * sqrt(3 / fan) (Kaiming uniform)."""

    def _fill(self, shape, rng):
        bound = math.sqrt(3.0) * self._std(shape)
        return rng.uniform(-bound, bound, shape)


class HeNormal(_He):
    """N(0, (gain / sqrt(fan))**2) (Kaiming normal)."""

    def _fill(self, shape, rng):
        return rng.normal(0.0, self._std(shape), shape)


class Identity(Initializer):
    """The identity matrix (2-D shapes only)."""

    def _check(self, shape):
        if len(shape) != 2:
            raise ValueError(f"For 'Identity', the shape must have 2 dims, but got {shape}.")

    def _fill(self, shape, rng):
        return np.eye(*shape)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, the trailing dims flattened."""

    def __init__(self, gain: float = 1.0):
        super().__init__(gain=gain)
        self.gain = gain

    def _check(self, shape):
        if len(shape) < 2:
            raise ValueError(f"For 'Orthogonal', the shape must have at least 2 dims, but got {shape}.")

    def _fill(self, shape, rng):
        rows, cols = shape[0], math.prod(shape[1:])
        flat = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))  # make the decomposition unique
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape)


class Dirac(Initializer):
    """Conv weights that pass each input channel through (identity convolution)."""

    def __init__(self, groups: int = 1):
        super().__init__(groups=groups)
        self.groups = groups

    def _check(self, shape):
        if len(shape) not in (3, 4, 5) or shape[0] % self.groups:
            raise ValueError(f"For 'Dirac', the shape must have 3 to 5 dims with dim 0 divisible by "
                             f"groups={self.groups}, but got {shape}.")

    def _fill(self, shape, rng):
        out = np.zeros(shape)
        per_group = shape[0] // self.groups
        centre = tuple(k // 2 for k in shape[2:])
        for g in range(self.groups):
            for d in range(min(per_group, shape[1])):
                out[(g * per_group + d, d) + centre] = 1
        return out


_BY_NAME = {
    "zeros": Zero, "zero": Zero, "ones": One, "one": One, "normal": Normal, "uniform": Uniform,
    "truncatednormal": TruncatedNormal, "truncated_normal": TruncatedNormal,
    "xavier_uniform": XavierUniform, "xavieruniform": XavierUniform,
    "xavier_normal": XavierNormal, "xaviernormal": XavierNormal,
    "he_uniform": HeUniform, "heuniform": HeUniform, "he_normal": HeNormal, "henormal": HeNormal,
    "identity": Identity, "eye": Identity, "orthogonal": Orthogonal, "dirac": Dirac,
}


def _shape_of(shape, where: str) -> tuple:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError(f"For '{where}', 'shape' must be an int or a list/tuple of ints >= 0, "
                         f"but got {shape!r}.")
    return tuple(shape)


def initializer(init, shape=None, dtype=_dt.float32) -> Tensor:
    """A Tensor of ``shape`` and ``dtype`` filled by ``init``, lazily as in MindSpore: the data is made
    on first use or by ``init_data()`` (``t.init`` is the Initializer until then), with the values an
    eager fill would have had (the random stream is taken now).

    ``init``: a name (case-insensitive: 'zeros', 'ones', 'normal', 'uniform', 'truncatednormal',
    'xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'identity', 'orthogonal', 'dirac'),
    a number (a constant), a Tensor of that shape (returned cast, with data), or an Initializer object.

    >>> import gpucell as ms
    >>> from gpucell.common.initializer import initializer, Normal
    >>> w = initializer(Normal(0.02), [64, 32], ms.float32)
    >>> w.has_init, w.shape, w.init
    (True, (64, 32), Normal(sigma=0.02, mean=0.0))
    >>> w.init_data() is w, w.has_init
    (True, False)
    """
    dtype = _dt.to_dtype(dtype, "initializer")
    if isinstance(init, Tensor):
        if shape is not None and tuple(init.shape) != _shape_of(shape, "initializer"):
            raise ValueError(f"For 'initializer', the Tensor's shape {init.shape} must equal 'shape' "
                             f"{tuple(shape)}.")
        return Tensor(init, dtype)
    shape = _shape_of(shape, "initializer")
    if isinstance(init, str):
        cls = _BY_NAME.get(init.lower())
        if cls is None:
            raise ValueError(f"For 'initializer', unknown init {init!r}; expected one of "
                             f"{sorted(set(_BY_NAME))}.")
        init = cls()
    elif isinstance(init, (int, float)) and not isinstance(init, bool):
        init = Constant(init)
    elif not isinstance(init, Initializer):
        raise TypeError(f"For 'initializer', 'init' must be a str, a number, a Tensor or an "
                        f"Initializer, but got {_short_repr(init)} of type '{type(init).__name__}'.")
    if type(init)._fill is Initializer._fill:
        raise NotImplementedError(f"{type(init).__name__} must implement _fill")
    init._check(shape)
    rng = host_generator()  # taken now: the values do not depend on when the tensor is filled

    def fill(init=init, shape=shape, dtype=dtype, rng=rng) -> np.ndarray:
        return np.asarray(init._fill(shape, rng)).astype(dtype.numpy)
    return lazy(init, shape, dtype, fill)
