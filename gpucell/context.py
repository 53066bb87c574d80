"""``set_context`` / ``get_context``: the device and the execution mode, as in MindSpore."""

from __future__ import annotations

from gpucell import backend

__all__ = ["GRAPH_MODE", "PYNATIVE_MODE", "set_context", "get_context"]

GRAPH_MODE = 0
PYNATIVE_MODE = 1

_settings = {"mode": PYNATIVE_MODE}


def set_context(**kwargs) -> None:
    """Sets ``device_target`` ('GPU' or 'CPU') and/or ``mode`` (GRAPH_MODE or PYNATIVE_MODE).

    >>> import gpucell as ms
    >>> ms.set_context(device_target="CPU")
    >>> ms.get_context("device_target")
    'CPU'
    """
    unknown = set(kwargs) - {"device_target", "mode", "device_id"}
    if unknown:
        raise ValueError(f"For 'set_context', unknown keys {sorted(unknown)}; expected "
                         f"'device_target', 'mode' or 'device_id'.")
    mode = kwargs.get("mode", _settings["mode"])
    if mode not in (GRAPH_MODE, PYNATIVE_MODE) or isinstance(mode, bool):
        raise ValueError(f"For 'set_context', 'mode' must be GRAPH_MODE (0) or PYNATIVE_MODE (1), "
                         f"but got {mode!r}.")
    device_id = kwargs.get("device_id", _settings.get("device_id", 0))
    if isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0:
        raise ValueError(f"For 'set_context', 'device_id' must be an int >= 0, but got {device_id!r}.")
    if "device_target" in kwargs:
        backend.set_device(kwargs["device_target"])
    if "device_id" in kwargs:
        backend.use_device_id(device_id)
    if mode != _settings["mode"]:
        from gpucell.jit import set_graph_mode  # context sits above jit: bind it only when asked
        set_graph_mode(mode == GRAPH_MODE)
    _settings["mode"] = mode
    _settings["device_id"] = device_id


def get_context(key: str):
    """The value of a context key: 'device_target', 'mode' or 'device_id'."""
    if key == "device_target":
        return backend.get_device()
    if key in ("mode", "device_id"):
        return _settings.get(key, 0)
    raise ValueError(f"For 'get_context', unknown key {key!r}; expected 'device_target', 'mode' or "
                     f"'device_id'.")
