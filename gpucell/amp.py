"""Mixed precision, as MindSpore's ``mindspore.amp``: loss scalers, ``all_finite``,
``auto_mixed_precision`` and ``build_train_network``.

The loss scale, the overflow flag and the scaler's counter are device tensors: nothing here reads a
value back to the host, so a jitted step stays one graph.

>>> import gpucell as ms
>>> scaler = ms.amp.DynamicLossScaler(scale_value=2**10, scale_factor=2, scale_window=1)
>>> grads = (ms.Tensor([float("inf"), 1.0]),)
>>> _ = scaler.adjust(ms.amp.all_finite(grads))
>>> float(scaler.scale_value.asnumpy())
512.0
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.ops.assign import assign
from gpucell.ops.comparison import equal, logical_and
from gpucell.ops.conversion import cast
from gpucell.ops.elementwise import maximum
from gpucell.ops.selection import select
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["LossScaler", "StaticLossScaler", "DynamicLossScaler", "all_finite", "init_status",
           "auto_mixed_precision", "build_train_network", "LossScaleManager", "FixedLossScaleManager",
           "DynamicLossScaleManager"]


def _map(fn, inputs):
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_map(fn, x) for x in inputs)
    if isinstance(inputs, dict):
        return {k: _map(fn, v) for k, v in inputs.items()}
    return fn(inputs) if isinstance(inputs, Tensor) else inputs


def _flat(inputs) -> list:
    if isinstance(inputs, Tensor):
        return [inputs]
    if isinstance(inputs, dict):
        inputs = list(inputs.values())
    out = []
    for x in inputs:
        out.extend(_flat(x))
    return out


def _check_positive(where: str, arg: str, value, kind=numbers.Real):
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(f"For '{where}', the '{arg}' must be a positive {kind.__name__}, but got {value!r}.")
    return value


def init_status():
    """MindSpore's overflow-status placeholder (a float32 zeros tensor of shape (8,))."""
    return Tensor(np.zeros((8,), np.float32))


def all_finite(inputs, status=None) -> Tensor:
    """A bool scalar Tensor: whether every element of every tensor in ``inputs`` is finite.

    Computed on the device, without reading anything back: ``|x| <= the dtype's largest finite
    value`` is False exactly for inf and NaN.

    >>> import gpucell as ms
    >>> bool(ms.amp.all_finite([ms.Tensor([1.0, 2.0])]).asnumpy())
    True
    >>> bool(ms.amp.all_finite([ms.Tensor([1.0, float("nan")])]).asnumpy())
    False
    """
    tensors = [x for x in _flat(inputs) if x.dtype.kind == _dt._FLOAT]
    if not tensors:
        return Tensor(np.bool_(True))
    result = None
    for x in tensors:
        part = (x.abs() <= float(np.finfo(_np_dtype(x)).max)).all()
        result = part if result is None else logical_and(result, part)
    return result


def _np_dtype(x: Tensor):
    return np.float32 if x.dtype is _dt.bfloat16 else x.dtype.numpy


class LossScaler:
    """The base of the loss scalers: ``scale``, ``unscale`` and ``adjust``."""

    def scale(self, inputs):
        raise NotImplementedError

    def unscale(self, inputs):
        raise NotImplementedError

    def adjust(self, grads_finite):
        raise NotImplementedError


class StaticLossScaler(LossScaler):
    """A fixed loss scale: ``scale`` multiplies by it, ``unscale`` divides by it.

    >>> import gpucell as ms
    >>> s = ms.amp.StaticLossScaler(1024)
    >>> float(s.scale(ms.Tensor(2.0)).asnumpy()), float(s.unscale(ms.Tensor(2048.0)).asnumpy())
    (2048.0, 2.0)
    """

    def __init__(self, scale_value):
        _check_positive("StaticLossScaler", "scale_value", scale_value)
        self.scale_value = Parameter(Tensor(np.float32(scale_value)), name="scale_value")

    def scale(self, inputs):
        return _map(lambda x: x * cast(self.scale_value, x.dtype), inputs)

    def unscale(self, inputs):
        return _map(lambda x: x * cast(1.0 / self.scale_value, x.dtype), inputs)

    def adjust(self, grads_finite):
        return False


class DynamicLossScaler(LossScaler):
    """A loss scale that shrinks on overflow and grows after ``scale_window`` finite steps.

    ``adjust(grads_finite)``: on overflow ``scale_value = max(scale_value / scale_factor, 1)`` and
    the counter restarts; after ``scale_window`` consecutive finite steps ``scale_value *=
    scale_factor`` (where the product stays finite). All on the device.
    """

    def __init__(self, scale_value, scale_factor, scale_window):
        _check_positive("DynamicLossScaler", "scale_value", scale_value)
        _check_positive("DynamicLossScaler", "scale_factor", scale_factor)
        _check_positive("DynamicLossScaler", "scale_window", scale_window, numbers.Integral)
        self.scale_value = Parameter(Tensor(np.float32(scale_value)), name="scale_value")
        self.scale_factor = float(scale_factor)
        self.scale_window = int(scale_window)
        self.counter = Parameter(Tensor(np.int32(0)), name="counter")

    def scale(self, inputs):
        return _map(lambda x: x * cast(self.scale_value, x.dtype), inputs)

    def unscale(self, inputs):
        return _map(lambda x: x * cast(1.0 / self.scale_value, x.dtype), inputs)

    def adjust(self, grads_finite):
        grads_finite = _as_bool(grads_finite)
        _dynamic_update(self.scale_value, self.counter, grads_finite, self.scale_factor, self.scale_window)
        return True


def _as_bool(flag) -> Tensor:
    if isinstance(flag, Tensor):
        return flag if flag.dtype is _dt.bool_ else cast(flag, _dt.bool_)
    return Tensor(np.bool_(bool(flag)))


def _dynamic_update(scale_value: Parameter, counter: Parameter, grads_finite: Tensor, factor: float,
                    window: int) -> None:
    """One MindSpore DynamicLossScaler update of ``scale_value`` and ``counter``, in place."""
    grown = scale_value * factor
    grow_ok = logical_and(equal(counter, window - 1), all_finite([grown]))
    on_finite = select(grow_ok, grown, scale_value)
    on_overflow = maximum(scale_value / factor, 1.0)
    new_scale = select(grads_finite, on_finite, on_overflow)
    next_count = select(equal(counter, window - 1), 0, counter + 1)
    new_counter = select(grads_finite, next_count, 0)
    assign(scale_value, cast(new_scale, scale_value.dtype))
    assign(counter, cast(new_counter, counter.dtype))


# -- auto mixed precision ---------------------------------------------------------------------------

def _white_list():
    from gpucell import nn
    return tuple(getattr(nn, n) for n in ("Dense", "Conv1d", "Conv2d", "Conv3d", "Conv1dTranspose",
                                          "Conv2dTranspose", "Conv3dTranspose", "LSTMCell", "RNNCell",
                                          "GRUCell") if hasattr(nn, n))


def _black_list():
    from gpucell import nn
    return tuple(getattr(nn, n) for n in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
                                          "GroupNorm") if hasattr(nn, n))


def _out_to_32(cell: Cell) -> None:
    cell.__dict__["_amp_out32"] = True


def auto_mixed_precision(network: Cell, amp_level: str = "O0", dtype=_dt.float16) -> Cell:
    """MindSpore's levels, applied to ``network`` in place (and returned).

    ``O0``: nothing. ``O1``: the listed cells (Dense, Conv...) compute in ``dtype`` and return
    float32. ``O2``: the whole network in ``dtype`` except BatchNorm/LayerNorm, its outputs cast to
    float32 for the loss. ``O3``: everything in ``dtype``. ``auto``: per operator, as MindSpore 2.3+:
    matmuls and convolutions compute in ``dtype``, precision-sensitive ops (exp, log, softmax, the
    normalisations, reductions, losses) in float32, the rest follow their inputs (see
    gpucell._autocast for the lists); the network's outputs are float32. Parameters stay float32
    (master weights); the casts are ops, so their gradients are float32.
    """
    if not isinstance(network, Cell):
        raise TypeError(f"For 'auto_mixed_precision', the 'network' must be a Cell, but got "
                        f"{type(network).__name__}.")
    dtype = _dt.to_dtype(dtype)
    if dtype not in (_dt.float16, _dt.bfloat16):
        raise ValueError(f"For 'auto_mixed_precision', the 'dtype' must be float16 or bfloat16, but got {dtype}.")
    if amp_level == "O0":
        return network
    if amp_level == "O1":
        white = _white_list()
        for _, cell in network.cells_and_names():
            if isinstance(cell, white) and cell.__dict__.get("_amp_dtype") is None:
                cell.to_float(dtype)
                _out_to_32(cell)
        return network
    if amp_level == "O2":
        network.to_float(dtype)
        black = _black_list()
        for _, cell in network.cells_and_names():
            if isinstance(cell, black):
                cell.to_float(_dt.float32)
        _out_to_32(network)
        return network
    if amp_level == "O3":
        network.to_float(dtype)
        return network
    if amp_level == "auto":
        from gpucell._autocast import AutoCast
        from gpucell.nn.cell import structure

        white, black = _white_list(), _black_list()
        for _, cell in network.cells_and_names():
            if isinstance(cell, white):
                cell.to_float(dtype)
            elif isinstance(cell, black):
                cell.to_float(_dt.float32)
        network.__dict__["_amp_dtype"] = AutoCast(dtype, network.__dict__.get("_amp_dtype"))
        structure.epoch += 1  # jit plans traced before this no longer describe the network
        return network
    raise ValueError(f"For 'auto_mixed_precision', the 'amp_level' must be one of 'O0', 'O1', 'O2', 'O3', "
                     f"'auto', but got {amp_level!r}.")


_LEVEL_DEFAULTS = {"O0": (_dt.float32, False, False), "O1": (_dt.float32, False, False),
                   "O2": (_dt.float16, True, True), "O3": (_dt.float16, False, False)}


def recommended_level(level: str) -> str:
    """``level`` itself, or for ``"auto"`` the level MindSpore's Model and build_train_network pick
    for the device: ``"O2"`` on the GPU. On the CPU, where MindSpore refuses ``"auto"``, gpucell
    trains in float32 (``"O0"``) so that the same script runs on both."""
    if level != "auto":
        return level
    from gpucell import backend

    return "O2" if backend.get_device() == "GPU" else "O0"


def build_train_network(network: Cell, optimizer, loss_fn=None, level: str = "O0", boost_level: str = "O0",
                        **kwargs) -> Cell:
    """MindSpore's training network for an amp ``level`` (``"auto"``: see :func:`recommended_level`):
    ``auto_mixed_precision`` on ``network``,
    ``WithLossCell`` when ``loss_fn`` is given, and a ``TrainOneStepWithLossScaleCell`` for a
    ``loss_scale_manager`` (O2's default: ``DynamicLossScaleManager()``) or a ``TrainOneStepCell``.

    Keywords: ``cast_model_type`` (float16/bfloat16/float32), ``keep_batchnorm_fp32`` (only True
    is supported with a low-precision cast), ``loss_scale_manager``.
    """
    from gpucell import nn
    from gpucell.train.loss_scale_manager import DynamicLossScaleManager, FixedLossScaleManager

    level = recommended_level(level)
    if level not in _LEVEL_DEFAULTS:
        raise ValueError(f"For 'build_train_network', the 'level' must be one of {sorted(_LEVEL_DEFAULTS)}, "
                         f"but got {level!r}.")
    if boost_level != "O0":
        raise ValueError(f"For 'build_train_network', only boost_level='O0' is supported, but got {boost_level!r}.")
    unknown = set(kwargs) - {"cast_model_type", "keep_batchnorm_fp32", "loss_scale_manager"}
    if unknown:
        raise ValueError(f"For 'build_train_network', unknown keyword arguments {sorted(unknown)}.")
    cast_type, _, default_manager = _LEVEL_DEFAULTS[level]
    cast_type = _dt.to_dtype(kwargs.get("cast_model_type", cast_type))
    manager = kwargs.get("loss_scale_manager", DynamicLossScaleManager() if default_manager else None)
    if level in ("O2", "O3") and cast_type is not _dt.float32:
        auto_mixed_precision(network, level, cast_type)
    elif level == "O1":
        auto_mixed_precision(network, level, _dt.to_dtype(kwargs.get("cast_model_type", _dt.float16)))
    if loss_fn is not None:
        network = nn.WithLossCell(network, loss_fn)
    if manager is None:
        return nn.TrainOneStepCell(network, optimizer)
    if isinstance(manager, FixedLossScaleManager) and not manager.get_drop_overflow_update():
        # As MindSpore: the scale is the backward's sens and the optimizer's loss_scale undoes it.
        return nn.TrainOneStepCell(network, optimizer, sens=manager.get_loss_scale())
    update_cell = manager.get_update_cell()
    return nn.TrainOneStepWithLossScaleCell(network, optimizer, update_cell)


# MindSpore also exports the managers from mindspore.amp (they live in gpucell.train).
from gpucell.train.loss_scale_manager import (  # noqa: E402
    DynamicLossScaleManager,
    FixedLossScaleManager,
    LossScaleManager,
)
