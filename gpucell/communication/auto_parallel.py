"""``set_auto_parallel_context``: how training spreads over the process group (data parallel only).

In ``ParallelMode.DATA_PARALLEL`` each process holds the whole network and trains on its share of
the global batch; ``TrainOneStepCell`` all-reduces the gradients (``gradients_mean=False`` sums
them, True averages) and, with ``parameter_broadcast=True``, starts every rank from rank 0's
parameters.

>>> import gpucell as ms
>>> ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
>>> ms.get_auto_parallel_context("parallel_mode")
'data_parallel'
>>> ms.reset_auto_parallel_context()
"""

from __future__ import annotations

__all__ = ["ParallelMode", "set_auto_parallel_context", "get_auto_parallel_context",
           "reset_auto_parallel_context"]

_WHERE = "set_auto_parallel_context"


class ParallelMode:
    """MindSpore's parallel modes; gpucell runs STAND_ALONE and DATA_PARALLEL."""

    STAND_ALONE = "stand_alone"
    DATA_PARALLEL = "data_parallel"
    HYBRID_PARALLEL = "hybrid_parallel"
    SEMI_AUTO_PARALLEL = "semi_auto_parallel"
    AUTO_PARALLEL = "auto_parallel"
    MODE_LIST = [STAND_ALONE, DATA_PARALLEL, HYBRID_PARALLEL, SEMI_AUTO_PARALLEL, AUTO_PARALLEL]


_DEFAULTS = {"parallel_mode": ParallelMode.STAND_ALONE, "gradients_mean": False, "parameter_broadcast": False,
             "device_num": 1, "global_rank": 0}
_settings: dict = dict(_DEFAULTS)


def _bool(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"For '{_WHERE}', the '{key}' must be a bool, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    return value


def _int(low: int, high: int):
    def check(key: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"For '{_WHERE}', the '{key}' must be an int, but got {value!r} with type "
                            f"'{type(value).__name__}'.")
        if not low <= value <= high:
            raise ValueError(f"For '{_WHERE}', the '{key}' must be in [{low}, {high}], but got {value}.")
        return value
    return check


def _mode(key: str, value) -> str:
    if not isinstance(value, str) or value not in ParallelMode.MODE_LIST:
        raise ValueError(f"For '{_WHERE}', the 'parallel_mode' must be one of {ParallelMode.MODE_LIST}, "
                         f"but got {value!r}.")
    if value not in (ParallelMode.STAND_ALONE, ParallelMode.DATA_PARALLEL):
        raise NotImplementedError(f"For '{_WHERE}', gpucell runs 'stand_alone' and 'data_parallel' only, "
                                  f"but got parallel_mode={value!r}.")
    return value


_CHECKS = {"parallel_mode": _mode, "gradients_mean": _bool, "parameter_broadcast": _bool,
           "device_num": _int(1, 4096), "global_rank": _int(0, 4095)}


def set_auto_parallel_context(**kwargs) -> None:
    """Sets ``parallel_mode``, ``gradients_mean``, ``parameter_broadcast``, ``device_num`` and
    ``global_rank``; nothing changes unless every key is valid."""
    unknown = sorted(set(kwargs) - set(_CHECKS))
    if unknown:
        raise ValueError(f"For '{_WHERE}', unknown or unsupported keys {unknown}; expected some of "
                         f"{sorted(_CHECKS)}.")
    checked = {key: _CHECKS[key](key, value) for key, value in kwargs.items()}
    _settings.update(checked)


def get_auto_parallel_context(attr_key: str):
    """The value of one key of the auto-parallel context."""
    if attr_key not in _CHECKS:
        raise ValueError(f"For 'get_auto_parallel_context', unknown key {attr_key!r}; expected one of "
                         f"{sorted(_CHECKS)}.")
    return _settings[attr_key]


def reset_auto_parallel_context() -> None:
    """Back to the defaults: stand-alone, gradients summed, no broadcast, one device."""
    _settings.clear()
    _settings.update(_DEFAULTS)


def data_parallel() -> bool:
    return _settings["parallel_mode"] == ParallelMode.DATA_PARALLEL
