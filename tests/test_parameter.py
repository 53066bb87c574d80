"""Parameter: construction rules, names, set_data, clone, requires_grad, repr."""

import pickle
import re

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn


@pytest.fixture
def on_device(device):
    """Creates tensors on ``device`` by default for the test, then restores the context."""
    before = ms.get_context("device_target")
    ms.set_context(device_target=device)
    yield device
    ms.set_context(device_target=before)


@pytest.mark.parametrize("value, dtype, shape", [
    (3, ms.int32, ()), (2.0, ms.float32, ()), ([1, 2], ms.int64, (2,)), ([1.0, 2.0], ms.float32, (2,)),
    (np.ones((2, 3)), ms.float64, (2, 3)), (np.ones(2, np.float16), ms.float16, (2,)),
    ((1.5,), ms.float32, (1,)),
])
def test_constructor_inputs_and_dtypes(on_device, value, dtype, shape):
    p = Parameter(value, name="p")
    assert p.dtype is dtype and p.shape == shape and p.device == on_device
    np.testing.assert_array_equal(p.asnumpy(), np.asarray(value))


def test_from_tensor_keeps_dtype_and_copies(device):
    t = Tensor([1, 2], ms.int8, device=device)
    p = Parameter(t, name="p")
    assert p.dtype is ms.int8 and p.device == device
    t[0] = 9
    assert p.asnumpy()[0] == 1


def test_is_a_tensor(device):
    p = Parameter(Tensor([1.0, 2.0], device=device), name="p")
    assert isinstance(p, Tensor)
    out = p + 1
    assert type(out) is Tensor
    np.testing.assert_array_equal(out.asnumpy(), [2.0, 3.0])


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_bool_is_refused(value):
    with pytest.raises(ValueError, match=r"For 'Parameter'.*Parameter data can not be `bool`.*"
                                         + re.escape(repr(value))):
        Parameter(value)


@pytest.mark.parametrize("value, fragment", [
    ("abc", "'abc' of type 'str'"), (None, "None of type 'NoneType'"), ({1: 2}, r"\{1: 2\} of type 'dict'"),
])
def test_bad_default_input(value, fragment):
    with pytest.raises(TypeError, match=rf"For 'Parameter', 'default_input' must be .*{fragment}"):
        Parameter(value)


def test_given_name():
    assert Parameter(1.0, name="w").name == "w"


def test_automatic_names_are_numbered():
    a, b = Parameter(1.0), Parameter(2.0)
    ma, mb = re.fullmatch(r"Parameter#(\d+)", a.name), re.fullmatch(r"Parameter#(\d+)", b.name)
    assert ma and mb and int(mb.group(1)) > int(ma.group(1))


@pytest.mark.parametrize("name, exc, fragment", [
    (3, TypeError, "the name must be a str, but got 3 of type 'int'"),
    (["w"], TypeError, r"the name must be a str, but got \['w'\] of type 'list'"),
    ("", ValueError, "the name must not be empty"),
])
def test_bad_names(name, exc, fragment):
    with pytest.raises(exc, match=rf"For 'Parameter', {fragment}"):
        Parameter(1.0, name=name)
    p = Parameter(1.0, name="keep")
    with pytest.raises(exc, match=rf"For 'Parameter.name', {fragment}"):
        p.name = name
    assert p.name == "keep"


def test_cell_assignment_renames_an_auto_named_parameter():
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.weight = Parameter(1.0)
            self.bias = Parameter(2.0, name="my_bias")

    net = Net()
    assert net.weight.name == "weight"
    assert net.bias.name == "my_bias"


def test_requires_grad_validation():
    assert Parameter(1.0).requires_grad is True
    p = Parameter(1.0, requires_grad=False)
    assert p.requires_grad is False
    p.requires_grad = True
    assert p.requires_grad is True
    with pytest.raises(TypeError, match=r"For 'Parameter', 'requires_grad' must be a bool, but got 1 of type "
                                        r"'int'"):
        Parameter(1.0, requires_grad=1)
    with pytest.raises(TypeError, match=r"For 'Parameter.requires_grad', 'requires_grad' must be a bool, but "
                                        r"got 'yes'"):
        p.requires_grad = "yes"
    assert p.requires_grad is True


def test_repr():
    assert repr(Parameter(Tensor(np.zeros((5, 3)), ms.float32), name="w")) == \
        "Parameter (name=w, shape=(5, 3), dtype=Float32, requires_grad=True)"
    assert repr(Parameter(2.0, name="z", requires_grad=False)) == \
        "Parameter (name=z, shape=(), dtype=Float32, requires_grad=False)"
    assert repr(Parameter([1], name="b")) == "Parameter (name=b, shape=(1,), dtype=Int64, requires_grad=True)"


def test_set_data_casts_writes_in_place_and_returns_self(device):
    p = Parameter(Tensor([1.0, 2.0, 3.0], device=device), name="b")
    buffer = p._data
    out = p.set_data(Tensor([3, 4, 5], device=device))
    assert out is p
    assert p._data is buffer
    assert p.dtype is ms.float32 and p.name == "b"
    np.testing.assert_array_equal(p.asnumpy(), [3.0, 4.0, 5.0])


@pytest.mark.parametrize("data", [[6, 7, 8], (6.0, 7.0, 8.0), np.array([6, 7, 8], np.float64)])
def test_set_data_from_python_and_numpy(on_device, data):
    p = Parameter(Tensor([1.0, 2.0, 3.0]), name="b")
    p.set_data(data)
    assert p.dtype is ms.float32 and p.device == on_device
    np.testing.assert_array_equal(p.asnumpy(), [6.0, 7.0, 8.0])


def test_set_data_int_parameter_takes_narrower_ints_and_python_ints(device):
    p = Parameter(Tensor([1, 2], ms.int64, device=device), name="n")
    p.set_data(Tensor([5, 6], ms.int32, device=device))
    assert p.dtype is ms.int64
    np.testing.assert_array_equal(p.asnumpy(), [5, 6])
    q = Parameter(Tensor([1, 2], ms.int32, device=device), name="m")
    q.set_data([7, 8])  # Python ints are values: they take the Parameter's dtype
    assert q.dtype is ms.int32
    np.testing.assert_array_equal(q.asnumpy(), [7, 8])


# MindSpore's implicit_conversion_seq: bool < int8 < uint8 < int16 < int32 < int64 < float16 < float32 <
# float64 < complex64 < complex128; a Tensor is cast only into a later dtype.
@pytest.mark.parametrize("current, incoming", [
    (ms.int32, ms.float32), (ms.float32, ms.float64), (ms.int32, ms.int64), (ms.float16, ms.float32),
    (ms.int8, ms.uint8), (ms.float64, ms.complex64), (ms.uint32, ms.int64), (ms.bfloat16, ms.float16),
])
def test_set_data_narrowing_cast_is_refused_as_mindspore(device, current, incoming):
    p = Parameter(Tensor([1, 2], current, device=device), name="n")
    with pytest.raises(TypeError, match=rf"For 'Parameter.set_data' of 'n', incoming Parameter dtype can not be "
                                        rf"converted to current dtype implicitly. Current dtype is {current}, and "
                                        rf"incoming is {incoming}. Use .set_dtype\(xxx\) to change the dtype."):
        p.set_data(Tensor([3, 4], incoming, device=device))
    np.testing.assert_array_equal(p.asnumpy().astype(np.float64), [1, 2])


@pytest.mark.parametrize("current, incoming", [
    (ms.float32, ms.int64), (ms.float16, ms.int64), (ms.int16, ms.uint8), (ms.uint8, ms.int8),
    (ms.float64, ms.float32), (ms.complex64, ms.float32), (ms.int32, ms.bool_), (ms.uint64, ms.uint32),
    (ms.float32, ms.bfloat16),
])
def test_set_data_widening_cast_is_applied(device, current, incoming):
    p = Parameter(Tensor([1, 2], current, device=device), name="n")
    p.set_data(Tensor([3, 1], incoming, device=device))
    assert p.dtype is current
    np.testing.assert_array_equal(p.asnumpy(), np.array([3, 1]).astype(incoming.numpy).astype(current.numpy))


def test_set_data_python_floats_into_an_int_parameter_are_refused(device):
    p = Parameter(Tensor([1, 2], ms.int32, device=device), name="n")
    with pytest.raises(TypeError, match=r"Current dtype is Int32, and incoming is Float32"):
        p.set_data([1.5, 2.5])
    np.testing.assert_array_equal(p.asnumpy(), [1, 2])


def test_set_dtype_converts_in_place_and_returns_the_dtype(device):
    p = Parameter(Tensor([1.7, -2.2], device=device), name="w")
    assert p.set_dtype(ms.float64) is ms.float64
    assert isinstance(p, Parameter) and p.name == "w" and p.dtype is ms.float64 and p.device == device
    np.testing.assert_allclose(p.asnumpy(), [1.7, -2.2], rtol=1e-6)
    p.set_data(Tensor([1.0, 2.0], ms.float64, device=device))  # now accepted: the advice of the error
    assert p.set_dtype("int32") is ms.int32
    np.testing.assert_array_equal(p.asnumpy(), [1, 2])
    with pytest.raises(TypeError, match=r"For 'Tensor.set_dtype', unknown dtype name 'int31'"):
        p.set_dtype("int31")


def test_set_dtype_retraces_jitted_readers(device):
    p = Parameter(Tensor([1.0, 2.0], device=device), name="w")
    f = ms.jit(lambda x: x * p)
    x = Tensor([3.0, 4.0], ms.float64, device=device)
    assert f(x).dtype is ms.float64
    p.set_dtype(ms.float16)
    out = f(x)
    np.testing.assert_array_equal(out.asnumpy(), [3.0, 8.0])
    assert out.dtype is ms.float64 and p.dtype is ms.float16


def test_copy_is_a_parameter_with_the_same_name_and_its_own_data(device):
    p = Parameter(Tensor([1.0, 2.0], device=device), name="w", requires_grad=False)
    c = p.copy()
    assert isinstance(c, Parameter) and c is not p
    assert (c.name, c.requires_grad, c.dtype, c.device) == ("w", False, p.dtype, device)
    c[0] = 9.0
    np.testing.assert_array_equal(p.asnumpy(), [1.0, 2.0])
    np.testing.assert_array_equal(c.asnumpy(), [9.0, 2.0])


@pytest.mark.parametrize("data, exc, fragment", [
    (True, ValueError, "the data can not be `bool`"),
    ("x", TypeError, "'data' must be a Tensor.*'x' of type 'str'"),
    (None, TypeError, "'data' must be a Tensor.*None of type 'NoneType'"),
])
def test_set_data_bad_input(data, exc, fragment):
    p = Parameter(2.0, name="z")
    with pytest.raises(exc, match=rf"For 'Parameter.set_data' of 'z', {fragment}"):
        p.set_data(data)
    assert p.item() == 2.0


def test_clone_same(device):
    p = Parameter(Tensor([1.0, 2.0], device=device), name="w", requires_grad=False)
    c = p.clone()
    assert isinstance(c, Parameter) and c is not p
    assert c.name == "w" and c.requires_grad is False and c.dtype is p.dtype and c.device == device
    np.testing.assert_array_equal(c.asnumpy(), [1.0, 2.0])
    c[0] = 10.0
    assert p.asnumpy()[0] == 1.0


@pytest.mark.parametrize("init, expected", [("zeros", 0.0), ("ones", 1.0), (3, 3.0)])
def test_clone_with_init(device, init, expected):
    p = Parameter(Tensor([[5.0, 6.0]], ms.float16, device=device), name="w")
    c = p.clone(init)
    assert c.name == "w" and c.shape == (1, 2) and c.dtype is ms.float16 and c.device == device
    np.testing.assert_array_equal(c.asnumpy(), np.full((1, 2), expected))
    np.testing.assert_array_equal(p.asnumpy(), [[5.0, 6.0]])


def test_data_property_is_the_parameter():
    p = Parameter(1.0, name="p")
    assert p.data is p


def test_move_to_keeps_the_object(device):
    p = Parameter(Tensor([1.0], device="CPU"), name="p")
    assert p.move_to(device) is p
    assert p.device == device and p.name == "p"


def test_pickle_round_trip():
    p = Parameter(Tensor([1.0, 2.0]), name="w", requires_grad=False)
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, Parameter) and q.name == "w" and q.requires_grad is False
    np.testing.assert_array_equal(q.asnumpy(), [1.0, 2.0])
