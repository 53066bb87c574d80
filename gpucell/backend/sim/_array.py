"""``cupy.ndarray`` on the simulated device: a NumPy view over simulated device memory.

An array is a NumPy view (``_h``, shape, strides, dtype) of the host bytes of a simulated
allocation, plus its ``MemoryPointer`` (``data``), which keeps the pool chunk alive as CuPy's does.
Metadata and views cost nothing; everything that reads or writes the elements goes through
_ops (and so _launch), which checks the access against the streams' order, and host reads
(``get``, ``item``, ``bool``, ``repr``) synchronise only the stream CuPy synchronises.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend.sim import _memory

__all__ = ["ndarray", "empty_array", "view_of"]

_POISON = 0xFF  # fresh `empty` memory reads as NaN (floats) or -1 (ints): uninitialised reads show


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, h: np.ndarray, owndata: bool):
        self.c_contiguous = h.flags.c_contiguous
        self.f_contiguous = h.flags.f_contiguous
        self.owndata = owndata

    def __getitem__(self, name):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[name])

    def __repr__(self):
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


def _supported(dtype: np.dtype) -> np.dtype:
    """``dtype`` if device memory can hold it, else CuPy's ValueError (cupy/_core/_dtype.pyx).
    Without this check an object array would be NumPy pointers over raw device bytes: reading it
    crashes the interpreter."""
    if dtype.byteorder == ">":
        raise ValueError(f"Unsupported dtype {dtype} with big-endian byte-order")
    if dtype.kind in "biufc":
        return dtype
    if dtype.kind == "V" and dtype.subdtype is None and dtype.itemsize:
        if dtype.hasobject:
            raise ValueError(f"Unsupported dtype {dtype} because it contains references which cannot be "
                             f"supported by CuPy.")
        return dtype  # structured and opaque types (ml_dtypes' bfloat16) are plain bytes
    raise ValueError(f"Unsupported dtype {dtype}")


class ndarray:
    """Multi-dimensional array on the (simulated) GPU: ``ndarray(shape, dtype=float, memptr=None,
    strides=None, order='C')``."""

    __slots__ = ("_h", "_mp", "_base", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        dtype = _supported(np.dtype(dtype))
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"Negative dimensions are not allowed: {shape}")
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if memptr is None:
            memptr = _memory.alloc(size)
        elif not isinstance(memptr, _memory.MemoryPointer):  # CuPy types the argument
            raise TypeError(f"Argument 'memptr' has incorrect type (expected cupy.cuda.memory.MemoryPointer, "
                            f"got {type(memptr).__name__})")
        base = memptr._memory
        h = np.ndarray(shape, dtype, buffer=base._buffer if base.size else np.empty(0, np.uint8),
                       offset=memptr._base if base.size else 0, strides=strides,
                       order="F" if order == "F" else "C") if size or base.size else np.empty(shape, dtype)
        self._h = h
        self._mp = memptr
        self._base = None

    # -- metadata --------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._h.shape

    @shape.setter
    def shape(self, value):
        self._h.shape = value

    @property
    def dtype(self) -> np.dtype:
        return self._h.dtype

    @property
    def ndim(self) -> int:
        return self._h.ndim

    @property
    def size(self) -> int:
        return self._h.size

    @property
    def itemsize(self) -> int:
        return self._h.itemsize

    @property
    def nbytes(self) -> int:
        return self._h.nbytes

    @property
    def strides(self) -> tuple:
        return self._h.strides

    @property
    def data(self) -> _memory.MemoryPointer:
        return self._mp

    @property
    def base(self):
        return self._base

    @property
    def device(self):
        from gpucell.backend.sim._device import Device
        return Device(self._mp.device_id)

    @property
    def flags(self) -> _Flags:
        return _Flags(self._h, self._base is None)

    @property
    def T(self):
        return view_of(self, self._h.T)

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "descr": self.dtype.descr,
                "strides": None if self._h.flags.c_contiguous else self.strides,
                "data": (self._mp.ptr, False), "version": 3}

    def __len__(self) -> int:
        if not self._h.ndim:
            raise TypeError("len() of unsized object")
        return len(self._h)

    def _span(self) -> tuple:
        """(Memory, lo, hi): the byte range this view covers in its allocation."""
        memory = self._mp._memory
        h = self._h
        if not h.size:
            return memory, 0, 0
        lo = hi = self._mp.ptr - memory.ptr
        for extent, step in zip(h.shape, h.strides):
            if step < 0:
                lo += (extent - 1) * step
            else:
                hi += (extent - 1) * step
        return memory, lo, hi + h.itemsize

    def _bytes(self) -> tuple:
        """(Memory, lo, hi, view): ``_span``'s bytes and, when the array does not touch all of them
        (a strided view), a NumPy view of the elements it does touch, for exact race checks."""
        memory, lo, hi = self._span()
        h = self._h
        return memory, lo, hi, None if h.flags.c_contiguous or h.flags.f_contiguous else h.view()

    # -- conversions to the host (each a device-to-host copy and a sync of the current stream) -------

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """A copy of the array in host memory (a device-to-host copy on ``stream``)."""
        from gpucell.backend.sim import _launch

        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if out.shape != self.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, actual shape: {out.shape}")
        _launch.host_read("a device-to-host copy (get/asnumpy)", [self._bytes()], stream, blocking)
        if out is not None:
            out[...] = self._h
            return out
        return np.array(self._h, order=order)

    def set(self, arr, stream=None) -> None:
        """Copies the host array ``arr`` into this array (same shape and dtype)."""
        from gpucell.backend.sim import _launch

        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, not {type(arr).__name__}")
        if arr.dtype != self.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        h = self._h
        source = np.array(arr)  # pageable memory is staged at once, as cudaMemcpyAsync does
        _launch.host_write("a host-to-device copy (set)", [self._bytes()], lambda: np.copyto(h, source), stream)

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.get().item()

    def tolist(self):
        return self.get().tolist()

    def __bool__(self) -> bool:
        return bool(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __float__(self) -> float:
        return float(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

    def __index__(self) -> int:
        if self.ndim or self.dtype.kind not in "iub":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self.get())

    def __repr__(self) -> str:
        return repr(self.get())

    def __str__(self) -> str:
        return str(self.get())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    # -- DLPack ------------------------------------------------------------------------------------

    def __dlpack_device__(self) -> tuple[int, int]:
        return 2, self._mp.device_id  # kDLCUDA

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        raise BufferError("The simulated device cannot export DLPack capsules: its memory is host memory "
                          "that a real CUDA consumer cannot read. Use cupy.from_dlpack(x) on the simulator, "
                          "or x.get() for a NumPy copy.")

    def toDlpack(self):
        return self.__dlpack__()

    def __cupy_get_ndarray__(self):
        return self


def empty_array(shape, dtype, order="C", poison: bool = True) -> ndarray:
    """A fresh array on the current device and stream (uninitialised memory reads as 0xFF bytes)."""
    array = ndarray(shape, dtype, order=order)
    if poison and array._h.size:
        array._mp._host_view(array._h.nbytes)[...] = _POISON
    return array


def view_of(source: ndarray, h: np.ndarray) -> ndarray:
    """A new array object over ``h``, a NumPy view into ``source``'s memory."""
    view = object.__new__(ndarray)
    view._h = h
    if h.size:
        view._mp = _memory.MemoryPointer(source._mp.mem, h.ctypes.data - source._mp.mem.ptr)
    else:
        view._mp = source._mp
    view._base = source if source._base is None else source._base
    return view
