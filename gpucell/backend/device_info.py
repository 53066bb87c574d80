"""What the machine offers: backend in use, GPU name, driver, memory, utilisation, versions, caches.

Every query degrades: without CuPy, without a GPU, or without NVML (``pynvml`` from the
``nvidia-ml-py`` package) the fields it cannot fill are None and ``errors`` says why. Nothing here
raises because a device is missing.

>>> import gpucell as ms
>>> sorted(ms.memory_stats())
['current_bytes', 'device', 'peak_bytes', 'pool_bytes']
"""

from __future__ import annotations

import os
import pathlib
import platform

import numpy as np

from gpucell import _config, backend

__all__ = ["device_info", "format_info", "kernel_cache_dir", "memory_stats", "reset_peak_memory_stats"]

_CUPY_DEFAULT_CACHE = "~/.cupy/kernel_cache"
_peak_pool_bytes = 0


def memory_stats() -> dict:
    """Bytes held by CuPy's memory pool on the current GPU.

    ``current_bytes``: in live arrays; ``pool_bytes``: held by the pool (live arrays plus cached
    free blocks); ``peak_bytes``: the most the pool has held since start or
    :func:`reset_peak_memory_stats` (CuPy's pool only grows when its cached blocks cannot serve a
    request, so this is the high-water mark of live arrays plus fragmentation; the profiler measures
    the exact peak of live arrays). On the CPU (NumPy has no pool) all three are 0 and ``device``
    is ``"CPU"``.

    >>> import gpucell as ms
    >>> stats = ms.memory_stats()
    >>> stats["current_bytes"] <= stats["peak_bytes"] or stats["device"] == "CPU"
    True
    """
    global _peak_pool_bytes
    if not backend.gpu_available():
        return {"device": "CPU", "current_bytes": 0, "peak_bytes": 0, "pool_bytes": 0}
    pool = backend.cupy.get_default_memory_pool()
    held = pool.total_bytes()
    _peak_pool_bytes = max(_peak_pool_bytes, held)
    return {"device": "GPU", "current_bytes": pool.used_bytes(), "peak_bytes": _peak_pool_bytes,
            "pool_bytes": held}


def reset_peak_memory_stats() -> None:
    """Starts ``memory_stats()['peak_bytes']`` again from what the pool holds now."""
    global _peak_pool_bytes
    _peak_pool_bytes = 0


def kernel_cache_dir() -> str:
    """The folder compiled kernels are cached in.

    CuPy's own ``CUPY_CACHE_DIR`` when set (CuPy reads it, and gpucell never overrides it), else
    ``GPUCELL_KERNEL_CACHE`` (which gpucell hands to CuPy), else CuPy's default folder.
    """
    return (os.environ.get("CUPY_CACHE_DIR") or _config.KERNEL_CACHE
            or os.path.expanduser(_CUPY_DEFAULT_CACHE))


def _folder_summary(path: str) -> dict:
    folder = pathlib.Path(path)
    if not folder.is_dir():
        return {"path": path, "exists": False, "files": 0, "bytes": 0}
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"path": path, "exists": True, "files": len(files),
            "bytes": sum(p.stat().st_size for p in files)}


def _version(number: int | None) -> str | None:
    """CUDA's integer versions (12060) as text ("12.6")."""
    if not number:
        return None
    return f"{number // 1000}.{number % 1000 // 10}"


def _cuda_facts(info: dict, errors: dict) -> list[int]:
    """Fills CuPy / CUDA versions and per-GPU facts CuPy knows; returns the PCI bus ids' order."""
    cupy = backend.cupy
    if cupy is None:
        errors["cupy"] = backend.gpu_status()[1]
        return []
    info["cupy"] = cupy.__version__
    runtime = cupy.cuda.runtime
    try:
        info["cuda_runtime"] = _version(runtime.runtimeGetVersion())
        info["cuda_driver"] = _version(runtime.driverGetVersion())
    except Exception as exc:  # noqa: BLE001 - no driver
        errors["cuda"] = f"{type(exc).__name__}: {exc}"
    if not backend.gpu_available():
        return []
    buses = []
    for index in range(runtime.getDeviceCount()):
        props = runtime.getDeviceProperties(index)
        name = props.get("name", b"")
        gpu = {"index": index, "name": name.decode() if isinstance(name, bytes) else str(name),
               "compute_capability": f"{props.get('major')}.{props.get('minor')}",
               "memory_total": int(props.get("totalGlobalMem", 0)) or None,
               "memory_used": None, "memory_free": None, "utilization_gpu": None,
               "utilization_memory": None, "temperature_c": None}
        try:
            buses.append(cupy.cuda.Device(index).pci_bus_id)
        except Exception:  # noqa: BLE001 - NVML then goes by index
            buses.append(None)
        info["gpus"].append(gpu)
    return buses


def _cuda_memory(info: dict, errors: dict) -> None:
    """Free / used memory of the current device from CUDA, where NVML could not say.

    Only the current device: asking CUDA about another one would create a context on it.
    """
    cupy = backend.cupy
    current = cupy.cuda.Device().id
    for gpu in info["gpus"]:
        if gpu["index"] == current and gpu.get("memory_used") is None:
            try:
                free, total = cupy.cuda.Device(current).mem_info
                gpu.update(memory_total=int(total), memory_free=int(free), memory_used=int(total - free))
            except Exception as exc:  # noqa: BLE001
                errors[f"gpu{current}"] = f"{type(exc).__name__}: {exc}"


def _nvml_facts(info: dict, errors: dict, buses: list) -> None:
    """Adds the driver version, utilisation and temperature NVML reports."""
    try:
        import pynvml
    except ImportError:
        errors["nvml"] = "pynvml is not installed (pip install nvidia-ml-py)"
        return
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        errors["nvml"] = f"{type(exc).__name__}: {exc}"
        return
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        info["driver"] = driver.decode() if isinstance(driver, bytes) else driver
        if info.get("cuda_driver") is None:
            info["cuda_driver"] = _version(pynvml.nvmlSystemGetCudaDriverVersion())
        count = pynvml.nvmlDeviceGetCount()
        if not info["gpus"]:  # no CuPy: list what NVML sees
            info["gpus"] = [{"index": i} for i in range(count)]
            buses = [None] * count
        for gpu, bus in zip(info["gpus"], buses):
            try:
                # CUDA and NVML may number devices differently; the PCI bus id is the same in both.
                handle = (pynvml.nvmlDeviceGetHandleByPciBusId(bus) if bus
                          else pynvml.nvmlDeviceGetHandleByIndex(gpu["index"]))
                name = pynvml.nvmlDeviceGetName(handle)
                gpu["name"] = name.decode() if isinstance(name, bytes) else name
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                gpu.update(memory_total=int(memory.total), memory_used=int(memory.used),
                           memory_free=int(memory.free))
                rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
                gpu.update(utilization_gpu=int(rates.gpu), utilization_memory=int(rates.memory))
                gpu["temperature_c"] = int(pynvml.nvmlDeviceGetTemperature(
                    handle, pynvml.NVML_TEMPERATURE_GPU))
            except Exception as exc:  # noqa: BLE001 - some queries are unsupported on some boards
                errors[f"nvml_gpu{gpu['index']}"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001
        errors["nvml"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001, S110 - shutting down is best effort
            pass


def device_info() -> dict:
    """Everything ``python -m gpucell info`` prints, as a JSON-ready dict.

    ``backend`` is the device new tensors go to ("GPU" or "CPU"); ``gpus`` lists each device with
    its name, memory (bytes), utilisation (%) and temperature (C), None where unknown;
    ``errors`` says why a field could not be filled.

    >>> import gpucell as ms
    >>> info = ms.device_info()
    >>> info["backend"] in ("GPU", "CPU", None)  # None: GPUCELL_DEVICE asks for a GPU it cannot use
    True
    """
    usable, reason = backend.gpu_status()
    errors: dict[str, str] = {}
    try:
        device = backend.get_device()
    except RuntimeError as exc:  # GPUCELL_DEVICE=GPU on a machine without one
        device = None
        errors["device"] = str(exc)
    info: dict = {
        "backend": device,
        "array_module": {"GPU": "cupy", "CPU": "numpy"}.get(device),
        "gpu_usable": usable,
        "gpu_status": reason,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "cupy": None,
        "cuda_runtime": None,
        "cuda_driver": None,
        "driver": None,
        "gpus": [],
        "memory_pool": memory_stats(),
        "kernel_cache": _folder_summary(kernel_cache_dir()),
        "errors": errors,
    }
    buses = _cuda_facts(info, errors)
    _nvml_facts(info, errors, buses)
    if backend.gpu_available():
        _cuda_memory(info, errors)
    return info


def _bytes(n) -> str:
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _or_na(value, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def format_info(info: dict) -> str:
    """The text ``python -m gpucell info`` prints for a :func:`device_info` dict."""
    backend_line = (f"{info['backend']} ({info['array_module']})" if info["backend"]
                    else f"none: {info['errors'].get('device', 'unknown')}")
    lines = [
        f"gpucell backend:  {backend_line}",
        f"GPU usable:       {'yes' if info['gpu_usable'] else 'no'} ({info['gpu_status']})",
        f"Python:           {info['python']} on {info['platform']}",
        f"NumPy:            {info['numpy']}",
        f"CuPy:             {_or_na(info['cupy'])}",
        f"CUDA runtime:     {_or_na(info['cuda_runtime'])}",
        f"CUDA driver API:  {_or_na(info['cuda_driver'])}",
        f"NVIDIA driver:    {_or_na(info['driver'])}",
    ]
    for gpu in info["gpus"]:
        lines += [
            f"GPU {gpu['index']}:            {gpu.get('name', 'n/a')}"
            + (f" (compute {gpu['compute_capability']})" if gpu.get("compute_capability") else ""),
            (f"  memory:         total {_bytes(gpu.get('memory_total'))}, used "
             f"{_bytes(gpu.get('memory_used'))}, free {_bytes(gpu.get('memory_free'))}"),
            (f"  utilisation:    gpu {_or_na(gpu.get('utilization_gpu'), '%')}, memory "
             f"{_or_na(gpu.get('utilization_memory'), '%')}"),
            f"  temperature:    {_or_na(gpu.get('temperature_c'), ' C')}",
        ]
    if not info["gpus"]:
        lines.append("GPUs:             none")
    pool = info["memory_pool"]
    if pool["device"] == "GPU":
        lines.append(f"CuPy memory pool: current {_bytes(pool['current_bytes'])}, held "
                     f"{_bytes(pool['pool_bytes'])}, peak {_bytes(pool['peak_bytes'])}")
    else:
        lines.append("CuPy memory pool: n/a (NumPy backend)")
    cache = info["kernel_cache"]
    state = (f"{cache['files']} files, {_bytes(cache['bytes'])}" if cache["exists"]
             else "not created yet")
    lines.append(f"Kernel cache:     {cache['path']} ({state})")
    for key, message in info["errors"].items():
        lines.append(f"note [{key}]: {message}")
    return "\n".join(lines)

