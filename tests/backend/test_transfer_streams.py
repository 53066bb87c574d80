"""BatchPrefetcher on the simulated device: its side stream must be ordered after the caller's
stream before it writes device slots that the pool took from the caller's stream."""

from __future__ import annotations

import numpy as np
import pytest

from gpucell import backend

pytestmark = pytest.mark.gpu


def test_slots_reused_from_the_pool_are_written_after_the_callers_work():
    from gpucell.backend.transfer import BatchPrefetcher

    cupy = backend.cupy
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    # Leave a freed block of the slot's size in the caller's free list, last used by caller work:
    # the prefetcher's slot takes it, and the side stream's first copy must wait for that work.
    used = cupy.arange(32, dtype=cupy.float32) * 2
    del used
    prefetcher = BatchPrefetcher([x], max_rows=8)
    try:
        slot = prefetcher.stage([x], np.arange(8))
        (batch,) = prefetcher.take(slot, lambda a: a.copy())
        np.testing.assert_array_equal(cupy.asnumpy(batch), x[:8])
    finally:
        prefetcher.close()
