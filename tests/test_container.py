"""SequentialCell and CellList: construction, naming, append, indexing, slicing, len, del."""

from collections import OrderedDict

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn


class Scale(nn.Cell):
    def __init__(self, factor=2.0):
        super().__init__()
        self.weight = Parameter(Tensor([factor], ms.float32))

    def construct(self, x):
        return x * self.weight


class AddOne(nn.Cell):
    def construct(self, x):
        return x + 1


def _names(cell):
    return [n for n, _ in cell.parameters_and_names()]


def test_from_list_runs_in_order():
    seq = nn.SequentialCell([Scale(2.0), AddOne(), Scale(3.0)])
    assert _names(seq) == ["0.weight", "2.weight"]
    np.testing.assert_array_equal(seq(Tensor([1.0])).asnumpy(), [9.0])  # (1*2+1)*3


def test_from_args():
    seq = nn.SequentialCell(AddOne(), Scale(3.0))
    assert list(seq.name_cells()) == ["0", "1"]
    np.testing.assert_array_equal(seq(Tensor([1.0])).asnumpy(), [6.0])


def test_from_ordered_dict_keeps_names():
    seq = nn.SequentialCell(OrderedDict([("scale", Scale(2.0)), ("add", AddOne())]))
    assert list(seq.name_cells()) == ["scale", "add"]
    assert _names(seq) == ["scale.weight"]
    assert seq.scale.weight.name == "scale.weight"
    np.testing.assert_array_equal(seq(Tensor([1.0])).asnumpy(), [3.0])


def test_ordered_dict_names_survive_append_and_del():
    seq = nn.SequentialCell(OrderedDict([("a", Scale()), ("b", Scale())]))
    seq.append(Scale())
    assert list(seq.name_cells()) == ["a", "b", "2"]
    assert _names(seq) == ["a.weight", "b.weight", "2.weight"]
    del seq[0]
    assert list(seq.name_cells()) == ["b", "1"]
    assert _names(seq) == ["b.weight", "1.weight"]


def test_append_returns_self_and_names():
    seq = nn.SequentialCell([Scale()])
    assert seq.append(Scale(5.0)) is seq
    assert len(seq) == 2 and _names(seq) == ["0.weight", "1.weight"]
    np.testing.assert_array_equal(seq(Tensor([1.0])).asnumpy(), [10.0])


def test_indexing_and_negative_indices():
    a, b, c = Scale(), AddOne(), Scale()
    seq = nn.SequentialCell([a, b, c])
    assert seq[0] is a and seq[-1] is c and seq[1] is b


def test_slicing_gives_a_sequential_cell():
    a, b, c = AddOne(), Scale(3.0), AddOne()
    seq = nn.SequentialCell([a, b, c])
    part = seq[1:]
    assert isinstance(part, nn.SequentialCell) and len(part) == 2
    assert part[0] is b and part[1] is c
    np.testing.assert_array_equal(part(Tensor([1.0])).asnumpy(), [4.0])


def test_len_iter():
    cells = [Scale(), AddOne(), Scale()]
    seq = nn.SequentialCell(cells)
    assert len(seq) == 3
    assert list(seq) == cells
    assert len(nn.SequentialCell()) == 0


def test_del_renumbers():
    seq = nn.SequentialCell([Scale(1.0), Scale(2.0), Scale(3.0)])
    del seq[1]
    assert len(seq) == 2 and list(seq.name_cells()) == ["0", "1"]
    assert _names(seq) == ["0.weight", "1.weight"]
    assert seq[1].weight.asnumpy()[0] == 3.0
    del seq[0:1]
    assert len(seq) == 1 and seq[0].weight.name == "0.weight"


def test_setitem_replaces():
    seq = nn.SequentialCell([Scale(), Scale()])
    new = Scale(7.0)
    seq[1] = new
    assert seq[1] is new and new.weight.name == "1.weight"


@pytest.mark.parametrize("index", [3, -4])
def test_index_out_of_range(index):
    seq = nn.SequentialCell([Scale(), AddOne(), Scale()])
    with pytest.raises(IndexError, match=rf"For 'SequentialCell', index {index} is out of range for 3 cells"):
        seq[index]
    with pytest.raises(IndexError, match=rf"For 'SequentialCell', index {index} is out of range"):
        del seq[index]
    assert len(seq) == 3


@pytest.mark.parametrize("index, fragment", [("a", "'a' of type 'str'"), (1.0, "1.0 of type 'float'"),
                                             (True, "True of type 'bool'")])
def test_bad_index_type(index, fragment):
    seq = nn.SequentialCell([Scale()])
    with pytest.raises(TypeError, match=rf"For 'SequentialCell', an index must be an int or a slice, but got "
                                        rf"{fragment}"):
        seq[index]


@pytest.mark.parametrize("make, fragment", [
    (lambda: nn.SequentialCell([Scale(), 3]), "element 1 is 3 of type 'int'"),
    (lambda: nn.SequentialCell(Scale(), "relu"), "element 1 is 'relu' of type 'str'"),
    (lambda: nn.SequentialCell(OrderedDict([("a", 3)])), "element 'a' is 3 of type 'int'"),
    (lambda: nn.SequentialCell([Scale()]).append(Tensor([1.0])), "element 1 is Tensor"),
])
def test_non_cells_are_refused(make, fragment):
    with pytest.raises(TypeError, match=rf"For 'SequentialCell', every element must be a Cell, but {fragment}"):
        make()


def test_failed_append_leaves_the_cell_unchanged():
    seq = nn.SequentialCell([Scale()])
    with pytest.raises(TypeError):
        seq.append(5)
    assert len(seq) == 1


def test_ordered_dict_with_dotted_name():
    with pytest.raises(KeyError, match=r"For 'SequentialCell', a cell name must be .* but got 'a.b'"):
        nn.SequentialCell(OrderedDict([("a.b", Scale())]))


def test_nested_in_a_cell():
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.body = nn.SequentialCell([Scale(), AddOne(), Scale()])

    assert _names(Net()) == ["body.0.weight", "body.2.weight"]


def test_cell_list():
    a, b = Scale(), Scale()
    cl = nn.CellList([a, b])
    assert len(cl) == 2 and cl[0] is a and cl[-1] is b
    assert _names(cl) == ["0.weight", "1.weight"]
    c = Scale()
    assert cl.append(c) is cl and cl[2] is c and c.weight.name == "2.weight"
    d, e = Scale(), Scale()
    cl.extend([d, e])
    assert len(cl) == 5 and cl[4] is e
    f = Scale()
    cl.insert(0, f)
    assert cl[0] is f and cl[1] is a and a.weight.name == "1.weight"
    del cl[0]
    assert cl[0] is a and a.weight.name == "0.weight"
    assert list(cl) == [a, b, c, d, e]
    assert isinstance(cl[1:3], nn.CellList) and len(cl[1:3]) == 2


def test_cell_list_empty_and_bad_input():
    assert len(nn.CellList()) == 0
    with pytest.raises(TypeError, match=r"For 'CellList', every element must be a Cell, but element 1 is 'x'"):
        nn.CellList([Scale(), "x"])
    with pytest.raises(TypeError, match=r"For 'CellList', every element must be a Cell, but element 0 is 2"):
        nn.CellList().extend([2])
    with pytest.raises(TypeError, match=r"For 'CellList', every element must be a Cell"):
        nn.CellList().insert(0, None)


def test_cell_list_in_a_cell_registers_children():
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.layers = nn.CellList([Scale(), Scale()])

        def construct(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    net = Net()
    assert _names(net) == ["layers.0.weight", "layers.1.weight"]
    np.testing.assert_array_equal(net(Tensor([1.0])).asnumpy(), [4.0])


def test_repr():
    seq = nn.SequentialCell([AddOne(), AddOne()])
    assert repr(seq) == "SequentialCell(\n  (0): AddOne()\n  (1): AddOne()\n)"
