"""gpucell.nn.optim: optimizers that update Parameters in place, one fused op for all the Parameters."""

from gpucell.nn.optim.ada_grad import Adagrad
from gpucell.nn.optim.adadelta import Adadelta
from gpucell.nn.optim.adam import Adam, AdamW, AdamWeightDecay
from gpucell.nn.optim.adamax import AdaMax
from gpucell.nn.optim.asgd import ASGD
from gpucell.nn.optim.ftrl import FTRL
from gpucell.nn.optim.lamb import Lamb
from gpucell.nn.optim.lars import LARS
from gpucell.nn.optim.lazyadam import LazyAdam
from gpucell.nn.optim.optimizer import Optimizer
from gpucell.nn.optim.parameter_update import ParameterUpdate
from gpucell.nn.optim.proximal_ada_grad import ProximalAdagrad
from gpucell.nn.optim.rmsprop import RMSProp
from gpucell.nn.optim.rprop import Rprop
from gpucell.nn.optim.sgd import SGD, Momentum

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamWeightDecay", "AdamW", "RMSProp", "Adagrad", "Adadelta",
           "Lamb", "LARS", "FTRL", "ParameterUpdate", "AdaMax", "ASGD", "Rprop", "ProximalAdagrad",
           "LazyAdam"]
