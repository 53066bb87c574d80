"""The calling thread's current simulated device, and how many devices there are."""

from __future__ import annotations

import threading

from gpucell import _config

__all__ = ["device_count", "get_device_id", "set_device_id", "check_device_id"]

_tls = threading.local()


def device_count() -> int:
    """``GPUCELL_SIM_DEVICES`` (default 1) simulated devices."""
    return _config.SIM_DEVICES


def check_device_id(device_id: int) -> int:
    from gpucell.backend.sim._errors import INVALID_DEVICE, runtime_error

    if not isinstance(device_id, int) or not 0 <= device_id < device_count():
        raise runtime_error(INVALID_DEVICE, f"device {device_id!r}; the simulator has {device_count()} device(s), "
                               f"set GPUCELL_SIM_DEVICES for more")
    return device_id


def get_device_id() -> int:
    return getattr(_tls, "device", 0)


def set_device_id(device_id: int) -> None:
    _tls.device = check_device_id(device_id)
