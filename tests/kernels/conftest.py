"""Fixtures for the kernel tests: the host emulator, and a runner that executes one test body on
the kernel path either under emulation (NumPy arrays, always) or on the GPU (`gpu` marker)."""

from __future__ import annotations

import pathlib
import sys

import pytest

from gpucell.backend.emulator import CXX, Emulator

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # kernel_testing next to this file

from kernel_testing import Runner  # noqa: E402


@pytest.fixture(scope="session")
def emulator_cache(request, tmp_path_factory) -> pathlib.Path:
    """Where the tests' emulator libraries go: pytest's cache folder (cached by content hash, so a
    rerun with unchanged sources builds nothing). Skips the test when there is no g++."""
    if CXX is None:
        pytest.skip("no C++ compiler (g++) to build the kernel emulator")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    return cache.mkdir("gpucell-kernel-emulator") if cache is not None else tmp_path_factory.mktemp("emu")


@pytest.fixture(scope="session")
def emulator(emulator_cache):
    """The host emulator (gpucell.backend.emulator.Emulator), every kernels/*.cu built at once."""
    return Emulator(emulator_cache)


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.gpu)])
def run(request):
    """A :class:`Runner` for the emulated kernel path and (where there is one) the GPU."""
    if request.param == "emulated":
        return Runner("emulated", request.getfixturevalue("emulator"))
    return Runner("gpu")
