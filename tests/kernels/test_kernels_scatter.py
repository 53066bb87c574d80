"""scatter_add_rows (the embedding backward): the kernel (emulated, and on the GPU) vs the reference.

Rows whose ids are all distinct are summed into a zero table, which is exact: those compare bit for
bit. A repeated id is summed by atomics in arrival order on the GPU and in array order by the
reference's np.add.at, so both are compared with an exact float64 sum within the bound of a
reordered sum: ``(k - 1) * u * sum(|x|)`` for k terms added in unit roundoff u (u of float32 for
float16 and float32, of float64 for float64), plus half an ulp where float16 rounds the float32 sum.
Shapes include tails that are not a multiple of the 256-thread block or of the emulator's 3-block
grid, 0-d and empty ids, width 0, non-contiguous inputs, and ids outside [0, vocab).
"""

from __future__ import annotations

import numpy as np
import pytest
from kernel_testing import assert_same

from gpucell.backend.kernel_ops import scatter_add_rows
from gpucell.backend.kernel_ops._checks import FLOAT_DTYPES, acc_dtype

ID_DTYPES = (np.int32, np.int64)
# (ids shape, vocab, width): repeated ids with a tail (259 elements), width 1, several grid-stride
# trips (1188 elements), 1 element, 0-d ids, empty ids, width 0.
CASES = [((37,), 10, 7), ((5, 3), 4, 1), ((4, 9), 50, 33), ((1,), 1, 1), ((), 6, 5), ((0,), 3, 5), ((6,), 4, 0),
         ((2, 0, 3), 2, 4)]
GPU_CASES = [((4096,), 1000, 256), ((64, 50), 3, 1024), ((3, 1001), 7, 3)]


def _rows(rng, ids_shape, width, dtype) -> np.ndarray:
    return (rng.standard_normal(ids_shape + (width,)) * 4).astype(dtype)


def _exact_and_bound(ids, rows, vocab: int):
    """The float64 sum (an exact reference for these inputs, up to float64 rounding) and, per table
    element, how far any summation order in the kernel's accumulation type may land from it."""
    wide = rows.astype(np.float64)
    exact = scatter_add_rows(ids, wide, vocab)
    abs_sum = scatter_add_rows(ids, np.abs(wide), vocab)
    terms = scatter_add_rows(ids, np.ones(ids.shape + (1,)), vocab)  # how many rows each id gets
    u_acc = np.finfo(acc_dtype(rows.dtype)).eps / 2
    # The float64 "exact" sum carries its own (k - 1) * 2^-53 * sum|x|; 1.01 covers second-order terms.
    bound = 1.01 * np.maximum(terms - 1, 0) * (u_acc + 2.0 ** -53) * abs_sum
    if rows.dtype == np.float16:  # then rounded to half: half an ulp, or of the subnormal spacing
        bound = bound + 2.0 ** -11 * (np.abs(exact) + bound) + 2.0 ** -25
    return exact, bound


def _assert_within(ids, rows, vocab: int, actual) -> None:
    exact, bound = _exact_and_bound(ids, rows, vocab)
    assert actual.dtype == rows.dtype and actual.shape == exact.shape, (actual.dtype, actual.shape)
    error = np.abs(actual.astype(np.float64) - exact)
    assert np.all(error <= bound), f"max error / bound {np.max(error / np.maximum(bound, 1e-300))}"


@pytest.mark.parametrize("id_dtype", ID_DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_repeated_ids_accumulate(run, dtype, id_dtype):
    rng = np.random.default_rng(0)
    for ids_shape, vocab, width in CASES + (GPU_CASES if run.name == "gpu" else []):
        ids = rng.integers(0, vocab, size=ids_shape).astype(id_dtype)
        rows = _rows(rng, ids_shape, width, dtype)
        actual = run(scatter_add_rows, ids, rows, vocab)
        _assert_within(ids, rows, vocab, actual)
        _assert_within(ids, rows, vocab, scatter_add_rows(ids, rows, vocab))  # the reference, too


@pytest.mark.parametrize("id_dtype", ID_DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_distinct_ids_are_exact(run, dtype, id_dtype):
    rng = np.random.default_rng(1)
    for vocab, count, width in [(300, 257, 3), (5, 5, 160), (9, 1, 1)]:
        ids = rng.permutation(vocab)[:count].astype(id_dtype)
        rows = _rows(rng, (count,), width, dtype)
        assert_same(scatter_add_rows(ids, rows, vocab), run(scatter_add_rows, ids, rows, vocab))


@pytest.mark.parametrize("id_dtype", ID_DTYPES, ids=lambda t: np.dtype(t).name)
def test_out_of_range_ids_are_skipped(run, id_dtype):
    rng = np.random.default_rng(2)
    vocab = 6
    bad = [-1, vocab, vocab + 3, -vocab, np.iinfo(id_dtype).min, np.iinfo(id_dtype).max]
    if id_dtype == np.int64:
        bad += [1 << 40, -(1 << 40), 1 << 32]  # would alias a valid row if truncated to 32 bits
    ids = np.array([0, 2, 5, 3] + bad, id_dtype)
    rows = np.concatenate([_rows(rng, (4,), 9, np.float32), np.full((len(bad), 9), 1e3, np.float32)])
    expected = np.zeros((vocab, 9), np.float32)
    expected[[0, 2, 5, 3]] = rows[:4]
    assert_same(expected, scatter_add_rows(ids, rows, vocab))
    assert_same(expected, run(scatter_add_rows, ids, rows, vocab))
    # Every id out of range, including an empty table.
    for vocab in (0, 1):
        ids = np.array([-1, 1, 7], id_dtype)
        rows = _rows(rng, (3,), 4, np.float32)
        assert_same(np.zeros((vocab, 4), np.float32), run(scatter_add_rows, ids, rows, vocab))


def test_other_id_dtypes_and_non_contiguous_inputs(run):
    rng = np.random.default_rng(3)
    base = _rows(rng, (12,), 20, np.float32)
    ids = rng.permutation(40)[:24].reshape(12, 2)[:, 1]  # distinct, non-contiguous
    for id_dtype in (np.uint8, np.int16, np.uint64):
        typed = ids.astype(id_dtype)
        for rows in (base[:, ::2], base[:, ::-1]):
            assert_same(scatter_add_rows(typed, rows, 40), run(scatter_add_rows, typed, rows, 40))


def test_reference_by_hand():
    ids = np.array([[2, 0], [2, -1]], np.int64)
    rows = np.arange(12, dtype=np.float16).reshape(2, 2, 3)
    out = scatter_add_rows(ids, rows, 3)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, [[3, 4, 5], [0, 0, 0], [0 + 6, 1 + 7, 2 + 8]])
    # float16 sums in float32: 2048 + 1 + 1 is 2050, where float16 steps would round 2049 to 2048.
    ids = np.zeros(3, np.int32)
    rows = np.array([[2048.0], [1.0], [1.0]], np.float16)
    assert scatter_add_rows(ids, rows, 1)[0, 0] == 2050


def test_input_checks():
    ids, rows = np.zeros(3, np.int64), np.zeros((3, 2), np.float32)
    with pytest.raises(TypeError, match=r"For 'ScatterAddRows', the dtype of 'ids' must be an integer type, "
                                        r"but got float32"):
        scatter_add_rows(ids.astype(np.float32), rows, 4)
    with pytest.raises(TypeError, match=r"For 'ScatterAddRows', the dtype of 'rows' must be one of .*int64"):
        scatter_add_rows(ids, rows.astype(np.int64), 4)
    with pytest.raises(ValueError, match=r"For 'ScatterAddRows', the shape of 'rows' must be the shape of 'ids' "
                                         r"\(3,\) plus a width, but got \(2, 2\)"):
        scatter_add_rows(ids, rows[:2], 4)
    with pytest.raises(ValueError, match=r"but got \(3,\)"):
        scatter_add_rows(ids, rows[:, 0], 4)
    with pytest.raises(ValueError, match=r"For 'ScatterAddRows', the 'vocab' must be non-negative, but got -1"):
        scatter_add_rows(ids, rows, -1)
    with pytest.raises(TypeError, match=r"For 'ScatterAddRows', the 'vocab' must be an int, but got 4.0"):
        scatter_add_rows(ids, rows, 4.0)
