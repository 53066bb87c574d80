"""``cupy.RawModule`` / ``cupy.RawKernel`` on the simulated device: kernels run through the host
emulator (gpucell.backend.emulator), after the checks a GPU would have made silently.

Every launch is checked against the kernel's C signature, which the emulator exports at compile
time: the argument count, pointer or value, and each value's width (CuPy passes a Python int as
8 bytes and a float as a double: into an ``int`` or ``float`` parameter they would shift every
later argument). Pointer arguments are the kernel's accesses: a ``const T*`` is a read of the
array it points into, any other pointer a write. The launch limits are CUDA's.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from gpucell.backend.sim import _launch, _ops
from gpucell.backend.sim._array import ndarray
from gpucell.backend.sim._errors import INVALID_VALUE, LAUNCH_FAILED, NOT_FOUND, driver_error
from gpucell.backend.sim._memory import MemoryPointer

__all__ = ["RawModule", "RawKernel"]

_EXTERN_C = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?(\w+)\s*\(')
_libraries: dict = {}
_lock = threading.Lock()


class CompileException(Exception):
    """The host compiler rejected a kernel's source (``cupy.cuda.compiler.CompileException``)."""

    def __init__(self, msg, source, name, options, backend="nvrtc"):
        self._msg, self.source, self.name, self.options, self.backend = msg, source, name, options, backend
        super().__init__(msg)


def _library(code: str, expressions: tuple):
    from gpucell.backend import emulator

    key = (code, expressions)
    with _lock:
        library = _libraries.get(key)
        if library is None:
            if emulator.CXX is None:
                raise CompileException("The simulated device runs kernels through the host emulator, which needs "
                                       "a C++ compiler (g++): install one (apt-get install g++).", code,
                                       expressions, ())
            try:
                library = emulator.build(code, expressions)
            except emulator.EmulatorError as exc:
                raise CompileException(str(exc), code, expressions, ()) from exc
            _libraries[key] = library
    return library


class RawModule:
    """User-defined CUDA source, compiled for the simulated device (see ``cupy.RawModule``)."""

    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc", translate_cucomplex=False,
                 enable_cooperative_groups=False, name_expressions=None, jitify=None):
        if (code is None) == (path is None):
            raise TypeError("Exactly one of `code` and `path` keyword arguments must be given.")
        if path is not None:
            with open(path) as f:
                code = f.read()
        self.code = code
        self.options = tuple(options)
        self.name_expressions = tuple(name_expressions or ())
        self._names = self.name_expressions + tuple(n for n in _EXTERN_C.findall(code)
                                                    if n not in self.name_expressions)
        self._kernels: dict[str, RawKernel] = {}

    def get_function(self, name: str) -> RawKernel:
        """The kernel ``name`` (a name expression given at construction, or an ``extern "C"`` name)."""
        kernel = self._kernels.get(name)
        if kernel is None:
            if name not in self._names:
                raise driver_error(NOT_FOUND, f"{name!r} is neither an extern \"C\" kernel of the module nor one "
                                              f"of its name_expressions")
            kernel = self._kernels[name] = RawKernel._of(_library(self.code, self._names), name)
        return kernel


class RawKernel:
    """A kernel launched as ``kernel(grid, block, args, shared_mem=0)`` (see ``cupy.RawKernel``)."""

    def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False, *,
                 enable_cooperative_groups=False, jitify=None):
        self.code, self.name, self.options = code, name, tuple(options)
        self._library = None

    @classmethod
    def _of(cls, library, name: str) -> RawKernel:
        kernel = cls.__new__(cls)
        kernel.code, kernel.name, kernel.options = None, name, ()
        kernel._library = library
        return kernel

    def _lib(self):
        if self._library is None:
            self._library = _library(self.code, (self.name,))
        return self._library

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None):
        """Launches the kernel on ``stream`` (the current stream by default), as CuPy's does."""
        from gpucell.backend.sim import _streams

        library = self._lib()
        grid, block = _dims("grid", grid), _dims("block", block)
        _check_launch(self.name, grid, block, shared_mem)
        if not isinstance(args, (tuple, list)):  # CuPy iterates any sequence; the docs say tuple
            raise TypeError(f"For RawKernel '{self.name}', 'args' must be a tuple, but got {type(args).__name__}")
        state = _streams.state_of(stream)
        params = library.signature(self.name)
        if len(args) != len(params):
            raise TypeError(f"For RawKernel '{self.name}', the kernel takes {len(params)} arguments, "
                            f"but {len(args)} were given")
        raw, reads, writes = [], [], []
        for index, (arg, param) in enumerate(zip(args, params)):
            raw.append(_argument(self.name, index, arg, param, reads, writes))
        name = self.name

        def run():
            try:
                library.launch(name, grid, block, raw, ftz=True)
            except RuntimeError as exc:
                raise driver_error(INVALID_VALUE if "INVALID_VALUE" in str(exc) else LAUNCH_FAILED, str(exc)) from exc

        _launch.launch(f"RawKernel {name}", reads, writes, run, state)


def _dims(what: str, value) -> tuple[int, int, int]:
    # CuPy's Function.__call__ types grid and block as `tuple`: an int or a list is a TypeError
    # there, so the simulator refuses it too (code that passed here would fail on a GPU).
    if not isinstance(value, tuple):
        raise TypeError(f"Argument '{what}' has incorrect type (expected tuple, got {type(value).__name__})")
    if not 1 <= len(value) <= 3 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                          for d in value):
        raise ValueError(f"{what} must be a tuple of 1 to 3 ints, but got {value!r}")
    # CuPy launches max(1, d) along each dimension: a 0 (an empty input's block count) runs one block.
    return tuple(max(1, int(d)) for d in value) + (1,) * (3 - len(value))


def _check_launch(name: str, grid: tuple, block: tuple, shared_mem: int) -> None:
    threads = block[0] * block[1] * block[2]
    problem = None
    if threads > 1024:
        problem = f"block {block} has {threads} threads, more than 1024"
    elif block[2] > 64:
        problem = f"block.z = {block[2]} is more than 64"
    elif grid[0] > 2**31 - 1 or grid[1] > 65535 or grid[2] > 65535:
        problem = f"grid {grid} exceeds (2147483647, 65535, 65535)"
    elif shared_mem:
        problem = f"dynamic shared memory ({shared_mem} bytes) is not modelled by the simulator's emulator"
    if problem is not None:
        raise driver_error(INVALID_VALUE, f"launching '{name}': {problem}")


def _python_scalar(value, where: str) -> np.generic:
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.uint64(value) if value >= 2**63 else np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, complex):
        return np.complex128(value)
    # CuPy says only "Unsupported type <class ...>": name the kernel and the argument too.
    raise TypeError(f"{where} has an unsupported type {type(value).__name__} (Unsupported type {type(value)}): pass "
                    f"a cupy.ndarray for a pointer, a NumPy scalar of the parameter's C type for a value")


def _argument(kernel: str, index: int, arg, param, reads: list, writes: list):
    """The emulator's form of one argument, after checking it against the C parameter."""
    where = f"For RawKernel '{kernel}', argument {index}"
    if type(arg) is ndarray or isinstance(arg, MemoryPointer) or arg is None:
        if param.kind != "pointer":
            raise TypeError(f"{where} is a device pointer, but the kernel's parameter {index} is a "
                            f"{param.size}-byte value")
        if arg is None:
            return 0
        if isinstance(arg, MemoryPointer):
            memory, lo = arg._memory, arg._base
            span = (memory, lo, memory.size)
        else:
            _ops.check_device(arg)
            span = arg._span()
            arg = arg.data
        (reads if param.const else writes).append(span)
        return arg.ptr
    if isinstance(arg, np.ndarray):
        if arg.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {arg.shape} as a kernel parameter. "
                            f"Only numpy.ndarrays of size one can be passed by value. If you meant to pass a "
                            f"pointer to __global__ memory, you need to pass a cupy.ndarray instead.")
        value = np.ascontiguousarray(arg).reshape(())
    elif isinstance(arg, np.generic):
        value = arg
    else:
        value = _python_scalar(arg, where)
    if param.kind != "value":
        raise TypeError(f"{where} is a {value.dtype.itemsize}-byte {value.dtype} value, but the kernel's "
                        f"parameter {index} is a pointer (pass a cupy.ndarray)")
    if value.dtype.itemsize != param.size:
        raise TypeError(f"{where} is a {value.dtype.itemsize}-byte {value.dtype} value, but the kernel's parameter "
                        f"{index} is {param.size} bytes: on a GPU every later argument would be read from the "
                        f"wrong bytes. Pass a NumPy scalar of the parameter's C type (e.g. numpy.int32(n)).")
    return value
