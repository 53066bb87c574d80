"""Device selection: the only package in gpucell that imports CuPy.

Arrays are NumPy arrays (device ``"CPU"``) or arrays of the GPU module (device ``"GPU"``). The GPU
module is CuPy, or the simulated CUDA device (``gpucell.backend.sim``, a CuPy-shaped module over
host memory) when ``GPUCELL_DEVICE=SIM`` or ``set_context(device_target="SIM")`` asks for it.
Everything above this package asks here which module an array belongs to, and reads ``cupy``
from this module at call time (``backend.cupy``), never at import, so the choice can change.
"""

from __future__ import annotations

import warnings

import numpy as np

from gpucell import _config

try:  # A broken or missing CuPy leaves gpucell importable on NumPy alone.
    import cupy as _real_cupy
    _CUPY_ERROR: str | None = None
except Exception as exc:  # noqa: BLE001 - any import failure means "no CuPy"
    _real_cupy = None
    _CUPY_ERROR = f"cupy could not be imported ({type(exc).__name__}: {exc}); install gpucell[cuda12]"

__all__ = [
    "cupy", "gpu_status", "gpu_available", "set_device", "get_device", "xp_for", "device_of",
    "array_module", "is_gpu_array", "to_device", "to_host", "DEVICES", "check_device", "use_device_id",
    "use_simulator", "simulated", "on_module_change",
]

cupy = _real_cupy  # the GPU module now in use: CuPy, or the simulator after use_simulator()
DEVICES = ("GPU", "CPU")
TARGETS = ("GPU", "CPU", "SIM")
_gpu_status: tuple[bool, str] | None = None
_device: str | None = None
_simulated = False
_listeners: list = []


def on_module_change(callback) -> None:
    """Calls ``callback()`` whenever the GPU module changes (upper layers cache what depends on it)."""
    _listeners.append(callback)


def simulated() -> bool:
    """Whether the GPU module is the simulated CUDA device."""
    return _simulated


def use_simulator(on: bool = True) -> None:
    """Makes the simulated CUDA device (``on``) or CuPy (``not on``) the GPU module.

    Arrays made by one module are not arrays of the other: switch before making GPU tensors.
    """
    global cupy, _simulated, _gpu_status
    if on:
        from gpucell.backend import sim

        cupy, _simulated = sim, True
    else:
        cupy, _simulated = _real_cupy, False
    _gpu_status = None
    for callback in _listeners:
        callback()


def gpu_status() -> tuple[bool, str]:
    """``(usable, reason)``: whether the GPU module works and sees a CUDA device, and if not, why."""
    global _gpu_status
    if _gpu_status is None:
        _gpu_status = _probe_gpu()
    return _gpu_status


def _probe_gpu() -> tuple[bool, str]:
    if _simulated:
        return True, f"the simulated CUDA device ({cupy.cuda.runtime.getDeviceCount()} device(s), gpucell.backend.sim)"
    if cupy is None:
        return False, _CUPY_ERROR or "cupy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDA raises several types for "no driver"
        return False, f"no usable NVIDIA driver ({type(exc).__name__}: {exc})"
    if count < 1:
        return False, "the NVIDIA driver reports no CUDA device"
    missing = _missing_compiler_parts(cupy)
    if missing:
        # Fail here, not at the first kernel: without NVRTC not even CuPy's own elementwise kernels run.
        reason = (f"cupy sees {count} CUDA device(s) but cannot compile kernels: {missing}. "
                  f"{_compiler_install_hint(cupy)}")
        warnings.warn(f"gpucell cannot use the GPU: {reason}", RuntimeWarning, stacklevel=3)
        return False, reason
    return True, f"{count} CUDA device(s)"


def _missing_compiler_parts(gpu) -> str | None:
    """What CuPy lacks to compile a kernel, or None. Cheap: loads libraries, compiles nothing.

    Every CuPy kernel (RawModule and CuPy's own elementwise ones) is compiled by NVRTC, which CuPy 14
    loads through cuda-pathfinder (the nvidia-cuda-nvrtc wheel, conda, the system loader, CUDA_PATH),
    and CuPy 14 passes the CUDA runtime headers (cuda_runtime.h, found the same way) to every
    compile. cupy-cuda12x/13x wheels ship neither; their ``[ctk]`` extra brings both.
    """
    try:
        gpu.cuda.nvrtc.getVersion()  # loads libnvrtc where CuPy will, as CuPy will
    except Exception as exc:  # noqa: BLE001 - pathfinder, OSError, NVRTCError: all mean "no NVRTC"
        return f"NVRTC could not be loaded ({type(exc).__name__}: {exc})"
    # CuPy's own assembly of compile options (the include paths it adds) raises exactly when it
    # cannot find the headers; a CuPy without that helper is asked nothing more.
    assemble = getattr(getattr(getattr(gpu, "_core", None), "core", None), "assemble_cupy_compiler_options", None)
    if assemble is None:
        return None
    try:
        assemble(())
    except Exception as exc:  # noqa: BLE001 - CuPy raises RuntimeError; be safe with the rest
        return f"the CUDA runtime headers (cuda_runtime.h) were not found ({type(exc).__name__}: {exc})"
    return None


def _compiler_install_hint(gpu) -> str:
    try:
        major = int(gpu.cuda.driver.get_build_version()) // 1000  # the CUDA major CuPy was built for
    except Exception:  # noqa: BLE001 - a hint is not worth failing over
        major = 0
    if major in (12, 13):
        return (f'Install NVRTC and the headers with pip install "gpucell[cuda{major}]" '
                f'(or pip install "cupy-cuda{major}x[ctk]"), or a CUDA {major} toolkit with CUDA_PATH set to it')
    return "Install a CUDA toolkit's NVRTC and headers and set CUDA_PATH to it"


def gpu_available() -> bool:
    return gpu_status()[0]


def _check_target(target: str, where: str) -> str:
    """The device a target names ("GPU" or "CPU"); "SIM" switches to the simulator and names "GPU"."""
    if not isinstance(target, str):
        raise TypeError(f"For '{where}', the device must be a str 'GPU', 'CPU' or 'SIM', "
                        f"but got {target!r} of type '{type(target).__name__}'.")
    upper = target.upper()
    if upper not in TARGETS:
        raise ValueError(f"For '{where}', the device must be 'GPU', 'CPU' or 'SIM', but got {target!r}.")
    if upper == "SIM":
        if not _simulated:
            use_simulator(True)
        return "GPU"
    if upper == "GPU":
        usable, reason = gpu_status()
        if not usable:
            raise RuntimeError(f"For '{where}', the GPU was asked for but cannot be used: {reason}. "
                               f"Without a GPU, device_target='SIM' (or GPUCELL_DEVICE=SIM) runs the GPU code "
                               f"path on the simulated CUDA device.")
    return upper


def set_device(target: str) -> None:
    """Selects the device that new tensors are created on ("SIM": the GPU, simulated)."""
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
    """The array module (numpy, or the GPU module) of a device name."""
    return np if device == "CPU" else cupy


def is_gpu_array(array) -> bool:
    return cupy is not None and isinstance(array, cupy.ndarray)


def device_of(array) -> str:
    return "CPU" if isinstance(array, np.ndarray) else "GPU"


def array_module(array):
    """numpy for a NumPy array, the GPU module for a GPU array."""
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


if _config.DEVICE == "SIM":
    use_simulator(True)
