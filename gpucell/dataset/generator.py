"""GeneratorDataset: rows from Python, MindSpore's ``mindspore.dataset.GeneratorDataset``.

``source`` is one of three kinds, told apart as MindSpore tells them:

- random-accessible (``__getitem__`` and ``__len__``: a list, an array, a map-style dataset class):
  row ``i`` is ``source[i]``; shuffled by default, each epoch in the order drawn from
  ``(seed, epoch)``; ``num_parallel_workers > 1`` fetches rows in threads, keeping the order;
- iterable (``__iter__``): one pass of ``iter(source)`` per epoch, in its own order (a generator
  object, which can run only once, is replayed from a copy of what it yielded);
- a generator function (callable): called once per epoch.

A row is a tuple (or list) of NumPy arrays, numbers or Tensors, one per column; a single array is
one column. ``column_names`` names the columns and is required, as in MindSpore.

>>> import numpy as np
>>> from gpucell.dataset import GeneratorDataset
>>> def squares():
...     for i in range(4):
...         yield np.array(i), np.array(i * i)
>>> ds = GeneratorDataset(squares, column_names=["n", "square"])
>>> [int(sq) for _, sq in ds.create_tuple_iterator(output_numpy=True, num_epochs=1)]
[0, 1, 4, 9]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import GeneratorType

import numpy as np

from gpucell import dtype as _dt
from gpucell.dataset.pipeline import (
    Dataset,
    as_columns,
    check_bool,
    check_int,
    check_names,
    check_workers,
    in_order,
    max_rowsize_check,
    none_only,
)
from gpucell.dataset.samplers import DistributedSampler, check_shards
from gpucell.random import get_seed

__all__ = ["GeneratorDataset"]

_WHERE = "GeneratorDataset"


class _Replay:
    """A generator object made re-iterable: the first pass keeps what it yields (MindSpore tees it)."""

    def __init__(self, generator):
        (self._tee,) = itertools.tee(generator, 1)

    def __iter__(self):
        self._tee, copy = itertools.tee(self._tee)
        return copy


class GeneratorDataset(Dataset):
    """``GeneratorDataset(source, column_names=None, column_types=None, schema=None,
    num_samples=None, num_parallel_workers=1, shuffle=None, sampler=None, num_shards=None,
    shard_id=None, python_multiprocessing=True, max_rowsize=None, *, seed=None)``.

    ``shuffle``: None shuffles a random-accessible source and keeps an iterable's order; True needs
    a random-accessible source. ``num_samples``: at most that many rows per epoch. ``column_types``:
    a list of gpucell dtypes each row's columns must have. ``seed`` (gpucell's): the shuffle seed,
    by default ``gpucell.get_seed()`` when the dataset is made. ``python_multiprocessing`` and
    ``max_rowsize`` are accepted; workers are threads. ``num_shards`` / ``shard_id`` read one shard
    of a random-accessible source, as ``sampler=DistributedSampler(num_shards, shard_id)`` does (the
    only sampler supported). ``schema`` is not supported (NotImplementedError).
    """

    def __init__(self, source, column_names=None, column_types=None, schema=None, num_samples=None,
                 num_parallel_workers: int = 1, shuffle: bool | None = None, sampler=None, num_shards=None,
                 shard_id=None, python_multiprocessing: bool = True, max_rowsize=None,
                 batch_sampler=None, collate_fn=None, *, seed: int | None = None):
        super().__init__()
        if isinstance(source, zip):  # a zip runs once; MindSpore makes it a list
            source = list(source)
        if isinstance(source, GeneratorType):
            source = _Replay(source)
        if hasattr(source, "__getitem__") and hasattr(source, "__len__"):
            self._kind = "random"
        elif hasattr(source, "__iter__"):
            self._kind = "iterable"
        elif callable(source):
            self._kind = "function"
        else:
            raise TypeError(f"For '{_WHERE}', 'source' must be a generator function (callable), an iterable "
                            f"or a random-accessible object (with __getitem__ and __len__), but got "
                            f"{type(source).__name__}.")
        for arg, value, why in (("schema", schema, "name the columns with 'column_names'"),
                                ("batch_sampler", batch_sampler, "use .batch()"),
                                ("collate_fn", collate_fn, "use .map() after .batch()")):
            none_only(_WHERE, arg, why)(value)
        if column_names is None:
            raise ValueError(f"For '{_WHERE}', 'column_names' must be given (a str or a list of str, one name "
                             f"per column of a row), but got None.")
        self._names = check_names(_WHERE, "column_names", column_names)
        self._types = None
        if column_types is not None:
            if not isinstance(column_types, list) or len(column_types) != len(self._names):
                raise TypeError(f"For '{_WHERE}', 'column_types' must be a list of {len(self._names)} dtypes, "
                                f"one per column of {self._names}, but got {column_types!r}.")
            self._types = [_dt.to_dtype(t, _WHERE) for t in column_types]
        self._num_samples = None if num_samples is None else check_int(_WHERE, "num_samples", num_samples, 1)
        self._workers = check_workers(_WHERE, num_parallel_workers)
        if shuffle is not None:
            check_bool(_WHERE, "shuffle", shuffle)
        if shuffle and self._kind != "random":
            raise ValueError(f"For '{_WHERE}', 'shuffle=True' needs a random-accessible 'source' (with "
                             f"__getitem__ and __len__), but got an {self._kind} {type(source).__name__}; "
                             f"shuffle its rows with .shuffle(buffer_size) instead.")
        self._shuffle = self._kind == "random" if shuffle is None else bool(shuffle)
        check_bool(_WHERE, "python_multiprocessing", python_multiprocessing)
        max_rowsize_check(_WHERE)(max_rowsize)
        self._seed = get_seed() if seed is None else check_int(_WHERE, "seed", seed, 0, 2 ** 64 - 1)
        self.source = source
        self._counted: int | None = None
        self._sampler = self._make_sampler(sampler, num_shards, shard_id, shuffle)

    def _make_sampler(self, sampler, num_shards, shard_id, shuffle) -> DistributedSampler | None:
        """The DistributedSampler given, or made from ``num_shards`` / ``shard_id`` (MindSpore's rules:
        not both, and not with ``shuffle``; a random-accessible source)."""
        shards = check_shards(_WHERE, num_shards, shard_id)
        if sampler is None and shards is None:
            return None
        if sampler is not None and not isinstance(sampler, DistributedSampler):
            raise NotImplementedError(f"For '{_WHERE}', 'sampler' supports gpucell.dataset.DistributedSampler "
                                      f"only (use 'shuffle' and 'num_samples' otherwise), but got "
                                      f"{type(sampler).__name__}.")
        if sampler is not None and shards is not None:
            raise ValueError(f"For '{_WHERE}', 'sampler' and 'num_shards'/'shard_id' cannot both be given.")
        if sampler is not None and shuffle is not None:
            raise ValueError(f"For '{_WHERE}', 'sampler' and 'shuffle' cannot both be given (the sampler "
                             f"shuffles).")
        if self._kind != "random":
            raise ValueError(f"For '{_WHERE}', sharding needs a random-accessible 'source' (with __getitem__ and "
                             f"__len__), but got an {self._kind} {type(self.source).__name__}.")
        if sampler is None:
            sampler = DistributedSampler(*shards, shuffle=self._shuffle, num_samples=self._num_samples,
                                         seed=self._seed)
        return sampler

    # -- sizes ---------------------------------------------------------------------------------
    def get_col_names(self) -> list[str]:
        return list(self._names)

    def _size(self) -> int | None:
        if self._sampler is not None:
            n = self._sampler.get_num_samples(len(self.source))
        elif hasattr(self.source, "__len__"):
            n = len(self.source)
        elif self._counted is not None:
            n = self._counted
        else:
            self._counted = n = sum(1 for _ in self._items(0))
        return n if self._num_samples is None else min(n, self._num_samples)

    # -- rows ----------------------------------------------------------------------------------
    def _items(self, epoch: int) -> Iterator:
        """The source's raw rows for ``epoch`` (random access: in the epoch's order)."""
        if self._sampler is not None:
            order = self._sampler.indices(len(self.source), epoch)
            if self._num_samples is not None:
                order = order[:self._num_samples]
            return in_order(self.source.__getitem__, (int(i) for i in order), self._workers)
        if self._kind == "random":
            n = len(self.source)
            order = (np.random.default_rng([self._seed, epoch]).permutation(n) if self._shuffle
                     else np.arange(n))
            if self._num_samples is not None:
                order = order[:self._num_samples]
            return in_order(self.source.__getitem__, (int(i) for i in order), self._workers)
        items = self.source() if self._kind == "function" else self.source
        if not hasattr(items, "__iter__"):
            raise TypeError(f"For '{_WHERE}', the generator function 'source' must return an iterable of rows "
                            f"(use yield), but it returned {type(items).__name__}.")
        items = iter(items)
        return items if self._num_samples is None else itertools.islice(items, self._num_samples)

    def rows(self, epoch: int) -> Iterator[tuple]:
        width = len(self._names)
        for index, item in enumerate(self._items(epoch)):
            row = as_columns(item, _WHERE)
            if len(row) != width:
                raise RuntimeError(f"For '{_WHERE}', every row must hold {width} columns {self._names}, but row "
                                   f"{index} of epoch {epoch} holds {len(row)}.")
            if self._types is not None:
                for name, array, want in zip(self._names, row, self._types):
                    if array.dtype != want.numpy:
                        raise RuntimeError(f"For '{_WHERE}', column '{name}' must be {want} as 'column_types' "
                                           f"says, but row {index} holds {array.dtype}.")
            yield row

    def __repr__(self) -> str:
        return (f"GeneratorDataset(columns={self._names}, source={type(self.source).__name__}, "
                f"shuffle={self._shuffle}, seed={self._seed})")
