"""Every environment flag gpucell reads, read in one place.

``GPUCELL_DEVICE``        ``GPU`` or ``CPU``: the device new tensors go to (default: GPU when usable).
``GPUCELL_KERNEL_CACHE``  folder for compiled kernels (default: CuPy's own cache folder).
``GPUCELL_SEED``          the global seed at import (default 0).
"""

from __future__ import annotations

import os


def _device_flag() -> str | None:
    value = os.environ.get("GPUCELL_DEVICE", "").strip()
    if not value:
        return None
    upper = value.upper()
    if upper not in ("GPU", "CPU"):
        raise ValueError(f"GPUCELL_DEVICE must be 'GPU' or 'CPU', but got {value!r}.")
    return upper


DEVICE: str | None = _device_flag()
KERNEL_CACHE: str | None = os.environ.get("GPUCELL_KERNEL_CACHE") or None
SEED: int = int(os.environ.get("GPUCELL_SEED", "0"))
