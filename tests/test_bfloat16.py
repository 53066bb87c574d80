"""bfloat16 (ml_dtypes on NumPy, float32 arithmetic on both backends) against float64/float32 references."""

import ml_dtypes
import numpy as np
import pytest

import gpucell as ms
from gpucell import ops

BF16 = np.dtype(ml_dtypes.bfloat16)


def _ref(values):
    """The values rounded to bfloat16, as float64."""
    return np.asarray(values, np.float32).astype(BF16).astype(np.float64)


def test_dtype_name_and_promotion():
    assert str(ms.bfloat16) == "BFloat16" and repr(ms.bfloat16) == "gpucell.bfloat16"
    assert ms.dtype.to_dtype("bfloat16") is ms.bfloat16 and ms.bfloat16.itemsize == 2
    promote = ms.dtype.promote_types
    assert promote(ms.bfloat16, ms.float16) is ms.float32
    assert promote(ms.float16, ms.bfloat16) is ms.float32
    assert promote(ms.bfloat16, ms.float32) is ms.float32
    assert promote(ms.int64, ms.bfloat16) is ms.bfloat16
    assert promote(ms.bool_, ms.bfloat16) is ms.bfloat16


def test_creation_asnumpy_repr(device):
    t = ms.Tensor([1.0, 2.5, 3.3], ms.float32, device=device).astype(ms.bfloat16)
    assert t.dtype is ms.bfloat16 and t.device == device
    host = t.asnumpy()
    assert host.dtype == BF16
    np.testing.assert_array_equal(host.astype(np.float64), _ref([1.0, 2.5, 3.3]))
    assert repr(t) == "Tensor(shape=[3], dtype=BFloat16, value= [ 1.0000e+00,  2.5000e+00,  3.2969e+00])"


def test_casts_round_to_nearest_even_like_ml_dtypes(device):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(500).astype(np.float32) * 100,
                        np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8], np.float32)])
    t = ms.Tensor(x, device=device).astype(ms.bfloat16)
    assert t.asnumpy().tobytes() == x.astype(BF16).tobytes()
    back = t.astype(ms.float32).asnumpy()
    np.testing.assert_array_equal(back, x.astype(BF16).astype(np.float32))
    assert t.astype(ms.float16).dtype is ms.float16
    ints = ms.Tensor([1, 2, 300], device=device).astype(ms.bfloat16)
    np.testing.assert_array_equal(ints.asnumpy().astype(np.float64), [1, 2, 300])


def test_elementwise_ops_compute_in_float32_and_round(device):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 33)).astype(BF16)
    b = rng.standard_normal((4, 33)).astype(BF16)
    ta, tb = ms.Tensor(a, device=device), ms.Tensor(b, device=device)
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    for got, want in [(ta + tb, fa + fb), (ta * tb, fa * fb), (ta / tb, fa / fb), (ops.exp(ta), np.exp(fa)),
                      (ta * 2 + 1, fa * 2 + 1), (ops.relu(ta), np.maximum(fa, 0))]:
        assert got.dtype is ms.bfloat16
        np.testing.assert_array_equal(got.asnumpy().astype(np.float64), _ref(want))
    mixed = ta + ms.Tensor(fb, device=device)
    assert mixed.dtype is ms.float32
    np.testing.assert_allclose(mixed.asnumpy(), fa + fb, rtol=1e-6)
    assert (ta + ms.Tensor(b.astype(np.float16), device=device)).dtype is ms.float32
    assert (ta > 0).dtype is ms.bool_


def test_reductions_and_matmul_accumulate_in_float32(device):
    # 4096 values near 1: a bfloat16 accumulator stalls at 256; float32 accumulation does not.
    x = np.full(4096, 1.0, np.float32).astype(BF16)
    t = ms.Tensor(x, device=device)
    s = t.sum()
    assert s.dtype is ms.bfloat16 and float(s.asnumpy().astype(np.float64)) == 4096.0
    rng = np.random.default_rng(2)
    a = rng.standard_normal((17, 300)).astype(BF16)
    b = rng.standard_normal((300, 9)).astype(BF16)
    got = ops.matmul(ms.Tensor(a, device=device), ms.Tensor(b, device=device))
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert got.dtype is ms.bfloat16
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), want, rtol=2 ** -7, atol=1e-3)
    m = ms.Tensor(a, device=device).mean(axis=1)
    np.testing.assert_allclose(m.asnumpy().astype(np.float64), a.astype(np.float64).mean(1), rtol=2 ** -7, atol=1e-3)


def test_gradients_of_a_bfloat16_parameter(device):
    x = ms.Tensor(np.array([1.0, 2.0, -3.0], np.float32), device=device).astype(ms.bfloat16)
    g = ms.grad(lambda a: (a * a).sum())(x)
    assert g.dtype is ms.bfloat16
    np.testing.assert_array_equal(g.asnumpy().astype(np.float64), [2.0, 4.0, -6.0])


def test_inplace_assign_writes_the_bfloat16_buffer(device):
    p = ms.Parameter(ms.Tensor(np.zeros(3, np.float32), device=device).astype(ms.bfloat16), name="p")
    ops.assign(p, ms.Tensor(np.array([1.5, 2.0, 3.0], np.float32), device=device).astype(ms.bfloat16))
    assert p.dtype is ms.bfloat16
    np.testing.assert_array_equal(p.asnumpy().astype(np.float64), [1.5, 2.0, 3.0])


def test_checkpoint_keeps_bfloat16(device, tmp_path):
    path = str(tmp_path / "bf16.ckpt")
    data = np.array([[1.0, -2.5], [np.inf, 3.3]], np.float32)
    p = ms.Parameter(ms.Tensor(data, device=device).astype(ms.bfloat16), name="w")
    ms.save_checkpoint([p], path)
    with open(path, "rb") as f:
        header = f.read(200)
    assert b'"BF16"' in header
    loaded = ms.load_checkpoint(path)["w"]
    assert loaded.dtype is ms.bfloat16
    assert loaded.asnumpy().tobytes() == data.astype(BF16).tobytes()


def test_jit_replays_compute_in_float32(device):
    x = ms.Tensor(np.ones(4096, np.float32), device=device).astype(ms.bfloat16)
    step = ms.jit(lambda a: (a * 2).sum())
    for _ in range(3):  # trace, then replays of the plan
        assert float(step(x).asnumpy().astype(np.float64)) == 8192.0


@pytest.fixture
def kernel_dtypes(monkeypatch):
    """The dtype of the first operand of every matmul kernel call during the test."""
    from gpucell.backend import kernel_ops

    seen = []
    kernel = kernel_ops.matmul_bias

    def spy(a, b, *args, **kwargs):
        seen.append(str(a.dtype))
        return kernel(a, b, *args, **kwargs)

    monkeypatch.setattr(kernel_ops, "matmul_bias", spy)
    return seen


def test_matmuls_hand_bfloat16_to_the_kernel_on_the_gpu(device, kernel_dtypes):
    """Dense and MatMul pass bfloat16 arrays to the matmul kernel itself on the GPU (tensor cores,
    float32 sums, one rounding), eagerly and in a jit replay; everywhere else bfloat16 inputs are
    widened to float32 first. Either way the result is the float32 product of the rounded inputs,
    rounded once."""
    rng = np.random.default_rng(3)
    x, w, b = (ms.Tensor(rng.standard_normal(s).astype(np.float32)).astype(ms.bfloat16)
               for s in ((17, 33), (45, 33), (45,)))
    wide = [t.astype(ms.float32).asnumpy() for t in (x, w, b)]
    expect = np.maximum(wide[0] @ wide[1].T + wide[2], 0).astype(ml_dtypes.bfloat16).astype(np.float32)
    step = ms.jit(lambda x, w, b: ops.relu(ops.dense(x, w, b)))
    for out in (ops.relu(ops.dense(x, w, b)), step(x, w, b), step(x, w, b), ops.matmul(x, ops.transpose(w, (1, 0)))):
        assert out.dtype == ms.bfloat16
    got = step(x, w, b).astype(ms.float32).asnumpy()
    np.testing.assert_allclose(got, expect, rtol=2 ** -7, atol=1e-6)
    if device == "GPU":
        assert kernel_dtypes and set(kernel_dtypes) == {"bfloat16"}, kernel_dtypes
    else:
        assert all(d != "bfloat16" for d in kernel_dtypes), kernel_dtypes


def test_dense_gradients_in_bfloat16_on_the_kernels(device, kernel_dtypes):
    """DenseGrad hands bfloat16 to the matmul kernel on the GPU too (the mask and the bias sum in
    float32); the gradients are the float32 ones of the rounded values, rounded once."""
    rng = np.random.default_rng(4)
    x, w, b = (ms.Tensor(rng.standard_normal(s).astype(np.float32)).astype(ms.bfloat16)
               for s in ((9, 20), (12, 20), (12,)))
    up = rng.standard_normal((9, 12)).astype(np.float32)
    weights = ms.Tensor(up).astype(ms.bfloat16)
    f = lambda x, w, b: (ops.relu(ops.dense(x, w, b)) * weights).sum()  # noqa: E731
    grads = ms.grad(f, grad_position=(0, 1, 2))(x, w, b)
    assert [g.dtype for g in grads] == [ms.bfloat16] * 3
    xs, ws, bs = (t.astype(ms.float32).asnumpy().astype(np.float64) for t in (x, w, b))
    ups = weights.astype(ms.float32).asnumpy().astype(np.float64)
    gy = ups * (xs @ ws.T + bs > 0)
    for got, want in zip(grads, (gy @ ws, gy.T @ xs, gy.sum(0))):
        np.testing.assert_allclose(got.astype(ms.float32).asnumpy(), want, rtol=2 ** -7, atol=2e-2)
    if device == "GPU":
        assert len(kernel_dtypes) == 3 and set(kernel_dtypes) == {"bfloat16"}, kernel_dtypes
