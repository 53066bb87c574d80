"""LazyAdam: MindSpore's deprecated Adam variant for sparse gradients, here for dense ones."""

from __future__ import annotations

import warnings

from gpucell.nn.optim.adam import Adam

__all__ = ["LazyAdam"]


class LazyAdam(Adam):
    """MindSpore's ``nn.LazyAdam`` (deprecated there since 2.0 in favour of ``nn.Adam``).

    On a sparse (RowTensor) gradient MindSpore updates only the gathered rows; on dense gradients,
    the only kind gpucell has, it runs the same Adam kernel as ``nn.Adam``, and so does this class:
    ``m``, ``v`` as Adam, ``p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``
    (Nesterov with ``use_nesterov``). State: ``moment1.<name>``, ``moment2.<name>``,
    ``beta1_power``, ``beta2_power``. Constructing one warns DeprecationWarning, as MindSpore logs.

    >>> import warnings
    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> w = ms.Parameter(ms.Tensor([1.0, 2.0]), name="w")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     opt = nn.LazyAdam([w], learning_rate=0.1)
    >>> _ = opt((ms.Tensor([1.0, -1.0]),))
    >>> w.asnumpy().round(4)
    array([0.9, 2.1], dtype=float32)
    """

    def __init__(self, params, learning_rate=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 use_locking: bool = False, use_nesterov: bool = False, weight_decay: float = 0.0,
                 loss_scale: float = 1.0):
        warnings.warn("'LazyAdam' is deprecated from version 2.0 and will be removed in a future version, use "
                      "'Adam' instead.", DeprecationWarning, stacklevel=2)
        super().__init__(params, learning_rate, beta1, beta2, eps, use_locking, use_nesterov, weight_decay,
                         loss_scale)
