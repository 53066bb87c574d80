"""Tensors whose data does not exist yet: MindSpore's lazy initialisation and shape placeholders.

``initializer(init, shape, dtype)`` and ``Tensor(shape=..., dtype=..., init=...)`` return a Tensor
that knows its shape, dtype and ``init`` but allocates nothing until its data is first needed
(``init_data()``, ``asnumpy()``, printing, any op, making a Parameter of it), as MindSpore's do. The
values do not depend on when that happens: the host generator is taken when the tensor is made
(``gpucell.random.host_generator`` hands out independent, counter-keyed streams), so a lazy tensor
filled late holds what an eager one would have held.

``Tensor(shape=[None, 3], dtype=...)`` is a placeholder for ``Cell.set_inputs``: a dynamic dimension
(None, shown as -1, as MindSpore shows it) and no data at all; reading its data raises.

Once filled, the object becomes a plain ``Tensor`` (its class is switched), so the hot path of every
op never pays for laziness.
"""

from __future__ import annotations

import math

from gpucell import backend
from gpucell import dtype as _dt
from gpucell.tensor import Tensor

__all__ = ["LazyTensor", "lazy", "adopt", "placeholder", "is_dynamic"]

_DATA = Tensor.__dict__["_data"]  # the slot itself: the property below stands in front of it


class _Pending:
    """What a lazy tensor will be: made by ``fill()`` (None for a placeholder) on ``device``."""

    __slots__ = ("shape", "dtype", "init", "fill", "device")

    def __init__(self, shape: tuple, dtype: _dt.DType, init, fill, device: str):
        self.shape, self.dtype, self.init, self.fill, self.device = shape, dtype, init, fill, device


class LazyTensor(Tensor):
    """A Tensor not materialised yet (see the module docstring); ``type(t) is Tensor`` once filled."""

    __slots__ = ()

    def _pending(self) -> _Pending:
        return _DATA.__get__(self)

    def _materialize(self):
        pending = _DATA.__get__(self)
        if type(pending) is not _Pending:  # another reference filled it already
            return pending
        if pending.fill is None:
            raise RuntimeError(f"For 'Tensor', this Tensor(shape={list(pending.shape)}, dtype={pending.dtype}) is a "
                               f"placeholder without data (a dynamic-shape input for Cell.set_inputs); give "
                               f"a Tensor with data instead.")
        array = backend.to_device(pending.fill(), pending.device)
        _DATA.__set__(self, array)
        self.__class__ = Tensor
        return array

    def _set_data(self, array) -> None:
        _DATA.__set__(self, array)
        self.__class__ = Tensor

    _data = property(_materialize, _set_data)

    @property
    def shape(self) -> tuple:
        return self._pending().shape

    @property
    def dtype(self) -> _dt.DType:
        return self._pending().dtype

    @property
    def ndim(self) -> int:
        return len(self._pending().shape)

    @property
    def size(self) -> int:
        shape = self._pending().shape
        return -1 if -1 in shape else math.prod(shape)

    @property
    def itemsize(self) -> int:
        return self._pending().dtype.itemsize

    @property
    def nbytes(self) -> int:
        size = self.size
        return -1 if size < 0 else size * self.itemsize

    @property
    def device(self) -> str:
        return self._pending().device

    @property
    def init(self):
        """The Initializer that will fill this tensor (None for a placeholder)."""
        return self._pending().init

    @property
    def has_init(self) -> bool:
        return self._pending().init is not None

    def init_data(self, slice_index=None, shape=None, opt_shard_group=None) -> Tensor:
        """Fills this tensor from its ``init`` and returns it (now a plain Tensor), as MindSpore."""
        if shape is not None and tuple(shape) != self.shape:
            raise ValueError(f"For 'Tensor.init_data', the 'shape' {tuple(shape)} must be the tensor's shape "
                             f"{self.shape} (slices of a parameter are not supported).")
        self._materialize()
        return self

    def __repr__(self) -> str:
        if self._pending().fill is None:
            pending = self._pending()
            return f"Tensor(shape={list(pending.shape)}, dtype={pending.dtype}, value=<placeholder>)"
        return Tensor.__repr__(self)


def lazy(init, shape: tuple, dtype: _dt.DType, fill, device: str | None = None) -> LazyTensor:
    """A LazyTensor that ``fill()`` (a host array of ``shape`` and ``dtype``) fills on first use."""
    return _become(object.__new__(LazyTensor), _Pending(tuple(shape), dtype, init, fill,
                                                         device or backend.get_device()))


def adopt(t: Tensor, source: LazyTensor, device: str | None) -> None:
    """Makes the fresh Tensor ``t`` (inside ``Tensor.__init__``) the lazy tensor ``source``, on ``device``."""
    p = source._pending()
    _become(t, _Pending(p.shape, p.dtype, p.init, p.fill, device or p.device))


def placeholder(t: Tensor, shape, dtype: _dt.DType, device: str | None) -> None:
    """Makes the fresh Tensor ``t`` a data-less placeholder for ``Cell.set_inputs``: None (or -1)
    marks a dynamic dimension."""
    dims = []
    for d in shape:
        if d is None or (type(d) is int and d == -1):
            dims.append(-1)
        elif type(d) is int and d >= 0:
            dims.append(d)
        else:
            raise ValueError(f"For 'Tensor', each dim of 'shape' must be an int >= 0, -1 or None, but got "
                             f"{shape!r}.")
    _become(t, _Pending(tuple(dims), dtype, None, None, device or backend.get_device()))


def is_dynamic(shape) -> bool:
    """Whether a ``Tensor(shape=...)`` asks for a placeholder: a None or -1 dimension."""
    return isinstance(shape, (list, tuple)) and any(d is None or (type(d) is int and d == -1) for d in shape)


def _become(t: Tensor, pending: _Pending) -> LazyTensor:
    t.__class__ = LazyTensor  # the same layout (no slots of its own): a plain Tensor turns lazy
    _DATA.__set__(t, pending)
    t._node = None
    return t
