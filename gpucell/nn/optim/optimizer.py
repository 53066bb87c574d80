"""Optimizer: the base of every optimizer, a Cell holding the parameters it updates and their state.

What changes between steps lives in device memory: ``learning_rate`` is a Parameter (a float) or a
schedule Cell evaluated from ``global_step`` (a list, a 1-D Tensor or a LearningRateSchedule), and
``global_step`` is an int32 Parameter advanced in place by every call. So a jit plan or a CUDA graph
that captured a step keeps reading the current learning rate, and a schedule needs no recompiling.

Parameter groups follow MindSpore: ``params`` may be a list of dicts with the keys ``"params"``,
``"lr"``, ``"weight_decay"``, ``"grad_centralization"`` and ``"order_params"``.

Gradient centralization (a group's ``"grad_centralization": True``) happens where MindSpore's
optimizers do it: ``decay_weight`` (``g + weight_decay * loss_scale * p``), then
``gradients_centralization`` (for a Parameter of 2 or more dims whose dim 1 is a multiple of 16:
the gradient minus its mean over every dim but the first), then ``scale_grad`` (``/ loss_scale``),
then the update. gpucell's fused updates add the weight decay and divide by the loss scale
themselves, so which Parameters centralize is decided here once, at construction: their
gradients get the decay and the centralization from a few ops before the fused update, which then
adds no decay for them (and still divides by the loss scale). Every other Parameter keeps the one
fused path, at no extra cost. Optimizers whose update adds the weight decay itself (MindSpore's
SGD and Lamb; gpucell's AdamW, whose decay is decoupled) centralize the gradient alone;
AdamWeightDecay, as in MindSpore, never centralizes.
"""

from __future__ import annotations

import numbers

import numpy as np

from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.nn.learning_rate_schedule import LearningRateSchedule, _IteratorLearningRate
from gpucell.ops._dispatch import apply
from gpucell.ops.arithmetic import ADD, MUL, SUB
from gpucell.ops.optim import STEP_INCREMENT
from gpucell.ops.reduction import MEAN
from gpucell.parameter import Parameter, ParameterTuple
from gpucell.tensor import Tensor

__all__ = ["Optimizer"]

_GROUP_KEYS = ("params", "lr", "weight_decay", "grad_centralization", "order_params")


def decay_filter(param: Parameter) -> bool:
    """MindSpore's default: no weight decay on normalisation scales and shifts."""
    return "beta" not in param.name and "gamma" not in param.name


def _check_number(where: str, arg: str, value, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{where}', the '{arg}' must be a float, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    value = float(value)
    if (value <= minimum) if strict else (value < minimum):
        raise ValueError(f"For '{where}', the '{arg}' must be {'>' if strict else '>='} {minimum}, "
                         f"but got {value}.")
    return value


def _check_grad_centralization(where: str, index: int, flag) -> bool:
    """A group's ``grad_centralization``: a bool, as MindSpore checks it."""
    if not isinstance(flag, bool):
        raise TypeError(f"For '{where}', the 'grad_centralization' of group {index} must be a bool, but got "
                        f"{flag!r} with type '{type(flag).__name__}'.")
    return flag


def _centralization_axes(shape: tuple) -> tuple | None:
    """The axes MindSpore's gradients_centralization averages over for a Parameter of this shape:
    every dim but the first, for 2 or more dims with dim 1 a multiple of 16; None: left as it is."""
    if len(shape) < 2 or shape[1] % 16:
        return None
    return tuple(range(1, len(shape)))


class Optimizer(Cell):
    """Base class of the optimizers: ``Optimizer(learning_rate, parameters, weight_decay=0.0,
    loss_scale=1.0)``.

    ``learning_rate``: a float; a list of floats or a 1-D Tensor (one per step; the last one holds
    once the steps run past the end); or a LearningRateSchedule of the step. ``parameters``: the
    Parameters to update, or groups (dicts). ``weight_decay``: L2 penalty, applied to Parameters
    without ``beta`` or ``gamma`` in their names (with groups: to every Parameter of a group whose
    weight decay is > 0, as MindSpore). ``loss_scale``: gradients are divided by it first.
    A group's ``grad_centralization`` (default False) centralizes the gradients of its Parameters
    of 2 or more dims whose dim 1 is a multiple of 16, as MindSpore (see the module docstring).
    Calling ``optimizer(grads)`` updates every Parameter in place.
    """

    # Where MindSpore's construct of this optimizer centralizes gradients: "after_decay"
    # (decay_weight, gradients_centralization, scale_grad, then the update), "before_decay" (the
    # update adds the weight decay itself, after: SGD, Lamb, AdamW) or None (never: AdamWeightDecay).
    _centralize_at: str | None = "after_decay"

    def __init__(self, learning_rate, parameters, weight_decay: float = 0.0, loss_scale: float = 1.0):
        super().__init__(auto_prefix=False)
        where = type(self).__name__
        self.loss_scale = _check_number(where, "loss_scale", loss_scale, strict=True)
        self.weight_decay = _check_number(where, "weight_decay", weight_decay)
        groups = self._groups(where, parameters, learning_rate)
        ordered = self._order(where, groups)
        device = ordered[0].device
        self.is_group = self._grouped
        self.is_group_lr = any(g["lr"] is not None for g in groups)
        self.is_group_params_ordered = self._ordered
        self.parameters = ParameterTuple(ordered)
        self._parameters = self.parameters
        self.param_length = len(ordered)
        self.global_step = Parameter(Tensor(np.zeros(1, np.int32), device=device), name="global_step",
                                     requires_grad=False)
        group_of = {id(p): i for i, g in enumerate(groups) for p in g["params"]}
        sources = self._learning_rates(where, groups, learning_rate, device)
        self._lr_sources = sources
        self.dynamic_lr = any(not isinstance(s, Parameter) for s in sources)
        self._lr_index = tuple(group_of[id(p)] if self.is_group_lr else 0 for p in ordered)
        wds = []
        for p in ordered:
            group = groups[group_of[id(p)]]
            wd = self.weight_decay if group["weight_decay"] is None else group["weight_decay"]
            # The name filter is the ungrouped default only: with groups MindSpore decays every
            # Parameter of a group whose weight decay is > 0 (decay_flags = wd > 0), gamma and beta too.
            wds.append(wd if self._grouped or decay_filter(p) else 0.0)
        self.group_weight_decay = tuple(wds)
        self.decay_flags = tuple(w > 0 for w in wds) if self._grouped else tuple(decay_filter(p) for p in ordered)
        self.exec_weight_decay = any(w > 0 for w in wds)
        self.grad_centralization_flags = tuple(groups[group_of[id(p)]]["grad_centralization"] for p in ordered)
        # (index, axes) of each gradient to centralize: static, so a jit plan records a fixed set of ops.
        axes = [_centralization_axes(p.shape) if flag else None
                for p, flag in zip(ordered, self.grad_centralization_flags)]
        self._centralized = () if self._centralize_at is None else tuple(
            (i, a) for i, a in enumerate(axes) if a is not None)
        self.reciprocal_scale = 1.0 / self.loss_scale
        self._success = (True,) * len(ordered)
        # Plain references for the per-step path (registered attributes resolve more slowly).
        self.__dict__["_global_step"] = self.global_step
        self.__dict__["_param_list"] = tuple(ordered)
        self._shapes = tuple(p.shape for p in ordered)

    # -- construction --------------------------------------------------------------------------
    def _groups(self, where: str, parameters, learning_rate) -> list[dict]:
        if isinstance(parameters, Parameter):
            parameters = [parameters]
        if parameters is None or isinstance(parameters, (str, bytes, dict, Tensor)) or \
                not hasattr(parameters, "__iter__"):
            raise TypeError(f"For '{where}', the 'params' must be a list of Parameters or a list of "
                            f"dicts, but got {type(parameters).__name__}.")
        items = list(parameters)
        if not items:
            raise ValueError(f"For '{where}', the 'params' must not be empty: the optimizer got no "
                             f"Parameter to update.")
        self._ordered = False
        self._order_params = None
        if all(isinstance(p, Parameter) for p in items):
            self._grouped = False
            return [{"params": items, "lr": None, "weight_decay": None, "grad_centralization": False}]
        if not all(isinstance(p, dict) for p in items):
            kinds = sorted({type(p).__name__ for p in items})
            raise TypeError(f"For '{where}', the 'params' must hold only Parameters or only dicts, but "
                            f"got elements of types {kinds}.")
        self._grouped = True
        groups = []
        for i, group in enumerate(items):
            unknown = sorted(set(group) - set(_GROUP_KEYS))
            if unknown:
                raise ValueError(f"For '{where}', group {i} has unknown key(s) {unknown}; the keys are "
                                 f"{list(_GROUP_KEYS)}.")
            if "order_params" in group:
                self._ordered = True
                self._order_params = self._param_list(where, group["order_params"], "order_params")
                continue
            if "params" not in group:
                raise ValueError(f"For '{where}', group {i} must have the key 'params'.")
            wd = group.get("weight_decay")
            groups.append({
                "params": self._param_list(where, group["params"], f"group {i} 'params'"),
                "lr": group.get("lr"),
                "weight_decay": None if wd is None else _check_number(where, "weight_decay", wd),
                "grad_centralization": _check_grad_centralization(where, i, group.get("grad_centralization", False)),
            })
        if not groups:
            raise ValueError(f"For '{where}', the 'params' hold only 'order_params' and no group.")
        return groups

    @staticmethod
    def _param_list(where: str, value, what: str) -> list:
        items = [value] if isinstance(value, Parameter) else list(value)
        for p in items:
            if not isinstance(p, Parameter):
                raise TypeError(f"For '{where}', {what} must hold Parameters, but got an element of "
                                f"type '{type(p).__name__}'.")
        if not items:
            raise ValueError(f"For '{where}', {what} must not be empty.")
        return items

    def _order(self, where: str, groups: list) -> list:
        seen: dict[int, Parameter] = {}
        for g in groups:
            for p in g["params"]:
                if id(p) in seen:
                    raise ValueError(f"For '{where}', the Parameter '{p.name}' appears more than once in "
                                     f"'params'; each Parameter must be in exactly one group.")
                seen[id(p)] = p
        if self._order_params is None:
            return list(seen.values())
        order = self._order_params
        missing = [p.name for p in order if id(p) not in seen]
        if missing:
            raise ValueError(f"For '{where}', the Parameters {missing} of 'order_params' are in no group "
                             f"of 'params'.")
        if len({id(p) for p in order}) != len(seen):
            left = [p.name for p in seen.values() if p not in order]
            raise ValueError(f"For '{where}', 'order_params' must list every grouped Parameter once, "
                             f"but it leaves out {left} or repeats one.")
        return list(order)

    def _learning_rates(self, where: str, groups: list, default, device: str) -> list:
        if not self.is_group_lr:
            source = _lr_source(where, "learning_rate", default, "learning_rate", device)
            self.learning_rate = source
            return [source]
        sources = []
        for i, group in enumerate(groups):
            lr = default if group["lr"] is None else group["lr"]
            sources.append(_lr_source(where, f"group {i} 'lr'", lr, f"learning_rate_group_{i}", device))
        if all(isinstance(s, Parameter) for s in sources):
            self.learning_rate = ParameterTuple(sources)
        else:
            for i, s in enumerate(sources):
                if isinstance(s, Parameter):
                    self.insert_param_to_cell(f"learning_rate_group_{i}", s)
                else:
                    self.insert_child_to_cell(f"learning_rate_group_{i}", s)
            object.__setattr__(self, "learning_rate", tuple(sources))
        return sources

    # -- per step ------------------------------------------------------------------------------
    def _step_lrs(self) -> list:
        """The learning rate of each group for this step (device values); then global_step += 1."""
        step = self._global_step
        lrs = [s if type(s) is Parameter else s(step) for s in self._lr_sources]
        apply(STEP_INCREMENT, step)
        return lrs

    def _check_grads(self, gradients):
        """Refuses a wrong count or shape before anything is written (no half-applied step)."""
        if type(gradients) is not tuple and not isinstance(gradients, (tuple, list)):
            raise TypeError(f"For '{type(self).__name__}', the gradients must be a tuple of Tensors, one "
                            f"per Parameter, but got {type(gradients).__name__}.")
        if len(gradients) != self.param_length:
            raise ValueError(f"For '{type(self).__name__}', got {len(gradients)} gradients for "
                             f"{self.param_length} Parameters.")
        for g, shape in zip(gradients, self._shapes):
            if not isinstance(g, Tensor) or g._data.shape != shape:
                self._bad_grad(gradients)
        return gradients

    def _gradients(self, gradients) -> tuple:
        """The checked gradients, centralized where a group asked for it (MindSpore's decay_weight
        and gradients_centralization for those Parameters; the fused update then divides by the
        loss scale). Ops only, no host reads: a jitted step records and captures them."""
        grads = self._check_grads(gradients)
        if not self._centralized:
            return grads
        grads = list(grads)
        decay_first = self._centralize_at == "after_decay"
        for i, axes in self._centralized:
            g = grads[i]
            # Read per call, not cached: LARS takes the weight decay over after construction.
            decay = self.group_weight_decay[i] * self.loss_scale if decay_first else 0.0
            if decay:
                g = apply(ADD, g, apply(MUL, self._param_list[i], decay))
            grads[i] = apply(SUB, g, apply(MEAN, g, axes=axes, keepdims=True))
        return tuple(grads)

    def _update_weight_decay(self) -> tuple:
        """Each Parameter's weight decay for the fused update: 0 where :meth:`_gradients` already
        added it before centralizing."""
        wds = list(self.group_weight_decay)
        if self._centralize_at == "after_decay":
            for i, _ in self._centralized:
                wds[i] = 0.0
        return tuple(wds)

    def _bad_grad(self, gradients):
        for p, g in zip(self._param_list, gradients):
            if not isinstance(g, Tensor) or g.shape != p.shape:
                got = f"shape {g.shape}" if isinstance(g, Tensor) else f"a {type(g).__name__}"
                raise ValueError(f"For '{type(self).__name__}', the gradient of '{p.name}' must be a "
                                 f"Tensor of shape {p.shape}, but got {got}.")

    def get_lr(self):
        """The learning rate the next step will use: a Tensor, or one per Parameter when the groups
        have their own learning rates. Reading it does not advance ``global_step``."""
        step = self.global_step
        lrs = [s if isinstance(s, Parameter) else s(step) for s in self._lr_sources]
        if not self.is_group_lr:
            return lrs[0]
        return tuple(lrs[i] for i in self._lr_index)

    def get_lr_parameter(self, param):
        """The learning rate (Parameter or schedule Cell) of one Parameter, or a list for a list."""
        items = param if isinstance(param, (list, tuple)) else [param]
        index = {id(p): i for i, p in enumerate(self.parameters)}
        out = []
        for p in items:
            if id(p) not in index:
                raise ValueError(f"For 'get_lr_parameter', the Parameter '{getattr(p, 'name', p)}' is "
                                 f"not updated by this optimizer.")
            out.append(self._lr_sources[self._lr_index[index[id(p)]]])
        return out if isinstance(param, (list, tuple)) else out[0]

    def construct(self, gradients):
        raise NotImplementedError(f"For '{type(self).__name__}', an Optimizer subclass must define "
                                  f"construct(self, gradients).")

    def extend_repr(self) -> str:
        return f"parameters={self.param_length}, weight_decay={self.weight_decay}, loss_scale={self.loss_scale}"


def _lr_source(where: str, arg: str, value, name: str, device: str):
    """A Parameter holding a fixed learning rate, or a schedule Cell of the step."""
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, Tensor) and value.ndim == 0:
        value = float(value.asnumpy())
    if isinstance(value, (list, tuple, Tensor)):
        table = value.asnumpy() if isinstance(value, Tensor) else np.asarray(value)
        if table.ndim != 1 or not table.size or table.dtype.kind not in "fiu":
            raise ValueError(f"For '{where}', a dynamic {arg} must be a non-empty 1-D list or Tensor of "
                             f"floats, but got shape {table.shape} and dtype {table.dtype}.")
        if (table < 0).any():
            raise ValueError(f"For '{where}', every {arg} must be >= 0, but got {table.min()}.")
        return _IteratorLearningRate(Tensor(table.astype(np.float32), device=device), name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"For '{where}', the {arg} must be a float, a list of floats, a 1-D Tensor or a "
                        f"LearningRateSchedule, but got {value!r} with type '{type(value).__name__}'.")
    if value < 0:
        raise ValueError(f"For '{where}', the {arg} must be >= 0, but got {value}.")
    return Parameter(Tensor(np.asarray(value, np.float32), _dt.float32, device=device), name=name,
                     requires_grad=False)
