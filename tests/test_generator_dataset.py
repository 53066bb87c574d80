"""GeneratorDataset and the pipeline stages (map, batch, shuffle, repeat) on it and on
NumpySlicesDataset / ArrayLoader: MindSpore's semantics, reproducible shuffles, clear errors."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor
from gpucell.dataset import ArrayLoader, GeneratorDataset, NumpySlicesDataset


def rows(n=10):
    return [(np.array([i, -i], np.float32), np.array(i % 3, np.int32)) for i in range(n)]


def first_column(ds, epochs=1) -> list:
    return [int(np.asarray(r[0]).reshape(-1)[0]) for r in
            itertools.chain.from_iterable(ds.iter_epoch(output_numpy=True) for _ in range(epochs))]


class MapStyle:
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, -i], np.float32), np.array(i % 3, np.int32)

    def __len__(self):
        return self.n


class IterStyle:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(rows(self.n))


def gen_fn():
    yield from rows(10)


# -- sources ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, shuffled", [
    (lambda: rows(10), True), (lambda: MapStyle(10), True), (lambda: IterStyle(10), False),
    (lambda: gen_fn, False), (lambda: gen_fn(), False), (lambda: zip(*zip(*rows(10))), True),
])
def test_every_kind_of_source_yields_every_row(make, shuffled):
    ds = GeneratorDataset(make(), column_names=["x", "y"])
    assert ds.get_dataset_size() == 10 and ds.get_col_names() == ["x", "y"]
    for _ in range(2):  # every epoch, a generator object too
        got = first_column(ds)
        assert sorted(got) == list(range(10))
        assert (got != list(range(10))) == shuffled


def test_rows_reach_tensors_on_the_device_with_their_dtypes(device):
    ds = GeneratorDataset(rows(4), column_names=["x", "y"], shuffle=False)
    batches = list(ds.create_tuple_iterator(num_epochs=1))
    assert len(batches) == 4 and isinstance(batches[0], list)
    x, y = batches[3]
    assert isinstance(x, Tensor) and x.device == device and x.dtype == ms.float32 and x.shape == (2,)
    assert y.dtype == ms.int32 and y.shape == () and int(y.asnumpy()) == 0
    dicts = list(ds.create_dict_iterator(num_epochs=1))
    assert list(dicts[1]) == ["x", "y"] and dicts[1]["x"].asnumpy().tolist() == [1.0, -1.0]


def test_rows_of_numbers_lists_single_arrays_and_tensors():
    ds = GeneratorDataset([[1, 2.5], [3, 4.5]], column_names=["a", "b"], shuffle=False)
    assert [(a.dtype, b.dtype) for a, b in ds.create_tuple_iterator(output_numpy=True, num_epochs=1)] == \
        [(np.dtype(np.int64), np.dtype(np.float64))] * 2
    single = GeneratorDataset(np.arange(6).reshape(3, 2), column_names="row", shuffle=False)
    assert [r[0].tolist() for r in single.iter_epoch(output_numpy=True)] == [[0, 1], [2, 3], [4, 5]]
    tensors = GeneratorDataset([(Tensor([1.0]),)], column_names=["t"])
    assert next(tensors.iter_epoch(output_numpy=True))[0].tolist() == [1.0]


def test_strings_come_out_as_numpy_and_are_refused_as_tensors():
    ds = GeneratorDataset([(np.array("cat"), np.array(1))], column_names=["word", "n"])
    assert next(ds.iter_epoch(output_numpy=True))[0] == "cat"
    with pytest.raises(TypeError, match=r"For 'GeneratorDataset', column 'word' holds <U3 data.*output_numpy=True"):
        next(iter(ds))


def test_seeded_shuffle_is_reproducible_and_new_each_epoch():
    ms.set_seed(7)
    a = GeneratorDataset(rows(20), ["x", "y"])
    b = GeneratorDataset(rows(20), ["x", "y"])
    first, second = first_column(a), first_column(a)
    assert first == first_column(b) and second == first_column(b) and first != second
    ms.set_seed(8)
    assert first_column(GeneratorDataset(rows(20), ["x", "y"])) != first
    assert first_column(GeneratorDataset(rows(20), ["x", "y"], seed=3)) == \
        first_column(GeneratorDataset(rows(20), ["x", "y"], seed=3))


def test_num_samples_and_size_of_a_source_without_len():
    ds = GeneratorDataset(IterStyle(10), ["x", "y"], num_samples=4)
    assert ds.get_dataset_size() == 4 and first_column(ds) == [0, 1, 2, 3]
    calls = []

    def counted():
        calls.append(1)
        yield from rows(7)

    ds = GeneratorDataset(counted, ["x", "y"])
    assert ds.get_dataset_size() == 7 and ds.get_dataset_size() == 7 and len(calls) == 1
    assert GeneratorDataset(rows(10), ["x", "y"], num_samples=3).get_dataset_size() == 3


def test_parallel_workers_fetch_in_threads_and_keep_the_order():
    threads = set()

    class Slow(MapStyle):
        def __getitem__(self, i):
            threads.add(threading.get_ident())
            time.sleep(0.002 * ((i * 7) % 5))
            return super().__getitem__(i)

    ds = GeneratorDataset(Slow(30), ["x", "y"], num_parallel_workers=4, shuffle=False)
    assert first_column(ds) == list(range(30))
    assert len(threads) > 1


def test_a_row_of_the_wrong_width_or_type_is_a_runtime_error():
    ds = GeneratorDataset([(np.array(1),), (np.array(1), np.array(2))], ["a", "b"], shuffle=False)
    with pytest.raises(RuntimeError, match=r"every row must hold 2 columns \['a', 'b'\], but row 0 of epoch 0 holds 1"):
        list(ds.iter_epoch(output_numpy=True))
    typed = GeneratorDataset([(np.array(1.0),)], ["a"], column_types=[ms.int32])
    with pytest.raises(RuntimeError, match=r"column 'a' must be Int32 as 'column_types' says, but row 0 holds float64"):
        list(typed.iter_epoch(output_numpy=True))
    with pytest.raises(TypeError, match="a row must be an array, a number, a Tensor or a tuple of them, but got "
                                        "a dict"):
        list(GeneratorDataset([{"a": 1}], ["a"]).iter_epoch(output_numpy=True))


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"source": 3}, TypeError, "'source' must be a generator function \\(callable\\), an iterable or a "
                               "random-accessible object .* but got int"),
    ({"column_names": None}, ValueError, "'column_names' must be given"),
    ({"column_names": ["a", "a"]}, ValueError, "'column_names' must not repeat a name"),
    ({"column_names": [1, 2]}, TypeError, "'column_names' must be a non-empty str or a non-empty list"),
    ({"column_names": []}, TypeError, "'column_names' must be a non-empty str or a non-empty list"),
    ({"shuffle": 1}, TypeError, "'shuffle' must be a bool, but got 1"),
    ({"source": gen_fn, "shuffle": True}, ValueError, "'shuffle=True' needs a random-accessible 'source'"),
    ({"num_samples": 0}, ValueError, r"'num_samples' must be in \[1, 2147483647\], but got 0"),
    ({"num_samples": 2.0}, TypeError, "'num_samples' must be an int, but got 2.0"),
    ({"num_parallel_workers": 0}, ValueError, r"'num_parallel_workers' must be in \[1, 1024\], but got 0"),
    ({"column_types": [ms.float32]}, TypeError, "'column_types' must be a list of 2 dtypes"),
    ({"python_multiprocessing": "no"}, TypeError, "'python_multiprocessing' must be a bool"),
    ({"num_shards": 2}, ValueError, "'num_shards' is given but 'shard_id' is None"),
    ({"sampler": object()}, NotImplementedError, "'sampler' supports gpucell.dataset.DistributedSampler only"),
    ({"schema": "schema.json"}, NotImplementedError, "'schema' is not supported by gpucell"),
])
def test_bad_arguments_are_refused_by_name(kwargs, error, fragment):
    args = {"source": rows(3), "column_names": ["x", "y"], **kwargs}
    with pytest.raises(error, match=rf"For 'GeneratorDataset', {fragment}"):
        GeneratorDataset(**args)


def test_a_source_function_must_return_an_iterable():
    assert [int(r[0]) for r in GeneratorDataset(lambda: [1, 2], ["a"]).iter_epoch(output_numpy=True)] == [1, 2]
    with pytest.raises(TypeError, match="the generator function 'source' must return an iterable of rows "
                                        r"\(use yield\), but it returned int"):
        list(GeneratorDataset(lambda: 3, ["a"]).iter_epoch())


# -- map ----------------------------------------------------------------------------------------
def test_map_one_column_in_place(device):
    ds = GeneratorDataset(rows(4), ["x", "y"], shuffle=False).map(lambda x: x * 2, input_columns="x")
    assert ds.get_col_names() == ["x", "y"]
    x, y = next(iter(ds.create_tuple_iterator(num_epochs=1)))
    assert x.device == device and x.asnumpy().tolist() == [0.0, 0.0]
    assert [r[0].tolist() for r in ds.iter_epoch(output_numpy=True)][3] == [6.0, -6.0]


def test_map_defaults_to_the_first_column_and_chains_operations():
    ds = GeneratorDataset(rows(3), ["x", "y"], shuffle=False)
    ds = ds.map([lambda x: x + 1, lambda x: x * 10])
    assert [r[0].tolist() for r in ds.iter_epoch(output_numpy=True)] == [[10, 10], [20, 0], [30, -10]]


def test_map_with_other_outputs_puts_them_first_as_mindspore_does():
    ds = GeneratorDataset([(np.array(1), np.array(2), np.array(3))], ["a", "b", "c"])
    split = ds.map(lambda b: (b, b * 10), input_columns="b", output_columns=["b1", "b2"])
    assert split.get_col_names() == ["b1", "b2", "a", "c"]
    assert [int(v) for v in next(split.iter_epoch(output_numpy=True))] == [2, 20, 1, 3]
    merged = ds.map(lambda a, c: a + c, input_columns=["a", "c"], output_columns="s")
    assert merged.get_col_names() == ["s", "b"]
    assert [int(v) for v in next(merged.iter_epoch(output_numpy=True))] == [4, 2]
    renamed = ds.map(lambda c, a: (a, c), input_columns=["c", "a"], output_columns=["z", "w"])
    assert renamed.get_col_names() == ["w", "b", "z"]
    assert [int(v) for v in next(renamed.iter_epoch(output_numpy=True))] == [3, 2, 1]


def test_map_returning_a_list_makes_one_column():
    ds = GeneratorDataset([(np.array(1),)], ["a"]).map(lambda a: [a, a + 1])
    assert next(ds.iter_epoch(output_numpy=True))[0].tolist() == [1, 2]


def test_map_in_threads_keeps_the_row_order():
    threads = set()

    def slow(x):
        threads.add(threading.get_ident())
        time.sleep(0.001 * (int(x[0]) % 4))
        return x + 100

    ds = GeneratorDataset(rows(40), ["x", "y"], shuffle=False).map(slow, "x", num_parallel_workers=4)
    assert first_column(ds) == list(range(100, 140)) and len(threads) > 1


def test_map_errors():
    ds = GeneratorDataset(rows(3), ["x", "y"])
    with pytest.raises(TypeError, match="For 'map', 'operations' must be a callable or a non-empty list"):
        ds.map(3)
    with pytest.raises(TypeError, match="For 'map', 'operations' must be a callable or a non-empty list"):
        ds.map([])
    with pytest.raises(ValueError, match=r"For 'map', the 'input_columns' \['z'\] are not columns of the dataset"):
        ds.map(abs, input_columns="z")
    with pytest.raises(ValueError, match=r"For 'map', the 'output_columns' \['y'\] collide with the columns kept"):
        ds.map(lambda x: x, input_columns="x", output_columns="y")
    with pytest.raises(ValueError, match=r"For 'map', 'num_parallel_workers' must be in \[1, 1024\]"):
        ds.map(abs, num_parallel_workers=0)
    with pytest.raises(TypeError, match="For 'map', got an unexpected keyword argument 'column_order'"):
        ds.map(abs, column_order=["x"])
    with pytest.raises(NotImplementedError, match="For 'map', 'cache' is not supported"):
        ds.map(abs, cache=object())
    ds.map(abs, python_multiprocessing=True, max_rowsize=16)  # accepted, threads are used
    wide = ds.map(lambda x: (x, x), input_columns="x")
    with pytest.raises(RuntimeError, match=r"For 'map', the operations returned 2 columns, but the output columns "
                                           r"are \['x'\]"):
        list(wide.iter_epoch(output_numpy=True))


# -- batch, shuffle, repeat ------------------------------------------------------------------------
@pytest.mark.parametrize("drop, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_batch_stacks_rows(device, drop, sizes):
    ds = GeneratorDataset(rows(10), ["x", "y"], shuffle=False).batch(4, drop_remainder=drop)
    got = list(ds.create_tuple_iterator(num_epochs=1))
    assert [x.shape[0] for x, _ in got] == sizes and ds.get_dataset_size() == len(sizes)
    assert ds.get_batch_size() == 4 and got[0][0].shape == (4, 2) and got[0][1].dtype == ms.int32
    assert got[1][0].device == device and got[1][0].asnumpy()[:, 0].tolist() == [4, 5, 6, 7]


def test_batch_refuses_rows_of_different_shapes_and_bad_arguments():
    ragged = GeneratorDataset([(np.zeros(2),), (np.zeros(3),)], ["v"], shuffle=False).batch(2)
    with pytest.raises(RuntimeError, match=r"For 'batch', every row of column 'v' must have one shape and dtype"):
        list(ragged.iter_epoch(output_numpy=True))
    ds = GeneratorDataset(rows(3), ["x", "y"])
    with pytest.raises(ValueError, match=r"For 'batch', 'batch_size' must be in \[1, 2147483647\], but got 0"):
        ds.batch(0)
    with pytest.raises(TypeError, match="For 'batch', 'batch_size' must be an int, but got 2.0"):
        ds.batch(2.0)
    with pytest.raises(TypeError, match="For 'batch', 'drop_remainder' must be a bool"):
        ds.batch(2, drop_remainder=1)
    with pytest.raises(NotImplementedError, match="For 'batch', 'per_batch_map' is not supported"):
        ds.batch(2, per_batch_map=lambda *a: a)
    with pytest.raises(ValueError, match="For 'batch', 'input_columns' and 'output_columns' can be given only"):
        ds.batch(2, input_columns=["x"])


def test_buffer_shuffle_is_local_full_when_large_and_seeded():
    ms.set_seed(1)
    source = GeneratorDataset(rows(50), ["x", "y"], shuffle=False)
    full = source.shuffle(buffer_size=100)
    a, b = first_column(full), first_column(full)
    assert sorted(a) == list(range(50)) and a != b and a != list(range(50))
    ms.set_seed(1)
    assert first_column(source.shuffle(100)) == a
    local = first_column(source.shuffle(buffer_size=2))
    assert sorted(local) == list(range(50))
    assert all(value <= position + 1 for position, value in enumerate(local))  # a buffer of 2 delays by 1 at most
    with pytest.raises(ValueError, match=r"For 'shuffle', 'buffer_size' must be in \[2, 2147483647\], but got 1"):
        source.shuffle(1)
    with pytest.raises(TypeError, match="For 'shuffle', 'buffer_size' must be an int"):
        source.shuffle(None)


def test_repeat_runs_new_epochs_of_what_comes_before():
    ms.set_seed(3)
    ds = GeneratorDataset(rows(6), ["x", "y"]).repeat(3)
    assert ds.get_dataset_size() == 18 and ds.get_repeat_count() == 3
    order = first_column(ds)
    passes = [order[i:i + 6] for i in range(0, 18, 6)]
    assert all(sorted(p) == list(range(6)) for p in passes) and len({tuple(p) for p in passes}) > 1
    assert first_column(ds) != order  # the next epoch runs three new passes
    batched = GeneratorDataset(rows(6), ["x", "y"], shuffle=False).batch(4).repeat(2)
    assert [b[0].shape[0] for b in batched.iter_epoch(output_numpy=True)] == [4, 2, 4, 2]
    endless = GeneratorDataset(rows(2), ["x", "y"], shuffle=False).repeat()
    assert endless.get_dataset_size() == -1 and endless.get_repeat_count() == -1
    assert [int(r[0][0]) for r in itertools.islice(endless.iter_epoch(output_numpy=True), 5)] == [0, 1, 0, 1, 0]
    with pytest.raises(ValueError, match=r"For 'repeat', 'count' must be -1 \(endless\) or in \[1, 2147483647\]"):
        ds.repeat(0)
    with pytest.raises(TypeError, match="For 'repeat', 'count' must be None or an int"):
        ds.repeat("2")


def test_iterators_run_epochs_pick_columns_and_check_arguments():
    ds = GeneratorDataset(rows(3), ["x", "y"], shuffle=False)
    it = ds.create_tuple_iterator(columns=["y"], num_epochs=2, output_numpy=True)
    assert [int(r[0]) for r in it] == [0, 1, 2]
    assert [int(r[0]) for r in it] == [0, 1, 2]
    assert list(it) == []
    with pytest.raises(ValueError, match=r"For 'create_tuple_iterator', unknown columns \['z'\]"):
        ds.create_tuple_iterator(columns="z")
    with pytest.raises(ValueError, match="For 'create_dict_iterator', 'num_epochs' must be -1 or an int >= 1"):
        ds.create_dict_iterator(num_epochs=0)
    with pytest.raises(TypeError, match="For 'create_dict_iterator', 'output_numpy' must be a bool"):
        ds.create_dict_iterator(output_numpy="yes")


# -- NumpySlicesDataset and ArrayLoader in pipelines ------------------------------------------------
def test_numpy_slices_map_then_batch(device):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = NumpySlicesDataset({"x": x, "y": np.arange(6)}, shuffle=False)
    mapped = ds.map(lambda v: v * 2, input_columns="x", num_parallel_workers=2).batch(4)
    assert mapped.get_dataset_size() == 2 and mapped.get_col_names() == ["x", "y"]
    first = next(iter(mapped.create_dict_iterator(num_epochs=1)))
    assert first["x"].device == device
    np.testing.assert_array_equal(first["x"].asnumpy(), x[:4] * 2)
    np.testing.assert_array_equal(first["y"].asnumpy(), np.arange(4))


def test_numpy_slices_shuffle_then_map_is_seeded():
    data = {"x": np.arange(20.0)}
    orders = [first_column(NumpySlicesDataset(data, seed=5).map(lambda v: v + 0, "x")) for _ in range(2)]
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(20)) and orders[0] != list(range(20))


def test_a_batched_loader_maps_whole_batches_and_repeats():
    loader = ArrayLoader((np.arange(10.0), np.arange(10)), batch_size=4)
    means = loader.map(lambda b: np.array(b.mean()), input_columns="column_0")
    assert [float(r[0]) for r in means.iter_epoch(output_numpy=True)] == [1.5, 5.5, 8.5]
    assert means.get_dataset_size() == 3 and means.get_batch_size() == 4
    twice = loader.repeat(2)
    assert twice.get_dataset_size() == 6 and len(list(twice)) == 6


def test_train_on_a_generator_dataset(device):
    from gpucell import nn
    from gpucell.train import Model

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    ds = GeneratorDataset(list(zip(x, y)), ["x", "y"]).map(lambda v: v * 1.0, "x").batch(16)
    ms.set_seed(0)
    net = nn.Dense(4, 2)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"),
                  nn.SGD(net.trainable_params(), 0.5), metrics={"acc": ms.train.Accuracy()})
    model.train(20, ds, progress=False)
    assert model.eval(ds)["acc"] > 0.9
