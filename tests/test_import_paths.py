"""MindSpore's import paths, so ported code runs with only ``mindspore`` renamed: common.dtype as
mstype, ops.operations as P, ops.functional as F, ops.composite as C, ms_function (deprecated alias
of jit, with a DeprecationWarning), Tensor.from_numpy, nn.Identity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpucell as ms
from gpucell import nn, ops


def test_mstype():
    import gpucell.common.dtype as mstype

    assert mstype.float32 is ms.float32 and mstype.int64 is ms.int64 and mstype.bool_ is ms.bool_
    assert mstype.float16 in mstype.float_type and mstype.int32 in mstype.int_type
    assert mstype.uint8 in mstype.number_type and mstype.bool_ in mstype.all_types
    assert mstype.dtype_to_nptype(mstype.float16) is np.float16
    assert mstype.pytype_to_dtype(np.int32) is mstype.int32 and mstype.pytype_to_dtype(float) is mstype.float32
    assert mstype.dtype_to_pytype(mstype.int8) is int and mstype.dtype_to_pytype(mstype.bool_) is bool
    assert ms.Tensor([1, 2], mstype.float32).dtype == mstype.float32
    from gpucell.common import dtype

    assert dtype is mstype


def test_operations_as_p(device):
    from gpucell.ops import operations as P

    x = ms.Tensor(np.array([[1.0, -2.0]]), ms.float32, device=device)
    w = ms.Tensor(np.array([[3.0], [4.0]]), ms.float32, device=device)
    assert P.MatMul()(x, w).asnumpy().tolist() == [[-5.0]]
    assert P.ReLU()(x).asnumpy().tolist() == [[1.0, 0.0]]
    assert P.ReduceSum(keep_dims=True)(x, 1).asnumpy().tolist() == [[-1.0]]
    assert P.Shape()(x) == (1, 2) and P.OneHot is ops.OneHot and P.Identity is ops.Identity
    for name in P.__all__:
        assert getattr(P, name) is getattr(ops, name), name


def test_functional_as_f(device):
    from gpucell.ops import functional as F

    x = ms.Tensor([1.0, 4.0], device=device)
    assert F.shape(x) == (2,) and F.rank(x) == 1 and F.size(x) == 2 and F.dtype(x) == ms.float32
    assert F.sqrt(x).asnumpy().tolist() == [1.0, 2.0]
    assert F.tensor_add(x, x).asnumpy().tolist() == [2.0, 8.0]
    assert F.depend(x, F.square(x)) is x
    assert F.partial(F.mul, 2.0)(x).asnumpy().tolist() == [2.0, 8.0]
    for name in F.__all__:
        assert hasattr(F, name), name
    missing = [n for n in ops.__all__ if n[0].islower() and not hasattr(F, n)]
    assert not missing, missing


def test_composite_as_c(device):
    from gpucell.ops import composite as C
    from gpucell.ops import functional as F

    assert C.GradOperation is ms.GradOperation and C.clip_by_value is ops.clip_by_value
    net = nn.Dense(2, 1, weight_init="ones", bias_init="zeros")
    x = ms.Tensor(np.array([[1.0, 2.0]]), ms.float32, device=device)
    grads = C.GradOperation(get_by_list=True)(net, net.trainable_params())(x)
    assert grads[0].asnumpy().tolist() == [[1.0, 2.0]]

    apply_decay = C.MultitypeFuncGraph("apply_decay")

    @apply_decay.register("Number", "Tensor", "Tensor")
    def _decay(weight_decay, weight, gradient):
        return gradient + weight * weight_decay

    @apply_decay.register("Number", "Tensor", "Tuple")
    def _decay_tuple(weight_decay, weight, gradient):
        return gradient

    weights = (ms.Tensor([1.0], device=device), ms.Tensor([2.0], device=device))
    grads = (ms.Tensor([0.5], device=device), ms.Tensor([0.25], device=device))
    out = C.HyperMap()(F.partial(apply_decay, 0.1), weights, grads)
    assert isinstance(out, tuple)
    np.testing.assert_allclose([t.asnumpy() for t in out], [[0.6], [0.45]], rtol=1e-6)
    out = C.Map(F.partial(apply_decay, 0.0))(list(weights), list(grads))
    assert isinstance(out, list) and out[1].asnumpy().tolist() == [0.25]
    nested = C.HyperMap(F.square)(((ms.Tensor([2.0]),), ms.Tensor([3.0])))
    assert nested[0][0].asnumpy().tolist() == [4.0] and nested[1].asnumpy().tolist() == [9.0]
    with pytest.raises(TypeError, match=r"For 'MultitypeFuncGraph' 'apply_decay', no registered function takes "
                                        r"\(str, Tensor, Tensor\)"):
        apply_decay("a", weights[0], grads[0])
    with pytest.raises(TypeError, match="unknown type name 'Tensr'"):
        apply_decay.register("Tensr")
    with pytest.raises(TypeError, match="For 'HyperMap', the inputs must be tuples or lists of one length"):
        C.HyperMap()(F.add, weights, grads[:1])


def test_ms_function_is_a_deprecated_jit(device):
    with pytest.warns(DeprecationWarning, match="'gpucell.ms_function' will be deprecated and removed in a future "
                                                "version. Please use 'gpucell.jit' instead."):
        double = ms.ms_function(lambda x: x * 2)
    x = ms.Tensor([1.0, 2.0], device=device)
    assert double(x).asnumpy().tolist() == [2.0, 4.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @ms.ms_function()
        def triple(t):
            return t * 3

    assert triple(x).asnumpy().tolist() == [3.0, 6.0]
    from gpucell.common.api import jit, ms_function

    assert ms_function is ms.ms_function and callable(jit)


def test_tensor_from_numpy_and_nn_identity():
    assert ms.Tensor.from_numpy(np.zeros(3, np.float32)).dtype == ms.float32
    assert "Identity" in nn.__all__ and isinstance(nn.Identity(), nn.Cell)
