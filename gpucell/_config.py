"""Every environment flag gpucell reads, read in one place.

``GPUCELL_DEVICE``        ``GPU``, ``CPU`` or ``SIM``: the device new tensors go to (default: GPU when
                          usable). ``SIM`` is the simulated CUDA device: tensors are GPU tensors
                          whose memory is on the host (see gpucell/backend/sim).
``GPUCELL_SIM_DEVICES``   how many devices the simulator offers (default 1).
``GPUCELL_KERNEL_CACHE``  folder for compiled kernels (default: CuPy's own cache folder).
``GPUCELL_SEED``          the global seed at import (default 0).
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


DEVICE: str | None = _device_flag()
SIM_DEVICES: int = _positive_int("GPUCELL_SIM_DEVICES", 1)
KERNEL_CACHE: str | None = os.environ.get("GPUCELL_KERNEL_CACHE") or None
SEED: int = int(os.environ.get("GPUCELL_SEED", "0"))
