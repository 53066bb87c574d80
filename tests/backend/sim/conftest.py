"""Fixtures of the simulator's own tests (gpucell.backend.sim, used directly as ``cp``)."""

from __future__ import annotations

import gc
import pathlib
import sys

import pytest

import gpucell.backend.sim as cp
from gpucell.backend.sim import _capture

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # sim_testing next to this file


@pytest.fixture(autouse=True)
def no_capture_left_behind():
    """A test that leaves a capture open would break every later test's syncs: end it, and fail."""
    yield
    left = [capture for capture in list(_capture._active) if not capture.closed]
    for capture in left:
        try:
            _capture.end(capture.origin)
        except Exception:
            pass
    assert not left, "the test left a stream capturing"


@pytest.fixture
def pool():
    """A private MemoryPool serving every allocation of the test (pointers and byte counts then
    depend on the test alone, not on what earlier tests left in the default pool)."""
    private = cp.cuda.MemoryPool()
    with cp.cuda.using_allocator(private.malloc):
        yield private


@pytest.fixture
def collected():
    """Earlier tests' garbage collected first: device memory that dies (cudaFree) while a stream
    captures invalidates the capture, so a cyclic-GC pass during a capture test must find nothing
    of theirs (gpucell.backend.graphs pauses the collector during a capture for the same reason)."""
    gc.collect()
