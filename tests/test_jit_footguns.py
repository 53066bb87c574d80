"""The surprising behaviours of gpucell.jit, written down as tests (after tinygrad's footgun tests).

Each test is a behaviour a user could trip on; its docstring says what to do instead.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, ops
from gpucell.jit import TraceError, cache_info, clear_cache


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_python_side_effects_run_only_while_tracing():
    """Only ops are replayed: a print or a counter in the body runs on the first call of a key."""
    calls = []

    @ms.jit
    def f(x):
        calls.append(1)
        return x + 1

    for _ in range(3):
        f(Tensor([1.0]))
    assert len(calls) == 1


def test_a_captured_tensor_is_a_constant_of_the_plan():
    """A Tensor read from an enclosing scope is baked in: rebinding the name is not seen by replays.
    Pass changing values as arguments or keep them in Parameters (which are read live)."""
    offset = Tensor([1.0])

    @ms.jit
    def f(x):
        return x + offset

    f(Tensor([0.0]))
    offset = Tensor([100.0])  # noqa: F841 - the rebinding is the point
    np.testing.assert_array_equal(f(Tensor([0.0])).asnumpy(), [1.0])


def test_in_place_change_of_a_captured_tensor_is_seen():
    """The plan keeps the captured array itself, so writing into it in place does reach replays."""
    offset = Tensor([1.0])

    @ms.jit
    def f(x):
        return x + offset

    f(Tensor([0.0]))
    offset[0] = 5.0
    np.testing.assert_array_equal(f(Tensor([0.0])).asnumpy(), [5.0])


SCALE = Tensor([2.0])  # a module-level tensor read by the jitted function below


def test_rebinding_a_global_tensor_is_not_seen_but_writing_into_it_is():
    """A global Tensor is captured like any other: the plan keeps the array it saw while tracing.
    ``SCALE[...] = v`` writes into that array and reaches every replay;
    ``SCALE = Tensor(v)`` binds a new object the plan never reads. Keep changing values in a
    Parameter or pass them as arguments."""
    global SCALE
    SCALE = Tensor([2.0])

    @ms.jit
    def f(x):
        return x * SCALE

    np.testing.assert_array_equal(f(Tensor([1.0])).asnumpy(), [2.0])
    SCALE[0] = 3.0  # in place: seen
    np.testing.assert_array_equal(f(Tensor([1.0])).asnumpy(), [3.0])
    SCALE = Tensor([10.0])  # rebinding: not seen, the replay still reads the old array
    np.testing.assert_array_equal(f(Tensor([1.0])).asnumpy(), [3.0])
    assert cache_info().plans == 1
    np.testing.assert_array_equal((Tensor([1.0]) * SCALE).asnumpy(), [10.0])  # eager sees it


def test_each_new_python_number_is_a_new_plan():
    """Python numbers are part of the key: a learning rate passed as a float retraces per value.
    Pass values that change every call as Tensors (or keep them in a Parameter)."""
    @ms.jit
    def scale(x, k):
        return x * k

    for k in (0.1, 0.2, 0.3):
        scale(Tensor([1.0]), k)
    assert cache_info().plans == 3
    clear_cache()
    for k in (0.1, 0.2, 0.3):
        out = scale(Tensor([1.0]), Tensor(k))
    assert cache_info().plans == 1
    np.testing.assert_allclose(out.asnumpy(), [0.3])


def test_parameters_are_read_live_at_every_replay():
    """Unlike captured Tensors, Parameters are read when the plan runs: set_data is always seen."""
    w = Parameter(Tensor([2.0]), name="w")

    @ms.jit
    def f(x):
        return x * w

    f(Tensor([1.0]))
    w.set_data(Tensor([3.0]))
    np.testing.assert_array_equal(f(Tensor([1.0])).asnumpy(), [3.0])


def test_a_returned_parameter_is_the_live_object():
    """Returning a Parameter returns the Parameter itself, not a snapshot of its value."""
    w = Parameter(Tensor([2.0]), name="w")

    @ms.jit
    def f():
        ops.assign_add(w, Tensor([1.0]))
        return w

    first = f()
    second = f()
    assert first is w and second is w
    np.testing.assert_array_equal(first.asnumpy(), [4.0])


def test_a_jitted_call_inside_another_is_inlined():
    """A jitted function called while another traces adds its ops to the outer plan."""
    inner = ms.jit(lambda x: x * 2)
    outer = ms.jit(lambda x: inner(x) + 1)
    for _ in range(2):
        np.testing.assert_array_equal(outer(Tensor([1.0])).asnumpy(), [3.0])
    assert cache_info().plans == 1


def test_branching_on_a_tensor_is_refused_not_baked():
    """An ``if`` on a tensor inside jit raises: baking one branch in would be silently wrong.
    Write the choice with ops (ops.select, or a multiply by the mask) so it is in the plan."""
    @ms.jit
    def relu_if(x):
        return x if x > 0 else x * 0

    with pytest.raises(TraceError, match="bool"):
        relu_if(Tensor([1.0]))

    @ms.jit
    def relu_select(x):
        return x * (x > 0)

    np.testing.assert_array_equal(relu_select(Tensor([-1.0])).asnumpy(), [0.0])
    np.testing.assert_array_equal(relu_select(Tensor([2.0])).asnumpy(), [2.0])


def test_a_jitted_call_inside_a_gradient_transform_runs_eagerly():
    """A replayed plan would bypass autograd's recording, so inside grad/value_and_grad a jitted
    function (or a GRAPH_MODE Cell call) runs eagerly and its gradient flows. Jit the whole step."""
    w = Parameter(Tensor([3.0]), name="w")
    scaled = ms.jit(lambda x: x * w)
    grad_fn = ms.grad(lambda x: scaled(x).sum(), None, (w,))
    for value in (2.0, 5.0):
        (g,) = grad_fn(Tensor([value]))
        np.testing.assert_array_equal(g.asnumpy(), [value])
    assert cache_info().plans == 0
