"""The emulator's model of CUDA (gpucell/backend/emulator/cuda_emulator.h says what it does not
model): shuffles and votes, shared memory and barriers, thread and block indices, atomics,
flush-to-zero, launch limits, deadlock detection, and the Python API around it."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from gpucell.backend import emulator
from gpucell.backend.emulator import CXX, EmulatorError, Param

SOURCE = (pathlib.Path(__file__).parent / "emulator_selftest.cu").read_text()
NAMES = ["shuffle_down", "shuffle_xor", "reverse_blocks", "coordinates", "deadlock", "atomics", "flush_subnormals",
         "too_much_shared", "stale_shared", "warp_votes", "early_return_shuffle", "divergent_barrier",
         "no_parameters", "math_functions"]


@pytest.fixture(scope="module")
def lib(emulator_cache):
    return emulator.build(SOURCE, NAMES, emulator_cache)


def test_shuffle_down_and_xor(lib):
    values = np.arange(64, dtype=np.int32) * 10
    out = np.zeros(64, np.int32)
    lib.launch("shuffle_down", (1, 1, 1), (64, 1, 1), (values, out, np.int32(3)))
    lanes = np.arange(64) % 32
    # Lanes whose source is past the warp's end keep their own value.
    np.testing.assert_array_equal(out, np.where(lanes + 3 < 32, values + 30, values))
    lib.launch("shuffle_xor", (1, 1, 1), (64, 1, 1), (values, out, np.int32(5)))
    np.testing.assert_array_equal(out, (np.arange(64) ^ 5) * 10)


def test_votes_shuffle_widths_and_syncthreads_count(lib):
    pred = (np.arange(64) % 3 == 0).astype(np.int32)
    pred[32:] = 1  # the second warp votes all true
    outs = [np.zeros(64, np.uint32)] + [np.zeros(64, np.int32) for _ in range(5)]
    lib.launch("warp_votes", (1, 1, 1), (64, 1, 1), (pred, *outs))
    ballot, any_, all_, count, up, width8 = outs
    first = sum(1 << lane for lane in range(32) if pred[lane])
    np.testing.assert_array_equal(ballot, [first] * 32 + [0xFFFFFFFF] * 32)
    np.testing.assert_array_equal(any_, 1)
    np.testing.assert_array_equal(all_, [0] * 32 + [1] * 32)
    np.testing.assert_array_equal(count, pred.sum())
    t = np.arange(64)
    np.testing.assert_array_equal(up, np.where(t % 32 >= 3, t - 3, t))
    np.testing.assert_array_equal(width8, t // 8 * 8 + 2)


def test_shared_memory_and_barrier_over_several_blocks(lib):
    data = np.arange(3 * 256, dtype=np.float32)
    out = np.zeros_like(data)
    lib.launch("reverse_blocks", (3, 1, 1), (256, 1, 1), (data, out))
    np.testing.assert_array_equal(out, data.reshape(3, 256)[:, ::-1].ravel())


def test_shared_memory_is_poisoned_in_every_block(lib):
    out = np.zeros(3 * 32, np.float32)
    lib.launch("stale_shared", (3, 1, 1), (32, 1, 1), (out,))
    np.testing.assert_array_equal(out[:32], 1.0)
    assert (out[32:].view(np.uint32) == 0xFFFFFFFF).all()  # what block 0 wrote is not there any more


def test_raw_int_addresses_as_pointers(lib):
    data = np.arange(64, dtype=np.float32)
    out = np.zeros_like(data)
    lib.launch("reverse_blocks", (2, 1, 1), (32, 1, 1), (data.ctypes.data, out.ctypes.data))
    np.testing.assert_array_equal(out, data.reshape(2, 32)[:, ::-1].ravel())


def test_thread_and_block_coordinates(lib):
    grid, block = (2, 3, 2), (4, 2, 3)
    out = np.full((12, 24, 6), -1, np.int32)
    lib.launch("coordinates", grid, block, (out,))
    expected = [[(bx, by, bz, tx, ty, tz) for tz in range(3) for ty in range(2) for tx in range(4)]
                for bz in range(2) for by in range(3) for bx in range(2)]
    np.testing.assert_array_equal(out, np.array(expected))


def test_atomics(lib):
    n = 3 * 96
    f, d = np.zeros(1, np.float32), np.zeros(1, np.float64)
    i, u, ull = np.zeros(1, np.int32), np.zeros(1, np.uint32), np.zeros(1, np.uint64)
    olds = np.full(n, -1, np.int32)
    mx, mn, cas, exch = (np.array([v], np.int32) for v in (-5, 5, 0, -1))
    lib.launch("atomics", (3, 1, 1), (96, 1, 1), (f, d, i, u, ull, olds, mx, mn, cas, exch))
    assert (f[0], d[0], i[0], u[0], ull[0]) == (0.5 * n, 0.25 * n, n, 2 * n, 3 * n)
    np.testing.assert_array_equal(np.sort(olds), np.arange(n))  # each add returned the old value
    assert (mx[0], mn[0], cas[0]) == (n - 1, -(n - 1), 1)  # thread 0 ran first: its CAS won
    assert 0 <= exch[0] < n


def test_ftz_flushes_float32_subnormals_in_arithmetic_not_in_copies(lib):
    x = np.array([1e-40, -1e-40, 1e-30, 0.0], np.float32)
    assert x[0] != 0 and x[0] < np.finfo(np.float32).tiny  # a subnormal
    for ftz in (True, False):
        y, z, nonzero = np.full(4, 7, np.float32), np.full(4, 7, np.float32), np.full(4, 7, np.int32)
        lib.launch("flush_subnormals", (1, 1, 1), (32, 1, 1), (x, y, z, nonzero, np.int32(4), np.float32(1)),
                   ftz=ftz)
        assert z.tobytes() == x.tobytes()  # copies keep the bits either way
        if ftz:
            np.testing.assert_array_equal(y, np.array([0.0, -0.0, 1e-30, 0.0], np.float32))
            assert np.signbit(y[1])  # flushed to a zero of the same sign
            np.testing.assert_array_equal(nonzero, [0, 0, 1, 0])
        else:
            assert y.tobytes() == x.tobytes()
            np.testing.assert_array_equal(nonzero, [1, 1, 1, 0])
    assert np.float32(1e-40) * np.float32(1) != 0  # the caller's FPU mode came back


def test_math_functions(lib):
    x = 1.7
    y, yd = np.zeros(17, np.float32), np.zeros(13, np.float64)
    lib.launch("math_functions", (1,), (1,), (np.float32(x), y, np.float64(x), yd))
    erf = math.erf(x)
    expected = [np.exp(x), np.log(x), np.log1p(x), np.sqrt(x), 1 / np.sqrt(x), np.tanh(x), erf, x, 2.0, x,
                1.0, 2.0, x ** 1.5]
    np.testing.assert_allclose(y, expected + [np.exp(x), erf, 3.0, 2.0], rtol=3e-7)
    np.testing.assert_allclose(yd, expected, rtol=1e-15)


@pytest.mark.parametrize("grid, block, problem", [
    ((1, 1, 1), (2048, 1, 1), "block dimensions are at most"),
    ((1, 1, 1), (32, 32, 2), "a block of 2048 threads"),
    ((1, 1, 1), (1, 1, 65), "block dimensions are at most"),
    ((1, 1, 1), (0, 1, 1), "every block dimension must be at least 1"),
    ((0, 1, 1), (32, 1, 1), "every grid dimension must be at least 1"),
    ((1, 65536, 1), (32, 1, 1), "grid dimensions are at most"),
    ((1, 1, 65536), (32, 1, 1), "grid dimensions are at most"),
    ((2 ** 31, 1, 1), (32, 1, 1), "grid dimensions are at most"),
])
def test_launch_limits(lib, grid, block, problem):
    message = rf"coordinates \(grid .*CUDA_ERROR_INVALID_VALUE: invalid argument.*{problem}"
    with pytest.raises(EmulatorError, match=message):
        lib.launch("coordinates", grid, block, (np.zeros(8, np.int32),))


def test_static_shared_memory_limit(lib):
    out = np.zeros(32, np.float32)
    for _ in range(2):  # the first launch learns the sizes while running, the second fails up front
        with pytest.raises(EmulatorError, match=r"too_much_shared.*too much shared data \(0x10100 bytes, 0xc000 max\)"):
            lib.launch("too_much_shared", (1, 1, 1), (32, 1, 1), (out,))


def test_warp_misuse_fails(lib):
    out = np.zeros(64, np.int32)
    with pytest.raises(EmulatorError, match="partial warp"):
        lib.launch("shuffle_down", (1, 1, 1), (20, 1, 1), (out, out, np.int32(1)))
    with pytest.raises(EmulatorError, match="lane 5 of warp 0 returned"):
        lib.launch("early_return_shuffle", (1, 1, 1), (32, 1, 1), (out,))


def test_deadlock_fails_at_once(lib):
    with pytest.raises(EmulatorError, match=r"deadlock \(grid .*deadlock in block \(0, 0, 0\): 16 threads wait at "
                                            r"__syncthreads and 16 at warp operations"):
        lib.launch("deadlock", (2, 1, 1), (32, 1, 1), (np.zeros(32, np.int32),))


def test_returned_threads_drop_out_of_barriers(lib):
    out = np.zeros(128, np.int32)
    lib.launch("divergent_barrier", (1, 1, 1), (128, 1, 1), (out,))
    np.testing.assert_array_equal(out, 1)


def test_argument_checks(lib):
    out = np.zeros(64, np.int32)
    with pytest.raises(EmulatorError, match=r"coordinates \(grid \(1, 2, 3, 4\).*launch dims must be 1 to 3 ints"):
        lib.launch("coordinates", (1, 2, 3, 4), (32, 1, 1), (out,))
    with pytest.raises(EmulatorError, match="no exported kernel 'missing'"):
        lib.launch("missing", (1, 1, 1), (32, 1, 1), (out,))
    with pytest.raises(EmulatorError, match="takes 3 arguments, got 2"):
        lib.launch("shuffle_down", (1, 1, 1), (32, 1, 1), (out, out))
    with pytest.raises(EmulatorError, match=r"argument 2 is a 4-byte value.*int64 \(8 bytes\)"):
        lib.launch("shuffle_down", (1, 1, 1), (32, 1, 1), (out, out, np.int64(1)))
    with pytest.raises(EmulatorError, match="argument 2 is a 4-byte value.*not int"):
        lib.launch("shuffle_down", (1, 1, 1), (32, 1, 1), (out, out, 1))
    with pytest.raises(EmulatorError, match="argument 0 is a pointer"):
        lib.launch("shuffle_down", (1, 1, 1), (32, 1, 1), (np.int32(1), out, np.int32(1)))


def test_signature_of_selftest_kernels(lib):
    assert lib.signature("shuffle_down") == (Param("pointer", 4, True), Param("pointer", 4, False),
                                             Param("value", 4, False))
    assert lib.signature("no_parameters") == ()
    lib.launch("no_parameters", (2,), (3, 2), ())  # missing dims are 1
    assert set(lib.expressions) == set(NAMES)


def test_signature_of_real_kernels(emulator):
    index = Param("value", 8, False)
    mm = emulator.library("matmul.cu").signature("matmul_bias<double, 64, 64, 4, 4>")
    assert mm == (Param("pointer", 8, True),) * 3 + (Param("pointer", 8, False),) + (index,) * 10 + (
        Param("value", 4, False),) * 2
    broadcast_index = Param("value", 8 * (1 + 6 + 3 * 6), False)
    assert emulator.library("elementwise.cu").signature("where<gc_half>") == (
        Param("pointer", 1, True), Param("pointer", 2, True), Param("pointer", 2, True), Param("pointer", 2, False),
        index, broadcast_index)
    assert emulator.library("dropout.cu").signature("dropout<gc_half>") == (
        Param("pointer", 2, True), Param("pointer", 2, False), Param("pointer", 1, False), index, index,
        Param("pointer", 8, True), Param("value", 8, False), Param("value", 4, False), Param("value", 4, False))


def test_build_is_cached(lib):
    stamp = lib.path.stat().st_mtime_ns
    assert emulator.build(SOURCE, NAMES, lib.path.parent) is lib
    assert emulator.build_async(SOURCE, NAMES, lib.path.parent).result() is lib
    assert lib.path.stat().st_mtime_ns == stamp  # not rebuilt


def test_build_errors_name_the_kernels(tmp_path):
    if CXX is None:
        pytest.skip("no C++ compiler (g++) to build the kernel emulator")
    with pytest.raises(EmulatorError, match="could not build the emulation of broken"):
        emulator.build("__global__ void broken(int* x) { x[0] = undeclared; }", ["broken"], tmp_path)


def test_shared_declarations_are_registered():
    source = ("// __shared__ float not_a_declaration[4];\n"
              "extern __shared__ float dynamic[];\n"
              "__global__ void k() { __shared__ Pair<int, float> a[2][3], b; __shared__ float c[sizeof(int[2])]; }")
    rewritten = emulator._register_shared(source)
    assert rewritten.count("GC_EMU_SHARED") == 3
    assert "b; GC_EMU_SHARED(a); GC_EMU_SHARED(b);" in rewritten
    assert "c[sizeof(int[2])]; GC_EMU_SHARED(c);" in rewritten


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(emulator._config, "KERNEL_CACHE", str(tmp_path))
    assert emulator.default_cache_dir() == tmp_path / "emulator"
    monkeypatch.setattr(emulator._config, "KERNEL_CACHE", None)
    assert emulator.default_cache_dir() == pathlib.Path.home() / ".cache" / "gpucell" / "emulator"
