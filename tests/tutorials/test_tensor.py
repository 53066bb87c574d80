"""MindSpore 2.x beginner tutorial "Tensor" (tutorials/source_en/beginner/tensor.md), imports changed.

Each test is one section of the tutorial, its code as written, followed by asserts on what the
tutorial prints.
"""

import numpy as np

import gpucell as mindspore  # was: import mindspore
from gpucell import Tensor, ops  # was: from mindspore import ops / from mindspore import Tensor


def test_creating_tensors(capsys):
    data = [1, 0, 1, 0]
    x_data = Tensor(data)
    print(x_data, x_data.shape, x_data.dtype)

    np_array = np.array(data)
    x_np = Tensor(np_array)
    print(x_np, x_np.shape, x_np.dtype)

    from gpucell.common.initializer import Normal, One  # was: from mindspore.common.initializer import One, Normal

    # Initialize a tensor with ones
    tensor1 = mindspore.Tensor(shape=(2, 2), dtype=mindspore.float32, init=One())
    # Initialize a tensor from normal distribution
    tensor2 = mindspore.Tensor(shape=(2, 2), dtype=mindspore.float32, init=Normal())

    print("tensor1:\n", tensor1)
    print("tensor2:\n", tensor2)

    from gpucell import ops  # noqa: F811 - the tutorial imports it again here

    x_ones = ops.ones_like(x_data)
    print(f"Ones Tensor: \n {x_ones} \n")

    x_zeros = ops.zeros_like(x_data)
    print(f"Zeros Tensor: \n {x_zeros} \n")

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[1 0 1 0] (4,) Int64"
    assert out[1] == "[1 0 1 0] (4,) Int64"
    assert out[2:5] == ["tensor1:", " [[1. 1.]", " [1. 1.]]"]
    assert tensor2.shape == (2, 2) and str(tensor2.dtype) == "Float32"
    assert 0 < np.abs(tensor2.asnumpy()).max() < 0.1  # Normal() is sigma=0.01
    assert "Ones Tensor: " in out and " [1 1 1 1] " in out
    assert "Zeros Tensor: " in out and " [0 0 0 0] " in out


def test_tensor_attributes(capsys):
    x = Tensor(np.array([[1, 2], [3, 4]]), mindspore.int32)

    print("x_shape:", x.shape)
    print("x_dtype:", x.dtype)
    print("x_itemsize:", x.itemsize)
    print("x_nbytes:", x.nbytes)
    print("x_ndim:", x.ndim)
    print("x_size:", x.size)
    print("x_strides:", x.strides)

    assert capsys.readouterr().out.splitlines() == [
        "x_shape: (2, 2)", "x_dtype: Int32", "x_itemsize: 4", "x_nbytes: 16", "x_ndim: 2", "x_size: 4",
        "x_strides: (8, 4)",
    ]


def test_tensor_indexing(capsys):
    tensor = Tensor(np.array([[0, 1], [2, 3]]).astype(np.float32))

    print("First row: {}".format(tensor[0]))  # noqa: UP032
    print("value of bottom right corner: {}".format(tensor[1, 1]))  # noqa: UP032
    print("Last column: {}".format(tensor[:, -1]))  # noqa: UP032
    print("First column: {}".format(tensor[..., 0]))  # noqa: UP032

    assert capsys.readouterr().out.splitlines() == [
        "First row: [0. 1.]", "value of bottom right corner: 3.0", "Last column: [1. 3.]", "First column: [0. 2.]",
    ]


def test_tensor_operations(capsys):
    x = Tensor(np.array([1, 2, 3]), mindspore.float32)
    y = Tensor(np.array([4, 5, 6]), mindspore.float32)

    output_add = x + y
    output_sub = x - y
    output_mul = x * y
    output_div = y / x
    output_mod = y % x
    output_floordiv = y // x

    print("add:", output_add)
    print("sub:", output_sub)
    print("mul:", output_mul)
    print("div:", output_div)
    print("mod:", output_mod)
    print("floordiv:", output_floordiv)

    assert capsys.readouterr().out.splitlines() == [
        "add: [5. 7. 9.]", "sub: [-3. -3. -3.]", "mul: [ 4. 10. 18.]", "div: [4.  2.5 2. ]", "mod: [0. 1. 0.]",
        "floordiv: [4. 2. 2.]",
    ]


def test_concat_and_stack(capsys):
    data1 = Tensor(np.array([[0, 1], [2, 3]]).astype(np.float32))
    data2 = Tensor(np.array([[4, 5], [6, 7]]).astype(np.float32))
    output = ops.concat((data1, data2), axis=0)

    print(output)
    print("shape:\n", output.shape)

    assert capsys.readouterr().out == "[[0. 1.]\n [2. 3.]\n [4. 5.]\n [6. 7.]]\nshape:\n (4, 2)\n"

    data1 = Tensor(np.array([[0, 1], [2, 3]]).astype(np.float32))
    data2 = Tensor(np.array([[4, 5], [6, 7]]).astype(np.float32))
    output = ops.stack([data1, data2])

    print(output)
    print("shape:\n", output.shape)

    assert capsys.readouterr().out == "[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]\nshape:\n (2, 2, 2)\n"


def test_tensor_and_numpy(capsys):
    t = Tensor([1., 1., 1., 1., 1.])
    print(f"t: {t}", type(t))
    n = t.asnumpy()
    print(f"n: {n}", type(n))

    assert capsys.readouterr().out.splitlines() == [
        "t: [1. 1. 1. 1. 1.] <class 'gpucell.tensor.Tensor'>",  # MindSpore: mindspore.common.tensor.Tensor
        "n: [1. 1. 1. 1. 1.] <class 'numpy.ndarray'>",
    ]

    n = np.ones(5)
    t = Tensor.from_numpy(n)

    np.add(n, 1, out=n)
    print(f"n: {n}", type(n))
    print(f"t: {t}", type(t))

    # from_numpy shares the array's memory on the CPU, so t sees the in-place add.
    assert capsys.readouterr().out.splitlines() == [
        "n: [2. 2. 2. 2. 2.] <class 'numpy.ndarray'>",
        "t: [2. 2. 2. 2. 2.] <class 'gpucell.tensor.Tensor'>",
    ]
