"""gpucell.nn.layer: the layer Cells."""

from gpucell.nn.layer.activation import GELU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh, get_activation
from gpucell.nn.layer.basic import Dense, Dropout, Dropout2d, Flatten, Identity
from gpucell.nn.layer.conv import Conv2d
from gpucell.nn.layer.embedding import Embedding
from gpucell.nn.layer.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from gpucell.nn.layer.pooling import AvgPool2d, MaxPool2d

__all__ = [
           "GELU",
           "AvgPool2d",
           "BatchNorm1d",
           "BatchNorm2d",
           "Conv2d",
           "Dense",
           "Dropout",
           "Dropout2d",
           "Embedding",
           "Flatten",
           "Identity",
           "LayerNorm",
           "LogSoftmax",
           "MaxPool2d",
           "ReLU",
           "SiLU",
           "Sigmoid",
           "Softmax",
           "Tanh",
           "get_activation",
]
