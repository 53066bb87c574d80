"""Cell: the unit networks are built from, holding Parameters and child Cells by attribute.

>>> import gpucell as ms
>>> from gpucell import nn, ops, Parameter, Tensor
>>> class Net(nn.Cell):
...     def __init__(self):
...         super().__init__()
...         self.w = Parameter(Tensor([[1.0], [2.0]]), name="w")
...     def construct(self, x):
...         return ops.matmul(x, self.w)
>>> Net()(Tensor([[1.0, 1.0]])).asnumpy()
array([[3.]], dtype=float32)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from gpucell.autograd import cell_grad as _cell_grad
from gpucell.ops._dispatch import hooks as _op_hooks
from gpucell.parameter import Parameter, ParameterTuple, guard_epoch
from gpucell.tensor import Tensor

__all__ = ["Cell", "HookHandle"]


class HookHandle:
    """Returned by ``register_*_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: OrderedDict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


_hook_ids = iter(range(1, 1 << 62))


class _CallObservers:
    """Global observers of every Cell call (jit tracer, profiler); empty, and free, by default.

    Each observer is called as ``observe(cell)`` before construct and may return a callable that
    is called with the output after it.
    """

    __slots__ = ("observers", "graph_call")

    def __init__(self):
        self.observers = ()
        # Set by gpucell.jit under set_context(mode=GRAPH_MODE): graph_call(cell, inputs, kwargs)
        # runs top-level Cell calls through a plan.
        self.graph_call = None


call_observers = _CallObservers()


class _Structure:
    """Counts changes of which Parameter or Cell sits where, in any Cell.

    A jit plan reaches Parameters through attribute lookups it cannot watch; it records this
    count when traced and is retraced once it moves, so a replaced Parameter is never stale.
    """

    __slots__ = ("epoch",)

    def __init__(self):
        self.epoch = 0


structure = _Structure()


class Cell:
    """Base class of every network and layer.

    Subclasses build their Parameters and child Cells in ``__init__`` and compute in
    ``construct``; calling the Cell runs the forward pre-hooks, ``construct`` and the forward hooks.
    Attribute assignment registers Parameters, Cells and ParameterTuples in assignment order.
    """

    def __init__(self, auto_prefix: bool = True, flags: dict | None = None):
        if not isinstance(auto_prefix, bool):
            raise TypeError(f"For 'Cell', 'auto_prefix' must be a bool, but got {auto_prefix!r}.")
        d = self.__dict__
        d["_params"] = OrderedDict()
        d["_cells"] = OrderedDict()
        d["_params_list"] = OrderedDict()
        d["_auto_prefix"] = auto_prefix
        d["_phase"] = "train"
        d["training"] = False
        d["requires_grad"] = False
        d["_bprop_debug"] = False
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_flags"] = dict(flags or {})
        d["_amp_dtype"] = None  # set by to_float: inputs and Parameters are cast to it inside construct
        d["_amp_cast"] = None  # while construct runs under to_float: {name: the cast Parameter}

    # -- registration --------------------------------------------------------------------------
    def _require_init(self, what: str) -> None:
        if "_params" not in self.__dict__:
            raise AttributeError(f"For '{type(self).__name__}', call super().__init__() before "
                                 f"assigning {what}.")

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._require_init(f"the Parameter '{name}'")
            if value._auto_named:
                value.name = name
            self._drop(name)
            self._params[name] = value
        elif isinstance(value, Cell):
            self._require_init(f"the Cell '{name}'")
            self._drop(name)
            self._cells[name] = value
            if self._auto_prefix:
                value.update_parameters_name(name + ".")
        elif isinstance(value, ParameterTuple):
            self._require_init(f"the ParameterTuple '{name}'")
            self._drop(name)
            for param in value:
                self._params[param.name] = param
            self._params_list[name] = value
        elif isinstance(value, Tensor) and self.__dict__.get("_params", {}).get(name) is not None:
            _write_into_parameter(self._params[name], value)
        elif "_params" in self.__dict__ and (name in self._params or name in self._cells):
            if value is not None:
                kind = "Parameter" if name in self._params else "Cell"
                raise TypeError(f"For '{type(self).__name__}', the attribute '{name}' holds a {kind}; "
                                f"it can only be replaced by a {kind} or None, but got "
                                f"{value!r:.60} of type '{type(value).__name__}'.")
            (self._params if name in self._params else self._cells)[name] = None
            structure.epoch += 1
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name: str) -> None:
        structure.epoch += 1
        self.__dict__.pop(name, None)
        for registry in ("_params", "_cells", "_params_list"):
            self.__dict__[registry].pop(name, None)

    def __getattr__(self, name: str):
        d = self.__dict__
        for registry in ("_params", "_cells", "_params_list"):
            table = d.get(registry)
            if table is not None and name in table:
                value = table[name]
                cast_cache = d.get("_amp_cast")
                if cast_cache is not None and registry == "_params" and value is not None:
                    return _amp_param(cast_cache, name, value, d["_amp_dtype"])
                return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'.")

    def __delattr__(self, name: str) -> None:
        for registry in ("_params", "_cells", "_params_list"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                structure.epoch += 1
                return
        object.__delattr__(self, name)

    def insert_param_to_cell(self, param_name: str, param: Parameter,
                             check_name_contain_dot: bool = True) -> None:
        """Registers ``param`` under ``param_name`` (no dots unless the check is off)."""
        if not isinstance(param_name, str) or not param_name:
            raise TypeError(f"For 'insert_param_to_cell', 'param_name' must be a non-empty str, "
                            f"but got {param_name!r}.")
        if check_name_contain_dot and "." in param_name:
            raise KeyError(f"For 'insert_param_to_cell', 'param_name' must not contain '.', "
                           f"but got {param_name!r}.")
        if not isinstance(param, Parameter) and param is not None:
            raise TypeError(f"For 'insert_param_to_cell', 'param' must be a Parameter, but got "
                            f"{type(param).__name__}.")
        if hasattr(type(self), param_name) or (param_name in self.__dict__):
            raise KeyError(f"For 'insert_param_to_cell', the name {param_name!r} is already an "
                           f"attribute of {type(self).__name__}.")
        if param is not None and param._auto_named:
            param.name = param_name
        self._params[param_name] = param
        structure.epoch += 1

    def insert_child_to_cell(self, child_name: str, child_cell: Cell) -> None:
        """Registers ``child_cell`` under ``child_name`` (which must not contain a dot)."""
        if not isinstance(child_name, str) or not child_name or "." in child_name:
            raise KeyError(f"For 'insert_child_to_cell', 'child_name' must be a non-empty str without "
                           f"'.', but got {child_name!r}.")
        if not isinstance(child_cell, Cell) and child_cell is not None:
            raise TypeError(f"For 'insert_child_to_cell', 'child_cell' must be a Cell, but got "
                            f"{type(child_cell).__name__}.")
        if hasattr(type(self), child_name) or child_name in self.__dict__:
            raise KeyError(f"For 'insert_child_to_cell', the name {child_name!r} is already an "
                           f"attribute of {type(self).__name__}.")
        self._cells[child_name] = child_cell
        structure.epoch += 1

    def update_parameters_name(self, prefix: str = "", recurse: bool = True) -> None:
        """Renames every Parameter to ``prefix`` + its attribute path under this Cell."""
        if not isinstance(prefix, str):
            raise TypeError(f"For 'update_parameters_name', 'prefix' must be a str, but got "
                            f"{type(prefix).__name__}.")
        for path, param in self.parameters_and_names(expand=recurse):
            param.name = prefix + path

    # -- traversal -----------------------------------------------------------------------------
    def parameters_and_names(self, name_prefix: str = "", expand: bool = True) \
            -> Iterator[tuple[str, Parameter]]:
        """Yields ``(path, Parameter)`` for each Parameter once, in registration order."""
        seen: set[int] = set()
        cells = self.cells_and_names(name_prefix=name_prefix) if expand else [(name_prefix, self)]
        for cell_path, cell in cells:
            for name, param in cell._params.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{cell_path}.{name}" if cell_path else name), param

    def get_parameters(self, expand: bool = True) -> Iterator[Parameter]:
        """A generator over every Parameter (of child Cells too when ``expand``)."""
        for _, param in self.parameters_and_names(expand=expand):
            yield param

    def trainable_params(self, recurse: bool = True) -> list[Parameter]:
        """The Parameters with ``requires_grad=True``."""
        return [p for p in self.get_parameters(expand=recurse) if p.requires_grad]

    def untrainable_params(self, recurse: bool = True) -> list[Parameter]:
        """The Parameters with ``requires_grad=False``."""
        return [p for p in self.get_parameters(expand=recurse) if not p.requires_grad]

    def parameters_dict(self, recurse: bool = True) -> OrderedDict:
        """An OrderedDict of Parameter name to Parameter."""
        return OrderedDict((p.name, p) for p in self.get_parameters(expand=recurse))

    def check_names(self) -> None:
        """ValueError if two different Parameters of this Cell (children included) share a name, as
        MindSpore checks before it compiles; optimizers and ``ParameterTuple`` refuse them too."""
        seen: dict[str, Parameter] = {}
        for path, param in self.parameters_and_names():
            if param.name in seen:
                raise ValueError(f"The value of {path} is {param!r}, its name '{param.name}' already exists. "
                                 f"Please set a unique name for the parameter.")
            seen[param.name] = param

    def cells_and_names(self, cells: set | None = None, name_prefix: str = "") \
            -> Iterator[tuple[str, Cell]]:
        """Yields ``('', self)`` (or ``name_prefix``) and then every descendant with its path."""
        seen = set() if cells is None else cells
        if id(self) in seen:
            return
        seen.add(id(self))
        yield name_prefix, self
        for name, cell in self._cells.items():
            if cell is None:
                continue
            path = f"{name_prefix}.{name}" if name_prefix else name
            yield from cell.cells_and_names(seen, path)

    def name_cells(self) -> OrderedDict:
        """The direct children by attribute name."""
        return OrderedDict((n, c) for n, c in self._cells.items() if c is not None)

    def cells(self):
        """The direct children."""
        return self.name_cells().values()

    def apply(self, fn: Callable[[Cell], None]) -> Cell:
        """Calls ``fn`` on every descendant Cell and then on this one; returns self."""
        for cell in self.cells():
            cell.apply(fn)
        fn(self)
        return self

    # -- state ---------------------------------------------------------------------------------
    def set_train(self, mode: bool = True) -> Cell:
        """Sets training mode on this Cell and its children; ``phase`` becomes 'train' or 'predict'."""
        if not isinstance(mode, bool):
            raise TypeError(f"For 'set_train', 'mode' must be a bool, but got {mode!r}.")
        for _, cell in self.cells_and_names():
            cell.__dict__["training"] = mode
            cell.__dict__["_phase"] = "train" if mode else "predict"
        guard_epoch.value += 1  # jit plans re-check the phases they were traced in
        return self

    def set_grad(self, requires_grad: bool = True) -> Cell:
        """Sets ``requires_grad`` on this Cell (not its children) and returns self, as MindSpore does.

        MindSpore's PyNative mode builds the backward graph during the forward only when the flag is
        on; gpucell records a backward whenever a gradient transform runs the Cell, so the flag is
        kept for code that reads it. ``TrainOneStepCell`` sets it on its network, as in MindSpore.

        >>> from gpucell import nn
        >>> net = nn.Dense(2, 1)
        >>> net.set_grad() is net, net.requires_grad
        (True, True)
        """
        if not isinstance(requires_grad, bool):
            raise TypeError(f"For 'set_grad', 'requires_grad' must be a bool, but got {requires_grad!r} "
                            f"of type '{type(requires_grad).__name__}'.")
        self.__dict__["requires_grad"] = requires_grad
        return self

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"For 'Cell.phase', expected a str, but got {type(value).__name__}.")
        self.__dict__["_phase"] = value
        guard_epoch.value += 1

    @property
    def bprop_debug(self) -> bool:
        return self._bprop_debug

    @bprop_debug.setter
    def bprop_debug(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"For 'Cell.bprop_debug', the value must be a bool, but got {value!r} of "
                            f"type '{type(value).__name__}'.")
        self.__dict__["_bprop_debug"] = value

    # -- calling -------------------------------------------------------------------------------
    def construct(self, *inputs, **kwargs):
        """The forward computation; every subclass defines it."""
        raise NotImplementedError(f"For '{type(self).__name__}', construct() is not defined; a Cell "
                                  f"subclass must define construct(self, ...).")

    def __call__(self, *inputs, **kwargs):
        if "_declared_inputs" in self.__dict__:
            _check_declared_inputs(self, inputs)
        if call_observers.graph_call is not None:
            return call_observers.graph_call(self, inputs, kwargs)
        if call_observers.observers:
            return self._observed_call(inputs, kwargs)
        if self._forward_pre_hooks or self._forward_hooks:
            return self._hooked_call(inputs, kwargs)
        return self._run_construct(inputs, kwargs)

    def _plain_call(self, inputs: tuple, kwargs: dict):
        """The call without graph mode: observers (if any), hooks, construct."""
        if call_observers.observers:
            return self._observed_call(inputs, kwargs)
        return self._hooked_call(inputs, kwargs)

    def _observed_call(self, inputs: tuple, kwargs: dict):
        finishers = [f for f in (observe(self) for observe in call_observers.observers) if f]
        output = self._hooked_call(inputs, kwargs)
        for finish in reversed(finishers):
            finish(output)
        return output

    def _hooked_call(self, inputs: tuple, kwargs: dict):
        for hook in tuple(self._forward_pre_hooks.values()):
            result = hook(self, inputs)
            if result is not None:
                inputs = result if isinstance(result, tuple) else (result,)
        output = self._run_construct(inputs, kwargs)
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, inputs, output)
            if result is not None:
                output = result
        return output

    def _run_construct(self, inputs: tuple, kwargs: dict):
        """Runs construct; while a gradient transform records, a Cell that defines ``bprop`` or has
        backward hooks goes through gpucell.autograd, which wires them into the graph."""
        amp = self.__dict__.get("_amp_dtype")
        if amp is not None:
            return self._amp_construct(amp, inputs, kwargs)
        # _construct_or_bprop's body, inlined: every Cell call of every eager step passes here.
        if _op_hooks.recording and (self._backward_hooks or _cell_grad.has_bprop(type(self))):
            return _cell_grad.call(self, inputs, kwargs)
        return self.construct(*inputs, **kwargs)

    def _construct_or_bprop(self, inputs: tuple, kwargs: dict):
        if _op_hooks.recording and (self._backward_hooks or _cell_grad.has_bprop(type(self))):
            return _cell_grad.call(self, inputs, kwargs)
        return self.construct(*inputs, **kwargs)

    def _amp_construct(self, amp, inputs: tuple, kwargs: dict):
        """construct under ``auto_mixed_precision``: an AutoCast (amp_level "auto") runs it with the
        op-level casts of gpucell._autocast on and returns float32; a dtype (``to_float``) casts."""
        from gpucell._autocast import AutoCast, autocast_scope

        if type(amp) is not AutoCast:
            return self._cast_construct(amp, inputs, kwargs)
        from gpucell import dtype as _dt

        with autocast_scope(amp.dtype):
            if amp.cell_dtype is None:
                output = self._construct_or_bprop(inputs, kwargs)
            else:
                output = self._cast_construct(amp.cell_dtype, inputs, kwargs)
        return _amp_value(output, _dt.float32)

    def _cast_construct(self, amp, inputs: tuple, kwargs: dict):
        """construct under ``to_float``: float inputs, and the float Parameters construct reads, are
        cast to ``amp`` (Cast ops, so gradients flow back to the float32 Parameters)."""
        inputs = tuple(_amp_value(x, amp) for x in inputs)
        kwargs = {k: _amp_value(v, amp) for k, v in kwargs.items()}
        d = self.__dict__
        saved = d["_amp_cast"]
        d["_amp_cast"] = {}
        try:
            output = self._construct_or_bprop(inputs, kwargs)
        finally:
            d["_amp_cast"] = saved
        if d.get("_amp_out32"):
            from gpucell import dtype as _dt

            output = _amp_value(output, _dt.float32)
        return output

    def set_inputs(self, *inputs) -> None:
        """Declares the inputs of this Cell, as MindSpore's dynamic-shape API: each a Tensor, or a
        placeholder ``Tensor(shape=[None, 3], dtype=ms.float32)`` whose None dims may vary. Every
        later call is checked against it (count, rank, fixed dims: ValueError; dtype: TypeError).

        gpucell compiles no symbolic shapes: a jitted call is keyed by its concrete shapes
        (gpucell.jit), so each size a dynamic dim takes gets its own plan (and CUDA graph), traced
        on its first call and replayed after.

        >>> import gpucell as ms
        >>> from gpucell import nn
        >>> net = nn.Dense(3, 2)
        >>> net.set_inputs(ms.Tensor(shape=[None, 3], dtype=ms.float32))
        >>> net(ms.ops.ones((5, 3), ms.float32)).shape
        (5, 2)
        """
        for i, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"For 'set_inputs', every input must be a Tensor (a placeholder such as "
                                f"Tensor(shape=[None, 3], dtype=ms.float32) for a dynamic shape), but input {i} "
                                f"is {type(x).__name__}.")
        self.__dict__["_declared_inputs"] = tuple(inputs)

    def get_inputs(self) -> tuple | None:
        """The inputs given to ``set_inputs`` (None if it was never called)."""
        return self.__dict__.get("_declared_inputs")

    def to_float(self, dst_type) -> Cell:
        """As MindSpore: this Cell and its sub-Cells run in ``dst_type`` (float16, bfloat16 or
        float32): their float inputs and Parameters are cast to it before construct. The Parameters
        themselves keep their dtype (float32 master weights).

        >>> import gpucell as ms
        >>> from gpucell import nn
        >>> net = nn.Dense(2, 1).to_float(ms.float16)
        >>> net(ms.ops.ones((1, 2), ms.float32)).dtype, net.weight.dtype
        (Float16, Float32)
        """
        from gpucell import dtype as _dt

        dtype = _dt.to_dtype(dst_type)
        if dtype not in (_dt.float16, _dt.bfloat16, _dt.float32):
            raise ValueError(f"For 'to_float', the 'dst_type' must be float16, bfloat16 or float32, but got "
                             f"{dst_type!r}.")
        for _, cell in self.cells_and_names():
            cell.__dict__["_amp_dtype"] = dtype
        structure.epoch += 1
        return self

    def hook_free(self) -> bool:
        """Whether no forward, forward-pre or backward hook is registered on this Cell (and no
        ``to_float`` cast has to run around its construct)."""
        return not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                    or self.__dict__.get("_amp_dtype") is not None)

    def _register(self, table: OrderedDict, hook, kind: str) -> HookHandle:
        if not callable(hook):
            raise TypeError(f"For '{kind}', the hook must be callable, but got {hook!r} of type "
                            f"'{type(hook).__name__}'.")
        key = next(_hook_ids)
        table[key] = hook
        return HookHandle(table, key)

    def register_forward_pre_hook(self, hook) -> HookHandle:
        """``hook(cell, inputs)`` runs before construct; a non-None return replaces the inputs."""
        return self._register(self._forward_pre_hooks, hook, "register_forward_pre_hook")

    def register_forward_hook(self, hook) -> HookHandle:
        """``hook(cell, inputs, output)`` runs after construct; a non-None return replaces the output."""
        return self._register(self._forward_hooks, hook, "register_forward_hook")

    def register_backward_hook(self, hook) -> HookHandle:
        """``hook(cell, grad_input, grad_output)`` runs in the backward pass once the gradients of
        this Cell's inputs are known (tuples of Tensors); a non-None return replaces grad_input."""
        return self._register(self._backward_hooks, hook, "register_backward_hook")

    # -- printing ------------------------------------------------------------------------------
    def extend_repr(self) -> str:
        """The text inside this Cell's parentheses in ``repr`` (layers override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extend_repr()
        children = [(n, c) for n, c in self._cells.items() if c is not None]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.append(f"  {extra}")
        for name, cell in children:
            body = repr(cell).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _check_declared_inputs(cell: Cell, inputs: tuple) -> None:
    """The inputs of a call against those of ``set_inputs``: a -1 (None) dim matches any size."""
    declared = cell.__dict__["_declared_inputs"]
    where = f"For '{type(cell).__name__}' with set_inputs"
    if len(inputs) != len(declared):
        raise ValueError(f"{where}, the call needs {len(declared)} inputs, but got {len(inputs)}.")
    for i, (x, want) in enumerate(zip(inputs, declared)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}, input {i} must be a Tensor, but got {type(x).__name__}.")
        if x.dtype is not want.dtype:
            raise TypeError(f"{where}, input {i} must be {want.dtype}, but got {x.dtype}.")
        shape = x.shape
        if len(shape) != len(want.shape) or any(w not in (-1, d) for w, d in zip(want.shape, shape)):
            raise ValueError(f"{where}, input {i} must have shape {list(want.shape)} (-1: any size), but "
                             f"got {list(shape)}.")


def _write_into_parameter(param: Parameter, value: Tensor) -> None:
    """``cell.p = tensor`` where ``p`` is a Parameter writes the tensor's data into it, as MindSpore's
    Cell does (``set_data``: same shape, an implicit cast only). Through ``ops.assign``, an op, so a
    jitted construct records the write and every replay repeats it."""
    from gpucell.ops.assign import assign

    param._check_incoming(value)
    if value.device != param.device:
        param.set_data(value)  # a host<->device copy: eager only, as any transfer
        return
    assign(param, value)


def _FLOAT_TYPES():
    from gpucell import dtype as _dt
    return (_dt.float16, _dt.bfloat16, _dt.float32, _dt.float64)


def _amp_value(x, amp):
    from gpucell.ops.conversion import cast

    if isinstance(x, Tensor) and x.dtype in _FLOAT_TYPES() and x.dtype != amp:
        return cast(x, amp)
    if isinstance(x, tuple):
        return tuple(_amp_value(v, amp) for v in x)
    if isinstance(x, list):
        return [_amp_value(v, amp) for v in x]
    return x


def _amp_param(cache: dict, name: str, param, amp):
    if not param.requires_grad:
        return param  # state such as BatchNorm's moving statistics is updated in place: never a copy
    if name not in cache:
        cache[name] = _amp_value(param, amp)
    return cache[name]
