"""Every communication test ends with the process group released, the auto-parallel context reset
and the jit cache cleared, so no communicator, context or captured plan reaches the next test."""

from __future__ import annotations

import pytest

import gpucell as ms
from gpucell import communication


@pytest.fixture(autouse=True)
def _release_communication():
    yield
    ms.reset_auto_parallel_context()
    communication.release()
    ms.jit.clear_cache()
