"""Fixtures for the kernel tests: the host emulator, and a runner that executes one test body on
the kernel path either under emulation (NumPy arrays, always) or on the GPU (`gpu` marker)."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # the emulator package next to this file

from emulator import CXX, Emulator  # noqa: E402
from kernel_testing import Runner  # noqa: E402


@pytest.fixture(scope="session")
def emulator(request, tmp_path_factory):
    """The host emulator, its libraries built once per session (and cached by content hash in
    pytest's cache folder, so a rerun with unchanged sources builds nothing)."""
    if CXX is None:
        pytest.skip("no C++ compiler (g++) to build the kernel emulator")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    folder = cache.mkdir("gpucell-kernel-emulator") if cache is not None else tmp_path_factory.mktemp("emu")
    return Emulator(folder)


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.gpu)])
def run(request):
    """A :class:`Runner` for the emulated kernel path and (where there is one) the GPU."""
    if request.param == "emulated":
        return Runner("emulated", request.getfixturevalue("emulator"))
    return Runner("gpu")
