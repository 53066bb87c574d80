"""The emulator's model of CUDA: shuffles, shared memory and barriers, thread and block indices,
launch checks and deadlock detection (see emulator/cuda_emulator.h for what it does not model)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from emulator import CXX, Emulator

SOURCE = (pathlib.Path(__file__).parent / "emulator" / "selftest.cu").read_text()
NAMES = ["shuffle_down", "shuffle_xor", "reverse_blocks", "coordinates", "deadlock"]


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    if CXX is None:
        pytest.skip("no C++ compiler (g++) to build the kernel emulator")
    return Emulator(tmp_path_factory.mktemp("selftest"), {"selftest.cu": (SOURCE, NAMES)})


def launch(emu, name, grid, block, *args):
    emu("selftest.cu", name, grid, block, args)


def test_shuffle_down_and_xor(emu):
    values = np.arange(64, dtype=np.int32) * 10
    out = np.zeros(64, np.int32)
    launch(emu, "shuffle_down", (1, 1, 1), (64, 1, 1), values, out, np.int32(3))
    lanes = np.arange(64) % 32
    # Lanes whose source is past the warp's end keep their own value.
    np.testing.assert_array_equal(out, np.where(lanes + 3 < 32, values + 30, values))
    launch(emu, "shuffle_xor", (1, 1, 1), (64, 1, 1), values, out, np.int32(5))
    np.testing.assert_array_equal(out, (np.arange(64) ^ 5) * 10)


def test_shared_memory_and_barrier_over_several_blocks(emu):
    data = np.arange(3 * 256, dtype=np.float32)
    out = np.zeros_like(data)
    launch(emu, "reverse_blocks", (3, 1, 1), (256, 1, 1), data, out)
    np.testing.assert_array_equal(out, data.reshape(3, 256)[:, ::-1].ravel())


def test_thread_and_block_coordinates(emu):
    grid, block = (2, 3, 2), (4, 2, 3)
    out = np.full((12, 24, 6), -1, np.int32)
    launch(emu, "coordinates", grid, block, out)
    expected = [[(bx, by, bz, tx, ty, tz) for tz in range(3) for ty in range(2) for tx in range(4)]
                for bz in range(2) for by in range(3) for bx in range(2)]
    np.testing.assert_array_equal(out, np.array(expected))


def test_invalid_launches_fail(emu):
    out = np.zeros(8, np.int32)
    with pytest.raises(RuntimeError, match="invalid launch configuration"):
        launch(emu, "coordinates", (1, 1, 1), (2048, 1, 1), out)
    with pytest.raises(RuntimeError, match="invalid launch configuration"):
        launch(emu, "coordinates", (0, 1, 1), (32, 1, 1), out)
    with pytest.raises(RuntimeError, match="no exported kernel"):
        launch(emu, "missing", (1, 1, 1), (32, 1, 1), out)
    with pytest.raises(RuntimeError, match="partial warp"):
        launch(emu, "shuffle_down", (1, 1, 1), (20, 1, 1), out, out, np.int32(1))


def test_deadlock_fails_instead_of_hanging(emu, monkeypatch):
    monkeypatch.setenv("GPUCELL_EMU_DEADLOCK_S", "0.5")
    with pytest.raises(RuntimeError, match="deadlock"):
        launch(emu, "deadlock", (1, 1, 1), (32, 1, 1), np.zeros(32, np.int32))
