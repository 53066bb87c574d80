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

from gpucell import dtype as _dt
from gpucell.autograd import value_and_grad
from gpucell.nn.cell import Cell
from gpucell.nn.optim.optimizer import Optimizer
from gpucell.ops._util import check_bool
from gpucell.ops.conversion import cast

__all__ = ["WithLossCell", "WithEvalCell", "TrainOneStepCell"]


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
