"""ParameterTuple: Parameters only, unique names, clone(prefix, init), printing."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, ParameterTuple, Tensor
from gpucell.common.initializer import initializer


def _params(device="CPU"):
    x = Parameter(Tensor(np.arange(6).reshape(2, 3), device=device), name="x")
    y = Parameter(initializer("ones", [1, 2, 3], ms.float32).move_to(device), name="y")
    z = Parameter(Tensor(2.0, device=device), name="z", requires_grad=False)
    return x, y, z


def test_is_a_tuple_of_the_parameters(device):
    x, y, z = _params(device)
    params = ParameterTuple((x, y, z))
    assert isinstance(params, tuple) and len(params) == 3
    assert params[0] is x and params[2] is z
    assert list(ParameterTuple([x, y])) == [x, y]
    assert ParameterTuple(p for p in (x,))[0] is x


def test_same_parameter_twice_is_allowed():
    x = Parameter(1.0, name="a")
    assert len(ParameterTuple((x, x))) == 2


def test_duplicate_names_raise_mindsporess_message():
    a, b = Parameter(1.0, name="a"), Parameter(2.0, name="a")
    with pytest.raises(ValueError, match=r"its name 'a' already exists\. Please set a unique name for the "
                                         r"parameter\."):
        ParameterTuple((a, b))


@pytest.mark.parametrize("bad, fragment", [
    (1, "element 1 is 1 of type 'int'"),
    (Tensor([1.0]), "element 1 is Tensor\\(shape=\\[1\\].* of type 'Tensor'"),
    ("w", "element 1 is 'w' of type 'str'"),
])
def test_non_parameters_are_refused(bad, fragment):
    with pytest.raises(TypeError, match=rf"For 'ParameterTuple', every element must be a Parameter, but "
                                        rf"{fragment}"):
        ParameterTuple((Parameter(1.0, name="ok"), bad))


def test_print_is_the_tuple_of_reprs(capsys):
    params = ParameterTuple(_params())
    print(params)
    assert capsys.readouterr().out == (
        "(Parameter (name=x, shape=(2, 3), dtype=Int64, requires_grad=True), "
        "Parameter (name=y, shape=(1, 2, 3), dtype=Float32, requires_grad=True), "
        "Parameter (name=z, shape=(), dtype=Float32, requires_grad=False))\n")
    assert repr(params) == str(params)


def test_clone_prefixes_names_and_copies(device):
    params = ParameterTuple(_params(device))
    copy = params.clone("params_copy")
    assert isinstance(copy, ParameterTuple)
    assert [p.name for p in copy] == ["params_copy.x", "params_copy.y", "params_copy.z"]
    assert [p.name for p in params] == ["x", "y", "z"]
    for original, twin in zip(params, copy):
        assert twin is not original
        assert twin.dtype is original.dtype and twin.shape == original.shape
        assert twin.requires_grad == original.requires_grad and twin.device == device
        np.testing.assert_array_equal(twin.asnumpy(), original.asnumpy())
    copy[0][0, 0] = 100
    assert params[0].asnumpy()[0, 0] == 0


def test_clone_with_init(device):
    params = ParameterTuple(_params(device)[1:])
    zeros = params.clone("moments", init="zeros")
    assert [p.name for p in zeros] == ["moments.y", "moments.z"]
    for p in zeros:
        np.testing.assert_array_equal(p.asnumpy(), np.zeros(p.shape))
    assert zeros[0].dtype is ms.float32


def test_clone_of_clone_nests_prefixes():
    params = ParameterTuple((Parameter(1.0, name="w"),))
    assert params.clone("a").clone("b")[0].name == "b.a.w"


@pytest.mark.parametrize("prefix, exc, fragment", [
    (3, TypeError, "the name must be a str, but got 3 of type 'int'"),
    ("", ValueError, "the name must not be empty"),
])
def test_clone_bad_prefix(prefix, exc, fragment):
    with pytest.raises(exc, match=rf"For 'ParameterTuple.clone', {fragment}"):
        ParameterTuple((Parameter(1.0, name="w"),)).clone(prefix)


def test_clone_bad_init():
    with pytest.raises(ValueError, match=r"For 'initializer', unknown init 'nonsense'"):
        ParameterTuple((Parameter(1.0, name="w"),)).clone("m", init="nonsense")
