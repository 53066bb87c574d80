"""The Python API of gpucell's CUDA kernels, one module per kernel family.

Each function takes NumPy or CuPy arrays. NumPy arrays run the NumPy reference that sits next to
the wrapper (this is the CPU backend); CuPy arrays are validated and the kernel is launched.
Both backends check inputs identically and raise TypeError / ValueError before any launch.
"""

from gpucell.backend.kernel_ops.dropout import counters_needed as dropout_counters
from gpucell.backend.kernel_ops.dropout import dropout, dropout2d
from gpucell.backend.kernel_ops.elementwise import compare, fill, fill_value, select, threshold
from gpucell.backend.kernel_ops.matmul import matmul_bias
from gpucell.backend.kernel_ops.random import counters_needed as random_counters
from gpucell.backend.kernel_ops.random import normal, uniform
from gpucell.backend.kernel_ops.reduce import reduce
from gpucell.backend.kernel_ops.scatter import scatter_add_rows
from gpucell.backend.kernel_ops.softmax import softmax
from gpucell.backend.kernel_ops.special import erf

__all__ = ["select", "fill", "fill_value", "compare", "threshold", "matmul_bias", "dropout", "dropout2d",
           "dropout_counters", "reduce", "softmax", "erf", "scatter_add_rows", "uniform", "normal",
           "random_counters"]
