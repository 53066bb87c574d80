"""Runs CUDA kernels on the host: kernels/*.cu built against ``cuda_emulator.h`` with g++.

:func:`build` wraps a CUDA translation unit (headers inlined, as ``kernels.source`` gives it) in a
driver that exports each requested name expression, compiles it into a shared library cached on
disk by a hash of everything that goes into it, and loads it as a :class:`Library`.
:meth:`Library.launch` runs one kernel on NumPy arrays or raw host addresses; every thread of a
block is a fiber, blocks run one after another (the header says what is modelled and what not).

>>> lib = build('__global__ void twice(float* x) { x[threadIdx.x] *= 2; }', ["twice"])
>>> x = np.arange(4, dtype=np.float32)
>>> lib.launch("twice", (1, 1, 1), (4, 1, 1), (x,))
>>> x
array([0., 2., 4., 6.], dtype=float32)

:class:`Emulator` is the kernel tests' launcher (``gpucell.backend.kernels.Launcher``): inside
``kernels.emulate_numpy(Emulator())`` the kernel wrappers run their real launch path on NumPy
arrays, with each kernel executed here instead of on a GPU.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import hashlib
import operator
import os
import pathlib
import re
import shutil
import struct
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from gpucell import _config

__all__ = ["CXX", "EmulatorError", "Param", "Library", "build", "build_async", "default_cache_dir", "Emulator"]

HEADER = pathlib.Path(__file__).with_name("cuda_emulator.h")
CXX: str | None = shutil.which("g++") or shutil.which("c++")
# -O1 plus complete unrolling of small constant loops and vectorisation: it compiles about as fast
# as -O1 and runs kernels faster than -O2 (a tile's accumulator array then lives in registers).
# No -march: a cached library must run on any x86-64 sharing the cache. No FMA contraction,
# so float results do not depend on the host's instruction set. Hidden visibility: each library
# keeps its own globals (threadIdx, the scheduler) even where g++ would make them unique symbols.
FLAGS = ("-std=c++20", "-O1", "-fpeel-loops", "-ftree-vectorize", "-fPIC", "-shared", "-pthread",
         "-fvisibility=hidden", "-ffp-contract=off", "-w")


class EmulatorError(RuntimeError):
    """A kernel failed to build or to run under emulation."""


class Param(NamedTuple):
    """One kernel parameter, as the compiler sees it."""

    kind: str  # "pointer" or "value"
    size: int  # bytes of the value, or of the pointee type for a pointer (0 for void*)
    const: bool  # the pointee is const (False for values)


class _CParam(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("is_const", ctypes.c_int), ("size", ctypes.c_longlong),
                ("offset", ctypes.c_longlong)]


class _Kernel(NamedTuple):
    index: int
    params: tuple[Param, ...]
    packer: struct.Struct  # packs the arguments at the offsets the C++ side reads them from


class Library:
    """One built translation unit: its kernels' signatures and a launcher for each.

    Launches of one library are serialised (a mutex on the C++ side); ctypes releases the GIL, so
    launches of different libraries may run in parallel threads.
    """

    def __init__(self, path: pathlib.Path):
        self.path = path
        lib = ctypes.CDLL(str(path))
        lib.gc_emu_name.restype = ctypes.c_char_p
        lib.gc_emu_params.restype = ctypes.POINTER(_CParam)
        lib.gc_emu_error.restype = ctypes.c_char_p
        lib.gc_emu_launch.argtypes = [ctypes.c_int] + [ctypes.c_longlong] * 6 + [ctypes.c_char_p, ctypes.c_int]
        lib.gc_emu_launch.restype = ctypes.c_int
        self._launch = lib.gc_emu_launch
        self._error = lib.gc_emu_error
        self._kernels: dict[str, _Kernel] = {}
        for i in range(lib.gc_emu_count()):
            raw = lib.gc_emu_params(i)
            arity = lib.gc_emu_arity(i)
            params = tuple(Param("pointer" if raw[j].kind else "value", raw[j].size, bool(raw[j].is_const))
                           for j in range(arity))
            layout, at = ["<"], 0
            for j, param in enumerate(params):
                layout.append(f"{raw[j].offset - at}x" + ("Q" if param.kind == "pointer" else f"{param.size}s"))
                at = raw[j].offset + (8 if param.kind == "pointer" else param.size)
            layout.append(f"{raw[arity].offset - at}x")  # the sentinel's offset is the packed size
            self._kernels[lib.gc_emu_name(i).decode()] = _Kernel(i, params, struct.Struct("".join(layout)))

    @property
    def expressions(self) -> tuple[str, ...]:
        """The exported name expressions."""
        return tuple(self._kernels)

    def _kernel(self, expression: str) -> _Kernel:
        try:
            return self._kernels[expression]
        except KeyError:
            raise EmulatorError(f"no exported kernel {expression!r} in {self.path.name} "
                                f"(exported: {', '.join(self._kernels) or 'none'})") from None

    def signature(self, expression: str) -> tuple[Param, ...]:
        """The parameters of ``expression``, from the compiler's view of the instantiation.

        >>> build("__global__ void f(const double* x, int n) {}", ["f"]).signature("f")
        (Param(kind='pointer', size=8, const=True), Param(kind='value', size=4, const=False))
        """
        return self._kernel(expression).params

    def launch(self, expression: str, grid: Sequence[int], block: Sequence[int], args: Sequence, *,
               ftz: bool = True) -> None:
        """Runs ``expression<<<grid, block>>>(*args)`` and returns when every thread has finished.

        ``grid`` and ``block``: 1 to 3 ints (missing ones are 1). ``args``, one per kernel
        parameter: for a pointer an ``int`` (a raw host address) or a NumPy array that is not
        structured (its data); for a value a NumPy scalar or a one-element array (a structured one
        for a struct) of exactly the parameter's size. ``ftz`` flushes float32 subnormals to zero,
        as CuPy's -ftz=true compile flag does on the GPU (the header says how the emulation
        differs). Raises :class:`EmulatorError` naming the kernel, grid and block.
        """
        try:
            dims = (*_dims(grid), *_dims(block))
        except (TypeError, ValueError) as exc:
            raise EmulatorError(f"Emulated launch of {expression} (grid {grid}, block {block}) failed: "
                                f"CUDA_ERROR_INVALID_VALUE: invalid argument ({exc})") from None
        kernel = self._kernels.get(expression)
        if kernel is None:
            raise self._failed(expression, dims, f"no exported kernel {expression!r} in {self.path.name}")
        if len(args) != len(kernel.params):
            raise self._failed(expression, dims, f"it takes {len(kernel.params)} arguments, got {len(args)}")
        values = []
        for i, (param, arg) in enumerate(zip(kernel.params, args)):
            if param.kind == "pointer":
                if isinstance(arg, np.ndarray) and arg.dtype.names is None:
                    values.append(arg.ctypes.data)
                elif isinstance(arg, int) and not isinstance(arg, bool) and 0 <= arg < 1 << 64:
                    values.append(arg)
                else:
                    raise self._failed(expression, dims, f"argument {i} is a pointer: pass an unstructured "
                                                         f"NumPy array or an int address, not {_describe(arg)}")
            else:
                if isinstance(arg, np.generic) or (isinstance(arg, np.ndarray) and arg.size == 1):
                    data = arg.tobytes()
                    if len(data) == param.size:
                        values.append(data)
                        continue
                raise self._failed(expression, dims, f"argument {i} is a {param.size}-byte value: pass a NumPy "
                                                     f"scalar or one-element array of that size, not "
                                                     f"{_describe(arg)}")
        packed = kernel.packer.pack(*values)
        if self._launch(kernel.index, *dims, packed, int(bool(ftz))):
            raise self._failed(expression, dims, self._error().decode(errors="replace"))

    @staticmethod
    def _failed(expression: str, dims: tuple[int, ...], message: str) -> EmulatorError:
        return EmulatorError(f"Emulated launch of {expression} (grid {dims[:3]}, block {dims[3:]}) failed: "
                             f"{message}")


def _dims(value: Sequence[int]) -> tuple[int, int, int]:
    """Three ints (missing ones 1) that fit the C side's long long; the C side checks CUDA's limits."""
    dims = tuple(operator.index(v) for v in value)
    if not 1 <= len(dims) <= 3 or not all(-(1 << 62) < d < 1 << 62 for d in dims):
        raise ValueError(f"launch dims must be 1 to 3 ints, got {tuple(value)}")
    return dims + (1,) * (3 - len(dims))  # type: ignore[return-value]


def _describe(arg) -> str:
    if isinstance(arg, (np.ndarray, np.generic)):
        return f"{type(arg).__name__} of dtype {arg.dtype} ({arg.dtype.itemsize} bytes)"
    return type(arg).__name__


def default_cache_dir() -> pathlib.Path:
    """``<GPUCELL_KERNEL_CACHE>/emulator`` when that is set, else ``~/.cache/gpucell/emulator``."""
    if _config.KERNEL_CACHE:
        return pathlib.Path(_config.KERNEL_CACHE) / "emulator"
    return pathlib.Path.home() / ".cache" / "gpucell" / "emulator"


# Comments, string and character literals (skipped whole), braces and semicolons, the two keywords.
_SHARED_SCAN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
                          r"|[{};]|\b(?:extern|__shared__)\b", re.DOTALL)
_BRACKETS = re.compile(r"\[[^\[\]]*\]")


def _register_shared(source: str) -> str:
    """``source`` with ``GC_EMU_SHARED(name);`` after every non-extern ``__shared__`` declaration,
    so the emulator learns each variable's address and size (to poison it per block and to check
    ptxas's 48 KiB limit). Comments and literals are skipped, never rewritten."""
    out, copied, start, extern = [], 0, None, False
    for match in _SHARED_SCAN.finditer(source):
        token = match.group()
        if token == "extern":
            extern = True
        elif token == "__shared__":
            start = None if extern else match.end()
        elif token in "{};":
            if token == ";" and start is not None:
                out.append(source[copied:match.end()])
                copied = match.end()
                out.extend(f" GC_EMU_SHARED({name});" for name in _declared_names(source[start:match.start()]))
            start, extern = None, False
    out.append(source[copied:])
    return "".join(out)


def _declared_names(declaration: str) -> list[str]:
    """The names in ``T a[4], b[8]`` (the declarators after the type)."""
    while _BRACKETS.search(declaration):
        declaration = _BRACKETS.sub("", declaration)
    pieces, depth, current = [], 0, []
    for char in declaration:  # split at commas outside template argument lists
        depth += (char == "<") - (char == ">")
        if char == "," and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [re.findall(r"\w+", piece)[-1] for piece in pieces if re.search(r"\w", piece)]


def driver_source(source: str, expressions: Sequence[str]) -> str:
    """The C++ translation unit :func:`build` compiles: header, rewritten source, export table."""
    exports = "".join(f'    emu::make_export<&{e}>("{e}"),\n' for e in expressions)
    return (f'#include "{HEADER.name}"\n{_register_shared(source)}\n'
            f"static const emu::Export gc_exports[] = {{\n{exports}    emu::Export{{}},\n}};\nGC_EMU_EXPORTS()\n")


@functools.cache
def _compiler_id() -> str:
    result = subprocess.run([CXX, "--version"], capture_output=True, text=True)
    return f"{CXX}\n{result.stdout}"


_libraries: dict[pathlib.Path, Library] = {}
_libraries_lock = threading.Lock()


def build(source: str, expressions: Sequence[str], cache_dir: pathlib.Path | None = None) -> Library:
    """Builds (or finds in the cache) and loads the emulation of one CUDA translation unit.

    ``expressions``: the kernels to export, as CuPy's name expressions
    (``"matmul_bias<float, 64, 64, 4, 4>"``). The library is cached in ``cache_dir``
    (:func:`default_cache_dir` by default) under a hash of the driver, the header, the flags and
    the compiler; concurrent builders (threads or processes) each write a private file and rename
    it into place. Raises :class:`EmulatorError` when there is no compiler or g++ fails.
    """
    if CXX is None:
        raise EmulatorError("no C++ compiler (g++) to build the CUDA emulator")
    text = driver_source(source, expressions)
    key = hashlib.sha256("\0".join([text, HEADER.read_text(), " ".join(FLAGS), _compiler_id()]).encode())
    folder = pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"emu-{key.hexdigest()[:24]}.so"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        private = f".{os.getpid()}-{threading.get_ident()}.tmp"
        driver = path.with_suffix(".cpp")
        driver_tmp = driver.with_name(driver.name + private)
        driver_tmp.write_text(text)
        os.replace(driver_tmp, driver)  # kept: g++'s messages and a debugger point into it
        scratch = path.with_name(path.name + private)
        result = subprocess.run([CXX, *FLAGS, "-I", str(HEADER.parent), str(driver), "-o", str(scratch)],
                                capture_output=True, text=True)
        if result.returncode:
            scratch.unlink(missing_ok=True)
            raise EmulatorError(f"g++ could not build the emulation of {', '.join(expressions) or 'no kernel'} "
                                f"({driver}):\n{result.stderr[-6000:]}")
        os.replace(scratch, path)
    with _libraries_lock:  # dlopen of one path twice gives one library: share its Python side too
        if path not in _libraries:
            _libraries[path] = Library(path)
        return _libraries[path]


_pool: concurrent.futures.ThreadPoolExecutor | None = None


def build_async(source: str, expressions: Sequence[str],
                cache_dir: pathlib.Path | None = None) -> concurrent.futures.Future[Library]:
    """Starts :func:`build` in a background thread (one per core; g++ runs as its own process)."""
    global _pool
    with _libraries_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                                          thread_name_prefix="gpucell-emulator-build")
    return _pool.submit(build, source, expressions, cache_dir)


class Emulator:
    """A ``gpucell.backend.kernels.Launcher`` running kernels/*.cu on NumPy arrays through this
    emulator: every file built with every registered name expression (or the given ``sources``,
    ``{filename: (source, expressions)}``), all builds started at once in the background."""

    sm_count = 2
    # Small on purpose: grid-stride loops then take several trips even on small test inputs.
    max_blocks = 3
    # The emulator models sm_90's features the kernels use (wmma for float16 / bfloat16 / TF32,
    # cp.async), so the wrappers choose the kernels an H100 would run.
    compute_capability = 90

    def __init__(self, cache_dir: pathlib.Path | None = None,
                 sources: Mapping[str, tuple[str, Sequence[str]]] | None = None, *, ftz: bool = True):
        if sources is None:
            import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
            from gpucell.backend import kernels

            sources = {name: (kernels.source(name), kernels.name_expressions(name))
                       for name in kernels.kernel_files()}
        self._builds = {name: build_async(text, expressions, cache_dir)
                        for name, (text, expressions) in sources.items()}
        self.ftz = ftz
        self.launches: list[tuple[str, tuple, tuple]] = []  # (expression, grid, block) of each launch

    def library(self, filename: str) -> Library:
        """The built library of ``filename`` (waits for its build)."""
        return self._builds[filename].result()

    def __call__(self, filename: str, expression: str, grid, block, args: Sequence) -> None:
        self.launches.append((expression, tuple(grid), tuple(block)))
        self.library(filename).launch(expression, grid, block, args, ftz=self.ftz)
