"""eye, linspace, chunk, bernoulli, Tensor.repeat, Tensor.masked_fill and the Argmax Primitive: values
against NumPy on both backends, dtypes and devices as MindSpore gives them, gradients where they flow,
and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, host, randn, tensor

import gpucell as ms
from gpucell import ops


def test_eye(device):
    out = ops.eye(3)
    assert out.dtype is ms.float32 and out.device == device
    np.testing.assert_array_equal(host(out), np.eye(3))
    ints = ops.eye(2, 4, ms.int32)
    assert ints.dtype is ms.int32 and host(ints).tolist() == np.eye(2, 4, dtype=np.int32).tolist()
    assert ops.eye(0).shape == (0, 0) and ops.eye(2, 0).shape == (2, 0)


def test_linspace(device):
    out = ops.linspace(1, 10, 4)
    assert out.dtype is ms.float32 and out.device == device
    np.testing.assert_array_equal(host(out), np.linspace(1, 10, 4, dtype=np.float32))
    np.testing.assert_allclose(host(ops.linspace(-1.5, 2.25, 7)), np.linspace(-1.5, 2.25, 7), rtol=1e-6)
    assert host(ops.linspace(2.0, 3.0, 1)).tolist() == [2.0]
    start = tensor(np.float64(0.25), device)
    wide = ops.linspace(start, ms.Tensor(np.float64(1.0)), ms.Tensor(np.int32(4)))
    assert wide.dtype is ms.float64 and wide.device == device
    np.testing.assert_allclose(host(wide), np.linspace(0.25, 1.0, 4), rtol=1e-15)


def test_chunk(device):
    a = randn(7, 4)
    for chunks, sizes in ((3, [3, 3, 1]), (7, [1] * 7), (9, [1] * 7), (2, [4, 3]), (1, [7])):
        parts = ops.chunk(tensor(a, device), chunks)
        assert isinstance(parts, tuple) and [p.shape[0] for p in parts] == sizes
        np.testing.assert_array_equal(np.concatenate([host(p) for p in parts]), a)
    parts = ops.chunk(tensor(a, device), 2, -1)
    assert [p.shape for p in parts] == [(7, 2), (7, 2)]
    check_gradients(lambda x: ops.chunk(x, 3), [randn(5, 2)], device)


def test_repeat(device):
    a = randn(2, 3)
    x = tensor(a, device)
    for repeats, axis in ((2, None), (3, 0), (2, 1), ((1, 0, 2), 1), ([2, 1], 0), ((4,), -1)):
        want = np.repeat(a, repeats, axis)
        out = x.repeat(repeats, axis)
        assert out.shape == want.shape
        np.testing.assert_array_equal(host(out), want)
        check_gradients(lambda t, r=repeats, ax=axis: t.repeat(r, ax), [randn(2, 3)], device)
    assert host(tensor(np.float32(2.0), device).repeat(3, 0)).tolist() == [2.0, 2.0, 2.0]
    # The backward sums groups with ops, so it differentiates again.
    check_gradients(ms.grad(lambda t: ops.sum(t.repeat((2, 0, 1), 1) ** 2)), [randn(2, 3)], device)


def test_masked_fill_method(device):
    x = tensor(np.array([[1.0, -2.0], [3.0, -4.0]]), device)
    out = x.masked_fill(x < 0, 0.5)
    assert host(out).tolist() == [[1.0, 0.5], [3.0, 0.5]]
    check_gradients(lambda t: t.masked_fill(tensor(np.array([True, False]), device), 2.0), [randn(2, 2)], device)


def test_bernoulli(device):
    ms.set_seed(7)
    x = ops.zeros((200, 100), ms.float32)
    if device == "GPU":
        x = x.move_to("GPU")
    out = ops.bernoulli(x, 0.3)
    assert out.dtype is ms.float32 and out.shape == x.shape and out.device == device
    values = host(out)
    assert set(np.unique(values).tolist()) <= {0.0, 1.0}
    assert abs(values.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / values.size)  # 4 sigma
    assert not np.array_equal(values, host(ops.bernoulli(x, 0.3)))  # fresh draws each call
    ints = ops.bernoulli(tensor(np.zeros((3, 4), np.int32), device), 1.0)
    assert ints.dtype is ms.int32 and host(ints).tolist() == [[1] * 4] * 3
    assert not host(ops.bernoulli(tensor(np.ones(5, np.bool_), device), 0.0)).any()
    per_column = host(ops.bernoulli(x, tensor(np.array([0.0, 1.0] * 50, np.float32), device)))
    assert not per_column[:, ::2].any() and per_column[:, 1::2].all()
    ms.set_seed(11)
    first = host(ops.bernoulli(x))
    ms.set_seed(11)
    np.testing.assert_array_equal(host(ops.bernoulli(x)), first)  # the seed fixes the draws
    assert abs(first.mean() - 0.5) < 4 * np.sqrt(0.25 / first.size)


def test_bernoulli_draws_the_same_on_cpu_and_gpu():
    ms.set_seed(3)
    cpu = host(ops.bernoulli(ms.Tensor(np.zeros((4, 64), np.float32)), 0.5))
    ms.set_seed(3)
    gpu = host(ops.bernoulli(ms.Tensor(np.zeros((4, 64), np.float32), device="GPU"), 0.5))
    np.testing.assert_array_equal(cpu, gpu)


def test_argmax_primitive(device):
    a = randn(3, 5)
    out = ops.Argmax()(tensor(a, device))
    assert out.dtype is ms.int32 and host(out).tolist() == np.argmax(a, -1).tolist()
    wide = ops.Argmax(axis=0, output_type=ms.int64)(tensor(a, device))
    assert wide.dtype is ms.int64 and host(wide).tolist() == np.argmax(a, 0).tolist()


def test_errors():
    with pytest.raises(TypeError, match="'Eye'.*'n' must be an int.*float"):
        ops.eye(2.0)
    with pytest.raises(ValueError, match="'Eye'.*'m' must be a non-negative int.*-1"):
        ops.eye(2, -1)
    with pytest.raises(ValueError, match="'LinSpace'.*'steps' must be a positive int.*0"):
        ops.linspace(0, 1, 0)
    with pytest.raises(TypeError, match="'LinSpace'.*'steps' must be an int.*float"):
        ops.linspace(0, 1, 2.0)
    with pytest.raises(TypeError, match="'LinSpace'.*Tensor 'start' must be 0-D with a float dtype.*\\(2,\\)"):
        ops.linspace(ms.Tensor([0.0, 1.0]), 1, 2)
    with pytest.raises(TypeError, match="'LinSpace'.*Tensor 'steps' must be 0-D with an int dtype.*Float32"):
        ops.linspace(0, 1, ms.Tensor(2.0))
    with pytest.raises(TypeError, match="'LinSpace'.*'end' must be a number.*str"):
        ops.linspace(0, "1", 2)
    x = ms.Tensor(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="'chunk'.*'chunks' must be a positive int.*0"):
        ops.chunk(x, 0)
    with pytest.raises(TypeError, match="'chunk'.*'chunks' must be an int.*float"):
        ops.chunk(x, 2.0)
    with pytest.raises(ValueError, match="'chunk'.*'axis'.*\\[-2, 2\\)"):
        ops.chunk(x, 2, 2)
    with pytest.raises(ValueError, match="'chunk'.*at least one dimension"):
        ops.chunk(ms.Tensor(1.0), 1)
    with pytest.raises(ValueError, match="'Tensor.repeat'.*1 or 4 counts.*3"):
        x.repeat((1, 2, 3), 0)
    with pytest.raises(ValueError, match="'Tensor.repeat'.*non-negative.*-1"):
        x.repeat(-1)
    with pytest.raises(TypeError, match="'Tensor.repeat'.*'repeats' must be an int.*float"):
        x.repeat(1.5)
    with pytest.raises(ValueError, match="'Tensor.repeat'.*'axis'.*\\[-2, 2\\)"):
        x.repeat(2, 5)
    with pytest.raises(ValueError, match="'Bernoulli'.*'p' must be in \\[0, 1\\].*1.5"):
        ops.bernoulli(x, 1.5)
    with pytest.raises(TypeError, match="'Bernoulli'.*'p' must be a float or a Tensor.*str"):
        ops.bernoulli(x, "0.5")
    with pytest.raises(ValueError, match="'Bernoulli'.*broadcast to the shape.*\\(4, 2\\).*\\(3,\\)"):
        ops.bernoulli(x, ms.Tensor(np.full(3, 0.5, np.float32)))
    with pytest.raises(TypeError, match="'Bernoulli'.*Tensor 'p'.*float dtype.*Int64"):
        ops.bernoulli(x, ms.Tensor([1]))
    with pytest.raises(ValueError, match="'Bernoulli'.*'seed'.*-1"):
        ops.bernoulli(x, 0.5, -1)
    with pytest.raises(TypeError, match="'Bernoulli'.*'input' must be a Tensor"):
        ops.bernoulli(np.zeros(2))
    with pytest.raises(TypeError, match="'Argmax'.*'output_type'.*Int32 or Int64.*Float32"):
        ops.Argmax(output_type=ms.float32)
    with pytest.raises(TypeError, match="'Argmax'.*'axis' must be an int"):
        ops.Argmax(axis=None)
