"""Tensor: an n-dimensional array on the GPU (CuPy) or the CPU (NumPy).

>>> import gpucell as ms
>>> ms.Tensor([0.1, 0.2, 0.3], ms.float32)
Tensor(shape=[3], dtype=Float32, value= [ 1.00000001e-01,  2.00000003e-01,  3.00000012e-01])
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell import dtype as _dt
from gpucell._tensor_repr import tensor_repr

__all__ = ["Tensor", "from_numpy", "from_dlpack"]

_ndarray = np.ndarray
_SCALARS = (bool, int, float, complex, np.bool_, np.number)


def _short_repr(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _host_array(data, dtype: _dt.DType | None, where: str) -> np.ndarray:
    """A NumPy array for Python data, with MindSpore's dtype inference."""
    if isinstance(data, np.ndarray):
        source = data
    elif isinstance(data, (list, tuple, *_SCALARS)):
        inferred = _dt.infer_dtype(data, where)
        try:
            source = np.asarray(data, dtype=inferred.numpy)
        except ValueError as exc:  # ragged nesting
            raise ValueError(f"For '{where}', the nested list must be rectangular: {exc}") from None
    else:
        raise TypeError(f"For '{where}', 'input_data' must be a Tensor, a NumPy or CuPy array, a list, "
                        f"a tuple or a number, but got {_short_repr(data)} of type "
                        f"'{type(data).__name__}'.")
    target = _dt.from_numpy(source.dtype) if dtype is None else dtype
    _dt.from_numpy(source.dtype)  # rejects object / complex / unsigned-wide arrays by name
    return np.array(source, dtype=target.numpy, copy=True)


class Tensor:
    """An array with a dtype and a device, the value every gpucell op takes and returns.

    ``Tensor(input_data, dtype=None)``: ``input_data`` is a number, a (nested) list or tuple, a NumPy
    or CuPy array, or a Tensor; ``dtype`` casts. Python ints infer Int64, floats Float32, bools Bool;
    arrays keep their dtype. Data goes to the current device (``gpucell.set_context``) unless it is
    already a CuPy array or ``device=`` says otherwise.
    """

    __slots__ = ("_data", "_node", "__weakref__")
    __array_priority__ = 100.0  # NumPy defers ``ndarray <op> Tensor`` to Tensor's reflected dunders
    # Installed by gpucell.jit while it traces: refuses host reads of traced values.
    _read_guard = None

    def __init__(self, input_data=None, dtype=None, shape=None, init=None, *, device: str | None = None):
        target = None if dtype is None else _dt.to_dtype(dtype, "Tensor")
        self._node = None
        if input_data is None:
            self._init_without_data(target, shape, init, device)
            return
        if shape is not None or init is not None:
            raise ValueError(f"For 'Tensor', 'shape' and 'init' go without 'input_data', but got "
                             f"shape={shape!r}, init={init!r} with input_data.")
        if isinstance(input_data, Tensor):
            array = input_data._data
            array = array.astype(target.numpy) if target is not None else array.copy()
            where = backend.device_of(array)
        elif backend.is_gpu_array(input_data):
            _dt.from_numpy(input_data.dtype)
            array = input_data.astype(target.numpy if target else input_data.dtype, copy=True)
            where = "GPU"
        else:
            array = _host_array(input_data, target, "Tensor")
            where = "CPU"
        goal = backend.get_device() if device is None else backend.check_device(device, "Tensor")
        if isinstance(input_data, Tensor) or backend.is_gpu_array(input_data):
            goal = where if device is None else goal
        self._data = backend.to_device(array, goal)

    def _init_without_data(self, target, shape, init, device) -> None:
        """``Tensor(shape=..., dtype=..., init=...)``: lazily initialised, as MindSpore (gpucell/_lazy_tensor.py);
        ``Tensor(shape=[None, 3], dtype=...)``: a placeholder for ``Cell.set_inputs``."""
        from gpucell import _lazy_tensor  # both sit below tensor
        from gpucell.initializer import initializer

        place = None if device is None else backend.check_device(device, "Tensor")
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        if init is None and _lazy_tensor.is_dynamic(shape):
            if target is None:
                raise ValueError(f"For 'Tensor', a placeholder of shape {list(shape)} needs a 'dtype'.")
            _lazy_tensor.placeholder(self, shape, target, place)
            return
        if shape is None or init is None:
            raise ValueError("For 'Tensor', give 'input_data', or both 'shape' and 'init' (or a 'shape' with a "
                             f"None dim and a 'dtype'), but got input_data=None, shape={shape!r}, init={init!r}.")
        made = initializer(init, shape, target or _dt.float32)
        if isinstance(made, _lazy_tensor.LazyTensor):
            _lazy_tensor.adopt(self, made, place)
        else:
            self._data = made._data if place is None else backend.to_device(made._data, place)

    @property
    def init(self):
        """The Initializer a lazily initialised tensor will be filled by; None once it holds data."""
        return None

    @property
    def has_init(self) -> bool:
        """Whether this tensor still waits for ``init_data()`` (MindSpore's lazy initialisation)."""
        return False

    # -- properties ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> _dt.DType:
        return _dt._BY_NUMPY[self._data.dtype]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def strides(self) -> tuple[int, ...]:
        """Bytes to step in each dimension of the C-contiguous layout, as MindSpore: a (2, 2) Int32
        tensor has ``(8, 4)`` (whatever the layout of the array underneath, which may be a view)."""
        strides, step = [], self._data.itemsize
        for dim in reversed(self._data.shape):
            strides.append(step)
            step *= dim
        return tuple(reversed(strides))

    @property
    def device(self) -> str:
        """``'GPU'`` or ``'CPU'``."""
        return "CPU" if isinstance(self._data, _ndarray) else "GPU"

    @property
    def requires_grad(self) -> bool:
        return self._node is not None

    @property
    def T(self) -> Tensor:
        return _sh.transpose(self, tuple(range(self.ndim - 1, -1, -1)))

    # -- conversion ----------------------------------------------------------------------------
    def asnumpy(self) -> np.ndarray:
        """The data as a NumPy array: a host copy when on the GPU, the array itself on the CPU."""
        if Tensor._read_guard is not None:
            Tensor._read_guard(self, "asnumpy()")
        return backend.to_host(self._data)

    def tolist(self):
        return self.asnumpy().tolist()

    def item(self, index=None):
        """The value of a one-element tensor (or of element ``index``) as a Python number."""
        if Tensor._read_guard is not None:
            Tensor._read_guard(self, "item()")
        if index is None:
            if self._data.size != 1:
                raise ValueError(f"For 'Tensor.item', the tensor must have exactly one element, "
                                 f"but it has shape {self.shape}.")
            return self.asnumpy().item()
        return self.asnumpy().item(index)

    def astype(self, dtype, copy: bool = True) -> Tensor:
        """A tensor of this data cast to ``dtype`` (through the ``Cast`` op)."""
        return _cv.cast(self, dtype)

    def copy(self) -> Tensor:
        return _cv.copy(self)

    def set_dtype(self, typ) -> _dt.DType:
        """Converts this tensor's data to ``typ`` in place (as ``astype`` would, but the object stays)
        and returns ``typ``, as MindSpore's ``Tensor.set_dtype``.

        >>> import gpucell as ms
        >>> t = ms.Tensor([1.7, -2.2])
        >>> t.set_dtype(ms.int32), t
        (gpucell.int32, Tensor(shape=[2], dtype=Int32, value= [ 1, -2]))
        """
        dtype = _dt.to_dtype(typ, "Tensor.set_dtype")
        if dtype.numpy != self._data.dtype:
            self._data = _cv.cast(_wrap(self._data), dtype)._data
        return dtype

    def move_to(self, to: str, blocking: bool = True) -> Tensor:
        """A copy on device ``to`` (``'GPU'`` or ``'CPU'``); the tensor itself when already there."""
        goal = backend.check_device(to, "Tensor.move_to")
        if goal == self.device:
            return self
        return _wrap(backend.to_device(self._data, goal))

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 passes copy=True for np.array(t): the result must not share this Tensor's memory.
        host = self.asnumpy()
        if dtype is not None:
            return host.astype(dtype, copy=bool(copy))
        return host.copy() if copy and host is self._data else host

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict:
        if isinstance(self._data, _ndarray):
            raise AttributeError("A CPU Tensor has no __cuda_array_interface__; move it to the GPU.")
        return self._data.__cuda_array_interface__

    # -- printing ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return tensor_repr(self.shape, self.dtype, self.asnumpy())

    def __str__(self) -> str:
        return str(self.asnumpy())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return str(self) if not spec else format(str(self), spec)

    # -- Python protocols ----------------------------------------------------------------------
    __hash__ = object.__hash__

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d Tensor is not defined.")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("Iteration over a 0-d Tensor is not defined.")
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        if Tensor._read_guard is not None:
            Tensor._read_guard(self, "bool() (an if or while on a tensor)")
        if self._data.size != 1:
            raise ValueError(f"The truth value of a Tensor with {self._data.size} elements is "
                             f"ambiguous; use .any() or .all().")
        return bool(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __index__(self) -> int:
        if self.dtype.kind != _dt._INT:
            raise TypeError(f"Only integer tensors can be used as an index, got {self.dtype}.")
        return int(self.item())

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, index) -> Tensor:
        return _apply(_ix.GETITEM, self, index=index)

    def __setitem__(self, index, value) -> None:
        if not isinstance(value, (Tensor, *_SCALARS)):
            if not isinstance(value, (list, tuple, _ndarray)):
                raise TypeError(f"For 'Tensor.__setitem__', the value must be a Tensor, a number, a list, "
                                f"a tuple or an array, but got {_short_repr(value)} of type "
                                f"'{type(value).__name__}'.")
            value = Tensor(value, device=self.device)
        _apply(_ix.SETITEM, self, value, index=index)

    # -- arithmetic, each through the op dispatch ----------------------------------------------
    def __add__(self, other):
        return _apply(_ar.ADD, self, other)

    def __radd__(self, other):
        return _apply(_ar.ADD, other, self)

    def __sub__(self, other):
        return _apply(_ar.SUB, self, other)

    def __rsub__(self, other):
        return _apply(_ar.SUB, other, self)

    def __mul__(self, other):
        return _apply(_ar.MUL, self, other)

    def __rmul__(self, other):
        return _apply(_ar.MUL, other, self)

    def __truediv__(self, other):
        return _apply(_ar.DIV, self, other)

    def __rtruediv__(self, other):
        return _apply(_ar.DIV, other, self)

    def __floordiv__(self, other):
        return _apply(_ar.FLOORDIV, self, other)

    def __rfloordiv__(self, other):
        return _apply(_ar.FLOORDIV, other, self)

    def __mod__(self, other):
        return _apply(_ar.MOD, self, other)

    def __rmod__(self, other):
        return _apply(_ar.MOD, other, self)

    def __pow__(self, other):
        return _apply(_ar.POW, self, other)

    def __rpow__(self, other):
        return _apply(_ar.POW, other, self)

    def __matmul__(self, other):
        return _la.matmul(self, other)

    def __rmatmul__(self, other):
        return _la.matmul(other, self)

    def __neg__(self):
        return _apply(_ar.NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _apply(_ar.ABS, self)

    def __invert__(self):
        return _apply(_cmp.INVERT, self)

    def __and__(self, other):
        return _apply(_cmp.BITWISE_AND, self, other)

    def __rand__(self, other):
        return _apply(_cmp.BITWISE_AND, other, self)

    def __or__(self, other):
        return _apply(_cmp.BITWISE_OR, self, other)

    def __ror__(self, other):
        return _apply(_cmp.BITWISE_OR, other, self)

    def __xor__(self, other):
        return _apply(_cmp.BITWISE_XOR, self, other)

    def __rxor__(self, other):
        return _apply(_cmp.BITWISE_XOR, other, self)

    def __lt__(self, other):
        return _apply(_cmp.LESS, self, other)

    def __le__(self, other):
        return _apply(_cmp.LESS_EQUAL, self, other)

    def __gt__(self, other):
        return _apply(_cmp.GREATER, self, other)

    def __ge__(self, other):
        return _apply(_cmp.GREATER_EQUAL, self, other)

    def __eq__(self, other):
        return _apply(_cmp.EQUAL, self, other)

    def __ne__(self, other):
        return _apply(_cmp.NOT_EQUAL, self, other)


def _wrap(array) -> Tensor:
    t = object.__new__(Tensor)
    t._data = array
    t._node = None
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU Tensor sharing memory with ``array`` (no copy); also ``Tensor.from_numpy(array)``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"For 'from_numpy', expected a numpy.ndarray, but got {type(array).__name__}.")
    _dt.from_numpy(array.dtype)
    return _wrap(array)


Tensor.from_numpy = staticmethod(from_numpy)


# DLPack device types: kDLCPU (1) and kDLCUDAHost (3, pinned host memory, which CuPy refuses) are
# NumPy's; kDLCUDA (2) and kDLCUDAManaged (13, which CuPy accepts) are CuPy's.
_HOST_DLPACK = (1, 3)
_CUDA_DLPACK = (2, 13)


def from_dlpack(obj) -> Tensor:
    """A Tensor sharing memory with any DLPack producer (NumPy, CuPy, PyTorch, JAX arrays)."""
    if not hasattr(obj, "__dlpack_device__"):
        raise TypeError(f"For 'from_dlpack', expected an object with __dlpack__ and __dlpack_device__, "
                        f"but got {type(obj).__name__}.")
    device_type = int(obj.__dlpack_device__()[0])
    if device_type in _HOST_DLPACK:
        array = np.from_dlpack(obj)  # host memory: pinned (kDLCUDAHost) memory is host memory too
    elif device_type in _CUDA_DLPACK:
        if not backend.gpu_available():
            raise RuntimeError(f"For 'from_dlpack', the data lives on a CUDA device, but the GPU "
                               f"cannot be used: {backend.gpu_status()[1]}.")
        array = backend.cupy.from_dlpack(obj)
    else:
        raise ValueError(f"For 'from_dlpack', DLPack device type {device_type} is not supported "
                         f"(expected 1 or 3, host memory: a CPU Tensor; 2 or 13, CUDA device or "
                         f"managed memory: a GPU Tensor).")
    _dt.from_numpy(array.dtype)
    return _wrap(array)


# Dunders call ops, and ops build Tensors: bound here, after Tensor exists.
from gpucell.ops import arithmetic as _ar  # noqa: E402
from gpucell.ops import comparison as _cmp  # noqa: E402
from gpucell.ops import conversion as _cv  # noqa: E402
from gpucell.ops import indexing as _ix  # noqa: E402
from gpucell.ops import linalg as _la  # noqa: E402
from gpucell.ops import shape as _sh  # noqa: E402
from gpucell.ops._dispatch import apply as _apply  # noqa: E402
from gpucell.ops.tensor_methods import install as _install_methods  # noqa: E402

_install_methods(Tensor)  # x.sum(), x.reshape(), x.exp()... as MindSpore's Tensor has them
