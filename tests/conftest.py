"""Shared fixtures: one test body for both backends, and the `gpu` marker's skip."""

from __future__ import annotations

import pytest

from gpucell import backend

_GPU_USABLE, _GPU_REASON = backend.gpu_status()
_DEVICES = ["CPU", pytest.param("GPU", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config, items):
    if _GPU_USABLE:
        return
    skip = pytest.mark.skip(reason=f"no usable GPU: {_GPU_REASON}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=_DEVICES)
def device(request):
    """Runs a test once on the CPU and once on the GPU (the GPU run skipped where there is none)."""
    return request.param
