"""grad / value_and_grad / GradOperation: MindSpore's return shapes, accumulation, no_grad,
stop_gradient, integer outputs, sens, and release of saved tensors."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn, ops
from gpucell.autograd import engine, node
from gpucell.ops._dispatch import hooks


def T(values, device, dtype=ms.float32):
    return ms.Tensor(np.asarray(values), dtype, device=device)


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = ms.Parameter(ms.Tensor([[1.0, 2.0], [3.0, 4.0]]), name="w")
        self.b = ms.Parameter(ms.Tensor([0.5, -0.5]), name="b")

    def construct(self, x):
        return ops.matmul(x, self.w) + self.b


@pytest.fixture
def net(device):
    n = Net()
    for p in n.get_parameters():
        p.move_to(device)
    return n


def test_non_scalar_output_uses_ones(device):
    g = ms.grad(lambda x: x * 2)(T([1.0, 2.0, 3.0], device))
    assert isinstance(g, ms.Tensor) and g.asnumpy().tolist() == [2.0, 2.0, 2.0]
    assert not hooks.recording and node.saved_count() == 0


def test_return_shapes(device, net):
    x, y = T([[1.0, 1.0]], device), T([[2.0, 0.0]], device)

    def fn(a, b):
        return (net(a) * b).sum()

    assert isinstance(ms.grad(fn)(x, y), ms.Tensor)
    both = ms.grad(fn, (0, 1))(x, y)
    assert isinstance(both, tuple) and len(both) == 2
    inputs, weights = ms.grad(fn, 0, net.trainable_params())(x, y)
    assert isinstance(inputs, ms.Tensor) and len(weights) == 2
    weights_only = ms.grad(fn, None, net.trainable_params())(x, y)
    assert isinstance(weights_only, tuple) and len(weights_only) == 2
    np.testing.assert_allclose(weights_only[0].asnumpy(), [[2.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(weights_only[1].asnumpy(), [2.0, 0.0])
    single = ms.grad(fn, None, net.b)(x, y)
    assert isinstance(single, ms.Tensor)
    loss, grads = ms.value_and_grad(fn, None, net.trainable_params())(x, y)
    assert float(loss) == pytest.approx(2 * (1 + 3 + 0.5)) and len(grads) == 2
    assert loss._node is None and net.w._node is None


def test_has_aux(device):
    def fn(x):
        return (x * x).sum(), x * 10

    g, aux = ms.grad(fn, has_aux=True)(T([1.0, 2.0], device))
    assert g.asnumpy().tolist() == [2.0, 4.0] and isinstance(aux, tuple)
    assert aux[0].asnumpy().tolist() == [10.0, 20.0]
    (value, aux_value), g = ms.value_and_grad(fn, has_aux=True)(T([1.0, 2.0], device))
    assert float(value) == 5.0 and g.asnumpy().tolist() == [2.0, 4.0]


def test_grad_operation(device, net):
    x = T([[1.0, 2.0]], device)
    assert ms.ops.GradOperation is ms.GradOperation
    g = ops.GradOperation()(net)(x)
    np.testing.assert_allclose(g.asnumpy(), [[3.0, 7.0]])
    all_inputs = ops.GradOperation(get_all=True)(net)(x)
    assert isinstance(all_inputs, tuple) and len(all_inputs) == 1
    params = ms.ParameterTuple(net.trainable_params())
    by_list = ops.GradOperation(get_by_list=True)(net, params)(x)
    np.testing.assert_allclose(by_list[0].asnumpy(), [[1.0, 1.0], [2.0, 2.0]])
    inputs, weights = ops.GradOperation(get_all=True, get_by_list=True)(net, params)(x)
    assert len(inputs) == 1 and len(weights) == 2
    sens = T([[1.0, 0.0]], device)
    g = ops.GradOperation(sens_param=True)(net)(x, sens)
    np.testing.assert_allclose(g.asnumpy(), [[1.0, 3.0]])
    with pytest.raises(ValueError, match=r"For 'GradOperation', the shape of 'sens' \(2,\) must equal"):
        ops.GradOperation(sens_param=True)(net)(x, T([1.0, 0.0], device))
    default = ops.GradOperation(get_by_list=True)(net)(x)  # MindSpore: the net's trainable Parameters
    assert len(default) == len(params)
    for got, want in zip(default, by_list):
        np.testing.assert_array_equal(got.asnumpy(), want.asnumpy())
    with pytest.raises(ValueError, match="get_by_list=True needs the weights when the function is not a Cell"):
        ops.GradOperation(get_by_list=True)(lambda v: net(v))
    with pytest.raises(TypeError, match="'get_all' must be a bool"):
        ops.GradOperation(get_all=1)


def test_parameter_used_twice_accumulates(device):
    w = ms.Parameter(ms.Tensor([3.0], device=device), name="w")
    g = ms.grad(lambda x: (w * x + w * w).sum(), None, [w])(T([2.0], device))
    assert g[0].asnumpy().tolist() == [2.0 + 6.0]
    g = ms.grad(lambda x: x * x + x, 0)(T([3.0], device))
    assert g.asnumpy().tolist() == [7.0]


def test_same_tensor_at_two_positions_gets_separate_gradients(device):
    x = T([2.0], device)
    gx, gy = ms.grad(lambda a, b: a * b * b, (0, 1))(x, x)
    assert gx.asnumpy().tolist() == [4.0] and gy.asnumpy().tolist() == [8.0]


def test_no_grad_stop_gradient_and_constants(device):
    def fn(x):
        with ms.no_grad():
            c = x * 3
        return x * c + x * ops.stop_gradient(x)

    assert ms.grad(fn)(T([2.0], device)).asnumpy().tolist() == [6.0 + 2.0]
    assert ms.grad(lambda x: ops.zeros_like(x) + 1)(T([2.0], device)).asnumpy().tolist() == [0.0]

    @ms.no_grad()
    def frozen(x):
        return x * x

    assert ms.grad(lambda x: frozen(x) + x)(T([5.0], device)).asnumpy().tolist() == [1.0]


def test_integer_and_bool_outputs_carry_no_gradient(device):
    captured = {}

    def fn(x):
        index = ops.argmax(x)
        mask = x > 0
        captured["index"], captured["mask"] = index._node, mask._node
        return (x * mask.astype(ms.float32)).sum() + index.astype(ms.float32)

    g = ms.grad(fn)(T([1.0, -2.0, 3.0], device))
    assert captured == {"index": None, "mask": None}
    assert g.asnumpy().tolist() == [1.0, 0.0, 1.0]
    ints = ms.grad(lambda x, y: x * y, 1)(T([1.5], device), T([2], device, ms.int32))
    assert ints.asnumpy().tolist() == [0] and ints.dtype == ms.int32


def test_nothing_recorded_outside_transforms(device):
    w = ms.Parameter(ms.Tensor([1.0], device=device))
    assert (w * 2)._node is None


def test_saved_tensors_are_released_after_backward(device):
    refs = []

    def fn(x):
        h = ops.exp(x)  # Exp saves its output
        refs.append(weakref.ref(h._node[0]))
        return (ops.log(h) * h).sum()

    ms.grad(fn)(T(np.ones(1000), device))
    gc.collect()
    assert node.saved_count() == 0
    assert refs[0]() is None  # the graph is gone once the gradient is back


def test_engine_releases_each_node_unless_retained(device):
    x = T([1.0, 2.0], device)
    leaf = node.Leaf(x)
    x._node = (leaf, 0)
    hooks.recording = True
    try:
        y = ops.exp(x)
    finally:
        hooks.recording = False
    exp_node = y._node[0]
    engine.run_backward([y._node], [ops.ones_like(y)], retain_graph=True)
    assert exp_node.out is not None
    first = leaf.grad.asnumpy()
    engine.run_backward([y._node], [ops.ones_like(y)])
    assert exp_node.out is None and exp_node.saved is None
    np.testing.assert_allclose(leaf.grad.asnumpy(), 2 * first)  # summed into the same leaf
    with pytest.raises(RuntimeError, match="already released"):
        exp_node.output
    node.clear_saved()


def test_bad_arguments(device):
    with pytest.raises(ValueError, match="'grad_position' and 'weights' can not be None at the same time"):
        ms.grad(lambda x: x, None, None)
    with pytest.raises(TypeError, match="'grad_position' must be an int or a tuple of ints"):
        ms.grad(lambda x: x, "0")
    with pytest.raises(ValueError, match="'grad_position' 2 is out of range"):
        ms.grad(lambda x, y: x, (0, 2))(T([1.0], device), T([1.0], device))
    with pytest.raises(TypeError, match="at grad_position 0 must be a Tensor, but got float"):
        ms.grad(lambda x: x)(1.0)
    with pytest.raises(TypeError, match="every element of 'weights' must be a Parameter"):
        ms.grad(lambda x: x, 0, [T([1.0], device)])
    with pytest.raises(TypeError, match="must return a Tensor or a tuple of Tensors"):
        ms.grad(lambda x: 3.0)(T([1.0], device))
    assert not hooks.recording and node.saved_count() == 0
