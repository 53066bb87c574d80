"""Regression tests for the gpucell fixes the beginner-tutorial ports (tests/tutorials, issue 13) needed."""

import numpy as np
import pytest

import gpucell as ms
from gpucell.dataset import GeneratorDataset, NumpySlicesDataset, transforms, vision


def test_tensor_strides_are_c_contiguous_bytes():
    assert ms.Tensor(np.array([[1, 2], [3, 4]]), ms.int32).strides == (8, 4)
    assert ms.Tensor(np.zeros((2, 3, 4), np.float64)).strides == (96, 32, 8)
    assert ms.Tensor(np.ones((3, 2), np.float32).T).strides == (12, 4)  # a view still reports its own layout
    assert ms.Tensor(2.0).strides == ()


def test_iterating_a_dataset_yields_lists():
    dataset = GeneratorDataset([np.array(1), np.array(2)], column_names=["data"], shuffle=False)
    rows = list(dataset)
    assert all(isinstance(row, list) for row in rows)
    assert [int(row[0].asnumpy()) for row in rows] == [1, 2]


def test_numpy_slices_tuple_of_lists_is_one_column_each():
    data = ([[1, 2], [3, 4], [5, 6]], [0, 1, 0])
    dataset = NumpySlicesDataset(data=data, column_names=["data", "label"], shuffle=False)
    assert dataset.get_col_names() == ["data", "label"]
    first = next(iter(dataset.create_tuple_iterator()))
    assert first[0].shape == (2,) and first[1].shape == ()
    # a list of plain lists stays one column
    single = NumpySlicesDataset(data=[[1, 2], [3, 4]], column_names=["data"], shuffle=False)
    assert single.get_col_names() == ["data"] and single.get_dataset_size() == 2


def test_vision_and_transforms():
    img = np.array([[[0], [255]], [[51], [102]]], np.uint8)  # (2, 2, 1) HWC
    rescaled = vision.Rescale(1.0 / 255.0, 0)(img)
    assert rescaled.dtype == np.float32
    np.testing.assert_allclose(rescaled[..., 0], [[0, 1], [0.2, 0.4]], rtol=1e-6)
    normalized = vision.Normalize(mean=(0.5,), std=(0.25,))(rescaled)
    np.testing.assert_allclose(normalized[..., 0], [[-2, 2], [-1.2, -0.4]], rtol=1e-5)
    chw = vision.HWC2CHW()(normalized)
    assert chw.shape == (1, 2, 2) and chw.flags.c_contiguous
    rgb = np.ones((2, 2, 3), np.float32)
    out = vision.Normalize(mean=[0.0, 1.0, 2.0], std=[1.0, 2.0, 4.0])(rgb)
    np.testing.assert_allclose(out[0, 0], [1.0, 0.0, -0.25])
    chw_in = np.ones((3, 2, 2), np.float32)
    out = vision.Normalize(mean=[0.0, 1.0, 2.0], std=[1.0, 2.0, 4.0], is_hwc=False)(chw_in)
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 0.0, -0.25])
    with pytest.raises(RuntimeError, match="channels"):
        vision.Normalize(mean=[0.0, 1.0], std=[1.0, 1.0])(rgb)
    with pytest.raises(ValueError, match="positive"):
        vision.Normalize(mean=0.0, std=0.0)
    assert transforms.TypeCast(ms.int32)(np.uint32(7)).dtype == np.int32
    assert transforms.TypeCast(np.float16)(np.array([1, 2])).dtype == np.float16
