"""Every environment flag gpucell reads, read in one place.

``GPUCELL_DEVICE``        ``GPU``, ``CPU`` or ``SIM``: the device new tensors go to (default: GPU when
                          usable). ``SIM`` is the simulated CUDA device: tensors are GPU tensors
                          whose memory is on the host (see gpucell/backend/sim).
``GPUCELL_SIM_DEVICES``   how many devices the simulator offers (default 1).
``GPUCELL_KERNEL_CACHE``  folder for compiled kernels (default: CuPy's own cache folder).
``GPUCELL_SEED``          the global seed at import (default 0).
``GPUCELL_JIT_CACHE_BYTES`` the most device memory the jit plan cache may hold in its plans' private
                          pools and constants, in bytes, or with a K, M, G or T suffix (binary:
                          ``4G`` is 4 GiB); least recently used plans are freed beyond it (default:
                          half the GPU's memory, 1 GiB without a GPU).
"""

from __future__ import annotations

import os

_DEVICE_NAMES = ("GPU", "CPU", "SIM")


def _device_flag() -> str | None:
    value = os.environ.get("GPUCELL_DEVICE", "").strip()
    if not value:
        return None
    upper = value.upper()
    if upper not in _DEVICE_NAMES:
        raise ValueError(f"GPUCELL_DEVICE must be 'GPU', 'CPU' or 'SIM', but got {value!r}.")
    return upper


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, but got {value!r}.")
    return int(value)


_BYTE_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes_flag(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    value = text.upper().removesuffix("B").removesuffix("I")  # 4G, 4GB and 4GiB alike
    scale = _BYTE_SUFFIXES.get(value[-1:], 1)
    digits = value[:-1] if value[-1:] in _BYTE_SUFFIXES else value
    if not digits.isdigit():
        raise ValueError(f"{name} must be a number of bytes such as 1073741824 or 4G, but got "
                         f"{os.environ[name]!r}.")
    return int(digits) * scale


DEVICE: str | None = _device_flag()
SIM_DEVICES: int = _positive_int("GPUCELL_SIM_DEVICES", 1)
KERNEL_CACHE: str | None = os.environ.get("GPUCELL_KERNEL_CACHE") or None
SEED: int = int(os.environ.get("GPUCELL_SEED", "0"))
JIT_CACHE_BYTES: int | None = _bytes_flag("GPUCELL_JIT_CACHE_BYTES")
