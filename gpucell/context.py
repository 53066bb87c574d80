"""``set_context`` / ``get_context``: the device, the execution mode and MindSpore's other keys.

Keys with an effect here: ``device_target``, ``device_id``, ``mode``, ``pynative_synchronize``
(the host waits for the GPU after every op that runs eagerly, so an asynchronous CUDA error, such as
an illegal address, is raised by the op that caused it instead of by a later, unrelated one) and
``gpu_config={"matmul_allow_tf32": True}`` (float32 matmuls on the tensor cores as TF32, sm_80+; off
by default, as in MindSpore).
MindSpore's other common keys are checked the way MindSpore checks them and kept (``get_context``
returns what was set), but change nothing here: the first time one is set to a value other than its
default, a UserWarning says so and why. An unknown key raises ValueError; nothing changes unless
every key given is valid.

>>> import gpucell as ms
>>> ms.set_context(device_target="CPU", max_call_depth=1000)
>>> ms.get_context("device_target"), ms.get_context("max_call_depth")
('CPU', 1000)
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from gpucell import backend
from gpucell.backend.kernel_ops.matmul import allow_tf32 as _matmul_tf32
from gpucell.backend.kernel_ops.matmul import set_allow_tf32 as _set_matmul_tf32
from gpucell.ops._dispatch import hooks as _op_hooks

__all__ = ["GRAPH_MODE", "PYNATIVE_MODE", "STRICT", "COMPATIBLE", "LAX", "set_context", "get_context"]

GRAPH_MODE = 0
PYNATIVE_MODE = 1
# jit_syntax_level values, as mindspore.context names them
STRICT = 0
COMPATIBLE = 1
LAX = 2

_WHERE = "set_context"
_settings: dict = {"mode": PYNATIVE_MODE}
_noticed: set[str] = set()  # keys whose "no effect here" notice was given (once per process)
_GB = re.compile(r"[1-9][0-9]*(\.)?[0-9]*GB|0\.[0-9]*GB")


# -- checks, each MindSpore's rule with a gpucell message ----------------------------------------
def _bool(key: str, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"For '{_WHERE}', the '{key}' must be a bool, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    return bool(value)


def _int(minimum: int):
    def check(key: str, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"For '{_WHERE}', the '{key}' must be an int, but got {value!r} with type "
                            f"'{type(value).__name__}'.")
        if value < minimum:
            bound = "greater than 0" if minimum == 1 else f"greater than or equal to {minimum}"
            raise ValueError(f"For '{_WHERE}', the '{key}' must be {bound}, but got {value}.")
        return int(value)
    return check


def _str(key: str, value):
    if not isinstance(value, str):
        raise TypeError(f"For '{_WHERE}', the '{key}' must be a str, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    return value


def _path(key: str, value):
    if not _str(key, value).strip():
        raise ValueError(f"For '{_WHERE}', the '{key}' must be a non-empty str, but got {value!r}.")
    return value


def _one_of(*options):
    def check(key: str, value):
        if isinstance(value, bool) or value not in options:
            raise ValueError(f"For '{_WHERE}', the '{key}' must be one of {list(options)}, but got "
                             f"{value!r}.")
        return value
    return check


def _memory(minimum_gb: float):
    def check(key: str, value):
        if not _GB.fullmatch(_str(key, value)):
            raise ValueError(f"For '{_WHERE}', the '{key}' must be a str of a number of GB such as '5GB' or "
                             f"'3.5GB', but got {value!r}.")
        if float(value[:-2]) == 0 or float(value[:-2]) < minimum_gb:
            bound = f"at least '{minimum_gb:g}GB'" if minimum_gb else "more than '0GB'"
            raise ValueError(f"For '{_WHERE}', the '{key}' must be {bound}, but got {value!r}.")
        return value
    return check


def _save_graphs(key: str, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if not isinstance(value, (int, np.integer)):
        raise TypeError(f"For '{_WHERE}', the '{key}' must be a bool or an int, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    if not 0 <= value <= 3:
        raise ValueError(f"For '{_WHERE}', the '{key}' must be in [0, 3], but got {value}.")
    return int(value)


def _dict_of(options: dict):
    """A dict whose keys are in ``options``; each value in its list (or of its type)."""
    def check(key: str, value):
        if not isinstance(value, dict):
            raise TypeError(f"For '{_WHERE}', the '{key}' must be a dict, but got {value!r} with type "
                            f"'{type(value).__name__}'.")
        for name, item in value.items():
            if options and name not in options:
                raise ValueError(f"For '{_WHERE}', the keys of '{key}' must be in {sorted(options)}, but "
                                 f"got {name!r}.")
            allowed = options.get(name)
            if isinstance(allowed, list) and (isinstance(item, bool) != isinstance(allowed[0], bool)
                                              or item not in allowed):
                raise ValueError(f"For '{_WHERE}', '{key}[{name!r}]' must be one of {allowed}, but got "
                                 f"{item!r}.")
        return dict(value)
    return check


def _jit_config(key: str, value):
    value = _dict_of({"jit_level": ["O0", "O1", "O2"], "infer_boost": ["on", "off"]})(key, value)
    if value.get("infer_boost") == "on" and value.get("jit_level") in ("O1", "O2"):
        raise ValueError(f"For '{_WHERE}', '{key}' can set 'infer_boost' to 'on' only with 'jit_level' 'O0', "
                         f"but got {value}.")
    return value


_GRAPH = ("gpucell builds no graph IR: gpucell.jit records the ops a call runs into a plan and "
          "replays it (a CUDA graph on the GPU)")
_MEMORY = ("device memory comes from CuPy's memory pool, which grows as needed "
           "(cupy.get_default_memory_pool().set_limit(size=...) caps it)")
_THREADS = ("ops run in the calling thread through NumPy or CuPy (OMP_NUM_THREADS sets NumPy's BLAS "
            "threads)")
_NONE = "gpucell has no counterpart of it"
_ALGOS = ["normal", "performance"]
_GPU_CONFIG = {
    "conv_fprop_algo": _ALGOS + ["implicit_gemm", "precomp_gemm", "gemm", "direct", "fft", "fft_tiling",
                                 "winograd", "winograd_nonfused"],
    "conv_dgrad_algo": _ALGOS + ["algo_0", "algo_1", "fft", "fft_tiling", "winograd", "winograd_nonfused"],
    "conv_wgrad_algo": _ALGOS + ["algo_0", "algo_1", "fft", "algo_3", "fft_tiling", "winograd_nonfused"],
    "conv_allow_tf32": [True, False],
    "matmul_allow_tf32": [True, False],
}

# key: (check, MindSpore's default, why it has no effect here; None where gpucell acts on it)
_KEYS: dict = {
    "pynative_synchronize": (_bool, False, None),
    "max_call_depth": (_int(1), 1000, "construct runs as plain Python, whose recursion limit "
                                      "(sys.setrecursionlimit) bounds the call depth"),
    "save_graphs": (_save_graphs, 0, _GRAPH),
    "save_graphs_path": (_path, ".", _GRAPH),
    "enable_graph_kernel": (_bool, False, _GRAPH + " and fuses some ops in it (gpucell/jit/fusion.py)"),
    "graph_kernel_flags": (_str, "", _GRAPH),
    "jit_config": (_jit_config, {}, _GRAPH),
    "jit_syntax_level": (_one_of(STRICT, COMPATIBLE, LAX), LAX, _GRAPH + "; any Python runs under it"),
    "precompile_only": (_bool, False, _GRAPH),
    "enable_compile_cache": (_bool, False, _GRAPH + "; CuPy caches the compiled kernels on disk itself"),
    "compile_cache_path": (_path, ".", _GRAPH + "; GPUCELL_KERNEL_CACHE sets the kernel cache folder"),
    "disable_format_transform": (_bool, False, "tensors keep the layout they are given (NCHW)"),
    "memory_optimize_level": (_one_of("O0", "O1"), "O0", _MEMORY),
    "max_device_memory": (_memory(0.0), "1024GB", _MEMORY),
    "mempool_block_size": (_memory(1.0), "1GB", _MEMORY),
    "memory_offload": (_one_of("ON", "OFF"), "OFF", _MEMORY),
    "runtime_num_threads": (_int(0), 30, _THREADS),
    "inter_op_parallel_num": (_int(0), 0, _THREADS),
    "deterministic": (_one_of("ON", "OFF"), "OFF", _NONE + " (a switch of nondeterministic kernels)"),
    "op_timeout": (_int(0), 900, "it is an Ascend setting"),
    "ascend_config": (_dict_of({}), {}, "it is an Ascend setting"),
    "gpu_config": (_dict_of(_GPU_CONFIG), {}, "gpucell picks its own kernels (no cuDNN algorithm choice)"),
    "check_bprop": (_bool, False, _NONE),
    "grad_for_scalar": (_bool, False, "gpucell differentiates with respect to Tensors only"),
    "reserve_class_name_in_scope": (_bool, True, _NONE),
    "print_file_path": (_path, "", _NONE + "; print writes to stdout"),
}
_ALL = sorted(("device_target", "mode", "device_id", *_KEYS))


# -- pynative_synchronize ------------------------------------------------------------------------
def _synchronize_device(array) -> None:
    """The host waits for all work of ``array``'s device, unless a CUDA graph is being captured
    (a synchronization would invalidate the capture; captured work does not run then anyway)."""
    if backend.cupy.cuda.get_current_stream().is_capturing():
        return
    array.device.synchronize()


def _synchronize_after_op(op, inputs, outputs, attrs) -> None:
    first = outputs[0] if isinstance(outputs, tuple) else outputs
    if first is not None and not isinstance(first._data, np.ndarray):
        _synchronize_device(first._data)


def _set_synchronize(on: bool) -> None:
    observers = tuple(f for f in _op_hooks.observers if f is not _synchronize_after_op)
    _op_hooks.observers = observers + (_synchronize_after_op,) if on else observers


# -- the API -------------------------------------------------------------------------------------
def set_context(**kwargs) -> None:
    """Sets ``device_target`` ('GPU' or 'CPU'), ``mode`` (GRAPH_MODE or PYNATIVE_MODE), ``device_id``,
    ``pynative_synchronize`` and MindSpore's other common keys (accepted without effect here).

    ``pynative_synchronize=True``: the host waits for the device after every op on the GPU, so an
    asynchronous error points at the line that caused it (slower; for debugging).

    >>> import gpucell as ms
    >>> ms.set_context(device_target="CPU")
    >>> ms.get_context("device_target")
    'CPU'
    """
    unknown = set(kwargs) - set(_ALL)
    if unknown:
        raise ValueError(f"For '{_WHERE}', unknown keys {sorted(unknown)}; expected some of {_ALL}.")
    mode = kwargs.get("mode", _settings["mode"])
    if mode not in (GRAPH_MODE, PYNATIVE_MODE) or isinstance(mode, bool):
        raise ValueError(f"For '{_WHERE}', 'mode' must be GRAPH_MODE (0) or PYNATIVE_MODE (1), "
                         f"but got {mode!r}.")
    device_id = kwargs.get("device_id", _settings.get("device_id", 0))
    if isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0:
        raise ValueError(f"For '{_WHERE}', 'device_id' must be an int >= 0, but got {device_id!r}.")
    others = {key: _KEYS[key][0](key, value) for key, value in kwargs.items() if key in _KEYS}
    if "device_target" in kwargs:
        backend.set_device(kwargs["device_target"])
    if "device_id" in kwargs:
        backend.use_device_id(device_id)
    if mode != _settings["mode"]:
        from gpucell.jit import set_graph_mode  # context sits above jit: bind it only when asked
        set_graph_mode(mode == GRAPH_MODE)
    _settings["mode"] = mode
    _settings["device_id"] = device_id
    for key, value in others.items():
        _settings[key] = value
        if key == "pynative_synchronize":
            _set_synchronize(value)
        if key == "gpu_config":  # its matmul key acts; the rest are kept and noticed
            allow = bool(value.get("matmul_allow_tf32", False))
            if allow != _matmul_tf32():
                _set_matmul_tf32(allow)
                from gpucell.jit import clear_cache

                clear_cache()  # a captured plan keeps the kernel it captured: trace again
            value = {name: item for name, item in value.items() if name != "matmul_allow_tf32"}
        _notice(key, value)


def _notice(key: str, value) -> None:
    _, default, why = _KEYS[key]
    if why is None or key in _noticed or value == default:
        return
    _noticed.add(key)
    warnings.warn(f"For '{_WHERE}', '{key}' is accepted for MindSpore code but has no effect in gpucell: "
                  f"{why}.", UserWarning, stacklevel=3)


def get_context(key: str):
    """The value of a context key: what ``set_context`` set, else MindSpore's default."""
    if key == "device_target":
        return backend.get_device()
    if key in ("mode", "device_id"):
        return _settings.get(key, 0)
    if key in _KEYS:
        value = _settings.get(key, _KEYS[key][1])
        return dict(value) if isinstance(value, dict) else value
    raise ValueError(f"For 'get_context', unknown key {key!r}; expected one of {_ALL}.")
