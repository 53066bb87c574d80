"""gpucell.nn.layer: the layer Cells."""

from gpucell.nn.layer.activation import (
    ELU,
    GELU,
    HSigmoid,
    HSwish,
    LeakyReLU,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    get_activation,
)
from gpucell.nn.layer.attention import MultiheadAttention
from gpucell.nn.layer.basic import Dense, Dropout, Dropout2d, Flatten, Identity
from gpucell.nn.layer.conv import Conv1d, Conv1dTranspose, Conv2d, Conv2dTranspose
from gpucell.nn.layer.conv3d import Conv3d, Conv3dTranspose
from gpucell.nn.layer.embedding import Embedding
from gpucell.nn.layer.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
)
from gpucell.nn.layer.padding import Pad
from gpucell.nn.layer.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from gpucell.nn.layer.pooling3d import AvgPool3d, MaxPool3d
from gpucell.nn.layer.resample import Upsample
from gpucell.nn.layer.rnn_cells import GRUCell, LSTMCell, RNNCell
from gpucell.nn.layer.rnns import GRU, LSTM, RNN
from gpucell.nn.layer.transformer import TransformerEncoder, TransformerEncoderLayer
from gpucell.nn.layer.transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer

__all__ = [
           "GELU",
           "AdaptiveAvgPool2d",
           "AdaptiveAvgPool1d",
           "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d",
           "AvgPool1d",
           "AvgPool2d",
           "BatchNorm1d",
           "BatchNorm2d",
           "BatchNorm3d",
           "Conv3d",
           "Conv3dTranspose",
           "MaxPool3d",
           "AvgPool3d",
           "Conv1d",
           "Conv1dTranspose",
           "Conv2d",
           "Conv2dTranspose",
           "Dense",
           "Dropout",
           "Dropout2d",
           "Embedding",
           "Flatten",
           "Identity",
           "GroupNorm",
           "InstanceNorm2d",
           "LayerNorm",
           "LogSoftmax",
           "MaxPool1d",
           "MaxPool2d",
           "Pad",
           "ReLU",
           "SiLU",
           "Sigmoid",
           "Softmax",
           "Tanh",
           "Upsample",
           "get_activation",
           "ELU",
           "HSigmoid",
           "HSwish",
           "LeakyReLU",
           "Mish",
           "PReLU",
           "Softplus",
           "Softsign",
           "Tanhshrink",
           "RNN",
           "LSTM",
           "GRU",
           "RNNCell",
           "LSTMCell",
           "GRUCell",
           "MultiheadAttention",
           "TransformerEncoder",
           "TransformerEncoderLayer",
           "Transformer",
           "TransformerDecoder",
           "TransformerDecoderLayer",
]
