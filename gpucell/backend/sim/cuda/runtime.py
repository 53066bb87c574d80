"""``cupy.cuda.runtime`` of the simulated device: the calls gpucell and common user code make."""

from __future__ import annotations

from gpucell.backend.sim import _context, _device
from gpucell.backend.sim._errors import CUDARuntimeError

__all__ = ["CUDARuntimeError", "getDeviceCount", "getDevice", "setDevice", "getDeviceProperties",
           "deviceSynchronize", "memGetInfo", "runtimeGetVersion", "driverGetVersion", "is_hip",
           "streamCaptureModeGlobal", "streamCaptureModeThreadLocal", "streamCaptureModeRelaxed"]

is_hip = False
streamCaptureModeGlobal, streamCaptureModeThreadLocal, streamCaptureModeRelaxed = 0, 1, 2


def getDeviceCount() -> int:
    return _context.device_count()


def getDevice() -> int:
    return _context.get_device_id()


def setDevice(device: int) -> None:
    _context.set_device_id(device)


def getDeviceProperties(device: int) -> dict:
    return _device.properties(device)


def deviceSynchronize() -> None:
    _device.Device().synchronize()


def memGetInfo() -> tuple[int, int]:
    return _device.Device().mem_info


def runtimeGetVersion() -> int:
    return 12080


def driverGetVersion() -> int:
    return 12080
