"""The shared step of the optimizers whose update reads the learning rate itself: one fused in-place
op for all the Parameters, with ``(param, grad, lr, *state)`` per Parameter."""

from __future__ import annotations

from gpucell.nn.optim.optimizer import Optimizer
from gpucell.ops._dispatch import apply

__all__ = ["ForEachOptimizer"]


class ForEachOptimizer(Optimizer):
    """An Optimizer whose ``construct`` is one call of a for-each update op (gpucell.ops.optim)."""

    def _prepare(self, op, state: tuple, **attrs) -> None:
        """``state``: ParameterTuples, one buffer per Parameter each; ``attrs``: the fixed
        hyperparameters, to which each Parameter's weight decay and the gradient scale are added."""
        n = len(self._param_list)
        self._op = op
        self._states = tuple(tuple(s[i] for s in state) for i in range(n))
        wds = self._update_weight_decay()
        per_param = tuple({**attrs, "weight_decay": wds[i], "scale": self.reciprocal_scale} for i in range(n))
        self._attrs = {"width": 3 + len(state), "per_param": per_param}

    def construct(self, gradients):
        grads = self._gradients(gradients)
        lrs = self._step_lrs()
        inputs = []
        for p, g, lr, state in zip(self._param_list, grads, self._lr_index, self._states):
            inputs += (p, g, lrs[lr], *state)
        apply(self._op, *inputs, **self._attrs)
        return self._success
