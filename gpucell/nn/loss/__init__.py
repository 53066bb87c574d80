"""gpucell.nn.loss: the loss Cells."""

from gpucell.nn.loss.dice import DiceLoss, MultiClassDiceLoss
from gpucell.nn.loss.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    LossBase,
    MSELoss,
    SoftmaxCrossEntropyWithLogits,
)
from gpucell.nn.loss.probabilistic import BCELoss, FocalLoss, KLDivLoss, NLLLoss
from gpucell.nn.loss.ranking import CosineEmbeddingLoss, MarginRankingLoss
from gpucell.nn.loss.regression import HuberLoss, SmoothL1Loss

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LossBase",
    "MSELoss",
    "MarginRankingLoss",
    "MultiClassDiceLoss",
    "NLLLoss",
    "SmoothL1Loss",
    "SoftmaxCrossEntropyWithLogits",
]
