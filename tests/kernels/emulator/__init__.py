"""Builds kernels/*.cu against cuda_emulator.h with g++ and launches them from Python via ctypes.

For each .cu file a driver is generated: the header, the loader's inlined source (unchanged), and
an export table of every instantiation registered by gpucell.backend.kernel_ops. It is compiled
into a shared library, cached by a hash of everything that goes into it. :class:`Emulator` is a
``gpucell.backend.kernels.Launcher``: inside ``kernels.emulate_numpy(emulator)`` the kernel
wrappers run their real launch path (validation, launch configuration, allocation) on NumPy
arrays, with the kernel executed by the emulation instead of a GPU.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import pathlib
import shutil
import subprocess

import numpy as np

import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
from gpucell.backend import kernels

HEADER = pathlib.Path(__file__).with_name("cuda_emulator.h")
CXX = shutil.which("g++") or shutil.which("c++")
FLAGS = ("-std=c++20", "-O1", "-fPIC", "-shared", "-pthread", "-ffp-contract=off", "-w")


def driver_source(filename: str, source: str | None = None, expressions=None) -> str:
    """The C++ translation unit exposing every registered instantiation of ``kernels/filename``
    (or of the given ``source`` and ``expressions``, for the emulator's own tests)."""
    source = kernels.source(filename) if source is None else source
    expressions = kernels.name_expressions(filename) if expressions is None else expressions
    exports = ",\n".join(f'    {{"{e}", &emu::entry<&{e}>}}' for e in expressions)
    return (f'#include "{HEADER.name}"\n{source}\n'
            f"static const emu::Export gc_exports[] = {{\n{exports}\n}};\nGC_EMU_EXPORTS()\n")


class Emulator:
    """A kernel launcher that runs the CUDA sources on the host (see cuda_emulator.h)."""

    sm_count = 2
    # Small on purpose: grid-stride loops then take several trips even on small test inputs.
    max_blocks = 3

    def __init__(self, cache_dir: pathlib.Path, sources: dict[str, tuple[str, list[str]]] | None = None):
        """Starts building every kernels/*.cu (or each ``sources[name] = (source, expressions)``)."""
        self.cache_dir = pathlib.Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        drivers = ({name: driver_source(name) for name in kernels.kernel_files()} if sources is None
                   else {name: driver_source(name, *given) for name, given in sources.items()})
        self._builds = {name: self._pool.submit(self._build, name, text) for name, text in drivers.items()}
        self._libraries: dict[str, ctypes.CDLL] = {}
        self.launches: list[tuple[str, tuple, tuple]] = []  # (expression, grid, block) of each launch

    def _build(self, filename: str, source: str) -> pathlib.Path:
        version = subprocess.run([CXX, "--version"], capture_output=True, text=True).stdout
        key = hashlib.sha256("\0".join([source, HEADER.read_text(), " ".join(FLAGS), version]).encode())
        library = self.cache_dir / f"{filename}-{key.hexdigest()[:16]}.so"
        if not library.exists():
            driver = self.cache_dir / f"{filename}.cpp"
            driver.write_text(source)
            scratch = library.with_suffix(".tmp")
            result = subprocess.run([CXX, *FLAGS, "-I", str(HEADER.parent), str(driver), "-o", str(scratch)],
                                    capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"g++ could not build the emulation of kernels/{filename}:\n"
                                   f"{result.stderr[-6000:]}")
            scratch.rename(library)
        return library

    def library(self, filename: str) -> ctypes.CDLL:
        if filename not in self._libraries:
            lib = ctypes.CDLL(str(self._builds[filename].result()))
            lib.gc_emu_launch.argtypes = [ctypes.c_char_p] + [ctypes.c_uint] * 6 + [ctypes.POINTER(ctypes.c_void_p)]
            lib.gc_emu_launch.restype = ctypes.c_int
            lib.gc_emu_error.restype = ctypes.c_char_p
            self._libraries[filename] = lib
        return self._libraries[filename]

    def __call__(self, filename, expression, grid, block, args) -> None:
        lib = self.library(filename)
        keep = []  # keeps every argument's storage alive until the launch returns
        pointers = (ctypes.c_void_p * max(1, len(args)))(*(_argument(a, keep) for a in args))
        self.launches.append((expression, tuple(grid), tuple(block)))
        status = lib.gc_emu_launch(expression.encode(), *grid, *block, pointers)
        if status:
            raise RuntimeError(f"Emulated launch of {expression} (grid {tuple(grid)}, block {tuple(block)}) "
                               f"failed: {lib.gc_emu_error().decode()}")


def _argument(arg, keep: list) -> int:
    """Address of the argument's bytes, as cuLaunchKernel wants: for an array, of its pointer."""
    if isinstance(arg, np.ndarray) and arg.dtype.names is None:
        pointer = ctypes.c_void_p(arg.ctypes.data)
        keep.append(pointer)
        return ctypes.addressof(pointer)
    if isinstance(arg, (np.ndarray, np.generic)):  # a struct (structured array) or a scalar
        holder = np.ascontiguousarray(arg)
        keep.append(holder)
        return holder.ctypes.data
    raise TypeError(f"cannot pass {type(arg).__name__} to an emulated kernel")
