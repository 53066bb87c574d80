"""gpucell.nn: Cells, containers, layers, losses, optimizers, learning rates and training wrappers."""

from gpucell.nn.cell import Cell, HookHandle
from gpucell.nn.container import CellList, SequentialCell
from gpucell.nn.dynamic_lr import (
    cosine_decay_lr,
    exponential_decay_lr,
    inverse_decay_lr,
    natural_exp_decay_lr,
    piecewise_constant_lr,
    polynomial_decay_lr,
    warmup_lr,
)
from gpucell.nn.layer import (
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    get_activation,
)
from gpucell.nn.learning_rate_schedule import (
    CosineDecayLR,
    ExponentialDecayLR,
    InverseDecayLR,
    LearningRateSchedule,
    NaturalExpDecayLR,
    PolynomialDecayLR,
    WarmUpLR,
)
from gpucell.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    LossBase,
    MSELoss,
    SoftmaxCrossEntropyWithLogits,
)
from gpucell.nn.optim import SGD, Adam, AdamW, AdamWeightDecay, Momentum, Optimizer
from gpucell.nn.wrap import (
    DistributedGradReducer,
    DynamicLossScaleUpdateCell,
    FixedLossScaleUpdateCell,
    TrainOneStepCell,
    TrainOneStepWithLossScaleCell,
    WithEvalCell,
    WithLossCell,
)

__all__ = [
    "Cell", "HookHandle", "CellList", "SequentialCell", "Optimizer", "SGD", "Momentum", "Adam",
    "AdamWeightDecay", "AdamW", "LearningRateSchedule", "ExponentialDecayLR", "NaturalExpDecayLR",
    "InverseDecayLR", "CosineDecayLR", "PolynomialDecayLR", "WarmUpLR", "piecewise_constant_lr",
    "exponential_decay_lr", "natural_exp_decay_lr", "inverse_decay_lr", "cosine_decay_lr",
    "polynomial_decay_lr", "warmup_lr", "WithLossCell", "WithEvalCell", "TrainOneStepCell",
    "TrainOneStepWithLossScaleCell",    "DynamicLossScaleUpdateCell", "FixedLossScaleUpdateCell", "Dense",
    "DistributedGradReducer",
    "ReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softmax", "LogSoftmax", "get_activation", "Dropout",
    "Dropout2d", "Flatten", "Identity", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "LayerNorm", "Embedding", "LossBase", "MSELoss", "L1Loss", "SoftmaxCrossEntropyWithLogits",
    "CrossEntropyLoss", "BCEWithLogitsLoss",
]
