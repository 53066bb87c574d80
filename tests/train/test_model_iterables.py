"""Model.train over plain Python data: lists, zips, generators and generator functions of batches of
NumPy arrays, numbers or lists; the batches become Tensors on the current device."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.train import Callback, Model


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    return x, y


def model(metrics=None):
    ms.set_seed(0)
    net = nn.Dense(4, 2)
    return Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
                 nn.SGD(net.trainable_params(), 0.5), metrics=metrics)


class Seen(Callback):
    def __init__(self):
        self.batches = []

    def on_train_step_begin(self, rc):
        self.batches.append(rc.original_args().train_dataset_element)


def test_plain_list_of_numpy_batches_reaches_the_device(device):
    x, y = data()
    seen = Seen()
    m = model({"accuracy"})
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    m.train(15, batches, callbacks=seen, progress=False)
    data_tensor, label_tensor = seen.batches[0]
    assert isinstance(data_tensor, Tensor) and data_tensor.device == device and label_tensor.dtype == ms.int32
    assert m.eval(batches)["accuracy"] > 0.9


def test_lists_numbers_and_numpy_scalars_in_a_batch_become_tensors():
    x, y = data(8)
    seen = Seen()
    m = model()
    m.train(1, [(x, [int(v) for v in y]), [x, y.tolist()]], callbacks=seen, progress=False)
    assert [b[1].dtype for b in seen.batches] == [ms.int64, ms.int64]
    from gpucell.train.model import _as_tensors
    scalar, number, flag = _as_tensors((np.int32(3), 2.5, True), "Model.train")
    assert (scalar.dtype, scalar.shape, number.dtype, flag.dtype) == (ms.int32, (), ms.float32, ms.bool_)


def test_a_generator_function_is_called_once_per_epoch():
    x, y = data()
    calls = []

    def batches():
        calls.append(1)
        for i in range(0, 64, 32):
            yield x[i:i + 32], y[i:i + 32]

    seen = Seen()
    model().train(3, batches, callbacks=seen, progress=False)
    assert len(calls) == 3 and len(seen.batches) == 6


def test_a_zip_and_a_generator_run_one_epoch():
    x, y = data()
    model().train(1, zip(np.split(x, 4), np.split(y, 4)), progress=False)
    model().train(1, ((x[i:i + 8], y[i:i + 8]) for i in range(0, 64, 8)), progress=False)


def test_bad_batches_are_refused_by_name():
    x, y = data(8)
    with pytest.raises(TypeError, match="For 'Model.train', element 1 of a batch must be a Tensor, a NumPy or CuPy "
                                        "array, a number or a list, but got str"):
        model().train(1, [(x, "labels")], progress=False)
    with pytest.raises(TypeError, match="For 'Model.train', the dataset function must return an iterable of "
                                        "batches"):
        model().train(1, lambda: 3, progress=False)
    with pytest.raises(TypeError, match="For 'Model.train', the dataset must be iterable"):
        model().train(1, 3, progress=False)
