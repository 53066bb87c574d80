"""initializer() and the Initializer classes: names, numbers, Tensors, objects; fan-based bounds."""

import math

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor
from gpucell.common import initializer as common_init
from gpucell.common.initializer import (
    Constant,
    Dirac,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    Normal,
    One,
    Orthogonal,
    TruncatedNormal,
    Uniform,
    XavierUniform,
    Zero,
    initializer,
)


@pytest.fixture
def on_device(device):
    before = ms.get_context("device_target")
    ms.set_context(device_target=device)
    yield device
    ms.set_context(device_target=before)


def _draw(init, shape, dtype=ms.float64):
    return initializer(init, shape, dtype).asnumpy().astype(np.float64)


def test_common_path_is_the_same_module():
    import gpucell.initializer as core
    assert common_init.initializer is core.initializer and common_init.HeUniform is core.HeUniform


@pytest.mark.parametrize("name, value", [
    ("zeros", 0.0), ("zero", 0.0), ("Zeros", 0.0), ("ZERO", 0.0), ("ones", 1.0), ("one", 1.0), ("ONES", 1.0),
])
def test_constant_names_case_insensitive(on_device, name, value):
    t = initializer(name, [2, 3], ms.float32)
    assert isinstance(t, Tensor) and t.shape == (2, 3) and t.dtype is ms.float32 and t.device == on_device
    np.testing.assert_array_equal(t.asnumpy(), np.full((2, 3), value))


@pytest.mark.parametrize("name", ["normal", "uniform", "truncatednormal", "TruncatedNormal", "xavier_uniform",
                                  "Xavier_Normal", "he_uniform", "HE_NORMAL", "orthogonal", "identity"])
def test_every_name_gives_the_asked_shape_and_dtype(name):
    t = initializer(name, (4, 4), ms.float16)
    assert t.shape == (4, 4) and t.dtype is ms.float16
    assert np.isfinite(t.asnumpy()).all()


@pytest.mark.parametrize("dtype", [ms.float16, ms.float32, ms.float64, ms.int32, ms.int64])
def test_dtype(dtype):
    t = initializer("ones", (3,), dtype)
    assert t.dtype is dtype
    np.testing.assert_array_equal(t.asnumpy(), [1, 1, 1])


def test_default_dtype_is_float32():
    assert initializer("zeros", (2,)).dtype is ms.float32


def test_int_shape():
    assert initializer("zeros", 4).shape == (4,)


@pytest.mark.parametrize("number", [5, 2.5, -1])
def test_number_is_a_constant(number):
    np.testing.assert_array_equal(initializer(number, [2, 2], ms.float32).asnumpy(), np.full((2, 2), number))


def test_tensor_input_is_copied_and_cast(device):
    source = Tensor([[1, 2]], device=device)
    t = initializer(source, [1, 2], ms.float32)
    assert t.dtype is ms.float32
    np.testing.assert_array_equal(t.asnumpy(), [[1.0, 2.0]])
    source[0, 0] = 7
    assert t.asnumpy()[0, 0] == 1.0


def test_tensor_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"For 'initializer', the Tensor's shape \(2,\) must equal 'shape' "
                                         r"\(3,\)"):
        initializer(Tensor([1.0, 2.0]), [3])


@pytest.mark.parametrize("obj, value", [(One(), 1.0), (Zero(), 0.0), (Constant(4), 4.0), (Constant(0.5), 0.5)])
def test_initializer_objects(obj, value):
    np.testing.assert_array_equal(initializer(obj, (2,), ms.float32).asnumpy(), [value, value])
    np.testing.assert_array_equal(obj((2,), ms.float32).asnumpy(), [value, value])


def test_repr_of_objects():
    assert repr(Normal(sigma=0.02)) == "Normal(sigma=0.02, mean=0.0)"


# -- distributions -----------------------------------------------------------------------------
N = (400, 300)  # 120000 draws: sample std within ~0.5%, bounds within ~0.01% of the true ones


def _check_uniform(values, bound):
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.abs(values).max() > 0.99 * bound
    assert abs(values.mean()) < 0.03 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def _check_normal(values, std, mean=0.0):
    assert values.mean() == pytest.approx(mean, abs=0.03 * std)
    assert values.std() == pytest.approx(std, rel=0.03)


def test_normal_default_sigma():
    _check_normal(_draw("normal", N), 0.01)


def test_normal_with_sigma_and_mean():
    _check_normal(_draw(Normal(sigma=2.0, mean=3.0), N), 2.0, mean=3.0)


def test_uniform_default_scale():
    _check_uniform(_draw("uniform", N), 0.07)
    _check_uniform(_draw(Uniform(scale=3.0), N), 3.0)


def test_truncated_normal_stays_in_bounds():
    values = _draw(TruncatedNormal(sigma=1.0, a=-1.0, b=0.5), N)
    assert values.min() >= -1.0 and values.max() <= 0.5
    assert values.min() < -0.99 and values.max() > 0.49
    _check_normal(_draw("truncatednormal", N), 0.01)


@pytest.mark.parametrize("shape, fan_in, fan_out", [
    ((400, 100), 100, 400),             # Dense weight: (out, in)
    ((64, 32, 3, 3), 288, 576),         # Conv2d weight: (out, in, kh, kw)
    ((64, 32, 5), 160, 320),            # Conv1d weight
])
def test_xavier(shape, fan_in, fan_out):
    _check_uniform(_draw("xavier_uniform", shape), math.sqrt(6.0 / (fan_in + fan_out)))
    _check_normal(_draw("xavier_normal", shape), math.sqrt(2.0 / (fan_in + fan_out)))
    _check_uniform(_draw(XavierUniform(gain=2.0), shape), 2.0 * math.sqrt(6.0 / (fan_in + fan_out)))


@pytest.mark.parametrize("shape, fan_in, fan_out", [((400, 100), 100, 400), ((64, 32, 3, 3), 288, 576)])
def test_he(shape, fan_in, fan_out):
    # MindSpore's default: negative_slope=0, mode='fan_in', nonlinearity='leaky_relu' -> gain sqrt(2).
    _check_uniform(_draw("he_uniform", shape), math.sqrt(6.0 / fan_in))
    _check_normal(_draw("he_normal", shape), math.sqrt(2.0 / fan_in))
    _check_uniform(_draw(HeUniform(mode="fan_out"), shape), math.sqrt(6.0 / fan_out))
    _check_normal(_draw(HeNormal(nonlinearity="tanh"), shape), 5.0 / 3 / math.sqrt(fan_in))
    slope = math.sqrt(5)  # Dense's default in MindSpore 1.x: bound 1/sqrt(fan_in)
    _check_uniform(_draw(HeUniform(negative_slope=slope), shape), 1.0 / math.sqrt(fan_in))


def test_identity():
    np.testing.assert_array_equal(initializer("identity", (3, 3)).asnumpy(), np.eye(3))
    np.testing.assert_array_equal(Identity()((2, 4), ms.float32).asnumpy(), np.eye(2, 4))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3)])
def test_orthogonal(shape):
    q = _draw(Orthogonal(gain=2.0), shape).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-6)


def test_dirac_passes_channels_through():
    w = _draw(Dirac(), (2, 2, 3, 3))
    expected = np.zeros((2, 2, 3, 3))
    expected[0, 0, 1, 1] = expected[1, 1, 1, 1] = 1
    np.testing.assert_array_equal(w, expected)


# -- seeds -------------------------------------------------------------------------------------
def test_set_seed_reproduces_draws():
    try:
        ms.set_seed(123)
        a1, a2 = _draw("normal", (50,)), _draw("he_uniform", (4, 5))
        ms.set_seed(123)
        b1, b2 = _draw("normal", (50,)), _draw("he_uniform", (4, 5))
        np.testing.assert_array_equal(a1, b1)
        np.testing.assert_array_equal(a2, b2)
        assert not np.array_equal(a1, _draw("normal", (50,)))  # later draws move on
        ms.set_seed(124)
        assert not np.array_equal(a1, _draw("normal", (50,)))
        assert ms.get_seed() == 124
    finally:
        ms.set_seed(0)


@pytest.mark.parametrize("seed, exc, fragment", [
    (1.5, TypeError, "'seed' must be an int, but got 1.5 of type 'float'"),
    (True, TypeError, "'seed' must be an int, but got True of type 'bool'"),
    (-1, ValueError, r"'seed' must be in \[0, 2\*\*63\), but got -1"),
])
def test_set_seed_bad_input(seed, exc, fragment):
    before = ms.get_seed()
    with pytest.raises(exc, match=rf"For 'set_seed', {fragment}"):
        ms.set_seed(seed)
    assert ms.get_seed() == before


# -- bad input ---------------------------------------------------------------------------------
def test_unknown_name():
    with pytest.raises(ValueError, match=r"For 'initializer', unknown init 'gaussian'; expected one of"):
        initializer("gaussian", (2,))


@pytest.mark.parametrize("init, fragment", [
    (None, "but got None of type 'NoneType'"), (True, "but got True of type 'bool'"),
    ([1.0], r"but got \[1.0\] of type 'list'"),
])
def test_bad_init_type(init, fragment):
    with pytest.raises(TypeError, match=rf"For 'initializer', 'init' must be a str, a number, a Tensor or an "
                                        rf"Initializer, {fragment}"):
        initializer(init, (2,))


@pytest.mark.parametrize("shape", [(2, -1), "3", (2.0,), None, (True,)])
def test_bad_shape(shape):
    with pytest.raises(ValueError, match=r"For 'initializer', 'shape' must be .* but got " + repr(shape)[:2]
                       .replace("(", r"\(").replace("[", r"\[")):
        initializer("ones", shape)


def test_bad_dtype():
    with pytest.raises(TypeError, match=r"For 'initializer', unknown dtype name 'f32'"):
        initializer("ones", (2,), "f32")


@pytest.mark.parametrize("make, exc, fragment", [
    (lambda: Constant(True), TypeError, r"For 'Constant', 'value' must be an int or a float, but got True"),
    (lambda: Constant("1"), TypeError, r"For 'Constant', 'value' must be an int or a float, but got '1'"),
    (lambda: TruncatedNormal(a=1.0, b=-1.0), ValueError, r"For 'TruncatedNormal', 'a' \(1.0\) must be less"),
    (lambda: HeUniform(mode="fan_avg"), ValueError, r"For 'HeUniform', 'mode' must be .* but got 'fan_avg'"),
    (lambda: initializer(HeNormal(nonlinearity="swish"), (2, 2)), ValueError,
     r"For 'HeNormal', unknown nonlinearity 'swish'"),
    (lambda: initializer("xavier_uniform", (5,)), ValueError,
     r"For 'XavierUniform', fan in and fan out need a shape of at least 2 dims, but got \(5,\)"),
    (lambda: initializer("he_normal", ()), ValueError, r"For 'HeNormal', .* but got \(\)"),
    (lambda: initializer("identity", (2, 2, 2)), ValueError, r"For 'Identity', .* but got \(2, 2, 2\)"),
    (lambda: initializer("orthogonal", (4,)), ValueError, r"For 'Orthogonal', .* but got \(4,\)"),
    (lambda: initializer(Dirac(groups=3), (4, 2, 3)), ValueError, r"For 'Dirac', .*groups=3.* \(4, 2, 3\)"),
])
def test_bad_arguments(make, exc, fragment):
    with pytest.raises(exc, match=fragment):
        make()


def test_base_class_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="Initializer must implement _fill"):
        initializer(Initializer(), (2,))
