"""How a NumPy computation becomes a simulated device operation.

``call(what, func, args, kwargs)`` is the whole of it: the simulated arrays among the arguments
become their NumPy views (their bytes are the reads; an ``out=`` array's are the writes); ``func``
runs on those views; each array in its result is then either a view into one of the inputs'
memory (no work, as in CuPy) or fresh data, which gets a pool allocation on the current stream and
counts as a write of the operation. While the stream captures, ``func`` runs once on a scratch
``out`` to learn the result's shape, and the real computation is recorded for Graph.launch.
"""

from __future__ import annotations

import numpy as np

from gpucell.backend.sim import _context, _launch, _streams
from gpucell.backend.sim._array import empty_array, ndarray, view_of

__all__ = ["call", "unwrap", "wrap_host", "check_device", "CUBLAS", "SYNC", "FRESH"]

FRESH, CUBLAS, SYNC = "fresh", "cuBLAS", "sync"
_ndarray_type = np.ndarray


def check_device(array: ndarray) -> None:
    current = _context.get_device_id()
    if array._mp.device_id != current:
        raise ValueError(f"Array device must be same as the current device: array device = "
                         f"{array._mp.device_id} while current = {current}")


def unwrap(value, arrays: list, allow_sequences: bool = True):
    """``value`` with each simulated array replaced by its NumPy view (appended to ``arrays``)."""
    kind = type(value)
    if kind is ndarray:
        check_device(value)
        arrays.append(value)
        return value._h
    if kind is _ndarray_type:
        raise TypeError(f"Unsupported type {kind}")
    if kind in (list, tuple) and allow_sequences:
        return kind(unwrap(v, arrays) for v in value)
    return value


def _owner(h: np.ndarray, arrays: list) -> ndarray | None:
    """The input whose memory ``h`` views, or None if ``h`` is fresh data."""
    index = _viewed(h, [array._mp._memory for array in arrays])
    return None if index is None else arrays[index]


def _viewed(h: np.ndarray, memories: list) -> int | None:
    """The index of the Memory in ``memories`` that ``h`` views, or None if ``h`` is fresh data."""
    if h.base is None or not h.size:
        return None
    address = h.ctypes.data
    for index, memory in enumerate(memories):
        if memory.ptr <= address < memory.ptr + memory.size:
            return index
    return None


def _wrap(result, inputs: list, out_arrays: list, fresh: list, capturing: bool, scratch: tuple = ()):
    """The simulated arrays for a NumPy result (fresh ones appended to ``fresh``); ``scratch``:
    (probe buffer, out array) pairs standing for ``out=`` arrays while capturing."""
    if isinstance(result, tuple):
        return tuple(_wrap(r, inputs, out_arrays, fresh, capturing, scratch) for r in result)
    if isinstance(result, list):
        return [_wrap(r, inputs, out_arrays, fresh, capturing, scratch) for r in result]
    if isinstance(result, _ndarray_type):
        for out in out_arrays:
            if result is out._h:
                return out
        for probe, out in scratch:
            if result is probe:
                return out
        owner = _owner(result, inputs)
        if owner is not None:
            return view_of(owner, result)
    elif isinstance(result, np.generic):
        result = np.asarray(result)
    else:
        return result  # Python scalars, dtypes, None
    array = empty_array(result.shape, result.dtype, poison=capturing)
    if not capturing:
        array._h[...] = result
    fresh.append((array, result))
    return array


def call(what: str, func, args: tuple, kwargs: dict, kind: str = FRESH, sequences: bool = True,
         writes: tuple = (), overwrites: tuple = ()):
    """Runs ``func`` (a function of NumPy arrays) as one operation on the current stream.

    ``writes``: arrays among the arguments that ``func`` modifies in place (``out=`` is found by
    itself); ``overwrites``: arrays among the arguments that it writes without reading them (fill,
    assignment), so they are not reads of the operation. An operation whose results are all views
    of its inputs queues no work at all.
    """
    inputs: list[ndarray] = []
    hargs = [unwrap(a, inputs, sequences) for a in args]
    if overwrites:
        inputs = [a for a in inputs if not any(a is o for o in overwrites)]
    out_arrays: list[ndarray] = list(writes) + list(overwrites)
    hkwargs = {}
    for key, value in kwargs.items():
        if key == "out" and value is not None:
            if isinstance(value, tuple):
                hkwargs[key] = tuple(unwrap(v, out_arrays) for v in value)
            else:
                if type(value) is not ndarray:
                    raise TypeError(f"For '{what}', 'out' must be a cupy.ndarray, but got {type(value).__name__}")
                hkwargs[key] = unwrap(value, out_arrays)
        else:
            hkwargs[key] = unwrap(value, inputs, sequences)
    state = _streams.current_state()
    if kind is CUBLAS and any(a.dtype.kind in "fc" for a in inputs):
        _launch.refuse_library_in_capture("cuBLAS")
    elif kind is SYNC and state.capture is not None:
        raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")
    if state.capture is None:
        if out_arrays:
            # The computation writes in place as it runs: check the order first, so that an
            # operation refused with RaceError leaves the memory as it was.
            _launch.check(what, [a._bytes() for a in inputs], [a._bytes() for a in out_arrays], state)
        with np.errstate(all="ignore"):
            result = func(*hargs, **hkwargs)
        fresh: list = []
        wrapped = _wrap(result, inputs, out_arrays, fresh, False)
        if not fresh and not out_arrays:
            return wrapped  # views only: metadata, no device work
        reads = [a._bytes() for a in inputs]
        written = [a._bytes() for a in out_arrays] + [a._bytes() for a, _ in fresh]
        if kind is SYNC:
            _launch.host_read(what, reads)
            _launch.launch(what, [], written, None, state)
        else:
            _launch.launch(what, reads, written, None, state)
        return wrapped
    # Capturing: learn the result's structure on scratch copies of what is written, record the work.
    targets_of_writes = {id(a._h) for a in out_arrays}
    probe_args = [h.copy() if isinstance(h, _ndarray_type) and id(h) in targets_of_writes else h for h in hargs]
    probe_kwargs = dict(hkwargs)
    scratch = [(p, a) for p, a in zip(probe_args, args) if type(a) is ndarray and id(a._h) in targets_of_writes]
    if "out" in probe_kwargs and probe_kwargs["out"] is not None:
        real = probe_kwargs["out"]
        outs = kwargs["out"] if isinstance(real, tuple) else (kwargs["out"],)
        copies = tuple(np.empty_like(h) for h in (real if isinstance(real, tuple) else (real,)))
        probe_kwargs["out"] = copies if isinstance(real, tuple) else copies[0]
        scratch += list(zip(copies, outs))
    with np.errstate(all="ignore"):
        probe = func(*probe_args, **probe_kwargs)
    fresh = []
    wrapped = _wrap(probe, inputs, out_arrays, fresh, True, tuple(scratch))
    if not fresh and not out_arrays:
        return wrapped
    targets = [array._h for array, _ in fresh]
    # The replay holds the NumPy views and the Memory, never the arrays: CuPy's Graph keeps no array
    # alive, so once the user drops one the pool may hand its block to a new array, and Graph.launch
    # must be able to see that (holding the arrays here hid that bug class).
    input_memories = [a._mp._memory for a in inputs]
    out_views = [a._h for a in out_arrays]

    def run():
        with np.errstate(all="ignore"):
            result = func(*hargs, **hkwargs)
        if targets:
            for target, value in zip(targets, _fresh_parts(result, input_memories, out_views)):
                target[...] = value

    reads = [a._bytes() for a in inputs]
    written = [a._bytes() for a in out_arrays] + [a._bytes() for a, _ in fresh]
    _launch.launch(what, reads, written, run, state)
    return wrapped


def _fresh_parts(result, input_memories: list, out_views: list) -> list:
    """The fresh (not a view, not ``out``) arrays of a result, in _wrap's order."""
    parts = []

    def visit(r):
        if isinstance(r, (tuple, list)):
            for item in r:
                visit(item)
        elif isinstance(r, _ndarray_type):
            if any(r is out for out in out_views) or _viewed(r, input_memories) is not None:
                return
            parts.append(r)
        elif isinstance(r, np.generic):
            parts.append(np.asarray(r))

    visit(result)
    return parts


def wrap_host(what: str, host: np.ndarray, stream=None) -> ndarray:
    """A new device array holding a copy of the host array ``host`` (a host-to-device copy)."""
    host = np.array(host, copy=True, order="C") if not host.flags.c_contiguous or host.base is not None \
        else host.copy()
    if host.dtype.byteorder == ">":
        host = host.astype(host.dtype.newbyteorder("<"))  # CuPy byte-swaps host data (normalize_dtype)
    array = empty_array(host.shape, host.dtype, poison=False)
    h = array._h
    _launch.host_write(what, [array._bytes()], lambda: np.copyto(h, host), stream)
    return array
