"""gpucell.dataset: ArrayLoader / NumpySlicesDataset batching and shuffling, and the shipped digits."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor
from gpucell.dataset import ArrayLoader, NumpySlicesDataset, load_digits, load_digits_split


def make_data(n=23):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int32) * 10  # y[i] == x[i, 0] / 3 * 10: rows stay paired
    return x, y


def epoch_rows(loader, output_numpy=True):
    return [tuple(np.asarray(c) if output_numpy else c for c in batch)
            for batch in loader.iter_epoch(output_numpy=output_numpy)]


# -- batching ----------------------------------------------------------------------------------
@pytest.mark.parametrize("drop_last, sizes", [(False, [5, 5, 5, 5, 3]), (True, [5, 5, 5, 5])])
def test_batches_cover_the_data_in_order(device, drop_last, sizes):
    x, y = make_data()
    loader = ArrayLoader((x, y), batch_size=5, drop_last=drop_last, device=device)
    assert len(loader) == loader.get_dataset_size() == len(sizes)
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == sizes
    for xb, yb in batches:
        assert isinstance(xb, Tensor) and xb.device == device and yb.device == device
        assert xb.dtype is ms.float32 and yb.dtype is ms.int32 and xb.shape[1:] == (3,)
    got = np.concatenate([b[0].asnumpy() for b in batches])
    assert np.array_equal(got, x[:sum(sizes)])


def test_batch_size_larger_than_data_and_exact_multiple():
    x, y = make_data(10)
    assert [b[0].shape[0] for b in ArrayLoader((x, y), batch_size=32)] == [10]
    assert len(ArrayLoader((x, y), batch_size=5, drop_last=True)) == 2
    with pytest.raises(ValueError, match="leaves no batch"):
        ArrayLoader((x, y), batch_size=32, drop_last=True)


# -- shuffling ---------------------------------------------------------------------------------
def test_shuffle_keeps_rows_paired_and_is_a_permutation():
    x, y = make_data()
    loader = ArrayLoader((x, y), batch_size=4, shuffle=True, seed=3)
    rows = epoch_rows(loader)
    xs = np.concatenate([r[0] for r in rows])
    ys = np.concatenate([r[1] for r in rows])
    assert np.array_equal(ys, (xs[:, 0] / 3 * 10).astype(np.int32))
    assert sorted(ys.tolist()) == y.tolist() and ys.tolist() != y.tolist()


def test_same_seed_same_orders_new_order_each_epoch():
    x, y = make_data()
    a = ArrayLoader((x, y), batch_size=4, shuffle=True, seed=7)
    b = ArrayLoader((x, y), batch_size=4, shuffle=True, seed=7)
    c = ArrayLoader((x, y), batch_size=4, shuffle=True, seed=8)
    orders_a = [np.concatenate([r[1] for r in epoch_rows(a)]).tolist() for _ in range(3)]
    orders_b = [np.concatenate([r[1] for r in epoch_rows(b)]).tolist() for _ in range(3)]
    first_c = np.concatenate([r[1] for r in epoch_rows(c)]).tolist()
    assert orders_a == orders_b
    assert orders_a[0] != orders_a[1] != orders_a[2] and orders_a[0] != orders_a[2]
    assert first_c != orders_a[0]
    assert a.epoch == 3
    assert a.order(1).tolist() == [v // 10 for v in orders_a[1]]  # order(e) replays any epoch


def test_seed_defaults_to_the_global_seed():
    x, y = make_data()
    before = ms.get_seed()
    try:
        ms.set_seed(11)
        first = ArrayLoader((x, y), shuffle=True).order(0)
        ms.set_seed(12)
        other = ArrayLoader((x, y), shuffle=True).order(0)
        ms.set_seed(11)
        again = ArrayLoader((x, y), shuffle=True).order(0)
    finally:
        ms.set_seed(before)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_no_shuffle_is_the_identity_every_epoch():
    x, y = make_data()
    loader = ArrayLoader((x, y), batch_size=6)
    for _ in range(2):
        assert np.concatenate([r[1] for r in epoch_rows(loader)]).tolist() == y.tolist()


# -- MindSpore-style API -----------------------------------------------------------------------
def test_iterators_run_one_epoch_per_pass_and_stop_after_num_epochs():
    x, y = make_data(12)
    loader = ArrayLoader({"image": x, "label": y}, batch_size=4, shuffle=True, seed=1)
    assert loader.get_col_names() == ["image", "label"] and loader.get_batch_size() == 4
    iterator = loader.create_dict_iterator(num_epochs=2)
    epochs = [[batch["label"].asnumpy().tolist() for batch in iterator] for _ in range(3)]
    assert [len(e) for e in epochs] == [3, 3, 0]
    assert epochs[0] != epochs[1]
    assert all(isinstance(b, dict) and set(b) == {"image", "label"} for b in
               loader.create_dict_iterator(num_epochs=1))

    tuples = list(loader.create_tuple_iterator(columns=["label"], num_epochs=1, output_numpy=True))
    assert all(isinstance(t, list) and len(t) == 1 and isinstance(t[0], np.ndarray) for t in tuples)
    with pytest.raises(ValueError, match="unknown columns"):
        loader.create_tuple_iterator(columns=["nope"])
    with pytest.raises(ValueError, match="num_epochs"):
        loader.create_tuple_iterator(num_epochs=0)


def test_numpy_slices_dataset_yields_rows_then_batches():
    x, y = make_data(10)
    rows = NumpySlicesDataset((x, y), column_names=["x", "y"], shuffle=False)
    assert rows.get_dataset_size() == 10 and rows.get_col_names() == ["x", "y"]
    first = next(iter(rows))
    assert first[0].shape == (3,) and first[1].shape == ()
    batched = NumpySlicesDataset({"x": x, "y": y}, seed=0).batch(4, drop_remainder=True)
    assert batched.get_dataset_size() == 2
    assert [b[0].shape for b in batched] == [(4, 3), (4, 3)]
    labels = [v for b in batched.create_tuple_iterator(num_epochs=1, output_numpy=True) for v in b[1]]
    assert labels != sorted(labels)  # MindSpore shuffles NumpySlicesDataset by default
    assert ArrayLoader(x, batch_size=3).shuffle(buffer_size=100).order(0).tolist() != list(range(10))


def test_dtypes_are_kept():
    data = (np.zeros((4, 2), np.float64), np.zeros(4, np.uint8), np.zeros(4, np.bool_))
    batch = next(iter(ArrayLoader(data, batch_size=2)))
    assert [t.dtype for t in batch] == [ms.float64, ms.uint8, ms.bool_]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, "'batch_size' must be an int >= 1"),
    ({"batch_size": True}, ValueError, "'batch_size' must be an int >= 1"),
    ({"seed": -1}, ValueError, "'seed'"),
    ({"shuffle": 1}, TypeError, "'shuffle' must be a bool"),
    ({"device": "TPU"}, ValueError, "'GPU', 'CPU' or 'SIM'"),
])
def test_bad_settings_are_refused(kwargs, error, message):
    x, y = make_data()
    with pytest.raises(error, match=message):
        ArrayLoader((x, y), **kwargs)


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="same number of samples"):
        ArrayLoader((np.zeros((4, 2)), np.zeros(5)))
    with pytest.raises(ValueError, match="no samples"):
        ArrayLoader(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="scalar"):
        ArrayLoader(np.float32(1.0))
    with pytest.raises(ValueError, match="'column_names'"):
        ArrayLoader((np.zeros(4), np.zeros(4)), column_names=["a"])


@pytest.mark.gpu
def test_gpu_prefetch_matches_the_host_path_and_batches_are_not_reused():
    x = np.random.default_rng(0).standard_normal((1000, 64)).astype(np.float32)
    y = np.arange(1000, dtype=np.int32)
    kept = list(ArrayLoader((x, y), batch_size=64, shuffle=True, seed=2, device="GPU"))
    plain = list(ArrayLoader((x, y), batch_size=64, shuffle=True, seed=2, device="GPU", prefetch=False))
    host = epoch_rows(ArrayLoader((x, y), batch_size=64, shuffle=True, seed=2))
    assert len(kept) == len(plain) == len(host) == 16
    for (xk, yk), (xp, yp), (xh, yh) in zip(kept, plain, host):  # all held at once: none overwritten
        assert xk.device == "GPU" and np.array_equal(xk.asnumpy(), xh) and np.array_equal(yk.asnumpy(), yh)
        assert np.array_equal(xp.asnumpy(), xh) and np.array_equal(yp.asnumpy(), yh)


@pytest.mark.gpu
def test_gpu_prefetch_orders_the_copy_before_the_consumer():
    """A consumer on a busy non-default stream sees each batch's data, never the previous slot's."""
    from gpucell.backend.streams import Stream
    x = np.repeat(np.arange(40, dtype=np.float32)[:, None], 1 << 18, axis=1)  # 1 MiB per row
    loader = ArrayLoader((x,), batch_size=4, device="GPU")
    consumer = Stream(non_blocking=True)
    seen = []
    with consumer:
        for (xb,) in loader:
            total = (xb * 1.0).asnumpy()[:, :4]
            seen.append(total[:, 0].tolist())
    assert seen == [[float(i) for i in range(k, k + 4)] for k in range(0, 40, 4)]


# -- the digits ----------------------------------------------------------------------------------
def test_digits_shapes_dtypes_and_values():
    images, labels = load_digits()
    assert images.shape == (1797, 64) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int32
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.allclose(images * 16, np.round(images * 16))  # pixels were integers 0..16
    assert sorted(set(labels.tolist())) == list(range(10))
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert round(float(images.sum(dtype=np.float64)) * 16) == 561718  # the data itself
    assert labels[:10].tolist() == list(range(10))
    cube, same = load_digits(as_image=True)
    assert cube.shape == (1797, 1, 8, 8) and np.array_equal(cube.reshape(1797, 64), images)
    assert np.array_equal(same, labels)


def test_digits_returns_fresh_arrays():
    images, labels = load_digits()
    images[:] = 0
    labels[:] = 0
    again, again_labels = load_digits()
    assert again.max() == 1.0 and again_labels.max() == 9


def test_digits_split_is_fixed_stratified_and_disjoint():
    (x_train, y_train), (x_test, y_test) = load_digits_split()
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    _, labels = load_digits()
    counts = np.bincount(labels)
    test_counts = np.bincount(y_test, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * counts) <= 1)
    rows = {r.tobytes() for r in x_test}
    assert sum(r.tobytes() in rows for r in x_train) <= 5  # the UCI set holds a few duplicate images
    assert np.array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(labels))
    (_, y_train2), (x_test2, _) = load_digits_split(as_image=True)
    assert np.array_equal(y_train, y_train2) and x_test2.shape == (359, 1, 8, 8)
    assert y_test[:10].tolist() == load_digits_split()[1][1][:10].tolist()
