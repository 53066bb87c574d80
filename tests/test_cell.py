"""Cell: registration, naming, traversal, training state, repr, hooks and bad input."""

import types
from collections import OrderedDict

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, ParameterTuple, Tensor, nn, ops


class Dense(nn.Cell):
    """A small stand-in for nn.Dense: weight (out, in) and bias, named by attribute."""

    def __init__(self, in_channels, out_channels, has_bias=True):
        super().__init__()
        self.in_channels, self.out_channels, self.has_bias = in_channels, out_channels, has_bias
        self.weight = Parameter(Tensor(np.ones((out_channels, in_channels)), ms.float32))
        if has_bias:
            self.bias = Parameter(Tensor(np.zeros(out_channels), ms.float32))

    def construct(self, x):
        out = ops.matmul(x, self.weight.T)
        return out + self.bias if self.has_bias else out

    def extend_repr(self):
        return (f"input_channels={self.in_channels}, output_channels={self.out_channels}, "
                f"has_bias={self.has_bias}")


class BN(nn.Cell):
    def __init__(self, n):
        super().__init__()
        self.gamma = Parameter(Tensor(np.ones(n), ms.float32))
        self.moving_mean = Parameter(Tensor(np.zeros(n), ms.float32), requires_grad=False)

    def construct(self, x):
        return x * self.gamma


class ReLU(nn.Cell):
    def construct(self, x):
        return ops.select(x > 0, x, 0.0) if hasattr(ops, "select") else x * (x > 0).astype(x.dtype)


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = Dense(3, 4)
        self.bn = BN(4)
        self.scale = Parameter(Tensor(2.0), name="scale")

    def construct(self, x):
        return self.bn(self.dense(x)) * self.scale


def _names(cell):
    return [name for name, _ in cell.parameters_and_names()]


def test_registration_order_and_nested_names():
    # As in MindSpore: a Cell's own Parameters first, then each child's, in assignment order.
    net = Net()
    assert _names(net) == ["scale", "dense.weight", "dense.bias", "bn.gamma", "bn.moving_mean"]
    assert [p.name for p in net.get_parameters()] == _names(net)
    assert net.dense.weight.shape == (4, 3)  # (out, in)


def test_deeper_nesting():
    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.net = Net()

    outer = Outer()
    assert _names(outer)[:3] == ["net.scale", "net.dense.weight", "net.dense.bias"]
    assert outer.net.dense.bias.name == "net.dense.bias"


def test_sequential_names():
    seq = nn.SequentialCell([Dense(3, 4), ReLU(), Dense(4, 2)])
    assert _names(seq) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert seq[2].weight.name == "2.weight"


def test_auto_prefix_false_keeps_child_names():
    class Flat(nn.Cell):
        def __init__(self):
            super().__init__(auto_prefix=False)
            self.dense = Dense(2, 2)

    flat = Flat()
    assert flat.dense.weight.name == "weight"
    assert _names(flat) == ["dense.weight", "dense.bias"]


def test_trainable_and_untrainable():
    net = Net()
    assert [p.name for p in net.trainable_params()] == ["scale", "dense.weight", "dense.bias", "bn.gamma"]
    assert [p.name for p in net.untrainable_params()] == ["bn.moving_mean"]
    assert isinstance(net.trainable_params(), list) and isinstance(net.untrainable_params(), list)
    assert [p.name for p in net.trainable_params(recurse=False)] == ["scale"]
    net.scale.requires_grad = False
    assert "scale" in [p.name for p in net.untrainable_params()]


def test_get_parameters_is_a_generator():
    net = Net()
    gen = net.get_parameters()
    assert isinstance(gen, types.GeneratorType)
    assert next(gen) is net.scale
    assert next(gen) is net.dense.weight
    assert [p.name for p in net.get_parameters(expand=False)] == ["scale"]


def test_parameters_and_names_with_prefix():
    net = Net()
    assert _names(net)[1] == "dense.weight"
    assert [n for n, _ in net.parameters_and_names(name_prefix="top")][:2] == ["top.scale", "top.dense.weight"]


def test_parameters_dict():
    net = Net()
    d = net.parameters_dict()
    assert type(d) is OrderedDict
    assert list(d) == ["scale", "dense.weight", "dense.bias", "bn.gamma", "bn.moving_mean"]
    assert d["bn.gamma"] is net.bn.gamma


def test_shared_parameter_listed_once():
    class Shared(nn.Cell):
        def __init__(self):
            super().__init__()
            self.a = Dense(2, 2)
            self.b = Dense(2, 2)
            self.b.weight = self.a.weight

    assert len(list(Shared().get_parameters())) == 3


def test_cells_and_names_name_cells_cells():
    net = Net()
    pairs = list(net.cells_and_names())
    assert pairs[0] == ("", net)
    assert [n for n, _ in pairs] == ["", "dense", "bn"]
    assert pairs[1][1] is net.dense
    assert list(net.name_cells().items()) == [("dense", net.dense), ("bn", net.bn)]
    assert list(net.cells()) == [net.dense, net.bn]


def test_parameter_tuple_attribute_registers_its_parameters():
    class Holder(nn.Cell):
        def __init__(self):
            super().__init__()
            self.moments = ParameterTuple((Parameter(1.0, name="m.a"), Parameter(2.0, name="m.b")))

    h = Holder()
    assert [p.name for p in h.get_parameters()] == ["m.a", "m.b"]
    assert isinstance(h.moments, ParameterTuple)


def test_insert_child_to_cell():
    net = Net()
    extra = Dense(2, 2)
    net.insert_child_to_cell("extra", extra)
    assert net.extra is extra
    assert [n for n, _ in net.cells_and_names()][-1] == "extra"
    assert "extra.weight" in _names(net)


@pytest.mark.parametrize("name, child, exc, fragment", [
    ("a.b", None, KeyError, "'child_name' must be a non-empty str without '.', but got 'a.b'"),
    ("", None, KeyError, "but got ''"),
    ("x", 3, TypeError, "'child_cell' must be a Cell, but got int"),
    ("construct", None, KeyError, "the name 'construct' is already an attribute of Net"),
])
def test_insert_child_to_cell_bad_input(name, child, exc, fragment):
    net = Net()
    before = list(net.name_cells())
    if child is None and exc is KeyError and name not in ("", "a.b"):
        child = Dense(1, 1)
    with pytest.raises(exc, match=fragment):
        net.insert_child_to_cell(name, child if child is not None else Dense(1, 1))
    assert list(net.name_cells()) == before


def test_insert_param_to_cell():
    net = Net()
    p = Parameter(Tensor([1.0]))
    net.insert_param_to_cell("extra", p)
    assert net.extra is p and p.name == "extra"
    assert _names(net)[:2] == ["scale", "extra"]


@pytest.mark.parametrize("name, param, exc, fragment", [
    ("a.b", Parameter(1.0), KeyError, "'param_name' must not contain '.', but got 'a.b'"),
    (3, Parameter(1.0), TypeError, "'param_name' must be a non-empty str, but got 3"),
    ("x", Tensor([1.0]), TypeError, "'param' must be a Parameter, but got Tensor"),
    ("construct", Parameter(1.0), KeyError, "the name 'construct' is already an attribute of Net"),
])
def test_insert_param_to_cell_bad_input(name, param, exc, fragment):
    net = Net()
    before = _names(net)
    with pytest.raises(exc, match=rf"For 'insert_param_to_cell', {fragment}"):
        net.insert_param_to_cell(name, param)
    assert _names(net) == before


def test_insert_param_with_dot_when_check_is_off():
    net = Net()
    net.insert_param_to_cell("a.b", Parameter(1.0, name="a.b"), check_name_contain_dot=False)
    assert "a.b" in _names(net)


def test_update_parameters_name():
    net = Net()
    net.update_parameters_name("model.")
    assert [p.name for p in net.get_parameters()][:3] == ["model.scale", "model.dense.weight",
                                                         "model.dense.bias"]
    with pytest.raises(TypeError, match=r"For 'update_parameters_name', 'prefix' must be a str, but got int"):
        net.update_parameters_name(3)


def test_new_cell_state():
    net = Net()
    assert net.phase == "train" and net.training is False
    assert net.dense.phase == "train" and net.dense.training is False


def test_set_train_is_recursive_and_returns_self():
    net = Net()
    assert net.set_train() is net
    assert all(c.phase == "train" and c.training is True for _, c in net.cells_and_names())
    assert net.set_train(False) is net
    assert all(c.phase == "predict" and c.training is False for _, c in net.cells_and_names())
    with pytest.raises(TypeError, match=r"For 'set_train', 'mode' must be a bool, but got 1"):
        net.set_train(1)
    assert net.training is False


def test_phase_setter():
    net = Net()
    net.phase = "eval"
    assert net.phase == "eval"
    with pytest.raises(TypeError, match=r"For 'Cell.phase', expected a str, but got int"):
        net.phase = 3


def test_apply_visits_children_first_and_returns_self():
    net = Net()
    seen = []
    assert net.apply(lambda c: seen.append(type(c).__name__)) is net
    assert seen == ["Dense", "BN", "Net"]


def test_repr_with_extend_repr():
    class Top(nn.Cell):
        def __init__(self):
            super().__init__()
            self.dense = Dense(3, 4)

    assert repr(Top()) == "Top(\n  (dense): Dense(input_channels=3, output_channels=4, has_bias=True)\n)"
    assert repr(Dense(3, 4, has_bias=False)) == \
        "Dense(input_channels=3, output_channels=4, has_bias=False)"


def test_repr_nested_indents():
    class Outer(nn.Cell):
        def __init__(self):
            super().__init__()
            self.net = Net()

    assert repr(Outer()) == (
        "Outer(\n"
        "  (net): Net(\n"
        "    (dense): Dense(input_channels=3, output_channels=4, has_bias=True)\n"
        "    (bn): BN()\n"
        "  )\n"
        ")")


def test_call_runs_construct(device):
    net = Net()
    for p in net.get_parameters():
        p.move_to(device)
    out = net(Tensor([[1.0, 2.0, 3.0]], device=device))
    np.testing.assert_allclose(out.asnumpy(), np.full((1, 4), 12.0))


def test_construct_must_be_defined():
    with pytest.raises(NotImplementedError, match=r"For 'Cell', construct\(\) is not defined"):
        nn.Cell()(Tensor([1.0]))


def test_forward_pre_hook_and_handle():
    net = Dense(2, 2)
    calls = []

    def pre(cell, inputs):
        calls.append(("pre", cell))
        return (inputs[0] * 2,)

    handle = net.register_forward_pre_hook(pre)
    out = net(Tensor([[1.0, 1.0]]))
    np.testing.assert_array_equal(out.asnumpy(), [[4.0, 4.0]])
    assert calls == [("pre", net)]
    handle.remove()
    np.testing.assert_array_equal(net(Tensor([[1.0, 1.0]])).asnumpy(), [[2.0, 2.0]])
    assert len(calls) == 1
    handle.remove()  # a second remove is harmless


def test_forward_hook_sees_inputs_and_output_and_can_replace_it():
    net = Dense(2, 2)
    seen = []

    def post(cell, inputs, output):
        seen.append((inputs[0].asnumpy().tolist(), output.asnumpy().tolist()))
        return output + 1

    handle = net.register_forward_hook(post)
    out = net(Tensor([[1.0, 0.0]]))
    assert seen == [([[1.0, 0.0]], [[1.0, 1.0]])]
    np.testing.assert_array_equal(out.asnumpy(), [[2.0, 2.0]])
    handle.remove()
    np.testing.assert_array_equal(net(Tensor([[1.0, 0.0]])).asnumpy(), [[1.0, 1.0]])


def test_hooks_returning_none_change_nothing():
    net = Dense(2, 2)
    net.register_forward_pre_hook(lambda cell, inputs: None)
    net.register_forward_hook(lambda cell, inputs, output: None)
    np.testing.assert_array_equal(net(Tensor([[1.0, 0.0]])).asnumpy(), [[1.0, 1.0]])


@pytest.mark.parametrize("method", ["register_forward_pre_hook", "register_forward_hook",
                                    "register_backward_hook"])
def test_hook_must_be_callable(method):
    net = Dense(2, 2)
    if not hasattr(net, method):
        pytest.skip(f"{method} not implemented yet")
    with pytest.raises(TypeError, match=rf"For '{method}', the hook must be callable, but got 5"):
        getattr(net, method)(5)


def test_bprop_debug_is_a_validated_bool():
    net = Dense(2, 2)
    assert net.bprop_debug is False
    net.bprop_debug = True
    assert net.bprop_debug is True
    with pytest.raises(TypeError, match=r"For 'Cell.bprop_debug', the value must be a bool, but got 1 of type "
                                        r"'int'"):
        net.bprop_debug = 1
    assert net.bprop_debug is True


def test_auto_prefix_must_be_bool():
    with pytest.raises(TypeError, match=r"For 'Cell', 'auto_prefix' must be a bool, but got 'yes'"):
        nn.Cell(auto_prefix="yes")


def test_replacing_a_cell_with_a_non_cell_is_refused():
    net = Net()
    dense = net.dense
    with pytest.raises(TypeError, match=r"For 'Net', the attribute 'dense' holds a Cell; it can only be replaced "
                                        r"by a Cell or None, but got 3 of type 'int'"):
        net.dense = 3
    assert net.dense is dense
    with pytest.raises(TypeError, match=r"For 'Net', the attribute 'scale' holds a Parameter; .* but got "
                                        r"'x' of type 'str'"):
        net.scale = "x"


def test_setting_a_child_to_none_unregisters_it():
    net = Net()
    net.bn = None
    assert [n for n, _ in net.cells_and_names()] == ["", "dense"]
    net.scale = None
    assert "scale" not in _names(net)


def test_delattr_unregisters():
    net = Net()
    del net.dense
    assert "dense.weight" not in _names(net)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'dense'"):
        _ = net.dense


def test_assignment_before_super_init_is_refused():
    class Early(nn.Cell):
        def __init__(self):
            self.w = Parameter(1.0)
            super().__init__()

    with pytest.raises(AttributeError, match=r"For 'Early', call super\(\).__init__\(\) before assigning the "
                                             r"Parameter 'w'"):
        Early()


def test_plain_attributes_are_not_registered():
    net = Net()
    net.rate = 0.5
    net.tensor = Tensor([1.0])
    assert net.rate == 0.5
    assert "tensor" not in _names(net) and "rate" not in net.name_cells()
