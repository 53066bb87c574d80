"""gpucell.nn: Cells, containers and (with later issues) layers, losses and optimizers."""

from gpucell.nn.cell import Cell, HookHandle
from gpucell.nn.container import CellList, SequentialCell

__all__ = ["Cell", "HookHandle", "CellList", "SequentialCell"]

# Optimizers, learning rates and training wrappers.
from gpucell.nn.dynamic_lr import (  # noqa: E402
    cosine_decay_lr, exponential_decay_lr, inverse_decay_lr, natural_exp_decay_lr, piecewise_constant_lr,
    polynomial_decay_lr, warmup_lr,
)
from gpucell.nn.learning_rate_schedule import (  # noqa: E402
    CosineDecayLR, ExponentialDecayLR, InverseDecayLR, LearningRateSchedule, NaturalExpDecayLR,
    PolynomialDecayLR, WarmUpLR,
)
from gpucell.nn.optim import SGD, Adam, AdamW, AdamWeightDecay, Momentum, Optimizer  # noqa: E402
from gpucell.nn.wrap import TrainOneStepCell, WithEvalCell, WithLossCell  # noqa: E402

__all__ += [
    "Optimizer", "SGD", "Momentum", "Adam", "AdamWeightDecay", "AdamW",
    "LearningRateSchedule", "ExponentialDecayLR", "NaturalExpDecayLR", "InverseDecayLR", "CosineDecayLR",
    "PolynomialDecayLR", "WarmUpLR", "piecewise_constant_lr", "exponential_decay_lr",
    "natural_exp_decay_lr", "inverse_decay_lr", "cosine_decay_lr", "polynomial_decay_lr", "warmup_lr",
    "WithLossCell", "WithEvalCell", "TrainOneStepCell",
]
