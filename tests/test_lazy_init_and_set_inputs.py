"""Lazy initialisation (initializer / Tensor(init=...) make data on first use, as MindSpore) and
Cell.set_inputs with Tensor(shape=[None, ...]) placeholders (one jit plan per dynamic size)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn
from gpucell.common.initializer import HeUniform, Identity, Normal, One, initializer
from gpucell.jit import cache_info, clear_cache
from tests.nn.nn_testing import host, on


def test_initializer_is_lazy_until_init_data(device):
    t = initializer(Normal(0.5), [3, 4], ms.float64)
    assert t.has_init and isinstance(t.init, Normal) and type(t) is not Tensor and isinstance(t, Tensor)
    assert (t.shape, t.dtype, t.ndim, t.size, t.itemsize, t.nbytes, t.device) == \
        ((3, 4), ms.float64, 2, 12, 8, 96, device)
    assert t.has_init  # reading the metadata made no data
    assert t.init_data() is t
    assert not t.has_init and t.init is None and type(t) is Tensor
    assert host(t).shape == (3, 4) and host(t).std() > 0.1


def test_lazy_values_do_not_depend_on_when_they_are_made(device):
    ms.set_seed(5)
    a, b = initializer("normal", [4]), initializer(HeUniform(), [3, 2])
    later_b, later_a = host(b), host(a)  # filled in the other order, after other draws
    ms.set_seed(5)
    eager_a = host(initializer("normal", [4]).init_data())
    eager_b = host(initializer(HeUniform(), [3, 2]).init_data())
    np.testing.assert_array_equal(later_a, eager_a)
    np.testing.assert_array_equal(later_b, eager_b)
    np.testing.assert_array_equal(host(initializer("ones", [2, 2], ms.int32)), np.ones((2, 2), np.int32))


def test_tensor_with_init_is_lazy_and_filled_on_first_use(device):
    t = Tensor(shape=(2, 3), dtype=ms.float16, init=One())
    assert t.has_init and t.device == device and t.dtype is ms.float16
    out = t * 2  # any op fills it
    assert not t.has_init
    np.testing.assert_array_equal(host(out), np.full((2, 3), 2, np.float16))
    u = Tensor(shape=3, dtype=ms.float32, init="zeros")
    assert repr(u) == "Tensor(shape=[3], dtype=Float32, value= [ 0.00000000e+00,  0.00000000e+00,  " \
                      "0.00000000e+00])"
    assert not u.has_init
    assert not Tensor([1.0]).has_init and Tensor([1.0]).init is None


def test_parameter_of_a_lazy_tensor_holds_its_data(device):
    ms.set_seed(2)
    reference = host(initializer(Normal(), [2, 2]).init_data())
    ms.set_seed(2)
    p = Parameter(initializer(Normal(), [2, 2]), name="w")
    assert type(p) is Parameter and not p.has_init and p.device == device
    np.testing.assert_array_equal(host(p), reference)
    p.set_data(initializer("ones", [2, 2]))
    np.testing.assert_array_equal(host(p), np.ones((2, 2), np.float32))


def test_bad_shapes_fail_when_the_lazy_tensor_is_made():
    with pytest.raises(ValueError, match=r"For 'Identity', the shape must have 2 dims"):
        initializer(Identity(), (2, 3, 4))
    with pytest.raises(ValueError, match=r"For 'HeUniform', fan in and fan out need a shape of at least 2 dims"):
        initializer(HeUniform(), (5,))
    with pytest.raises(ValueError, match=r"For 'initializer', 'shape' must be an int or a list/tuple"):
        initializer("ones", (2, -1))


def test_placeholder_has_a_dynamic_shape_and_no_data(device):
    ph = Tensor(shape=[None, 3], dtype=ms.float32)
    assert ph.shape == (-1, 3) and ph.dtype is ms.float32 and not ph.has_init and ph.size == -1
    assert repr(ph) == "Tensor(shape=[-1, 3], dtype=Float32, value=<placeholder>)"
    with pytest.raises(RuntimeError, match=r"For 'Tensor', this Tensor\(shape=\[-1, 3\], dtype=Float32\) is a "
                                           r"placeholder without data"):
        ph.asnumpy()
    with pytest.raises(ValueError, match=r"For 'Tensor', a placeholder of shape \[None, 3\] needs a 'dtype'"):
        Tensor(shape=[None, 3])
    with pytest.raises(ValueError, match=r"For 'Tensor', each dim of 'shape' must be an int >= 0, -1 or None"):
        Tensor(shape=[None, 2.5], dtype=ms.float32)
    with pytest.raises(ValueError, match=r"For 'Tensor', give 'input_data', or both 'shape' and 'init'"):
        Tensor(shape=[2, 3], dtype=ms.float32)


def _train_step(device):
    ms.set_seed(0)
    net = nn.Dense(3, 2)
    for p in net.get_parameters():
        p.move_to(device)
    net.set_inputs(Tensor(shape=[None, 3], dtype=ms.float32))
    loss = nn.WithLossCell(net, nn.MSELoss())
    step = nn.TrainOneStepCell(loss, nn.SGD(net.trainable_params(), learning_rate=0.1))
    return net, step


def test_set_inputs_with_a_dynamic_batch_trains_under_jit_one_plan_per_size(device):
    eager_net, eager_step = _train_step(device)
    jit_net, jit_step = _train_step(device)
    run = ms.jit(jit_step)
    rng = np.random.default_rng(3)
    clear_cache()
    sizes = [4, 7, 4, 7, 1, 4]
    for n in sizes:
        x = on(device, rng.standard_normal((n, 3)).astype(np.float32))
        y = on(device, rng.standard_normal((n, 2)).astype(np.float32))
        np.testing.assert_allclose(host(run(x, y)), host(eager_step(x, y)), rtol=1e-5, atol=1e-6)
    for a, b in zip(jit_net.trainable_params(), eager_net.trainable_params()):
        np.testing.assert_allclose(host(a), host(b), rtol=1e-5, atol=1e-6)
    info = cache_info()
    assert (info.misses, info.hits) == (len(set(sizes)), len(sizes) - len(set(sizes)))


@pytest.mark.parametrize("args, exc, fragment", [
    (lambda d: (on(d, np.ones((2, 4), np.float32)),), ValueError,
     r"For 'Dense' with set_inputs, input 0 must have shape \[-1, 3\] \(-1: any size\), but got \[2, 4\]"),
    (lambda d: (on(d, np.ones(3, np.float32)),), ValueError, r"input 0 must have shape \[-1, 3\]"),
    (lambda d: (on(d, np.ones((2, 3), np.float64)),), TypeError, r"input 0 must be Float32, but got Float64"),
    (lambda d: (), ValueError, r"the call needs 1 inputs, but got 0"),
])
def test_set_inputs_refuses_calls_that_do_not_fit(device, args, exc, fragment):
    net, _ = _train_step(device)
    with pytest.raises(exc, match=fragment):
        net(*args(device))
    with pytest.raises(exc, match=fragment):
        ms.jit(net)(*args(device))


def test_set_inputs_takes_tensors_only():
    net = nn.Dense(3, 2)
    assert net.get_inputs() is None
    with pytest.raises(TypeError, match=r"For 'set_inputs', every input must be a Tensor .* but input 1 is list"):
        net.set_inputs(Tensor(shape=[None, 3], dtype=ms.float32), [1, 2])
    net.set_inputs(Tensor(np.ones((2, 3), np.float32)))  # a Tensor with data fixes every dim
    assert net.get_inputs()[0].shape == (2, 3)
    with pytest.raises(ValueError, match=r"must have shape \[2, 3\]"):
        net(Tensor(np.ones((4, 3), np.float32)))
