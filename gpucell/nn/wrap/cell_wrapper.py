"""Training wrappers: a network with its loss, the same for evaluation, and one training step.

>>> import numpy as np
>>> import gpucell as ms
>>> from gpucell import nn, ops
>>> class Linear(nn.Cell):
...     def __init__(self):
...         super().__init__()
...         self.w = ms.Parameter(ms.Tensor([[0.0], [0.0]]), name="w")
...     def construct(self, x):
...         return ops.matmul(x, self.w)
>>> def mse(out, y):
...     return ((out - y) ** 2).mean()
>>> net = Linear()
>>> step = nn.TrainOneStepCell(nn.WithLossCell(net, mse), nn.SGD(net.trainable_params(), 0.1))
>>> x, y = ms.Tensor([[1.0, 2.0]]), ms.Tensor([[1.0]])
>>> [round(float(step(x, y).asnumpy()), 4) for _ in range(3)]
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.autograd import value_and_grad
from gpucell.nn.cell import Cell
from gpucell.nn.optim.optimizer import Optimizer
from gpucell.ops._util import check_bool
from gpucell.ops.conversion import cast
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor

__all__ = ["WithLossCell", "WithEvalCell", "TrainOneStepCell", "TrainOneStepWithLossScaleCell",
           "DynamicLossScaleUpdateCell", "FixedLossScaleUpdateCell"]


def _check_cell(where: str, arg: str, value) -> None:
    if not isinstance(value, Cell):
        raise TypeError(f"For '{where}', the '{arg}' must be a Cell, but got {value!r:.80} of type "
                        f"'{type(value).__name__}'.")


def _check_callable(where: str, arg: str, value) -> None:
    if not callable(value):
        raise TypeError(f"For '{where}', the '{arg}' must be a Cell or a function, but got {value!r:.80} "
                        f"of type '{type(value).__name__}'.")


def _data_parallel_reducer(network: Cell, weights):
    """In DATA_PARALLEL, as MindSpore: a DistributedGradReducer, after rank 0's parameters are broadcast
    when the context asks for it. None otherwise."""
    from gpucell.communication import auto_parallel

    if not auto_parallel.data_parallel():
        return None
    from gpucell.communication.buckets import broadcast_parameters
    from gpucell.nn.wrap.grad_reducer import DistributedGradReducer

    reducer = DistributedGradReducer(weights)
    if auto_parallel.get_auto_parallel_context("parameter_broadcast"):
        broadcast_parameters(network.get_parameters())
    return reducer


class WithLossCell(Cell):
    """``loss_fn(backbone(data), label)``: a network and its loss as one Cell."""

    def __init__(self, backbone: Cell, loss_fn):
        super().__init__(auto_prefix=False)
        _check_cell("WithLossCell", "backbone", backbone)
        _check_callable("WithLossCell", "loss_fn", loss_fn)
        self._backbone = backbone
        self._loss_fn = loss_fn

    def construct(self, data, label):
        return self._loss_fn(self._backbone(data), label)

    @property
    def backbone_network(self) -> Cell:
        return self._backbone


class WithEvalCell(Cell):
    """Returns ``(loss, outputs, label)`` of ``network(data)`` for evaluation; with
    ``add_cast_fp32`` the outputs and label are cast to Float32 first."""

    def __init__(self, network: Cell, loss_fn, add_cast_fp32: bool = False):
        super().__init__(auto_prefix=False)
        _check_cell("WithEvalCell", "network", network)
        _check_callable("WithEvalCell", "loss_fn", loss_fn)
        self._network = network
        self._loss_fn = loss_fn
        self.add_cast_fp32 = check_bool("WithEvalCell", "add_cast_fp32", add_cast_fp32)

    def construct(self, data, label):
        outputs = self._network(data)
        if self.add_cast_fp32:
            label = cast(label, _dt.float32)
            outputs = cast(outputs, _dt.float32)
        loss = self._loss_fn(outputs, label)
        return loss, outputs, label


class TrainOneStepCell(Cell):
    """One training step: the loss of ``network(*inputs)``, its gradients with respect to
    ``optimizer.parameters``, and the optimizer's in-place update. Returns the loss.

    ``sens``: the gradient of the loss that starts the backward pass (1.0: plain gradients; a loss
    scale otherwise). ``return_grad``: also return ``{parameter name: gradient}``.
    """

    def __init__(self, network: Cell, optimizer: Optimizer, sens=None, return_grad: bool = False):
        super().__init__(auto_prefix=False)
        _check_cell("TrainOneStepCell", "network", network)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"For 'TrainOneStepCell', the 'optimizer' must be a gpucell.nn.Optimizer, "
                            f"but got {type(optimizer).__name__}.")
        sens = 1.0 if sens is None else sens
        if isinstance(sens, bool) or not isinstance(sens, numbers.Real):
            raise TypeError(f"For 'TrainOneStepCell', the 'sens' must be a float, but got {sens!r}.")
        if not isinstance(return_grad, bool):
            raise TypeError(f"For 'TrainOneStepCell', the 'return_grad' must be a bool, but got "
                            f"{return_grad!r}.")
        self.network = network
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.sens = float(sens)
        self.return_grad = return_grad
        self.grad_fn = value_and_grad(network, None, self.weights)
        self.grad_reducer = _data_parallel_reducer(network, self.weights)

    def construct(self, *inputs):
        loss, grads = self.grad_fn(*inputs)
        if self.sens != 1.0:
            grads = tuple(g * self.sens for g in grads)
        if self.grad_reducer is not None:
            grads = self.grad_reducer(grads)
        self.optimizer(grads)
        if self.return_grad:
            return loss, {p.name: g for p, g in zip(self.weights, grads)}
        return loss


class DynamicLossScaleUpdateCell(Cell):
    """MindSpore's dynamic loss-scale update: ``cell(loss_scale, overflow)`` updates the
    ``loss_scale`` Parameter in place on the device (divided by ``scale_factor`` on overflow, at
    least 1; multiplied by it after ``scale_window`` finite steps) and returns ``overflow``."""

    def __init__(self, loss_scale_value, scale_factor, scale_window):
        super().__init__(auto_prefix=False)
        from gpucell.amp import _check_positive

        _check_positive("DynamicLossScaleUpdateCell", "loss_scale_value", loss_scale_value)
        _check_positive("DynamicLossScaleUpdateCell", "scale_factor", scale_factor)
        _check_positive("DynamicLossScaleUpdateCell", "scale_window", scale_window, numbers.Integral)
        self.loss_scale_value = float(loss_scale_value)
        self.scale_factor = float(scale_factor)
        self.scale_window = int(scale_window)
        self.cur_iter = Parameter(Tensor(np.int32(0)), name="current_iterator_step", requires_grad=False)

    def get_loss_scale(self) -> float:
        return self.loss_scale_value

    def construct(self, loss_scale, overflow):
        from gpucell.amp import _as_bool, _dynamic_update
        from gpucell.ops.comparison import logical_not

        _dynamic_update(loss_scale, self.cur_iter, logical_not(_as_bool(overflow)), self.scale_factor,
                        self.scale_window)
        return overflow


class FixedLossScaleUpdateCell(Cell):
    """A loss scale that never changes: ``cell(loss_scale, overflow)`` returns ``overflow``."""

    def __init__(self, loss_scale_value):
        super().__init__(auto_prefix=False)
        from gpucell.amp import _check_positive

        self.loss_scale_value = float(_check_positive("FixedLossScaleUpdateCell", "loss_scale_value",
                                                      loss_scale_value))

    def get_loss_scale(self) -> float:
        return self.loss_scale_value

    def construct(self, loss_scale, overflow):
        return overflow


class TrainOneStepWithLossScaleCell(TrainOneStepCell):
    """One training step with loss scaling, as MindSpore: the backward pass starts from the loss
    scale, the gradients are divided by it, and an overflow (a non-finite gradient) skips the
    update. Returns ``(loss, overflow, loss_scale)``.

    ``scale_sense``: a Tensor (a fixed scale, changed only by ``set_sense_scale``) or an update Cell
    such as ``DynamicLossScaleUpdateCell``. Everything stays on the device: the skip is a select
    between the optimizer's Parameters before and after the update, so no value is read back.
    """

    def __init__(self, network: Cell, optimizer: Optimizer, scale_sense):
        super().__init__(network, optimizer, sens=None)
        if isinstance(scale_sense, Cell):
            self.loss_scaling_manager = scale_sense
            value = np.float32(scale_sense.get_loss_scale())
        elif isinstance(scale_sense, Tensor):
            if scale_sense.shape not in ((), (1,)):
                raise ValueError(f"For 'TrainOneStepWithLossScaleCell', the 'scale_sense' must be a scalar "
                                 f"Tensor, but got shape {scale_sense.shape}.")
            self.loss_scaling_manager = None
            value = np.float32(scale_sense.asnumpy().reshape(()))
        else:
            raise TypeError(f"For 'TrainOneStepWithLossScaleCell', the 'scale_sense' must be a Cell or a "
                            f"Tensor, but got {type(scale_sense).__name__}.")
        self.scale_sense = Parameter(Tensor(value), name="scale_sense", requires_grad=False)
        self._state = tuple({id(p): p for p in list(optimizer.get_parameters()) + list(self.weights)}.values())
        self.grad_fn = value_and_grad(self._scaled_loss, None, self.weights, has_aux=True)

    def _scaled_loss(self, scale, *inputs):
        loss = self.network(*inputs)
        return loss * cast(scale, loss.dtype), loss

    def set_sense_scale(self, sens) -> None:
        from gpucell.ops.assign import assign

        assign(self.scale_sense, cast(sens, self.scale_sense.dtype))

    def construct(self, *inputs):
        from gpucell.amp import all_finite
        from gpucell.ops.assign import assign
        from gpucell.ops.comparison import logical_not
        from gpucell.ops.conversion import copy
        from gpucell.ops.selection import select

        scaling_sens = copy(self.scale_sense)
        (_, loss), grads = self.grad_fn(scaling_sens, *inputs)
        inverse = 1.0 / scaling_sens
        grads = tuple(g * cast(inverse, g.dtype) for g in grads)
        if self.grad_reducer is not None:
            grads = self.grad_reducer(grads)
        overflow = logical_not(all_finite(grads))
        if self.loss_scaling_manager is not None:
            self.loss_scaling_manager(self.scale_sense, overflow)
        before = tuple(copy(p) for p in self._state)
        self.optimizer(grads)
        for p, old in zip(self._state, before):
            assign(p, select(overflow, old, p))
        return loss, overflow, scaling_sens
