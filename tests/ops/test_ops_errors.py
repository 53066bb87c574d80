"""Bad input raises TypeError / ValueError at the call, naming the op, the argument, what was
expected and what came (MindSpore's wording)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import ops


def T(values, device, dtype=None):
    return ms.Tensor(np.asarray(values), dtype, device=device)


def test_matmul_shapes_and_types(device):
    with pytest.raises(ValueError, match=r"For 'MatMul', the input dimensions must be equal, but got "
                                         r"x1_col: 3 and x2_row: 4"):
        ops.matmul(T(np.ones((2, 3)), device), T(np.ones((4, 5)), device))
    with pytest.raises(ValueError, match="For 'MatMul', the batch dims"):
        ops.matmul(T(np.ones((2, 2, 3)), device), T(np.ones((3, 3, 4)), device))
    with pytest.raises(TypeError, match="For 'MatMul', 'other' must be a Tensor, but got list"):
        ops.matmul(T(np.ones((2, 3)), device), [[1.0]])
    with pytest.raises(ValueError, match="x1_col: 2 and x2_row: 3"):
        ops.MatMul(transpose_a=True)(T(np.ones((2, 3)), device), T(np.ones((3, 4)), device))


def test_select_needs_a_bool_condition_and_matching_dtypes(device):
    x = T([1.0, 2.0], device, ms.float32)
    with pytest.raises(TypeError, match="For 'Select', the dtype of 'cond' must be Bool, but got Float32"):
        ops.select(x, x, x)
    with pytest.raises(TypeError, match="the 'x' and 'y' must have the same dtype, but got Float32 and Int64"):
        ops.select(x > 0, x, T([1, 2], device))
    with pytest.raises(TypeError, match="a float number cannot be selected into a Int64 tensor"):
        ops.select(x > 0, T([1, 2], device), 0.5)
    with pytest.raises(ValueError, match=r"For 'Select', the shapes .* cannot be broadcast"):
        ops.select(x > 0, T([1.0, 2.0, 3.0], device, ms.float32), x)


def test_bad_axes(device):
    x = T(np.ones((2, 3)), device)
    with pytest.raises(ValueError, match=r"For 'ReduceSum', the 'dim' must be in range \[-2, 2\), but got 2"):
        ops.sum(x, 2)
    with pytest.raises(TypeError, match="For 'ReduceMean', the 'axis' must be an int, but got 0.5"):
        ops.mean(x, 0.5)
    with pytest.raises(ValueError, match="must not repeat an axis"):
        ops.sum(x, (0, -2))
    with pytest.raises(ValueError, match=r"For 'Softmax', the 'axis' must be in range \[-2, 2\)"):
        ops.softmax(x, 5)
    with pytest.raises(ValueError, match="For 'Concat', the shape of element 1"):
        ops.concat((x, T(np.ones((3, 3)), device)), 1)
    with pytest.raises(ValueError, match="For 'Squeeze', the dim 1 .* must be 1"):
        ops.squeeze(x, 1)
    with pytest.raises(ValueError, match="For 'BroadcastTo', 'input' of shape"):
        ops.broadcast_to(x, (4, 4))
    with pytest.raises(ValueError, match="For 'Split', the sections"):
        ops.split(x, (1, 1), 1)
    with pytest.raises(ValueError, match=r"For 'Gather', the indices must be in \[-3, 3\)"):
        ops.gather(x, T([3], device), 1)
    with pytest.raises(ValueError, match="For 'max', cannot reduce an empty axis"):
        ops.max(T(np.ones((0, 2)), device), 0)


def test_dropout_arguments(device):
    with pytest.raises(ValueError, match=r"For 'Dropout2D', the 'keep_prob' must be in range of \[0.0, 1.0\], "
                                         r"but got 1.5 with type 'float'."):
        ops.Dropout2D(1.5)
    with pytest.raises(TypeError, match="For 'Dropout', the 'keep_prob' must be a float, but got True"):
        ops.Dropout(True)
    with pytest.raises(ValueError, match=r"For 'Dropout2D', the dimension of 'x' must be 4 \(N, C, H, W\), "
                                         r"but got 3"):
        ops.Dropout2D(0.5)(T(np.ones((1, 2, 3)), device, ms.float32))
    with pytest.raises(TypeError, match="For 'Dropout2D', the dtype of 'x' must be float16"):
        ops.Dropout2D(0.5)(T(np.ones((1, 2, 3, 3), np.int32), device))
    with pytest.raises(ValueError, match=r"For 'dropout', the 'p' must be in range of \[0.0, 1.0\]"):
        ops.dropout(T([1.0], device), p=-0.1)


def test_creation_and_misc(device):
    with pytest.raises(ValueError, match="For 'Fill', the 'shape' must not have negative dims"):
        ops.fill(ms.float32, (2, -1), 1)
    with pytest.raises(TypeError, match="For 'Fill', the 'value' must be a number"):
        ops.fill(ms.float32, (2,), "a")
    with pytest.raises(ValueError, match="For 'Fill', the 'value' 1.5 cannot be stored in int32"):
        ops.fill(ms.int32, (2,), 1.5)
    with pytest.raises(ValueError, match="For 'arange', the 'step' must not be 0"):
        ops.arange(0, 3, 0)
    with pytest.raises(TypeError, match="For 'Sigmoid', the dtype of 'input' must be float16"):
        ops.sigmoid(T([1, 2], device))
    with pytest.raises(ValueError, match="For 'GeLU', the 'approximate' must be 'none' or 'tanh'"):
        ops.gelu(T([1.0], device), "fast")
    with pytest.raises(ValueError, match="For 'BiasAdd', 'bias' must be 1-D with 3 elements"):
        ops.bias_add(T(np.ones((2, 3)), device), T(np.ones(2), device))
    with pytest.raises(TypeError, match="For 'ReduceSum', the 'keepdim' must be a bool"):
        ops.sum(T([1.0], device), None, 1)
    with pytest.raises(TypeError, match="For 'MatMul', the 'transpose_a' must be a bool"):
        ops.MatMul(transpose_a=1)

