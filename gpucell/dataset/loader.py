"""ArrayLoader: batches over in-memory arrays, the way ``mindspore.dataset`` pipelines are consumed.

>>> import numpy as np
>>> from gpucell.dataset import ArrayLoader
>>> x, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
>>> loader = ArrayLoader((x, y), batch_size=2, shuffle=True, seed=0)
>>> len(loader), loader.get_dataset_size(), loader.get_col_names()
(3, 3, ['column_0', 'column_1'])
>>> [tuple(b.shape) for b, _ in loader]
[(2, 2), (2, 2), (1, 2)]
>>> for batch in loader.create_dict_iterator(num_epochs=1):
...     print(sorted(batch), batch["column_1"].dtype)
...     break
['column_0', 'column_1'] Int64
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell import dtype as _dt
from gpucell.dataset.pipeline import Iterators, LoaderSource
from gpucell.dataset.samplers import DistributedSampler, check_shards
from gpucell.random import get_seed
from gpucell.tensor import Tensor, from_numpy

__all__ = ["ArrayLoader", "NumpySlicesDataset"]


def _columns(data, column_names, where: str) -> tuple[list[np.ndarray], list[str]]:
    if isinstance(data, dict):
        names, arrays = list(data), list(data.values())
    elif (isinstance(data, tuple) and data) or (isinstance(data, list) and data and all(
            isinstance(a, (np.ndarray, Tensor)) for a in data)):
        # a tuple is one column per element (MindSpore's NumpySlicesDataset: "([1, 2], [3, 4])" is two
        # columns); a list is one column unless it holds arrays (gpucell's ArrayLoader convention)
        names, arrays = [f"column_{i}" for i in range(len(data))], list(data)
    else:
        names, arrays = ["column_0"], [data]
    if column_names is not None:
        given = [column_names] if isinstance(column_names, str) else list(column_names)
        if len(given) != len(arrays) or not all(isinstance(n, str) and n for n in given):
            raise ValueError(f"For '{where}', 'column_names' must be {len(arrays)} non-empty str, "
                             f"but got {column_names!r}.")
        names = given
    if len(set(names)) != len(names):
        raise ValueError(f"For '{where}', the column names must be unique, but got {names}.")
    host = []
    for name, array in zip(names, arrays):
        array = array.asnumpy() if isinstance(array, Tensor) else np.asarray(array)
        if array.ndim == 0:
            raise ValueError(f"For '{where}', column '{name}' must have a first (sample) dimension, "
                             f"but it is a scalar.")
        _dt.from_numpy(array.dtype)  # refuses object / complex arrays by name
        host.append(np.ascontiguousarray(array))
    lengths = {name: len(a) for name, a in zip(names, host)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"For '{where}', every column must hold the same number of samples, but got "
                         f"{lengths}.")
    if not host[0].shape[0]:
        raise ValueError(f"For '{where}', the data holds no samples.")
    return host, names


def _check_int(where: str, arg: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"For '{where}', '{arg}' must be an int >= {minimum}, but got {value!r}.")
    return int(value)


class ArrayLoader(Iterators):
    """Batches of Tensors from NumPy arrays, reshuffled each epoch from a seed.

    ``data``: an array, a tuple/list of arrays (columns ``column_0``, ``column_1``...) or a dict of
    column name -> array; all with the same first dimension. Iterating runs one epoch and yields a
    tuple of Tensors per batch. With ``shuffle``, epoch ``e`` uses the permutation drawn from
    ``(seed, e)``, so a run is reproducible and every epoch has a new order; ``seed`` defaults to
    ``gpucell.get_seed()``. ``drop_last`` drops a final short batch. ``batch_size=None`` yields single
    samples without a batch dimension. ``num_shards`` / ``shard_id``: this process's shard of every
    epoch, as ``DistributedSampler`` takes it (equal shards, the last rows wrapping around). On the
    GPU the next batch is copied to the device on a side stream while the current step runs
    (``prefetch``); the consuming stream waits on an event.
    """

    def __init__(self, data, batch_size: int | None = 32, shuffle: bool = False, seed: int | None = None,
                 drop_last: bool = False, column_names=None, device: str | None = None,
                 prefetch: bool = True, num_shards: int | None = None, shard_id: int | None = None):
        where = type(self).__name__
        self._arrays, self._names = _columns(data, column_names, where)
        self._shards = check_shards(where, num_shards, shard_id)
        self._setup(where, batch_size, shuffle, seed, drop_last, device, prefetch)

    def _setup(self, where, batch_size, shuffle, seed, drop_last, device, prefetch) -> None:
        self._batch_size = None if batch_size is None else _check_int(where, "batch_size", batch_size, 1)
        for arg, value in (("shuffle", shuffle), ("drop_last", drop_last), ("prefetch", prefetch)):
            if not isinstance(value, bool):
                raise TypeError(f"For '{where}', '{arg}' must be a bool, but got {value!r}.")
        self._shuffle, self._drop_last, self._prefetch = shuffle, drop_last, prefetch
        self._seed = get_seed() if seed is None else _check_int(where, "seed", seed, 0)
        self._device = None if device is None else backend.check_device(device, where)
        self.epoch = 0
        if self.get_dataset_size() == 0:
            raise ValueError(f"For '{where}', drop_last=True with batch_size={self._batch_size} leaves "
                             f"no batch of the {self.num_samples} samples.")

    # -- sizes ---------------------------------------------------------------------------------
    def _sampler(self) -> DistributedSampler | None:
        if self._shards is None or isinstance(self._shards, DistributedSampler):
            return self._shards  # none, or the sampler NumpySlicesDataset was given
        return DistributedSampler(*self._shards, shuffle=self._shuffle, seed=self._seed)

    @property
    def num_samples(self) -> int:
        """Samples per epoch: all of them, or this shard's (``num_shards`` / ``shard_id``)."""
        sampler = self._sampler()
        rows = len(self._arrays[0])
        return rows if sampler is None else sampler.get_num_samples(rows)

    def __len__(self) -> int:
        return self.get_dataset_size()

    def get_dataset_size(self) -> int:
        """Batches per epoch (samples when unbatched)."""
        n, b = self.num_samples, self._batch_size
        if b is None:
            return n
        return n // b if self._drop_last else -(-n // b)

    def get_batch_size(self) -> int:
        return 1 if self._batch_size is None else self._batch_size

    def get_col_names(self) -> list[str]:
        return list(self._names)

    # -- MindSpore's chaining ------------------------------------------------------------------
    def _copy(self, **changes) -> ArrayLoader:
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        settings = {"batch_size": self._batch_size, "shuffle": self._shuffle, "seed": self._seed,
                        "drop_last": self._drop_last, "device": self._device, "prefetch": self._prefetch}
        settings.update(changes)
        twin._setup(type(self).__name__, **settings)
        return twin

    def batch(self, batch_size: int, drop_remainder: bool = False) -> ArrayLoader:
        """A loader over the same data in batches of ``batch_size`` (MindSpore's ``Dataset.batch``)."""
        return self._copy(batch_size=batch_size, drop_last=drop_remainder)

    def shuffle(self, buffer_size: int | None = None) -> ArrayLoader:
        """A loader over the same data, fully reshuffled each epoch (any ``buffer_size``)."""
        return self._copy(shuffle=True)

    def map(self, operations, input_columns=None, output_columns=None, num_parallel_workers=None,
            **kwargs):
        """A pipeline (gpucell.dataset.pipeline) applying ``operations`` to each row, or to each batch
        after ``batch``; see ``Dataset.map``. Its ``batch`` then stacks the mapped rows."""
        return LoaderSource(self).map(operations, input_columns, output_columns, num_parallel_workers,
                                      **kwargs)

    def repeat(self, count: int | None = None):
        """A pipeline running ``count`` epochs of this loader per epoch (None or -1: endlessly)."""
        return LoaderSource(self).repeat(count)

    # -- iteration -----------------------------------------------------------------------------
    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch``: a permutation from ``(seed, epoch)``, or 0..n-1; with shards,
        this shard's part of it (gpucell.dataset.DistributedSampler)."""
        sampler = self._sampler()
        if sampler is not None:
            return sampler.indices(len(self._arrays[0]), epoch)
        if not self._shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self._seed, epoch]).permutation(self.num_samples)

    def __iter__(self):
        return self.iter_epoch(output_numpy=False)

    def iter_epoch(self, output_numpy: bool = False):
        """A generator over one epoch's batches (tuples); advances ``epoch``."""
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self._batches(self.order(epoch), output_numpy)

    def _index_batches(self, order: np.ndarray):
        b = self._batch_size
        if b is None:
            return [order[i:i + 1] for i in range(len(order))]
        stop = len(order) - len(order) % b if self._drop_last else len(order)
        return [order[i:i + b] for i in range(0, stop, b)]

    def _batches(self, order: np.ndarray, output_numpy: bool):
        batches = self._index_batches(order)
        device = self._device or backend.get_device()
        if output_numpy or device == "CPU" or not self._prefetch or self._batch_size is None:
            for index in batches:
                arrays = [np.take(a, index, axis=0) for a in self._arrays]
                yield self._finish(arrays, output_numpy, device)
            return
        from gpucell.backend.transfer import BatchPrefetcher
        prefetcher = BatchPrefetcher(self._arrays, max(len(i) for i in batches))
        try:
            pending = prefetcher.stage(self._arrays, batches[0])
            for k in range(len(batches)):
                ready = pending
                tensors = prefetcher.take(ready, Tensor)
                if k + 1 < len(batches):  # its copy overlaps the step that consumes batch k
                    pending = prefetcher.stage(self._arrays, batches[k + 1])
                yield self._finish(tensors, False, device)
        finally:
            prefetcher.close()

    def _finish(self, arrays: list, output_numpy: bool, device: str) -> tuple:
        if self._batch_size is None:  # one sample, without the batch dimension (0-d stays an array)
            arrays = [a.reshape(a.shape[1:]) for a in arrays]
        if output_numpy:
            return tuple(arrays)
        if arrays and isinstance(arrays[0], Tensor):
            return tuple(arrays)
        if device == "CPU":
            return tuple(from_numpy(a) for a in arrays)  # np.take made fresh contiguous arrays
        return tuple(Tensor(a, device=device) for a in arrays)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(columns={self._names}, samples={self.num_samples}, "
                f"batch_size={self._batch_size}, shuffle={self._shuffle}, seed={self._seed}, "
                f"drop_last={self._drop_last})")


class NumpySlicesDataset(ArrayLoader):
    """MindSpore's ``NumpySlicesDataset``: samples sliced from arrays, shuffled by default.

    ``NumpySlicesDataset(data, column_names=None, shuffle=None).batch(32, drop_remainder=True)``;
    ``.map(fn, input_columns=...)`` maps each sample (a pipeline, whose ``batch`` stacks them).

    >>> import numpy as np
    >>> ds = NumpySlicesDataset({"x": np.arange(4.0), "y": np.arange(4)}, shuffle=False)
    >>> ds = ds.map(lambda x: x + 0.5, input_columns="x").batch(2)
    >>> [b[0].asnumpy().tolist() for b in ds]
    [[0.5, 1.5], [2.5, 3.5]]
    """

    def __init__(self, data, column_names=None, num_samples=None, num_parallel_workers=None,
                 shuffle: bool | None = None, sampler=None, num_shards=None, shard_id=None, *,
                 seed: int | None = None, device: str | None = None):
        where = "NumpySlicesDataset"
        arrays, names = _columns(data, column_names, where)
        if num_samples is not None:
            count = _check_int(where, "num_samples", num_samples, 1)
            arrays = [a[:count] for a in arrays]
        self._arrays, self._names = arrays, names
        self._shards = check_shards(where, num_shards, shard_id)
        if sampler is not None:  # MindSpore's rules: a sampler alone, and it decides the shuffling
            if not isinstance(sampler, DistributedSampler):
                raise NotImplementedError(f"For '{where}', 'sampler' supports gpucell.dataset.DistributedSampler "
                                          f"only, but got {type(sampler).__name__}.")
            if self._shards is not None or shuffle is not None:
                raise ValueError(f"For '{where}', 'sampler' cannot be given with 'num_shards'/'shard_id' or "
                                 f"'shuffle'.")
            self._shards, shuffle, seed = sampler, sampler.shuffle, sampler.seed
        self._setup("NumpySlicesDataset", None, True if shuffle is None else shuffle, seed, False,
                    device, True)
