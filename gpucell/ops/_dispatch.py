"""``apply``: the single choke point every op call passes through.

Here, and nowhere else: the backend is chosen from the inputs, dtypes are promoted, the forward
runs, an autograd node is recorded when gradients are on, and the jit tracer / profiler (when one
is installed) sees the call. Keep this path lean: it is paid on every op of every step.
"""

from __future__ import annotations

import numpy as np

from gpucell import backend as _backend
from gpucell import dtype as _dt
from gpucell.tensor import Tensor

__all__ = ["Op", "apply", "hooks", "wrap", "gpu_ufunc", "promotion_casts", "is_capturable", "run_bfloat16",
           "widen_bfloat16", "round_bfloat16", "bfloat16_forward"]

_ndarray = np.ndarray
_new = object.__new__
_DTYPE = _dt._BY_NUMPY  # numpy dtype -> gpucell DType, the fast path of dtype.from_numpy
_SAVES = ("inputs", "output", "both", "none")
_BF16 = _dt.BF16_NUMPY  # None without ml_dtypes: no array has it
_F32 = np.dtype(np.float32)


def _first_input(n_inputs: int, attrs: dict) -> tuple:
    return (0,)


class Op:
    """An operation stated once: its forward per backend and its backward rule.

    ``cpu`` / ``gpu``: functions of arrays (and keyword attributes) returning an array or a tuple of
    arrays. ``backward(ctx, *grads)`` returns one gradient (Tensor or None) per input; it calls ops,
    so it runs through ``apply`` too, and an enclosing transform differentiates it (higher-order
    gradients): a gradient op that a rule calls has a backward of its own, or
    ``ops._util.no_higher_order`` (a clear error); none would claim a zero gradient.
    ``promote``: inputs are cast to their common dtype first (MindSpore's rules, see
    gpucell.dtype). ``differentiable=False`` ops never record a node.
    ``saves``: what the backward rule reads, kept until it has run: ``"inputs"``, ``"output"``,
    ``"both"`` or ``"none"`` (shapes and dtypes of the inputs are always kept).
    ``inplace``: the op writes into its first input (into the inputs ``writes(n_inputs, attrs)``
    names, where given); a recorded node that saved such a buffer makes the write an error (see
    gpucell.autograd), never a silently wrong gradient.
    ``bfloat16_native``: the GPU forward takes bfloat16 arrays as they are (the tensor-core
    matmuls); every other forward sees float32 copies of bfloat16 inputs (:func:`run_bfloat16`).
    ``capturable=False``: the GPU forward cannot run inside CUDA-graph capture (cuBLAS, a host
    synchronisation), so a jit plan runs it eagerly between captured segments. A function of the
    call's attributes decides per call, at trace time (indexing with slices can be captured, with
    index arrays it cannot): see :func:`is_capturable`.
    """

    __slots__ = ("name", "cpu", "gpu", "backward", "promote", "differentiable", "multi_output",
                 "inplace", "writes", "saves", "capturable", "bfloat16_native")

    def __init__(self, name: str, cpu, gpu=None, *, backward=None, promote: bool = False,
                 differentiable: bool = True, multi_output: bool = False, inplace: bool = False,
                 writes=None, saves: str = "inputs", capturable=True, bfloat16_native: bool = False):
        if saves not in _SAVES:
            raise ValueError(f"For 'Op' {name!r}, 'saves' must be one of {_SAVES}, but got {saves!r}.")
        self.name = name
        self.saves = saves
        self.cpu = cpu
        self.gpu = gpu if gpu is not None else cpu
        self.backward = backward
        self.promote = promote
        self.differentiable = differentiable and backward is not None
        self.multi_output = multi_output
        self.inplace = inplace
        self.writes = writes if writes is not None else _first_input
        self.capturable = capturable
        self.bfloat16_native = bfloat16_native

    def __repr__(self) -> str:
        return f"Op({self.name})"


def is_capturable(op: Op, attrs: dict) -> bool:
    """Whether this call of ``op`` (with these attributes) can run inside CUDA-graph capture."""
    capturable = op.capturable
    return capturable(attrs) if callable(capturable) else capturable


class _Hooks:
    """What lower layers install: ``record`` (autograd), ``observers`` (jit tracer, profiler).

    ``pre_observers`` run before anything else in ``apply`` and ``observers`` after the forward, so
    a pair of them brackets the call (the profiler times it so). An empty tuple costs one check.
    """

    __slots__ = ("recording", "record", "before_inplace", "observers", "pre_observers", "autocast")

    def __init__(self):
        # Nodes are recorded only while a gradient transform (grad, value_and_grad) runs and
        # no_grad is not in force: plain inference builds no graph.
        self.recording = False
        self.record = None        # record(op, inputs, outputs, attrs) -> None, set by gpucell.autograd
        # before_inplace(op, inputs, attrs): raises if a recorded node saved a buffer op writes
        self.before_inplace = None
        self.observers = ()       # each: observe(op, inputs, outputs, attrs)
        self.pre_observers = ()   # each: pre_observe(op, inputs, attrs); observers skip a call that raises
        # autocast(op, inputs) -> inputs: amp_level "auto" casts an op's inputs first (gpucell._autocast)
        self.autocast = None


hooks = _Hooks()


def wrap(array) -> Tensor:
    """A Tensor over ``array`` without copying or checks (0-d NumPy scalars become 0-d arrays)."""
    if isinstance(array, np.generic):
        array = np.asarray(array)
    t = _new(Tensor)
    t._data = array
    t._node = None
    return t


def _device_error(op: Op, inputs) -> ValueError:
    where = ", ".join(f"input {i} on {'CPU' if isinstance(x._data, _ndarray) else 'GPU'}"
                      for i, x in enumerate(inputs) if isinstance(x, Tensor))
    return ValueError(f"For '{op.name}', all tensors must be on one device, but got {where}. "
                      f"Move them with Tensor.move_to('GPU') or Tensor.move_to('CPU').")


def _type_error(op: Op, index: int, value) -> TypeError:
    return TypeError(f"For '{op.name}', input {index} must be a Tensor or a Python number, "
                     f"but got {type(value).__name__}.")


def _promote(op: Op, inputs, arrays) -> list:
    """Casts ``arrays`` to the dtype MindSpore gives ``op(*inputs)``; Python scalars stay weak."""
    target = None
    for x in inputs:
        if isinstance(x, Tensor):
            d = _DTYPE[x._data.dtype]
            target = d if target is None else _dt.promote_types(target, d)
    for x, a in zip(inputs, arrays):
        if not isinstance(x, Tensor) and a is not None:
            target = _dt.scalar_result_type(target, a)
    wanted = target.numpy
    return [a.astype(wanted) if isinstance(x, Tensor) and a.dtype != wanted else a
            for x, a in zip(inputs, arrays)]


def promotion_casts(op: Op, inputs) -> tuple | None:
    """The dtype each input is cast to before ``op``'s forward (None: none cast), for replays."""
    if not op.promote:
        return None
    arrays = [x._data if isinstance(x, Tensor) else (x.item() if isinstance(x, np.generic) else x)
              for x in inputs]
    promoted = _promote(op, inputs, arrays)
    casts = tuple(p.dtype if isinstance(x, Tensor) and p is not a else None
                  for x, a, p in zip(inputs, arrays, promoted))
    return casts if any(c is not None for c in casts) else None


def apply(op: Op, *inputs, **attrs):
    """Runs ``op`` on ``inputs`` (Tensors or Python numbers) and returns Tensor(s)."""
    if hooks.autocast is not None:
        inputs = hooks.autocast(op, inputs)
    if hooks.pre_observers:
        for pre_observe in hooks.pre_observers:
            pre_observe(op, inputs, attrs)
    if len(inputs) == 2:
        # Fast path, the shape of most calls: two tensors, one device, one dtype.
        x, y = inputs
        if isinstance(x, Tensor) and isinstance(y, Tensor):
            a = x._data
            b = y._data
            if a.dtype is b.dtype and type(a) is type(b) and a.dtype is not _BF16:
                if hooks.recording and op.inplace:
                    hooks.before_inplace(op, inputs, attrs)
                try:
                    out = (op.cpu if type(a) is _ndarray else op.gpu)(a, b, **attrs)
                except ValueError as exc:
                    raise _named(op, inputs, exc) from None
                return _finish(op, inputs, out, attrs, x._node is not None or y._node is not None)
    arrays = []
    on_cpu = None
    tracked = False
    first_dtype = None
    mixed = False        # tensors of different dtypes
    low = False          # a bfloat16 NumPy array among the inputs
    scalar_kind = 0      # 1: an int scalar is among the inputs, 2: a float scalar
    for x in inputs:
        if isinstance(x, Tensor):
            a = x._data
            cpu = isinstance(a, _ndarray)
            if on_cpu is None:
                on_cpu = cpu
                first_dtype = a.dtype
            else:
                if cpu is not on_cpu:
                    raise _device_error(op, inputs)
                if a.dtype is not first_dtype:
                    mixed = True
            if a.dtype is _BF16:
                low = True
            if x._node is not None:
                tracked = True
            arrays.append(a)
        else:
            if isinstance(x, np.generic):
                x = x.item()
            if isinstance(x, float):
                scalar_kind = 2
            elif isinstance(x, int) and not isinstance(x, bool):
                scalar_kind = scalar_kind or 1
            elif x is not None and not isinstance(x, bool):
                raise _type_error(op, len(arrays), x)
            arrays.append(x)
    if on_cpu is None:
        if inputs:
            raise TypeError(f"For '{op.name}', at least one input must be a Tensor.")
        on_cpu = _backend.get_device() == "CPU"  # creation ops: the current device
    if op.inplace and hooks.recording:
        hooks.before_inplace(op, inputs, attrs)
    if op.promote and (mixed or (scalar_kind == 2 and first_dtype.kind != "f")
                       or (scalar_kind == 1 and first_dtype.kind == "b")):
        arrays = _promote(op, inputs, arrays)

    try:
        if low and (on_cpu or not op.bfloat16_native):
            out = run_bfloat16(op.cpu if on_cpu else op.gpu, op, arrays, attrs)
        else:
            out = (op.cpu if on_cpu else op.gpu)(*arrays, **attrs)
    except ValueError as exc:
        raise _named(op, inputs, exc) from None
    return _finish(op, inputs, out, attrs, tracked)


def widen_bfloat16(a):
    """A float32 copy of a bfloat16 array (exact). CuPy has no bfloat16 arithmetic, only its bytes:
    on the GPU the upper half of a float32 is the bfloat16, so a shift widens it."""
    if isinstance(a, _ndarray):
        return a.astype(_F32)
    return (a.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def round_bfloat16(a):
    """``a`` rounded to bfloat16, to nearest even, NaN kept (what ml_dtypes does on NumPy)."""
    if isinstance(a, (_ndarray, np.generic)):
        return np.asarray(a).astype(_BF16)
    xp = _backend.array_module(a)
    u = a.astype(np.float32, copy=False).view(np.uint32)  # same itemsize: any strides
    rounded = ((u + (np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1)))) >> 16).astype(np.uint16)
    rounded = xp.where(a != a, np.uint16(0x7FC0), rounded)
    return rounded.view(_BF16)


def bfloat16_forward(fn, op: Op):
    """``fn`` as :func:`run_bfloat16` runs it, for a jit plan's replays (``bfloat16_of``: ``fn``)."""
    def forward(*arrays, **attrs):
        return run_bfloat16(fn, op, arrays, attrs)
    forward.bfloat16_of = fn
    return forward


def run_bfloat16(fn, op: Op, arrays, attrs: dict):
    """``fn(*arrays)`` for bfloat16 arrays: computed in float32, rounded back to bfloat16.

    ml_dtypes' own loops would accumulate reductions in bfloat16 (8 mantissa bits) and CuPy has no
    bfloat16 arithmetic; tensor cores and MindSpore accumulate in float32, so every op here sees
    float32 copies, on both backends. A float32 result is rounded back unless the op was given an
    explicit ``dtype`` or a float32 input; what an in-place op wrote into a widened copy is written
    back into the bfloat16 array.
    """
    wide = [widen_bfloat16(a) if getattr(a, "dtype", None) is _BF16 else a for a in arrays]
    out = fn(*wide, **attrs)
    if op.inplace:
        for a, w in zip(arrays, wide):
            if w is not a:
                a[...] = round_bfloat16(w)
    keep = attrs.get("dtype") is not None or any(getattr(a, "dtype", None) == _F32 for a in arrays)

    def narrow(o):
        for a, w in zip(arrays, wide):
            if o is w and w is not a:
                return a
        if keep or getattr(o, "dtype", None) != _F32:
            return o
        return round_bfloat16(o)

    if op.multi_output:
        return tuple(narrow(o) for o in out)
    return narrow(out)


def _named(op: Op, inputs: tuple, exc: ValueError) -> ValueError:
    """A NumPy/CuPy ValueError (e.g. shapes that do not broadcast) that names the op and the shapes;
    the ops' own errors already start with "For '...'" and pass through unchanged."""
    if str(exc).startswith("For '"):
        return exc
    shapes = ", ".join(str(x.shape) for x in inputs if isinstance(x, Tensor))
    return ValueError(f"For '{op.name}', {exc.args[0] if exc.args else exc} (input shapes: {shapes}).")


def _finish(op: Op, inputs: tuple, out, attrs: dict, tracked: bool):
    """Wraps the forward's result, records the autograd node, tells the observers."""
    if op.multi_output:
        outputs = tuple(wrap(o) for o in out)
    else:
        if type(out) is not _ndarray and isinstance(out, np.generic):
            out = np.asarray(out)
        outputs = _new(Tensor)
        outputs._data = out
        outputs._node = None
    if tracked and hooks.recording and op.differentiable:
        hooks.record(op, inputs, outputs, attrs)
    if hooks.observers:
        for observe in hooks.observers:
            observe(op, inputs, outputs, attrs)
    return outputs


def gpu_ufunc(name: str):
    """The GPU module's function of that name, looked up at call time (the module is CuPy or the
    simulated device, whichever gpucell.backend uses when the op runs)."""
    def forward(*args, **kwargs):
        return getattr(_backend.cupy, name)(*args, **kwargs)
    forward.__name__ = name
    return forward
