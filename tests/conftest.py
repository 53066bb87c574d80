"""Shared fixtures: one test body for both backends, and where the `gpu` tests run.

`gpu` tests run on the real GPU where CuPy sees one, and on the simulated CUDA device
(gpucell.backend.sim) everywhere else, so CI runs every GPU code path without a GPU. Tests that
only real hardware can answer (timings, NVML, CuPy's compile cache) also carry the `hardware`
marker and are skipped on the simulator, with the reason.
"""

from __future__ import annotations

import pytest

from gpucell import backend

_REAL_GPU, _REAL_REASON = backend.gpu_status()
if not _REAL_GPU:
    backend.use_simulator(True)
    backend.set_device("CPU")  # the default device stays the CPU; `gpu` tests ask for the GPU
_DEVICES = ["CPU", pytest.param("GPU", marks=pytest.mark.gpu)]


def pytest_report_header(config):
    return (f"gpu tests: on the real GPU ({_REAL_REASON})" if _REAL_GPU
            else f"gpu tests: on the simulated CUDA device (no real GPU: {_REAL_REASON})")


def pytest_collection_modifyitems(config, items):
    if _REAL_GPU:
        return
    for item in items:
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
