"""Shared fixtures: one test body for both backends, and where the `gpu` tests run.

`gpu` tests run on the real GPU where CuPy sees one, and on the simulated CUDA device
(gpucell.backend.sim) everywhere else, so CI runs every GPU code path without a GPU. Tests that
only real hardware can answer (timings, NVML, CuPy's compile cache) also carry the `hardware`
marker and are skipped on the simulator, with the reason.
"""

from __future__ import annotations

import os

import pytest

from gpucell import backend

_REAL_GPU, _REAL_REASON = backend.gpu_status()
# GPUCELL_TESTS_ON_SIM=0 (benchmarks/device_check.sh sets it): without a real GPU, skip the `gpu`
# tests instead of simulating them; a device check must report real hardware or nothing.
_SIMULATE = not _REAL_GPU and os.environ.get("GPUCELL_TESTS_ON_SIM", "1") != "0"
if _SIMULATE:
    backend.use_simulator(True)
    backend.set_device("CPU")  # the default device stays the CPU; `gpu` tests ask for the GPU
_DEVICES = ["CPU", pytest.param("GPU", marks=pytest.mark.gpu)]


def pytest_report_header(config):
    if _REAL_GPU:
        return f"gpu tests: on the real GPU ({_REAL_REASON})"
    if _SIMULATE:
        return f"gpu tests: on the simulated CUDA device (no real GPU: {_REAL_REASON})"
    return f"gpu tests: skipped (no real GPU: {_REAL_REASON}; GPUCELL_TESTS_ON_SIM=0)"


def pytest_collection_modifyitems(config, items):
    if _REAL_GPU:
        return
    for item in items:
        if not _SIMULATE and "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"no usable GPU: {_REAL_REASON} (GPUCELL_TESTS_ON_SIM=0)"))
            continue
        marker = item.get_closest_marker("hardware")
        if marker is not None:
            why = marker.args[0] if marker.args else "needs a real NVIDIA GPU"
            item.add_marker(pytest.mark.skip(reason=f"{why} (the simulated device cannot answer it: {_REAL_REASON})"))


@pytest.fixture(params=_DEVICES)
def device(request):
    """Runs a test once on the CPU and once on the GPU (real, or the simulated device), with that
    device as the default for new tensors, as ``set_context(device_target=...)`` would make it."""
    before = backend.get_device()
    backend.set_device(request.param)
    yield request.param
    backend.set_device(before)
