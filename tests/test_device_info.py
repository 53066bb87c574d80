"""Device info, memory_stats and ``python -m gpucell info``, with and without a GPU / NVML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import gpucell as ms
from gpucell import _config, backend
from gpucell.backend import device_info as di

ROOT = Path(__file__).resolve().parents[1]


def _run_info(*args, env=None):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "gpucell", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=120)


def test_device_info_is_json_ready_and_names_the_backend():
    info = ms.device_info()
    assert info["backend"] == backend.get_device()
    assert info["gpu_usable"] is backend.gpu_available()
    assert info["numpy"] == np.__version__
    for key in ("cupy", "cuda_runtime", "driver", "gpus", "memory_pool", "kernel_cache", "errors"):
        assert key in info
    json.dumps(info)
    if not backend.gpu_available():
        assert info["gpus"] == [] or all("name" in g for g in info["gpus"])
        assert info["memory_pool"]["device"] == "CPU"


def test_format_info_prints_every_section():
    text = di.format_info(ms.device_info())
    for label in ("gpucell backend:", "GPU usable:", "NumPy:", "CuPy:", "NVIDIA driver:",
                  "CuPy memory pool:", "Kernel cache:"):
        assert label in text


@pytest.mark.skipif(backend.gpu_available(), reason="checks the CPU answer")
def test_memory_stats_on_cpu_are_zero():
    assert ms.memory_stats() == {"device": "CPU", "current_bytes": 0, "peak_bytes": 0, "pool_bytes": 0}


@pytest.mark.gpu
def test_memory_stats_follow_cupy_pool():
    ms.reset_peak_memory_stats()
    before = ms.memory_stats()
    x = ms.Tensor(np.ones((1024, 1024), np.float32)).move_to("GPU")
    during = ms.memory_stats()
    assert during["device"] == "GPU"
    assert during["current_bytes"] >= before["current_bytes"] + 4 * 1024 * 1024
    assert during["current_bytes"] <= during["pool_bytes"] <= during["peak_bytes"]
    del x
    after = ms.memory_stats()
    assert after["current_bytes"] < during["current_bytes"]
    assert after["peak_bytes"] >= during["peak_bytes"]


@pytest.mark.gpu
def test_device_info_on_gpu_has_name_memory_and_versions():
    info = ms.device_info()
    assert info["cupy"] and info["cuda_runtime"]
    gpu = info["gpus"][0]
    assert gpu["name"]
    assert gpu["memory_total"] > 0 and gpu["memory_free"] is not None


def test_kernel_cache_follows_gpucell_flag(monkeypatch, tmp_path):
    monkeypatch.delenv("CUPY_CACHE_DIR", raising=False)
    monkeypatch.setattr(_config, "KERNEL_CACHE", str(tmp_path))
    (tmp_path / "k.cubin").write_bytes(b"0123")
    assert di.kernel_cache_dir() == str(tmp_path)
    assert ms.device_info()["kernel_cache"] == {"path": str(tmp_path), "exists": True, "files": 1,
                                                "bytes": 4}


def test_kernel_cache_cupy_flag_wins(monkeypatch, tmp_path):
    monkeypatch.setattr(_config, "KERNEL_CACHE", str(tmp_path / "gpucell"))
    monkeypatch.setenv("CUPY_CACHE_DIR", str(tmp_path / "cupy"))
    assert di.kernel_cache_dir() == str(tmp_path / "cupy")
    monkeypatch.delenv("CUPY_CACHE_DIR")
    monkeypatch.setattr(_config, "KERNEL_CACHE", None)
    assert di.kernel_cache_dir().endswith(".cupy/kernel_cache")


def test_without_pynvml_the_reason_is_given(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    info = ms.device_info()
    assert "nvidia-ml-py" in info["errors"]["nvml"]
    assert info["driver"] is None


def _fake_pynvml():
    nv = types.ModuleType("pynvml")
    nv.NVML_TEMPERATURE_GPU = 0
    nv.nvmlInit = lambda: None
    nv.nvmlShutdown = lambda: None
    nv.nvmlSystemGetDriverVersion = lambda: "570.10"
    nv.nvmlSystemGetCudaDriverVersion = lambda: 12080
    nv.nvmlDeviceGetCount = lambda: 1
    nv.nvmlDeviceGetHandleByIndex = lambda i: ("h", i)
    nv.nvmlDeviceGetHandleByPciBusId = lambda bus: ("h", bus)
    nv.nvmlDeviceGetName = lambda h: b"NVIDIA Test GPU"
    nv.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=80 << 30, used=1 << 30,
                                                                 free=79 << 30)
    nv.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=7, memory=3)
    nv.nvmlDeviceGetTemperature = lambda h, sensor: 41
    return nv


@pytest.mark.skipif(backend.cupy is not None, reason="checks NVML's facts where CuPy is missing")
def test_nvml_facts_fill_the_gpu_list_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml())
    info = ms.device_info()
    assert info["driver"] == "570.10" and info["cuda_driver"] == "12.8"
    assert info["gpus"] == [{"index": 0, "name": "NVIDIA Test GPU", "memory_total": 80 << 30,
                             "memory_used": 1 << 30, "memory_free": 79 << 30, "utilization_gpu": 7,
                             "utilization_memory": 3, "temperature_c": 41}]
    text = di.format_info(info)
    assert "NVIDIA Test GPU" in text and "80.0 GiB" in text and "41 C" in text


def test_nvml_failure_is_reported_not_raised(monkeypatch):
    nv = _fake_pynvml()

    def broken():
        raise RuntimeError("driver not loaded")
    nv.nvmlInit = broken
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    info = ms.device_info()
    assert "driver not loaded" in info["errors"]["nvml"]


def test_python_m_gpucell_info_runs():
    done = _run_info("info")
    assert done.returncode == 0, done.stderr
    assert "gpucell backend:" in done.stdout
    expected = "GPU" if backend.gpu_available() and not backend.simulated() else "CPU"  # a fresh process
    assert f"gpucell backend:  {expected}" in done.stdout


def test_python_m_gpucell_info_json():
    done = _run_info("info", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["backend"] in ("GPU", "CPU")


def test_python_m_gpucell_info_on_cpu_when_forced():
    done = _run_info("info", env={"GPUCELL_DEVICE": "CPU"})
    assert done.returncode == 0, done.stderr
    assert "gpucell backend:  CPU (numpy)" in done.stdout


@pytest.mark.skipif(backend.gpu_available(), reason="checks the message where no GPU is usable")
def test_python_m_gpucell_info_explains_an_unusable_gpu_request():
    done = _run_info("info", env={"GPUCELL_DEVICE": "GPU"})
    assert done.returncode == 0, done.stderr
    assert "gpucell backend:  none: " in done.stdout and "GPU was asked for" in done.stdout


def test_python_m_gpucell_rejects_unknown_commands():
    done = _run_info("bogus")
    assert done.returncode == 2
    assert "unknown command 'bogus'" in done.stderr
