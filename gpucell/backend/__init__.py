"""Device selection: the only package in gpucell that imports CuPy.

Arrays are NumPy arrays (device ``"CPU"``) or CuPy arrays (device ``"GPU"``). Everything above this
package asks here which module an array belongs to and never imports CuPy itself.
"""

from __future__ import annotations

import numpy as np

from gpucell import _config

try:  # A broken or missing CuPy leaves gpucell importable on NumPy alone.
    import cupy as _cupy
    _CUPY_ERROR: str | None = None
except Exception as exc:  # noqa: BLE001 - any import failure means "no CuPy"
    _cupy = None
    _CUPY_ERROR = f"cupy could not be imported ({type(exc).__name__}: {exc}); install gpucell[cuda12]"

__all__ = [
    "cupy", "gpu_status", "gpu_available", "set_device", "get_device", "xp_for", "device_of",
    "array_module", "is_gpu_array", "to_device", "to_host", "DEVICES", "check_device", "use_device_id",
]

cupy = _cupy
DEVICES = ("GPU", "CPU")
_gpu_status: tuple[bool, str] | None = None
_device: str | None = None


def gpu_status() -> tuple[bool, str]:
    """``(usable, reason)``: whether CuPy imports and sees a CUDA device, and if not, why."""
    global _gpu_status
    if _gpu_status is None:
        _gpu_status = _probe_gpu()
    return _gpu_status


def _probe_gpu() -> tuple[bool, str]:
    if cupy is None:
        return False, _CUPY_ERROR or "cupy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDA raises several types for "no driver"
        return False, f"no usable NVIDIA driver ({type(exc).__name__}: {exc})"
    if count < 1:
        return False, "the NVIDIA driver reports no CUDA device"
    return True, f"{count} CUDA device(s)"


def gpu_available() -> bool:
    return gpu_status()[0]


def _check_target(target: str, where: str) -> str:
    if not isinstance(target, str):
        raise TypeError(f"For '{where}', the device must be a str 'GPU' or 'CPU', "
                        f"but got {target!r} of type '{type(target).__name__}'.")
    upper = target.upper()
    if upper not in DEVICES:
        raise ValueError(f"For '{where}', the device must be 'GPU' or 'CPU', but got {target!r}.")
    if upper == "GPU":
        usable, reason = gpu_status()
        if not usable:
            raise RuntimeError(f"For '{where}', the GPU was asked for but cannot be used: {reason}.")
    return upper


def set_device(target: str) -> None:
    """Selects the device that new tensors are created on."""
    global _device
    _device = _check_target(target, "set_context")


def get_device() -> str:
    """The device new tensors go to: set_context's, else GPUCELL_DEVICE's, else GPU when usable."""
    global _device
    if _device is None:
        if _config.DEVICE is not None:
            _device = _check_target(_config.DEVICE, "GPUCELL_DEVICE")
        else:
            _device = "GPU" if gpu_available() else "CPU"
    return _device


def check_device(target: str, where: str) -> str:
    """Normalises a device name and checks it is usable, raising errors that name ``where``."""
    return _check_target(target, where)


def use_device_id(device_id: int) -> None:
    """Makes GPU ``device_id`` current for new arrays and kernels (on the CPU only 0 exists)."""
    if not gpu_available():
        if device_id != 0:
            raise ValueError(f"For 'set_context', 'device_id' {device_id} needs a GPU; the CPU backend "
                             f"has only device 0 ({gpu_status()[1]}).")
        return
    count = cupy.cuda.runtime.getDeviceCount()
    if not 0 <= device_id < count:
        raise ValueError(f"For 'set_context', 'device_id' must be in [0, {count}), but got {device_id}.")
    cupy.cuda.Device(device_id).use()


def xp_for(device: str):
    """The array module (numpy or cupy) of a device name."""
    return np if device == "CPU" else cupy


def is_gpu_array(array) -> bool:
    return cupy is not None and isinstance(array, cupy.ndarray)


def device_of(array) -> str:
    return "CPU" if isinstance(array, np.ndarray) else "GPU"


def array_module(array):
    """numpy for a NumPy array, cupy for a CuPy array."""
    return np if isinstance(array, np.ndarray) else cupy


def to_device(array, device: str):
    """The array on ``device`` (a copy when it moves, the same object when it is already there)."""
    if device == "CPU":
        return to_host(array)
    if is_gpu_array(array):
        return array
    if not gpu_available():
        raise RuntimeError(f"Cannot move data to the GPU: {gpu_status()[1]}.")
    return cupy.asarray(array)


def to_host(array) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    return cupy.asnumpy(array)
