"""Dataset pipelines: rows from a source, then ``map`` / ``shuffle`` / ``batch`` / ``repeat``, as
MindSpore's ``mindspore.dataset`` chains them.

A pipeline is a chain of stages. Each stage turns the rows of its child into rows (tuples of NumPy
arrays, one per column) as a pure function of the epoch number, so every epoch is reproducible and
differs from the last: shuffles draw from ``(seed, epoch)``, ``repeat(n)`` runs epochs ``e*n .. e*n+n-1``
of its child. Rows stay NumPy arrays on the host until an iterator hands them out as Tensors on the
current device (or as arrays with ``output_numpy=True``).

``map`` calls Python functions on columns, in threads when ``num_parallel_workers > 1``; the rows
come out in their input order. With as many outputs as inputs the outputs take the inputs' places
(and names, unless ``output_columns`` renames them); otherwise the outputs come first, then the
columns the map did not read, as in MindSpore.

>>> import numpy as np
>>> from gpucell.dataset import GeneratorDataset
>>> data = [(np.array([i], np.float32), np.array(i % 2)) for i in range(5)]
>>> ds = GeneratorDataset(data, ["x", "y"], shuffle=False)
>>> ds = ds.map(lambda x: x * 10, input_columns="x").batch(2)
>>> [b["x"].asnumpy().ravel().tolist() for b in ds.create_dict_iterator(num_epochs=1)]
[[0.0, 10.0], [20.0, 30.0], [40.0]]
>>> ds.get_dataset_size(), ds.get_col_names(), ds.get_batch_size()
(3, ['x', 'y'], 2)
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gpucell import backend
from gpucell.random import get_seed
from gpucell.tensor import Tensor

__all__ = ["Dataset", "EpochIterator", "LoaderSource"]

_INT32_MAX = 2 ** 31 - 1


# -- argument checks ---------------------------------------------------------------------------
def check_int(where: str, arg: str, value, minimum: int, maximum: int = _INT32_MAX) -> int:
    """An int in [minimum, maximum]: TypeError for another type, ValueError out of range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"For '{where}', '{arg}' must be an int, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    if not minimum <= value <= maximum:
        raise ValueError(f"For '{where}', '{arg}' must be in [{minimum}, {maximum}], but got {value}.")
    return int(value)


def check_bool(where: str, arg: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"For '{where}', '{arg}' must be a bool, but got {value!r} with type "
                        f"'{type(value).__name__}'.")
    return bool(value)


def check_names(where: str, arg: str, names) -> list[str]:
    """A str or a non-empty list/tuple of distinct non-empty str."""
    given = [names] if isinstance(names, str) else names
    if not isinstance(given, (list, tuple)) or not given or not all(
            isinstance(n, str) and n for n in given):
        raise TypeError(f"For '{where}', '{arg}' must be a non-empty str or a non-empty list of non-empty "
                        f"str, but got {names!r}.")
    if len(set(given)) != len(given):
        raise ValueError(f"For '{where}', '{arg}' must not repeat a name, but got {list(given)}.")
    return list(given)


def check_workers(where: str, value, default: int = 1) -> int:
    return default if value is None else check_int(where, "num_parallel_workers", value, 1, 1024)


def check_no_extras(where: str, kwargs: dict, accepted: dict) -> None:
    """``accepted``: keyword -> check(value) for MindSpore keywords that change nothing here."""
    for key, value in kwargs.items():
        if key not in accepted:
            raise TypeError(f"For '{where}', got an unexpected keyword argument '{key}'; gpucell accepts "
                            f"{sorted(accepted)} besides the named parameters.")
        accepted[key](value)


def none_only(where: str, arg: str, why: str):
    def check(value):
        if value is not None:
            raise NotImplementedError(f"For '{where}', '{arg}' is not supported by gpucell ({why}); leave "
                                      f"it None.")
    return check


def max_rowsize_check(where: str):
    def check(value):
        if value is not None and not isinstance(value, (int, list)) or isinstance(value, bool):
            raise TypeError(f"For '{where}', 'max_rowsize' must be None, an int or a list of 2 int, but got "
                            f"{value!r}.")
    return check


# -- rows --------------------------------------------------------------------------------------
def as_columns(item, where: str) -> tuple:
    """A row as a tuple of NumPy arrays: a tuple or list gives one column per element, anything else
    (an array, a number, a Tensor) one column; a dict is refused, as in MindSpore."""
    if isinstance(item, dict):
        raise TypeError(f"For '{where}', a row must be an array, a number, a Tensor or a tuple of them, "
                        f"but got a dict.")
    items = item if isinstance(item, (tuple, list)) else (item,)
    return tuple(x.asnumpy() if isinstance(x, Tensor) else x if isinstance(x, np.ndarray)
                 else np.asarray(x) for x in items)


def in_order(fn: Callable, items: Iterable, workers: int) -> Iterator:
    """``fn`` over ``items``, in threads when ``workers > 1``; results in input order, at most
    ``2 * workers`` ahead of the consumer (an endless source stays lazy)."""
    if workers == 1:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="gpucell-dataset")
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the pipeline ------------------------------------------------------------------------------
class Iterators:
    """MindSpore's iterator methods, shared by every dataset and loader (``EpochIterator`` runs the
    epochs)."""

    def create_tuple_iterator(self, columns=None, num_epochs: int = -1, output_numpy: bool = False,
                              do_copy: bool = True) -> EpochIterator:
        """MindSpore's tuple iterator: each pass (``for``) over it runs one epoch, yielding lists."""
        return EpochIterator(self, "tuple", columns, num_epochs, output_numpy)

    def create_dict_iterator(self, num_epochs: int = -1, output_numpy: bool = False,
                             do_copy: bool = True) -> EpochIterator:
        """MindSpore's dict iterator: each pass runs one epoch, yielding {column name: Tensor}."""
        return EpochIterator(self, "dict", None, num_epochs, output_numpy)


class Dataset(Iterators):
    """Base of every pipeline stage: chaining, sizes and iterators.

    A stage defines ``rows(epoch)`` (tuples of NumPy arrays), ``get_col_names()`` and ``_size()``
    (rows per epoch; None when only a pass can tell, -1 when endless).
    """

    _device: str | None = None

    def __init__(self):
        self.epoch = 0

    # -- what a stage defines ------------------------------------------------------------------
    def rows(self, epoch: int) -> Iterator[tuple]:
        raise NotImplementedError

    def get_col_names(self) -> list[str]:
        raise NotImplementedError

    def _size(self) -> int | None:
        raise NotImplementedError

    # -- sizes ---------------------------------------------------------------------------------
    def get_dataset_size(self) -> int:
        """Rows (batches, after ``batch``) per epoch; -1 after an endless ``repeat``."""
        size = self._size()
        if size is None:  # a source without len(): count one pass, as MindSpore does
            size = sum(1 for _ in self.rows(0))
        return size

    def get_batch_size(self) -> int:
        return 1

    def get_repeat_count(self) -> int:
        return 1

    # -- MindSpore's chaining ------------------------------------------------------------------
    def map(self, operations, input_columns=None, output_columns=None, num_parallel_workers=None,
            **kwargs) -> Dataset:
        """Applies ``operations`` (a callable, or a list applied in turn) to ``input_columns`` of each
        row (default: the first column). ``num_parallel_workers > 1`` runs rows in threads, in order.
        ``python_multiprocessing`` and ``max_rowsize`` are accepted; gpucell always uses threads."""
        return MapDataset(self, operations, input_columns, output_columns, num_parallel_workers, kwargs)

    def batch(self, batch_size: int, drop_remainder: bool = False, num_parallel_workers=None,
              **kwargs) -> Dataset:
        """Stacks ``batch_size`` consecutive rows per column (every row of a column must have one
        shape and dtype); ``drop_remainder`` drops a last short batch."""
        return BatchDataset(self, batch_size, drop_remainder, num_parallel_workers, kwargs)

    def shuffle(self, buffer_size: int) -> Dataset:
        """Shuffles through a buffer of ``buffer_size`` rows, as MindSpore does (a buffer at least the
        dataset's size shuffles it fully); each epoch draws anew from ``(gpucell.get_seed(), epoch)``."""
        return ShuffleDataset(self, buffer_size)

    def repeat(self, count: int | None = None) -> Dataset:
        """The dataset ``count`` times per epoch (None or -1: endlessly), each pass a new epoch of
        the stages before it (new shuffles)."""
        return RepeatDataset(self, count)

    # -- iteration -----------------------------------------------------------------------------
    def __iter__(self):
        # MindSpore: iterating a dataset is create_tuple_iterator(num_epochs=1): one list per row
        return (list(row) for row in self.iter_epoch(output_numpy=False))

    def iter_epoch(self, output_numpy: bool = False) -> Iterator[tuple]:
        """A generator over one epoch's rows (tuples of Tensors, or of arrays); advances ``epoch``."""
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self._output(self.rows(epoch), output_numpy)

    def _output(self, rows: Iterator[tuple], output_numpy: bool) -> Iterator[tuple]:
        names = self.get_col_names()
        device = self._device or backend.get_device()
        for row in rows:
            if output_numpy:
                yield row
                continue
            out = []
            for name, array in zip(names, row):
                try:
                    out.append(Tensor(array, device=device))
                except TypeError as exc:
                    raise TypeError(f"For '{type(self).__name__}', column '{name}' holds {array.dtype} data, "
                                    f"which a Tensor cannot hold ({exc}); iterate with "
                                    f"output_numpy=True.") from None
            yield tuple(out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(columns={self.get_col_names()})"


class Stage(Dataset):
    """A stage over a child stage; sizes and device pass through unless the stage changes them."""

    def __init__(self, child: Dataset):
        super().__init__()
        self.child = child
        self._device = child._device

    def get_col_names(self) -> list[str]:
        return self.child.get_col_names()

    def _size(self) -> int | None:
        return self.child._size()

    def get_batch_size(self) -> int:
        return self.child.get_batch_size()

    def get_repeat_count(self) -> int:
        return self.child.get_repeat_count()


class LoaderSource(Dataset):
    """An ArrayLoader (or NumpySlicesDataset) as a pipeline's source: its rows or batches, in the
    order its own shuffle gives epoch by epoch."""

    def __init__(self, loader):
        super().__init__()
        self.loader = loader
        self._device = loader._device

    def rows(self, epoch: int) -> Iterator[tuple]:
        loader = self.loader
        return loader._batches(loader.order(epoch), output_numpy=True)

    def get_col_names(self) -> list[str]:
        return self.loader.get_col_names()

    def _size(self) -> int:
        return self.loader.get_dataset_size()

    def get_batch_size(self) -> int:
        return self.loader.get_batch_size()


class MapDataset(Stage):
    def __init__(self, child: Dataset, operations, input_columns, output_columns, workers, kwargs):
        super().__init__(child)
        where = "map"
        ops = list(operations) if isinstance(operations, (list, tuple)) else [operations]
        if not ops or not all(callable(op) for op in ops):
            raise TypeError(f"For '{where}', 'operations' must be a callable or a non-empty list of callables, "
                            f"but got {operations!r}.")
        names = child.get_col_names()
        inputs = names[:1] if input_columns is None else check_names(where, "input_columns", input_columns)
        unknown = [n for n in inputs if n not in names]
        if unknown:
            raise ValueError(f"For '{where}', the 'input_columns' {unknown} are not columns of the dataset; "
                             f"its columns are {names}.")
        outputs = inputs if output_columns is None else check_names(where, "output_columns", output_columns)
        if len(outputs) == len(inputs):
            renamed = dict(zip(inputs, outputs))
            self._names = [renamed.get(n, n) for n in names]
        else:
            self._names = outputs + [n for n in names if n not in inputs]
        if len(set(self._names)) != len(self._names):
            raise ValueError(f"For '{where}', the 'output_columns' {outputs} collide with the columns kept, "
                             f"giving {self._names}; choose other names.")
        self._workers = check_workers(where, workers)
        check_no_extras(where, kwargs, {
            "python_multiprocessing": lambda v: check_bool(where, "python_multiprocessing", v),
            "max_rowsize": max_rowsize_check(where),
            "cache": none_only(where, "cache", "there is no dataset cache server"),
            "callbacks": none_only(where, "callbacks", "dataset callbacks"),
            "offload": lambda v: None if v is None else check_bool(where, "offload", v),
        })
        self._ops = ops
        self._in = [names.index(n) for n in inputs]
        self._kept = [i for i, n in enumerate(names) if n not in inputs]
        self._outputs = outputs
        self._same_count = len(outputs) == len(inputs)

    def get_col_names(self) -> list[str]:
        return list(self._names)

    def _apply(self, row: tuple) -> tuple:
        args = [row[i] for i in self._in]
        for op in self._ops:
            result = op(*args)
            # a tuple is several columns; anything else, a list too, is one (MindSpore's PyFunc rule)
            args = list(result) if isinstance(result, tuple) else [result]
        out = as_columns(tuple(args), "map")
        if len(out) != len(self._outputs):
            raise RuntimeError(f"For 'map', the operations returned {len(out)} columns, but the output columns "
                               f"are {self._outputs}; give 'output_columns' one name per returned column.")
        if self._same_count:
            values = list(row)
            for index, value in zip(self._in, out):
                values[index] = value
            return tuple(values)
        return out + tuple(row[i] for i in self._kept)

    def rows(self, epoch: int) -> Iterator[tuple]:
        return in_order(self._apply, self.child.rows(epoch), self._workers)


class BatchDataset(Stage):
    def __init__(self, child: Dataset, batch_size, drop_remainder, workers, kwargs):
        super().__init__(child)
        where = "batch"
        if callable(batch_size):
            raise TypeError(f"For '{where}', 'batch_size' must be an int; a callable batch_size is not "
                            f"supported by gpucell.")
        self._batch_size = check_int(where, "batch_size", batch_size, 1)
        self._drop = check_bool(where, "drop_remainder", drop_remainder)
        check_workers(where, workers)
        if kwargs.get("per_batch_map") is None and (kwargs.get("input_columns") is not None
                                                    or kwargs.get("output_columns") is not None):
            raise ValueError(f"For '{where}', 'input_columns' and 'output_columns' can be given only with "
                             f"'per_batch_map'.")
        check_no_extras(where, kwargs, {
            "per_batch_map": none_only(where, "per_batch_map", "map the batched columns with .map() after "
                                                               ".batch() instead"),
            "input_columns": lambda v: None, "output_columns": lambda v: None,
            "python_multiprocessing": lambda v: check_bool(where, "python_multiprocessing", v),
            "max_rowsize": max_rowsize_check(where),
            "pad_info": none_only(where, "pad_info", "use padded_batch in MindSpore; pad in a map here"),
        })

    def get_batch_size(self) -> int:
        return self._batch_size

    def _size(self) -> int | None:
        n = self.child._size()
        if n is None or n < 0:
            return n
        return n // self._batch_size if self._drop else -(-n // self._batch_size)

    def rows(self, epoch: int) -> Iterator[tuple]:
        names = self.get_col_names()
        size = self._batch_size
        rows = iter(self.child.rows(epoch))
        while True:
            chunk = list(itertools.islice(rows, size))
            if not chunk or (self._drop and len(chunk) < size):
                return
            yield tuple(self._stack(name, [row[c] for row in chunk]) for c, name in enumerate(names))

    @staticmethod
    def _stack(name: str, column: list) -> np.ndarray:
        first = column[0]
        for item in column[1:]:
            if item.shape != first.shape or item.dtype != first.dtype:
                raise RuntimeError(f"For 'batch', every row of column '{name}' must have one shape and dtype to "
                                   f"batch, but got {first.shape} {first.dtype} and {item.shape} {item.dtype}.")
        return np.stack(column)


class ShuffleDataset(Stage):
    def __init__(self, child: Dataset, buffer_size):
        super().__init__(child)
        self._buffer_size = check_int("shuffle", "buffer_size", buffer_size, 2)
        self._seed = get_seed()

    def rows(self, epoch: int) -> Iterator[tuple]:
        rng = np.random.default_rng([self._seed, epoch, 0x5F])  # 0x5F: apart from a source's own draw
        buffer: list = []
        for row in self.child.rows(epoch):
            if len(buffer) < self._buffer_size:
                buffer.append(row)
                continue
            j = int(rng.integers(len(buffer)))
            out, buffer[j] = buffer[j], row
            yield out
        for j in rng.permutation(len(buffer)):
            yield buffer[j]


class RepeatDataset(Stage):
    def __init__(self, child: Dataset, count):
        super().__init__(child)
        if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer))):
            raise TypeError(f"For 'repeat', 'count' must be None or an int, but got {count!r} with type "
                            f"'{type(count).__name__}'.")
        if count is not None and not (count == -1 or 1 <= count <= _INT32_MAX):
            raise ValueError(f"For 'repeat', 'count' must be -1 (endless) or in [1, {_INT32_MAX}], but got "
                             f"{count}.")
        self._count = -1 if count is None else int(count)

    def get_repeat_count(self) -> int:
        return self._count

    def _size(self) -> int | None:
        n = self.child._size()
        if self._count == -1:
            return -1
        return n if n is None or n < 0 else n * self._count

    def rows(self, epoch: int) -> Iterator[tuple]:
        passes = itertools.count() if self._count == -1 else range(epoch * self._count,
                                                                   (epoch + 1) * self._count)
        for child_epoch in passes:
            yield from self.child.rows(child_epoch)


class EpochIterator:
    """Re-iterable: every ``for`` over it (or ``next`` after it ran out) starts the next epoch."""

    def __init__(self, dataset, kind: str, columns, num_epochs: int, output_numpy: bool):
        where = f"create_{kind}_iterator"
        if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or not (
                num_epochs == -1 or num_epochs >= 1):
            raise ValueError(f"For '{where}', 'num_epochs' must be -1 or an int >= 1, but got "
                             f"{num_epochs!r}.")
        check_bool(where, "output_numpy", output_numpy)
        names = dataset.get_col_names()
        if columns is not None:
            columns = [columns] if isinstance(columns, str) else list(columns)
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise ValueError(f"For '{where}', unknown columns {unknown}; the columns are {names}.")
        self._dataset, self._kind, self._output_numpy = dataset, kind, output_numpy
        self._pick = None if columns is None else [names.index(c) for c in columns]
        self._names = names
        self._left = num_epochs
        self._current = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._current is None:
            if self._left == 0:
                raise StopIteration
            self._left -= 1 if self._left > 0 else 0
            self._current = self._dataset.iter_epoch(self._output_numpy)
        try:
            row = next(self._current)
        except StopIteration:
            self._current = None
            raise
        if self._kind == "dict":
            return dict(zip(self._names, row))
        return list(row) if self._pick is None else [row[i] for i in self._pick]
