"""RawModule / RawKernel on the simulated device: kernels run through the host emulator and match
NumPy; every launch is checked against the kernel's C signature and CUDA's launch limits; pointer
arguments are the kernel's accesses (``const T*`` a read, any other pointer a write); float32
subnormals flush as under CuPy's ``-ftz=true``."""

from __future__ import annotations

import numpy as np
import pytest
from sim_testing import KERNELS, assert_names, here, label_of, module, site_of, streams

import gpucell.backend.sim as cp
from gpucell.backend.emulator import CXX

pytestmark = pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++) to build the kernel emulator")

RaceError = cp.RaceError
CUDADriverError = cp.cuda.driver.CUDADriverError


def _kernel(name: str):
    return module().get_function(name)


# -- running -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 31, 32, 100, 1000])
def test_an_extern_c_kernel_matches_numpy(pool, n):
    host = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    x = cp.asarray(host)
    y = cp.zeros(n, cp.float32)
    _kernel("scale")((3,), (32,), (x, y, np.float32(2.5), np.int32(n)))  # grid-stride: 96 threads
    np.testing.assert_array_equal(y.get(), host * np.float32(2.5))


@pytest.mark.parametrize(("expression", "dtype"), [("add_one<float>", np.float32), ("add_one<double>", np.float64),
                                                   ("add_one<int>", np.int32)])
def test_templated_name_expressions_match_numpy(pool, expression, dtype):
    host = np.arange(70).astype(dtype)
    x = cp.asarray(host)
    y = cp.empty_like(x)
    _kernel(expression)((3,), (32,), (x, y, np.int32(70)))
    np.testing.assert_array_equal(y.get(), host + 1)
    assert y.dtype == dtype


def test_a_two_dimensional_grid(pool):
    out = cp.zeros((5, 8), cp.float32)
    _kernel("fill_rows")((1, 5), (8,), (out, np.int32(8)))
    rows, cols = np.mgrid[0:5, 0:8]
    np.testing.assert_array_equal(out.get(), rows * 100 + cols)


def test_a_raw_kernel_from_source(pool):
    kernel = cp.RawKernel(KERNELS, "scale")
    x = cp.arange(10, dtype=cp.float32)
    y = cp.zeros(10, cp.float32)
    kernel((1,), (16,), (x, y, np.float32(-1), np.int32(10)))
    np.testing.assert_array_equal(y.get(), -np.arange(10))
    assert kernel.name == "scale"


def test_a_kernel_on_a_view_starts_at_the_view(pool):
    x = cp.arange(10, dtype=cp.float32)
    y = cp.zeros(10, cp.float32)
    _kernel("copy_bits")((1,), (32,), (x[4:], y[:6], np.int32(6)))
    np.testing.assert_array_equal(y.get(), [4, 5, 6, 7, 8, 9, 0, 0, 0, 0])


def test_none_is_a_null_pointer(pool):
    y = cp.zeros(3, cp.float32)
    _kernel("maybe_null")((1,), (32,), (None, y, np.int32(3)))
    np.testing.assert_array_equal(y.get(), [-1, -1, -1])


def test_a_grid_of_zero_runs_one_block_as_in_cupy(pool):
    """CuPy launches max(1, d) blocks: an empty input's grid of 0 still launches (and is harmless)."""
    x = cp.zeros(0, cp.float32)
    y = cp.zeros(0, cp.float32)
    _kernel("scale")((0,), (32,), (x, y, np.float32(1), np.int32(0)))


def test_a_list_of_arguments_is_accepted_as_by_cupy(pool):
    x = cp.arange(4, dtype=cp.float32)
    y = cp.zeros(4, cp.float32)
    _kernel("scale")((1,), (32,), [x, y, np.float32(2), np.int32(4)])
    np.testing.assert_array_equal(y.get(), np.arange(4) * 2)


def test_a_kernel_launched_on_a_stream_keyword(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
        y = cp.zeros(4, cp.float32)
    _kernel("scale")((1,), (32,), (x, y, np.float32(3), np.int32(4)), stream=a)  # on a, not the current
    with pytest.raises(RaceError):
        _kernel("scale")((1,), (32,), (x, y, np.float32(3), np.int32(4)), stream=b)
    np.testing.assert_array_equal(y.get(stream=a), np.arange(4) * 3)


def test_float32_subnormals_flush_to_zero_as_under_ftz(pool):
    tiny = np.array([1e-40, -1e-42, 1.5e-38, 1.0], np.float32)  # two subnormals, two normals
    assert np.all(tiny[:2] != 0)
    x = cp.asarray(tiny)
    y = cp.empty_like(x)
    _kernel("plus_zero")((1,), (32,), (x, y, np.int32(4)))
    np.testing.assert_array_equal(y.get(), np.array([0, 0, tiny[2], tiny[3]], np.float32))
    _kernel("copy_bits")((1,), (32,), (x, y, np.int32(4)))  # a copy keeps the bits
    np.testing.assert_array_equal(y.get(), tiny)


# -- the module ----------------------------------------------------------------------------------

def test_an_unknown_kernel_name_is_not_found():
    with pytest.raises(CUDADriverError, match="CUDA_ERROR_NOT_FOUND"):
        module().get_function("add_one<long>")  # not among the name expressions
    with pytest.raises(CUDADriverError, match="CUDA_ERROR_NOT_FOUND"):
        module().get_function("no_such_kernel")


def test_code_or_path_exactly_one():
    with pytest.raises(TypeError, match="Exactly one"):
        cp.RawModule()
    with pytest.raises(TypeError, match="Exactly one"):
        cp.RawModule(code="", path="x.cu")


def test_a_module_from_a_path(pool, tmp_path):
    path = tmp_path / "k.cu"
    path.write_text(KERNELS)
    kernel = cp.RawModule(path=str(path), name_expressions=("add_one<float>",)).get_function("add_one<float>")
    x = cp.zeros(3, cp.float32)
    kernel((1,), (32,), (x, x, np.int32(3)))
    np.testing.assert_array_equal(x.get(), np.ones(3))


def test_a_compile_error_is_a_compile_exception():
    broken = cp.RawModule(code='extern "C" __global__ void broken(float* x) { x[0] = undeclared; }')
    with pytest.raises(cp.cuda.compiler.CompileException, match="undeclared"):
        broken.get_function("broken")


# -- argument checks -----------------------------------------------------------------------------

def test_the_argument_count_is_checked(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="takes 4 arguments, but 3 were given"):
        _kernel("scale")((1,), (32,), (x, x, np.float32(1)))


def test_a_python_int_into_an_int_parameter_is_refused(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError) as err:
        _kernel("scale")((1,), (32,), (x, x, np.float32(1), 4))
    assert_names(str(err.value), "'scale'", "argument 3", "8-byte int64", "4 bytes", "numpy.int32")


def test_a_python_float_into_a_float_parameter_is_refused(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="argument 2 is a 8-byte float64 value, but the kernel's parameter 2 is 4"):
        _kernel("scale")((1,), (32,), (x, x, 1.0, np.int32(4)))


def test_a_python_int_into_a_long_long_parameter_is_accepted(pool):
    x = cp.arange(4, dtype=cp.float32)
    y = cp.zeros(4, cp.float32)
    _kernel("read_through_mutable")((1,), (32,), (x, y, 4))
    np.testing.assert_array_equal(y.get(), np.arange(4))


def test_numpy_scalars_and_one_element_arrays_of_the_right_width_are_accepted(pool):
    x = cp.arange(4, dtype=cp.float32)
    y = cp.zeros(4, cp.float32)
    _kernel("scale")((1,), (32,), (x, y, np.array([2], np.float32), np.array(4, np.int32)))
    np.testing.assert_array_equal(y.get(), np.arange(4) * 2)
    with pytest.raises(TypeError, match="8-byte int64 value"):
        _kernel("scale")((1,), (32,), (x, y, np.float32(2), np.int64(4)))


def test_a_numpy_array_of_several_elements_is_refused_with_cupys_message(pool):
    y = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match=r"numpy.ndarray of shape \(4,\) as a kernel parameter. Only numpy.ndarrays "
                                        r"of size one can be passed by value"):
        _kernel("scale")((1,), (32,), (np.zeros(4, np.float32), y, np.float32(1), np.int32(4)))


def test_a_device_array_for_a_value_and_a_value_for_a_pointer_are_refused(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="argument 3 is a device pointer, but the kernel's parameter 3 is a 4-byte"):
        _kernel("scale")((1,), (32,), (x, x, np.float32(1), x))
    with pytest.raises(TypeError, match="argument 0 is a 4-byte float32 value, but the kernel's parameter 0 is a "
                                        "pointer"):
        _kernel("scale")((1,), (32,), (np.float32(1), x, np.float32(1), np.int32(4)))


@pytest.mark.parametrize("bad", ["text", [1, 2], object(), {"a": 1}])
def test_an_argument_of_an_unsupported_type_is_a_clear_type_error(pool, bad):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError) as err:
        _kernel("scale")((1,), (32,), (x, x, bad, np.int32(4)))
    assert_names(str(err.value), "'scale'", "argument 2", type(bad).__name__)


def test_args_must_be_a_sequence(pool):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="'args' must be a tuple"):
        _kernel("copy_bits")((1,), (32,), x)


@pytest.mark.parametrize(("grid", "block"), [(1, (32,)), ((1,), 32), ([1], (32,))])
def test_grid_and_block_must_be_tuples_as_in_cupy(pool, grid, block):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(TypeError, match="has incorrect type \\(expected tuple"):
        _kernel("copy_bits")(grid, block, (x, x, np.int32(4)))


# -- launch limits -------------------------------------------------------------------------------

@pytest.mark.parametrize(("grid", "block", "why"), [
    ((1,), (1025,), "1025 threads"),
    ((1,), (32, 33), "1056 threads"),
    ((1,), (1, 1, 65), "block.z"),
    ((1, 65536), (32,), "65535"),
    ((1, 1, 65536), (32,), "65535"),
    ((2**31,), (32,), "2147483647"),
])
def test_launches_beyond_cudas_limits_are_invalid_value(pool, grid, block, why):
    x = cp.zeros(4, cp.float32)
    with pytest.raises(CUDADriverError, match="CUDA_ERROR_INVALID_VALUE") as err:
        _kernel("copy_bits")(grid, block, (x, x, np.int32(4)))
    assert why in str(err.value)


def test_launches_at_cudas_limits_run(pool):
    out = cp.zeros((2, 1024), cp.float32)
    _kernel("fill_rows")((1, 2), (1024,), (out, np.int32(1024)))
    assert out[1, 1023].item() == 1123


# -- pointers are the kernel's accesses ----------------------------------------------------------

def test_a_const_pointer_is_a_read(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
    a.synchronize()
    with a:
        ya = cp.zeros(4, cp.float32)
        _kernel("copy_bits")((1,), (32,), (x, ya, np.int32(4)))
    with b:
        yb = cp.zeros(4, cp.float32)
        _kernel("copy_bits")((1,), (32,), (x, yb, np.int32(4)))  # both only read x: no race
    a.synchronize()
    b.synchronize()
    np.testing.assert_array_equal(ya.get() + yb.get(), np.arange(4) * 2)


def test_a_non_const_pointer_is_a_write_even_if_the_kernel_only_reads_it(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
    a.synchronize()
    with a:
        y = x * 2  # a reads x
        read = here()
        total = x.sum()
    with b:
        z = cp.zeros(4, cp.float32)
        with pytest.raises(RaceError) as err:
            launched = here()
            _kernel("read_through_mutable")((1,), (32,), (x, z, np.int64(4)))  # float* x: a write
    assert_names(str(err.value), "RawKernel read_through_mutable writes it", label_of(b), site_of(launched),
                 "(read it", label_of(a), site_of(read))
    del y, total


def test_a_kernel_writing_what_another_stream_writes_races(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
        y = cp.zeros(4, cp.float32)
        wrote = here()
        _kernel("copy_bits")((1,), (32,), (x, y, np.int32(4)))
    b.wait_event(a.record())
    with b:
        _kernel("copy_bits")((1,), (32,), (x, y, np.int32(4)))  # ordered: fine
    with a, pytest.raises(RaceError) as err:
        y.fill(0)  # a does not wait for b's kernel
    assert_names(str(err.value), "RawKernel copy_bits (wrote it", label_of(b))
    assert site_of(wrote) not in str(err.value)


def test_a_refused_launch_leaves_memory_untouched(pool):
    a, b = streams()
    with a:
        x = cp.arange(4, dtype=cp.float32)
        y = cp.zeros(4, cp.float32)
    with b, pytest.raises(RaceError):
        _kernel("copy_bits")((1,), (32,), (x, y, np.int32(4)))
    np.testing.assert_array_equal(y.get(stream=a), np.zeros(4))


def test_an_array_of_another_device_is_refused(pool, monkeypatch):
    from gpucell import _config

    monkeypatch.setattr(_config, "SIM_DEVICES", 2)
    with cp.cuda.Device(1):
        other = cp.zeros(4, cp.float32)
    x = cp.zeros(4, cp.float32)
    with pytest.raises(ValueError, match="Array device must be same as the current device"):
        _kernel("copy_bits")((1,), (32,), (other, x, np.int32(4)))
