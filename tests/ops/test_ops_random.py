"""randn, rand, uniform, standard_normal, normal and the StandardNormal / UniformReal Primitives:
MindSpore's shapes and dtypes, deterministic under set_seed, identical on CPU and GPU (uniforms bit
for bit, normals to a few ulp), fresh numbers on every call (jitted calls included), statistics,
gradients of normal / uniform with respect to their Tensor parameters, and MindSpore's errors."""

from __future__ import annotations

import numpy as np
import pytest
from op_testing import check_gradients, randn

import gpucell as ms
from gpucell import ops
from gpucell.backend import philox


def _draws(device):
    """One of each random op, on ``device``, right after set_seed."""
    ms.set_seed(123)
    lo, hi = ms.Tensor(-2.0, device=device), ms.Tensor(3.0, device=device)
    return {
        "randn": ops.randn(3, 5),
        "rand": ops.rand((4, 2), dtype=ms.float16),
        "standard_normal": ops.standard_normal((7,)),
        "normal": ops.normal((2, 3), ms.Tensor(1.0, device=device), 2.0),
        "uniform": ops.uniform((6,), lo, hi),
        "uniform_int": ops.uniform((9,), ms.Tensor(-5, ms.int32, device=device), ms.Tensor(5, ms.int32, device=device),
                                   dtype=ms.int32),
        "randn64": ops.randn(5, dtype=ms.float64),
    }


def test_shapes_dtypes_and_device(device):
    out = _draws(device)
    expected = {"randn": ((3, 5), ms.float32), "rand": ((4, 2), ms.float16), "standard_normal": ((7,), ms.float32),
                "normal": ((2, 3), ms.float32), "uniform": ((6,), ms.float32), "uniform_int": ((9,), ms.int32),
                "randn64": ((5,), ms.float64)}
    for name, (shape, dtype) in expected.items():
        assert out[name].shape == shape and out[name].dtype == dtype, name
        assert out[name].device == device, name
    assert ops.randn().shape == (1,) and ops.rand(3).shape == (3,) and ops.randn([2, 2]).shape == (2, 2)
    assert ops.rand(2, 0).shape == (2, 0)


def test_set_seed_makes_the_numbers_reproducible(device):
    first, second = _draws(device), _draws(device)
    for name in first:
        np.testing.assert_array_equal(first[name].asnumpy(), second[name].asnumpy(), err_msg=name)
    ms.set_seed(123)
    a, b = ops.rand(8), ops.rand(8)
    assert not np.array_equal(a.asnumpy(), b.asnumpy())  # each call draws fresh counters


@pytest.mark.gpu
def test_cpu_and_gpu_draw_the_same_numbers():
    with _device("CPU"):
        cpu = _draws("CPU")
    with _device("GPU"):
        gpu = _draws("GPU")
    for name in ("rand", "uniform", "uniform_int"):
        np.testing.assert_array_equal(cpu[name].asnumpy(), gpu[name].asnumpy(), err_msg=name)
    for name in ("randn", "standard_normal", "normal", "randn64"):
        np.testing.assert_allclose(gpu[name].asnumpy(), cpu[name].asnumpy(), rtol=1e-5, atol=1e-6, err_msg=name)


class _device:
    """The default device for new tensors, for the length of a block."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        from gpucell import backend

        self.before = backend.get_device()
        backend.set_device(self.name)

    def __exit__(self, *exc):
        from gpucell import backend

        backend.set_device(self.before)


def test_values_follow_the_philox_stream(device):
    """rand after set_seed takes the first words of the generator: (w >> 8) / 2^24."""
    ms.set_seed(11)
    got = ops.rand(6).asnumpy()
    words = philox.random_words(11, 0, 6)
    np.testing.assert_array_equal(got, (words >> 8).astype(np.float64) / 2**24)


def test_statistics(device):
    ms.set_seed(5)
    u = ops.rand(1 << 14).asnumpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02
    z = ops.randn(1 << 14).asnumpy()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
    n = ops.normal((1 << 14,), 3.0, 0.5).asnumpy()
    assert abs(n.mean() - 3.0) < 0.03 and abs(n.std() - 0.5) < 0.02
    lo, hi = ms.Tensor(-1.0, device=device), ms.Tensor(4.0, device=device)
    v = ops.uniform((1 << 14,), lo, hi).asnumpy()
    assert -1.0 <= v.min() and v.max() < 4.0 and abs(v.mean() - 1.5) < 0.1
    k = ops.uniform((1 << 12,), ms.Tensor(-3, ms.int32, device=device), ms.Tensor(4, ms.int32, device=device),
                    dtype=ms.int32).asnumpy()
    assert set(np.unique(k).tolist()) == set(range(-3, 4))


def test_normal_and_uniform_broadcast_their_parameters(device):
    mean = ms.Tensor([[3.0, 4.0], [5.0, 6.0]], device=device)
    assert ops.normal((3, 1, 2), mean, ms.Tensor(1.0, device=device)).shape == (3, 2, 2)
    out = ops.uniform((3, 1, 2), ms.Tensor([[3.0, 4.0], [5.0, 6.0]], device=device),
                      ms.Tensor([8.0, 10.0], device=device))
    assert out.shape == (3, 2, 2)
    a = out.asnumpy()
    assert (a >= np.array([[3, 4], [5, 6]])).all() and (a < np.array([8, 10])).all()
    assert ops.normal((2,), ms.Tensor(np.array([1.0, 2.0]), device=device), 1.0).dtype == ms.float64


def test_gradients_reach_the_parameters(device):
    # Each evaluation re-seeds, so finite differences see the same sample.
    def normal(mean, std):
        ms.set_seed(3)
        return ops.normal((2, 3), mean, std)

    def uniform(low, high):
        ms.set_seed(4)
        return ops.uniform((2, 3), low, high)

    check_gradients(normal, [randn(3), np.array(1.5)], device)
    ms.set_seed(3)
    z = ops.standard_normal((2, 3))
    mean, std = ms.Tensor(np.zeros(3), device=device), ms.Tensor(2.0, ms.float64, device=device)
    gm, gs = ms.grad(lambda m, s: normal(m, s).sum(), (0, 1))(mean, std)
    np.testing.assert_allclose(gm.asnumpy(), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(gs.asnumpy(), z.asnumpy().sum(), rtol=1e-6)
    low = ms.Tensor(np.float32(-1.0), device=device)
    high = ms.Tensor(np.float32(2.0), device=device)
    g_low, g_high = ms.grad(lambda a, b: uniform(a, b).sum(), (0, 1))(low, high)
    ms.set_seed(4)
    u = ops.rand(2, 3).asnumpy()
    np.testing.assert_allclose(g_low.asnumpy(), (1 - u).sum(), rtol=1e-5)
    np.testing.assert_allclose(g_high.asnumpy(), u.sum(), rtol=1e-5)


def test_primitives(device):
    ms.set_seed(9)
    a = ops.StandardNormal(seed=2, seed2=3)((2, 3))
    b = ops.UniformReal()((4,))
    assert a.shape == (2, 3) and a.dtype == ms.float32 and b.shape == (4,) and b.device == device
    ms.set_seed(9)
    np.testing.assert_array_equal(ops.standard_normal((2, 3)).asnumpy(), a.asnumpy())
    with pytest.raises(TypeError, match="For 'StandardNormal', the 'seed' must be an int, but got 1.5"):
        ops.StandardNormal(1.5)
    with pytest.raises(ValueError, match="For 'UniformReal', the 'seed' must be a non-negative int or None"):
        ops.UniformReal(-1)


def test_jitted_calls_draw_fresh_numbers(device):
    @ms.jit
    def noisy(x):
        return x + ops.rand(4) + ops.randn(4)

    x = ops.zeros(4)
    outs = [noisy(x).asnumpy() for _ in range(4)]
    for i in range(len(outs)):
        for j in range(i):
            assert not np.array_equal(outs[i], outs[j]), (i, j)


def test_errors():
    with pytest.raises(ValueError, match="For 'randn', the 'dtype' must be a float type, but got Int32"):
        ops.randn(2, dtype=ms.int32)
    with pytest.raises(ValueError, match="For 'rand', the 'dtype' must be a float type, but got Bool"):
        ops.rand(2, dtype=ms.bool_)
    with pytest.raises(TypeError, match=r"For 'randn', the 'size' must be ints, or one tuple or list of ints"):
        ops.randn(2, 2.5)
    with pytest.raises(TypeError, match=r"For 'rand', the 'size' must be ints"):
        ops.rand("3")
    with pytest.raises(ValueError, match=r"For 'rand', the 'size' must not have negative dims, but got \(2, -1\)"):
        ops.rand(2, -1)
    with pytest.raises(TypeError, match="For 'randn', the 'seed' must be a non-negative int or None, but got 1.5"):
        ops.randn(2, seed=1.5)
    with pytest.raises(ValueError, match="For 'randn', the 'seed' must be a non-negative int or None, but got -1"):
        ops.randn(2, seed=-1)
    with pytest.raises(TypeError, match="For 'standard_normal', the 'shape' must be a tuple of ints or a Tensor"):
        ops.standard_normal([2, 3])
    with pytest.raises(ValueError, match="For 'standard_normal', the elements of 'shape' must be positive ints"):
        ops.standard_normal((2, 0))
    with pytest.raises(TypeError, match="For 'normal', the type of 'mean' must be Tensor, int, or float, but got str"):
        ops.normal((2,), "0", 1.0)
    with pytest.raises(TypeError, match="For 'normal', the type of 'shape' must be tuple, but got list"):
        ops.normal([2], 0.0, 1.0)
    with pytest.raises(TypeError, match="For 'normal', the elements of 'shape' must be ints, but got 2.0"):
        ops.normal((2.0,), 0.0, 1.0)
    with pytest.raises(TypeError, match="For 'uniform', the 'minval' and 'maxval' must be Tensors"):
        ops.uniform((2,), 0.0, 1.0)
    lo, hi = ms.Tensor(0.0), ms.Tensor(1.0)
    with pytest.raises(TypeError, match="For 'uniform', the 'dtype' must be Int32 or Float32, but got Float64"):
        ops.uniform((2,), lo, hi, dtype=ms.float64)
    with pytest.raises(TypeError, match=r"For 'uniform', the dtype of 'minval' \(Float32\) must be the 'dtype' Int32"):
        ops.uniform((2,), lo, hi, dtype=ms.int32)
    with pytest.raises(ValueError, match="For 'uniform', the 'minval' must be less than the 'maxval', but got 3 and 3"):
        ops.uniform((2,), ms.Tensor(3, ms.int32), ms.Tensor(3, ms.int32), dtype=ms.int32)
    with pytest.raises(ValueError, match=r"For 'uniform', an Int32 'maxval' must hold one value, but got shape \(2,\)"):
        ops.uniform((2,), ms.Tensor(0, ms.int32), ms.Tensor([3, 4], ms.int32), dtype=ms.int32)


def test_like_and_randint(device):
    x = ms.Tensor(np.zeros((2, 3)), ms.float64, device=device)
    assert ops.rand_like(x).dtype == ms.float64 and ops.rand_like(x).shape == (2, 3)
    assert ops.rand_like(x, dtype=ms.float16).dtype == ms.float16 and ops.rand_like(x).device == device
    assert ops.randn_like(x).dtype == ms.float32 and ops.randn_like(x).device == device  # MindSpore: Float32
    ms.set_seed(2)
    k = ops.randint(-3, 3, (2000,))
    assert k.dtype == ms.int64 and set(np.unique(k.asnumpy()).tolist()) == set(range(-3, 3))
    assert ops.randint(0, 5, (2, 2), dtype=ms.int8).dtype == ms.int8 and ops.randint(0, 2, (0,)).shape == (0,)
    ms.set_seed(2)
    np.testing.assert_array_equal(ops.randint(-3, 3, (2000,)).asnumpy(), k.asnumpy())
    with pytest.raises(ValueError, match="For 'randint', the 'dtype' must be an int type, but got Float32"):
        ops.randint(0, 2, (2,), dtype=ms.float32)
    with pytest.raises(ValueError, match=r"For 'randint', the input 'size' must be a tuple, but got \[2\]"):
        ops.randint(0, 2, [2])
    with pytest.raises(TypeError, match="For 'randint', 'high' must be an int, but got 2.0"):
        ops.randint(0, 2.0, (2,))
    with pytest.raises(ValueError, match="For 'randint', 'low' must be less than 'high', both in the Int32 range"):
        ops.randint(2, 2, (2,))
    with pytest.raises(ValueError, match="both in the Int32 range"):
        ops.randint(0, 2**40, (2,))
    with pytest.raises(ValueError, match="For 'rand_like', the 'dtype' must be a float type, but got Int64"):
        ops.rand_like(ms.Tensor([1, 2], device=device))
    with pytest.raises(TypeError, match="For 'randn_like', the 'input' must be a Tensor, but got tuple"):
        ops.randn_like((2, 3))


@pytest.mark.gpu
def test_random_ops_and_one_hot_are_captured_in_one_cuda_graph():
    """On the GPU the samplers are Philox kernels reading a device-resident state, so a jitted step
    that draws (and one-hot encodes) is one captured graph, with fresh numbers on every replay."""
    from gpucell.jit import cache_info

    @ms.jit
    def step(x, labels):
        lo, hi = ops.zeros(()), ops.ones(())
        noise = ops.rand(4) + ops.randn(4) + ops.normal((4,), 0.0, 2.0) + ops.uniform((4,), lo, hi)
        return x + noise + ops.one_hot(labels, 4, 1.0, 0.0).sum(0)

    with _device("GPU"):
        x, labels = ops.zeros(4), ms.Tensor([1, 2])
        before = cache_info()
        outs = [step(x, labels).asnumpy() for _ in range(4)]
        after = cache_info()
    assert after.captures - before.captures == 1
    assert after.graph_breaks == before.graph_breaks
    assert len({o.tobytes() for o in outs}) == 4


@pytest.mark.gpu
def test_samples_follow_the_device_of_tensor_parameters():
    with _device("CPU"):
        mean = ms.Tensor([1.0, 2.0], device="GPU")
        assert ops.normal((2,), mean, 1.0).device == "GPU"
        assert ops.uniform((2,), ms.Tensor(0.0, device="GPU"), ms.Tensor(1.0, device="GPU")).device == "GPU"
        assert ops.rand_like(mean).device == "GPU" and ops.randn_like(mean).device == "GPU"
        assert ops.one_hot(ms.Tensor([0, 1], device="GPU"), 2).device == "GPU"
