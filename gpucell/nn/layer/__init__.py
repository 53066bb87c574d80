"""gpucell.nn.layer: the layer Cells."""

from gpucell.nn.layer.activation import GELU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh, get_activation
from gpucell.nn.layer.basic import Dense, Dropout, Dropout2d, Flatten
from gpucell.nn.layer.conv import Conv2d
from gpucell.nn.layer.embedding import Embedding
from gpucell.nn.layer.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from gpucell.nn.layer.pooling import AvgPool2d, MaxPool2d

__all__ = ["ReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softmax", "LogSoftmax", "get_activation",
           "Dense", "Dropout", "Dropout2d", "Flatten", "Conv2d", "MaxPool2d", "AvgPool2d",
           "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding"]
