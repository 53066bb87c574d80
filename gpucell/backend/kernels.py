"""Finds the CUDA sources, inlines their headers, compiles them lazily with CuPy and launches them.

Sources live in ``<repo>/kernels`` in a checkout and in ``gpucell/_kernels`` in an installed wheel
(``setup.py`` copies them there). Each ``kernel_ops`` module registers the template instantiations
("name expressions") it launches; on the first launch from a file, the file is compiled as one
``cupy.RawModule`` holding every registered expression, and cached. ``#include "x.cuh"`` lines are
inlined before compiling because CuPy's disk cache is keyed by the source text only: an edited
header would otherwise run stale code.

The kernel path can also run on NumPy arrays through another launcher (the host emulator,
gpucell.backend.emulator) with :func:`emulate_numpy`; nothing here imports CuPy at import time.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from gpucell import _config, backend
from gpucell.backend.sim._errors import RaceError
from gpucell.dtype import BF16_NUMPY

__all__ = [
    "kernel_dir", "kernel_files", "source", "register", "name_expressions", "ctype", "scalar",
    "Launcher", "launcher_for", "emulate_numpy", "poison_outputs", "empty", "grid_1d", "launch",
    "COMPILE_OPTIONS",
]

COMPILE_OPTIONS: tuple[str, ...] = ("-std=c++17",)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"[ \t]*$', re.MULTILINE)
_PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]

# C++ spelling of each NumPy dtype in name expressions; float16 and bfloat16 (ml_dtypes) are
# kernels/common.cuh's gc_half and gc_bfloat16 (2-byte structs of the raw bits).
_CTYPES = {
    np.dtype(np.bool_): "bool", np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char",
    np.dtype(np.int16): "short", np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
    np.dtype(np.float16): "gc_half", np.dtype(np.float32): "float", np.dtype(np.float64): "double",
}
if BF16_NUMPY is not None:
    _CTYPES[np.dtype(BF16_NUMPY)] = "gc_bfloat16"


def kernel_dir() -> pathlib.Path:
    """The folder holding the ``.cu``/``.cuh`` sources: the wheel's copy, else the checkout's."""
    packaged = _PACKAGE_DIR / "_kernels"
    if packaged.is_dir():
        return packaged
    repo = _PACKAGE_DIR.parent
    # setup.py marks a checkout; without it a stray site-packages/kernels is not ours.
    if (repo / "setup.py").is_file() and (repo / "kernels").is_dir():
        return repo / "kernels"
    raise FileNotFoundError(
        f"gpucell's CUDA sources are missing: neither {packaged} nor {repo / 'kernels'} exists.")


def kernel_files() -> list[str]:
    """Names of every ``.cu`` file (each one a compilation unit)."""
    return sorted(path.name for path in kernel_dir().glob("*.cu"))


def source(filename: str) -> str:
    """The text of ``kernels/<filename>`` with every ``#include "x.cuh"`` inlined, recursively.

    Each header is inlined once (the first time it is met), which is what ``#pragma once`` asks;
    ``#line`` markers keep compiler messages pointing at the original files.
    """
    return _inline(filename, kernel_dir(), set())


def _inline(filename: str, folder: pathlib.Path, seen: set[str]) -> str:
    seen.add(filename)
    path = folder / filename
    if not path.is_file():
        raise FileNotFoundError(f"kernels/{filename} does not exist (looked in {folder}).")
    lines = path.read_text().splitlines()
    out = [f'#line 1 "{filename}"']
    for number, line in enumerate(lines, start=1):
        match = _INCLUDE.match(line)
        if match is None:
            out.append("" if line.strip() == "#pragma once" else line)
            continue
        header = match.group(1)
        if header not in seen:
            out.append(_inline(header, folder, seen))
        out.append(f'#line {number + 1} "{filename}"')
    return "\n".join(out) + "\n"


_registry: dict[str, list[str]] = {}


def register(filename: str, *expressions: str) -> None:
    """Declares template instantiations of ``filename`` that a wrapper may launch.

    The registry is what the compile test and the emulator build instantiate, so every
    expression a wrapper launches must be registered here first.
    """
    known = _registry.setdefault(filename, [])
    for expression in expressions:
        if expression not in known:
            known.append(expression)


def name_expressions(filename: str) -> tuple[str, ...]:
    """Every registered instantiation of ``filename``, in registration order."""
    return tuple(_registry.get(filename, ()))


def ctype(dtype) -> str:
    """The C++ type name of a NumPy dtype in kernel template arguments."""
    return _CTYPES[np.dtype(dtype)]


def scalar(value, dtype) -> np.generic:
    """``value`` as a kernel argument of ``dtype``.

    float16 and bfloat16 go as their uint16 bits and bool as uint8: same bytes as ``gc_half``,
    ``gc_bfloat16`` and ``bool``, through scalar types every launcher is sure to pass unchanged.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float16 or (BF16_NUMPY is not None and dtype == BF16_NUMPY):
        return np.asarray(value, dtype).view(np.uint16)[()]
    if dtype == np.bool_:
        return np.uint8(bool(value))
    return dtype.type(value)


class Launcher(Protocol):
    """Runs one kernel: the GPU's CuPy launcher, or the test emulator on NumPy arrays."""

    sm_count: int  # multiprocessors: tile choices aim to give each a block
    max_blocks: int  # grid-stride kernels never get more blocks than this along x
    compute_capability: int  # 10 * major + minor (80 for sm_80): which kernels the device can run

    def __call__(self, filename: str, expression: str, grid: tuple[int, int, int],
                 block: tuple[int, int, int], args: Sequence) -> None: ...


_cache_set = False


def _use_kernel_cache(cupy) -> None:
    """Points CuPy's kernel cache at ``GPUCELL_KERNEL_CACHE`` unless ``CUPY_CACHE_DIR`` is set.

    CuPy up to 13 reads ``CUPY_CACHE_DIR`` at each compile; CuPy 14 reads it once, when
    ``cupy.cuda.compiler`` is imported (with ``import cupy``), into a disk cache backend, so
    setting the variable now changes nothing there: its backend is replaced instead.
    """
    global _cache_set
    if _cache_set:
        return
    _cache_set = True
    if not _config.KERNEL_CACHE or os.environ.get("CUPY_CACHE_DIR"):
        return  # CuPy's own variable, set by the user, wins
    os.environ["CUPY_CACHE_DIR"] = _config.KERNEL_CACHE
    compiler = getattr(cupy.cuda, "compiler", None)
    setter = getattr(compiler, "_set_kernel_cache_backend", None)
    disk = getattr(compiler, "_DiskKernelCacheBackend", None)
    if setter is not None and disk is not None:
        setter(disk(_config.KERNEL_CACHE))


class _CupyLauncher:
    """Compiles each file once per device (one RawModule holding every registered instantiation),
    caches its kernels per (file, expression, device), launches on the current stream.

    One module per file, not per expression: NVRTC then parses the file once instead of once per
    instantiation, and CuPy caches one entry per file on disk (it skips its disk cache for
    name_expressions before 14.2, the floor of the cuda extras). Works the same on the simulated
    device, whose RawModule builds the file with the host emulator.
    """

    def __init__(self):
        self._modules: dict[tuple[str, int, object], object] = {}
        self._functions: dict[tuple[str, str, int, object], object] = {}
        self._sm_counts: dict[tuple[int, object], int] = {}

    @property
    def sm_count(self) -> int:
        cupy = backend.cupy
        device = cupy.cuda.Device()
        key = (device.id, cupy)
        if key not in self._sm_counts:
            self._sm_counts[key] = int(device.attributes["MultiProcessorCount"])
        return self._sm_counts[key]

    @property
    def max_blocks(self) -> int:
        # 32 blocks of 256 threads per SM: enough in flight to saturate memory bandwidth.
        return 32 * self.sm_count

    @property
    def compute_capability(self) -> int:
        return int(backend.cupy.cuda.Device().compute_capability)

    def module(self, filename: str):
        """The compiled RawModule of ``kernels/<filename>`` on the current device."""
        cupy = backend.cupy
        key = (filename, cupy.cuda.Device().id, cupy)
        module = self._modules.get(key)
        if module is None:
            if not backend.simulated():
                _use_kernel_cache(cupy)
            module = cupy.RawModule(code=source(filename), options=COMPILE_OPTIONS,
                                    name_expressions=list(name_expressions(filename)))
            self._modules[key] = module
        return module

    def function(self, filename: str, expression: str):
        cupy = backend.cupy
        key = (filename, expression, cupy.cuda.Device().id, cupy)
        function = self._functions.get(key)
        if function is None:
            if expression not in name_expressions(filename):
                raise RuntimeError(f"{expression} is not a registered instantiation of kernels/{filename}.")
            try:
                function = self.module(filename).get_function(expression)
            except Exception as exc:  # noqa: BLE001 - NVRTC and driver errors come in many types
                raise RuntimeError(f"Compiling {expression} from kernels/{filename} failed: {exc}") from exc
            self._functions[key] = function
        return function

    def __call__(self, filename, expression, grid, block, args) -> None:
        function = self.function(filename, expression)
        try:
            function(tuple(grid), tuple(block), tuple(args))
        except (TypeError, ValueError):
            raise  # argument errors (the simulator checks them against the kernel's signature)
        except RaceError:
            raise
        except Exception as exc:  # noqa: BLE001 - surface launch failures with the kernel's name
            raise RuntimeError(f"Launching {expression} from kernels/{filename} with grid {grid}, "
                               f"block {block} failed: {exc}") from exc


launch = _CupyLauncher()
_emulator: Launcher | None = None
_poison = False


def launcher_for(array) -> Launcher | None:
    """How to run a kernel on ``array``: CuPy for a GPU array, the emulator for a NumPy array while
    :func:`emulate_numpy` is active, else None (the caller runs its NumPy reference)."""
    if backend.is_gpu_array(array):
        return launch
    return _emulator


@contextlib.contextmanager
def emulate_numpy(launcher: Launcher) -> Iterator[None]:
    """Within the block, kernel wrappers given NumPy arrays launch their kernels through
    ``launcher`` instead of running the NumPy reference (used by the emulator tests)."""
    global _emulator
    previous, _emulator = _emulator, launcher
    try:
        yield
    finally:
        _emulator = previous


@contextlib.contextmanager
def poison_outputs() -> Iterator[None]:
    """Within the block, every output allocated by a kernel wrapper starts as 0xFF bytes (NaN for
    floats), so an element the kernel forgets to write fails the comparison."""
    global _poison
    previous, _poison = _poison, True
    try:
        yield
    finally:
        _poison = previous


def empty(xp, shape, dtype):
    """A fresh C-contiguous output array (poisoned inside :func:`poison_outputs`)."""
    out = xp.empty(shape, dtype=dtype)
    if _poison and out.size:
        out.reshape(-1).view(np.uint8).fill(0xFF)  # reshape: 0-d arrays cannot change itemsize
    return out


def grid_1d(launcher: Launcher, n: int, block: int = 256, per_thread: int = 1) -> tuple[tuple, tuple]:
    """(grid, block) for a 1-D grid-stride loop over ``n`` items, ``per_thread`` items per step."""
    blocks = -(-n // (block * per_thread))
    return (max(1, min(blocks, launcher.max_blocks)), 1, 1), (block, 1, 1)
