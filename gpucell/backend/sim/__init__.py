"""The simulated CUDA device: a CuPy-shaped module over host memory that knows CUDA's rules.

Selected with ``GPUCELL_DEVICE=SIM`` or ``gpucell.set_context(device_target="SIM")``, it stands in
for ``cupy`` inside gpucell.backend, so every GPU code path of gpucell (each op's GPU forward, the
kernels in kernels/*.cu, streams, events, the autograd engine's stream handling, CUDA-graph capture
and replay) runs without a GPU, with Tensors whose ``device`` is ``"GPU"``. Memory is host memory;
kernels run through the host emulator; NumPy computes what CuPy's own kernels would.

What a GPU does silently, it raises (``RaceError``, a ``RuntimeError``):

* two accesses to one buffer, at least one a write, that stream order, events and host
  synchronisation do not order (vector clocks, so detection does not depend on timing);
* CuPy's pool handing a freed block back to its stream while another stream may still use it;
* a host read (``get``, ``asnumpy``, ``item``, ``bool``) of data another unordered stream writes;
* a graph replay over memory that the pool has since handed to another array;

and it refuses, as CUDA and CuPy do, what capture forbids (host synchronisation, host copies,
cuBLAS, freeing device memory, unjoined forks, capture on the legacy stream), kernel launches whose
arguments do not match the kernel's C signature, and launches beyond CUDA's limits.

It is a model, not the truth: timing, occupancy, the GPU's weak memory model inside a kernel and
the math library's last-ulp results are not simulated (see gpucell/backend/emulator). It offers only
names that CuPy offers, with CuPy's signatures (a test checks them against an installed CuPy).
"""

from __future__ import annotations

import numpy as _np

from gpucell.backend.sim import _methods, cuda, lib
from gpucell.backend.sim._array import ndarray
from gpucell.backend.sim._errors import RaceError
from gpucell.backend.sim._functions import (
    FUNCTIONS as _FUNCTIONS,
)
from gpucell.backend.sim._functions import (
    UFUNCS as _UFUNCS,
)
from gpucell.backend.sim._functions import (
    array,
    asarray,
    ascontiguousarray,
    asfortranarray,
    asnumpy,
    copyto,
    empty,
    empty_like,
    from_dlpack,
    get_array_module,
    ufunc,
    where,
)
from gpucell.backend.sim._memory import get_default_memory_pool, get_default_pinned_memory_pool
from gpucell.backend.sim._raw import RawKernel, RawModule

__version__ = "14.2.0"  # the CuPy version whose behaviour the simulator follows

_methods.install()
globals().update(_FUNCTIONS)
globals().update(_UFUNCS)

# NumPy's scalar types and constants, which CuPy re-exports unchanged.
for _name in ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
              "float32", "float64", "complex64", "complex128", "intp", "uintp", "dtype", "iinfo", "finfo",
              "result_type", "can_cast", "promote_types", "ndim", "shape", "size", "isscalar", "pi", "e", "inf",
              "nan", "newaxis", "float_", "int_", "integer", "floating", "number", "generic", "complexfloating",
              "signedinteger", "unsignedinteger", "bool"):
    if hasattr(_np, _name):
        globals()[_name] = getattr(_np, _name)

__all__ = ["ndarray", "ufunc", "cuda", "lib", "RaceError", "RawKernel", "RawModule", "asarray", "array",
           "ascontiguousarray", "asfortranarray", "asnumpy", "copyto", "empty", "empty_like", "from_dlpack",
           "get_array_module", "where", "get_default_memory_pool", "get_default_pinned_memory_pool"]
__all__ += sorted([*_FUNCTIONS, *_UFUNCS])
