"""The tutorial in shared/seed/, from "Parameter" through "Cell Training State Change", imports changed."""

import re
import types

import numpy as np
import pytest

import gpucell as mindspore
import gpucell as ms
from gpucell import Parameter, ParameterTuple, Tensor, nn, ops
from gpucell.common.initializer import initializer


@pytest.fixture
def on_device(device):
    before = ms.get_context("device_target")
    ms.set_context(device_target=device)
    yield device
    ms.set_context(device_target=before)


class Network(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.random.randn(5, 3), mindspore.float32), name='w')  # weight
        self.b = Parameter(Tensor(np.random.randn(3,), mindspore.float32), name='b')  # bias

    def construct(self, x):
        z = ops.matmul(x, self.w) + self.b
        return z


def test_network_forward(on_device):
    net = Network()
    x = np.random.randn(2, 5).astype(np.float32)
    out = net(Tensor(x))
    assert out.device == on_device and out.shape == (2, 3)
    expected = x.astype(np.float64) @ net.w.asnumpy().astype(np.float64) + net.b.asnumpy()
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5, atol=1e-5)


def test_obtaining_parameters(on_device, capsys):
    net = Network()
    b = net.b.asnumpy()
    print(net.b.asnumpy())
    assert capsys.readouterr().out == str(b) + "\n"
    assert b.dtype == np.float32 and b.shape == (3,)

    print(net.trainable_params())
    assert capsys.readouterr().out == (
        "[Parameter (name=w, shape=(5, 3), dtype=Float32, requires_grad=True), "
        "Parameter (name=b, shape=(3,), dtype=Float32, requires_grad=True)]\n")

    print(type(net.get_parameters()))
    assert capsys.readouterr().out == "<class 'generator'>\n"
    assert isinstance(net.get_parameters(), types.GeneratorType)

    for name, param in net.parameters_and_names():
        print(f"{name}:\n{param.asnumpy()}")
    out = capsys.readouterr().out
    assert out == f"w:\n{net.w.asnumpy()}\nb:\n{net.b.asnumpy()}\n"
    assert re.match(r"w:\n\[\[", out)


def test_modifying_parameters(on_device, capsys):
    net = Network()
    original = net.b.asnumpy().copy()

    net.b[0] = 1.
    print(net.b.asnumpy())
    expected = original.copy()
    expected[0] = 1.0
    assert capsys.readouterr().out == str(expected) + "\n"
    np.testing.assert_array_equal(net.b.asnumpy(), expected)

    returned = net.b.set_data(Tensor([3, 4, 5]))
    print(net.b.asnumpy())
    assert capsys.readouterr().out == "[3. 4. 5.]\n"
    assert returned is net.b and net.b.dtype is ms.float32 and net.b.device == on_device


def test_modifying_parameters_at_runtime_with_jit(on_device, capsys):
    net = Network()

    @ms.jit
    def modify_parameter():
        b_hat = ms.Tensor([7, 8, 9])
        ops.assign(net.b, b_hat)
        return True

    b_object, name = net.b, net.b.name
    assert modify_parameter() is True
    print(net.b.asnumpy())
    assert capsys.readouterr().out == "[7. 8. 9.]\n"
    assert net.b is b_object and net.b.name == name and net.b.dtype is ms.float32

    net.b.set_data(Tensor([1, 2, 3]))
    np.testing.assert_array_equal(net.b.asnumpy(), [1.0, 2.0, 3.0])
    assert modify_parameter() is True  # a second call writes again
    np.testing.assert_array_equal(net.b.asnumpy(), [7.0, 8.0, 9.0])


def test_parameter_tuple(on_device, capsys):
    # Creation
    x = Parameter(default_input=ms.Tensor(np.arange(2 * 3).reshape((2, 3))), name="x")
    y = Parameter(default_input=initializer('ones', [1, 2, 3], ms.float32), name='y')
    z = Parameter(default_input=2.0, name='z')
    params = ParameterTuple((x, y, z))

    # Clone from params and change the name to "params_copy"
    params_copy = params.clone("params_copy")

    print(params)
    print(params_copy)
    assert capsys.readouterr().out == (
        "(Parameter (name=x, shape=(2, 3), dtype=Int64, requires_grad=True), "
        "Parameter (name=y, shape=(1, 2, 3), dtype=Float32, requires_grad=True), "
        "Parameter (name=z, shape=(), dtype=Float32, requires_grad=True))\n"
        "(Parameter (name=params_copy.x, shape=(2, 3), dtype=Int64, requires_grad=True), "
        "Parameter (name=params_copy.y, shape=(1, 2, 3), dtype=Float32, requires_grad=True), "
        "Parameter (name=params_copy.z, shape=(), dtype=Float32, requires_grad=True))\n")
    for p in params_copy:
        assert p.device == on_device
    np.testing.assert_array_equal(params_copy[0].asnumpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(params_copy[1].asnumpy(), np.ones((1, 2, 3)))
    assert params_copy[2].item() == 2.0


def test_cell_training_state_change(on_device, capsys):
    net = Network()
    net.set_train()
    print(net.phase)
    assert capsys.readouterr().out == "train\n"
    assert net.training is True

    net.set_train(False)
    print(net.phase)
    assert capsys.readouterr().out == "predict\n"
    assert net.training is False


def test_threshold_layer_output(on_device):
    """The first custom layer after the state change section, where the ops it needs exist."""
    for name in ("gt", "fill", "select"):
        if not hasattr(ops, name):
            pytest.skip(f"ops.{name} comes with the ops issue")

    class Threshold(nn.Cell):
        def __init__(self, threshold, value):
            super().__init__()
            self.threshold = threshold
            self.value = value

        def construct(self, inputs):
            cond = ops.gt(inputs, self.threshold)
            value = ops.fill(inputs.dtype, inputs.shape, self.value)
            return ops.select(cond, inputs, value)

    m = Threshold(0.1, 20)
    inputs = mindspore.Tensor([0.1, 0.2, 0.3], mindspore.float32)
    assert repr(m(inputs)) == ("Tensor(shape=[3], dtype=Float32, value= "
                               "[ 2.00000000e+01,  2.00000003e-01,  3.00000012e-01])")
