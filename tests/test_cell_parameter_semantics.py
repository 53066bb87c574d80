"""MindSpore's Cell / Parameter semantics that ported code relies on: a Tensor assigned to a
Parameter attribute writes its data (also inside a jitted construct), CellList ``+=`` / extend /
insert, duplicate Parameter names, GradOperation(get_by_list=True) without params, and ops.grad /
ops.value_and_grad as aliases of ms.grad / ms.value_and_grad (with return_ids)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn, ops
from tests.nn.nn_testing import gradcheck, host, on


class Accumulate(nn.Cell):
    """construct assigns a Tensor to its Parameter attribute: MindSpore writes it into the Parameter."""

    def __init__(self, device):
        super().__init__()
        self.total = Parameter(on(device, np.zeros(2, np.float32)), name="total", requires_grad=False)

    def construct(self, x):
        self.total = self.total + x
        return self.total * 2


def test_tensor_assigned_to_a_parameter_attribute_writes_its_data(device):
    net = Accumulate(device)
    param, buffer = net.total, net.total._data
    out = net(on(device, np.array([1.0, 2.0], np.float32)))
    assert net.total is param and net.total._data is buffer  # same object, same buffer: written in place
    assert isinstance(net.total, Parameter) and net.total.name == "total"
    np.testing.assert_array_equal(host(net.total), [1.0, 2.0])
    np.testing.assert_array_equal(host(out), [2.0, 4.0])
    net.total = on(device, np.array([5, 6], np.int64))  # outside construct too; Int64 casts implicitly
    np.testing.assert_array_equal(host(net.total), [5.0, 6.0])
    assert net.total.dtype is ms.float32 and [n for n, _ in net.parameters_and_names()] == ["total"]


def test_tensor_assigned_to_a_parameter_attribute_is_replayed_under_jit(device):
    eager, jitted = Accumulate(device), Accumulate(device)
    run = ms.jit(jitted)
    for step in range(4):
        x = on(device, np.array([step, 1.0], np.float32))
        np.testing.assert_array_equal(host(run(x)), host(eager(x)))
    np.testing.assert_array_equal(host(jitted.total), host(eager.total))
    np.testing.assert_array_equal(host(eager.total), [6.0, 4.0])
    assert ms.jit.cache_info().hits >= 3


def test_tensor_assigned_to_a_parameter_attribute_follows_set_data_rules(device):
    net = Accumulate(device)
    with pytest.raises(ValueError, match=r"For 'Parameter.set_data' of 'total', the new data's shape \(3,\) must "
                                         r"equal the Parameter's shape \(2,\)"):
        net.total = on(device, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match=r"Current dtype is Float32, and incoming is Float64"):
        net.total = on(device, np.zeros(2, np.float64))
    with pytest.raises(TypeError, match=r"For 'Accumulate', the attribute 'total' holds a Parameter"):
        net.total = [1.0, 2.0]
    np.testing.assert_array_equal(host(net.total), [0.0, 0.0])
    other = "GPU" if device == "CPU" else "CPU"
    net.total = on(other, np.array([3.0, 4.0], np.float32))  # another device: copied across, eagerly
    assert net.total.device == device
    np.testing.assert_array_equal(host(net.total), [3.0, 4.0])
    net.total = None
    assert net.total is None


class Scale(nn.Cell):
    def __init__(self, factor):
        super().__init__()
        self.weight = Parameter(Tensor([factor], ms.float32))

    def construct(self, x):
        return x * self.weight


def test_cell_list_plus_equals_extend_append_insert():
    cells = nn.CellList([Scale(1.0)])
    cells += [Scale(2.0), Scale(3.0)]
    cells.extend((Scale(4.0),))
    cells.append(Scale(5.0))
    cells.insert(0, Scale(0.5))
    cells += nn.CellList([Scale(6.0)])
    factors = [float(c.weight.asnumpy()[0]) for c in cells]
    assert factors == [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert [n for n, _ in cells.parameters_and_names()] == [f"{i}.weight" for i in range(7)]
    assert isinstance(cells, nn.CellList)


@pytest.mark.parametrize("bad, exc, fragment", [
    (Scale(1.0), TypeError, r"For 'CellList', the new cells wanted to append should be instance of list, but got "
                            r"Scale"),
    ([Scale(1.0), 3], TypeError, r"For 'CellList', every element must be a Cell, but element 1 is 3"),
    ("ab", TypeError, r"should be instance of list, but got str"),
])
def test_cell_list_extend_refuses_non_lists(bad, exc, fragment):
    cells = nn.CellList([Scale(1.0)])
    with pytest.raises(exc, match=fragment):
        cells += bad
    assert len(cells) == 1
    with pytest.raises(TypeError, match=r"For 'CellList', the index to insert at must be an int, but got '1'"):
        cells.insert("1", Scale(2.0))


def test_duplicate_parameter_names_are_a_value_error():
    class Twins(nn.Cell):
        def __init__(self):
            super().__init__()
            self.a = Parameter(Tensor([1.0]), name="w")
            self.b = Parameter(Tensor([2.0]), name="w")

    net = Twins()
    with pytest.raises(ValueError, match=r"its name 'w' already exists. Please set a unique name for the parameter"):
        net.check_names()
    with pytest.raises(ValueError, match=r"For 'ParameterTuple', .* its name 'w' already exists"):
        nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    Scale(1.0).check_names()  # unique names: no error
    shared = Parameter(Tensor([1.0]), name="s")
    holder = nn.Cell()
    holder.x, holder.y = shared, shared  # one Parameter reached twice is not a duplicate
    holder.check_names()


def test_unknown_cell_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"'Scale' object has no attribute 'bias'"):
        Scale(1.0).bias
    with pytest.raises(AttributeError):
        del Scale(1.0).bias


def test_grad_operation_by_list_defaults_to_the_cells_trainable_parameters(device):
    net = nn.Dense(3, 2)
    net.bias.requires_grad = False
    x = on(device, np.arange(6, dtype=np.float32).reshape(2, 3))
    for p in net.get_parameters():
        p.move_to(device)
    default = ops.GradOperation(get_by_list=True)(net)(x)
    explicit = ops.GradOperation(get_by_list=True)(net, ms.ParameterTuple(net.trainable_params()))(x)
    assert len(default) == 1 and default[0].shape == (2, 3)
    np.testing.assert_array_equal(host(default[0]), host(explicit[0]))
    np.testing.assert_allclose(host(default[0]), np.tile(host(x).sum(0), (2, 1)), rtol=1e-6)
    net.bias.requires_grad = True  # read at each call: now both
    both = ops.GradOperation(get_all=True, get_by_list=True)(net)(x)
    assert len(both[0]) == 1 and len(both[1]) == 2
    np.testing.assert_allclose(host(both[1][1]), [2.0, 2.0])


def test_grad_operation_by_list_without_params_needs_a_cell():
    with pytest.raises(ValueError, match=r"For 'GradOperation', get_by_list=True needs the weights when the "
                                         r"function is not a Cell"):
        ops.GradOperation(get_by_list=True)(lambda x: x * 2)


def test_ops_grad_and_value_and_grad_are_ms_grad(device):
    assert ops.grad is ms.grad and ops.value_and_grad is ms.value_and_grad
    assert "grad" in ops.__all__ and "value_and_grad" in ops.__all__
    gradcheck(lambda x: ops.grad(lambda v: (v * v * v).sum())(x), np.array([0.5, -1.5, 2.0]), device=device)
    loss, g = ops.value_and_grad(lambda v: (v * v).sum())(on(device, np.array([1.0, 2.0], np.float32)))
    assert float(loss) == 5.0
    np.testing.assert_array_equal(host(g), [2.0, 4.0])


def test_return_ids_pairs_each_gradient_with_its_position_or_name(device):
    w = Parameter(on(device, np.array([3.0], np.float32)), name="w")
    x, y = on(device, np.array([1.0], np.float32)), on(device, np.array([2.0], np.float32))

    def f(a, b):
        return (a * b * w).sum()

    (ix, gx), (iy, gy) = ops.grad(f, (0, 1), return_ids=True)(x, y)
    assert (ix, iy) == (0, 1) and float(gx) == 6.0 and float(gy) == 3.0
    position, grad = ops.grad(f, 1, return_ids=True)(x, y)
    assert position == 1 and float(grad) == 3.0
    inputs, weights = ops.grad(f, 0, (w,), return_ids=True)(x, y)
    assert inputs[0] == 0 and weights[0][0] == "w" and float(weights[0][1]) == 2.0
    loss, (name, gw) = ms.value_and_grad(f, None, w, return_ids=True)(x, y)
    assert float(loss) == 6.0 and name == "w" and float(gw) == 2.0
    with pytest.raises(TypeError, match=r"For 'grad', the 'return_ids' must be a bool"):
        ops.grad(f, return_ids=1)
