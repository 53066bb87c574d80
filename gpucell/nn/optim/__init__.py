"""gpucell.nn.optim: optimizers that update Parameters in place, one fused op per Parameter."""

from gpucell.nn.optim.adam import Adam, AdamW, AdamWeightDecay
from gpucell.nn.optim.optimizer import Optimizer
from gpucell.nn.optim.sgd import SGD, Momentum

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamWeightDecay", "AdamW"]
