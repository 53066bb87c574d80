"""gpucell: MindSpore's Cell / Parameter programming model on NVIDIA GPUs (CuPy), or on NumPy.

>>> import gpucell as ms
>>> from gpucell import nn, ops, Tensor, Parameter, ParameterTuple
"""

from gpucell import dtype
from gpucell.dtype import (
    DType, bfloat16, bool_, double, float16, float32, float64, float_, half, int8, int16, int32, int64, int_,
    single, uint8,
)
from gpucell.dtype import complex64, complex128, dtype_to_nptype, dtype_to_pytype, uint16, uint32, uint64
from gpucell.tensor import Tensor, from_dlpack, from_numpy  # noqa: I001 - binds the ops to Tensor
from gpucell import ops
from gpucell.parameter import Parameter, ParameterTuple
from gpucell.random import get_seed, set_seed
from gpucell.context import GRAPH_MODE, PYNATIVE_MODE, get_context, set_context
from gpucell.autograd import GradOperation, grad, no_grad, value_and_grad
from gpucell.backend.streams import Event, Stream, current_stream
from gpucell.backend.sim import RaceError
from gpucell import common, nn
from gpucell.checkpoint import load_checkpoint, load_param_into_net, save_checkpoint
from gpucell import jit  # the module, callable: @ms.jit and ms.jit.cache_info() (gpucell/jit/__init__.py)
from gpucell.common.api import ms_function
from gpucell import dataset, train
from gpucell import amp
from gpucell.train import Model
from gpucell import communication
from gpucell.communication.auto_parallel import (
    ParallelMode, get_auto_parallel_context, reset_auto_parallel_context, set_auto_parallel_context,
)
from gpucell import profiler
from gpucell.backend.device_info import device_info, memory_stats, reset_peak_memory_stats

__version__ = "0.1.0"

__all__ = [
    "dtype", "DType", "bool_", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32",
    "float64", "float_", "int_", "half", "single", "double",
    "Tensor", "from_numpy", "from_dlpack", "Parameter", "ParameterTuple", "ops", "nn", "common",
    "save_checkpoint", "load_checkpoint", "load_param_into_net",
    "set_seed", "get_seed", "set_context", "get_context", "GRAPH_MODE", "PYNATIVE_MODE", "jit", "ms_function",
    "grad", "value_and_grad", "no_grad", "GradOperation", "Stream", "Event", "current_stream", "RaceError",
    "profiler", "device_info", "memory_stats", "reset_peak_memory_stats",
    "train", "Model", "dataset", "amp",
    "communication", "ParallelMode", "set_auto_parallel_context", "get_auto_parallel_context",
    "reset_auto_parallel_context",
    "uint16", "uint32", "uint64", "complex64", "complex128", "dtype_to_nptype", "dtype_to_pytype",
]
