"""Parameter: a named Tensor a Cell trains; ParameterTuple: a tuple of uniquely named Parameters.

>>> import gpucell as ms
>>> ms.Parameter(ms.Tensor([[1.0, 2.0]]), name="w")
Parameter (name=w, shape=(1, 2), dtype=Float32, requires_grad=True)
"""

from __future__ import annotations

import itertools

import numpy as np

from gpucell import backend
from gpucell import dtype as _dt
from gpucell.tensor import Tensor, _short_repr

__all__ = ["Parameter", "ParameterTuple"]

_AUTO_PREFIX = "Parameter#"
_auto_ids = itertools.count(1)


def _initial_array(default_input):
    """The array a Parameter starts from; a copy, so Parameters never share buffers by accident."""
    if isinstance(default_input, bool) or isinstance(default_input, np.bool_):
        raise ValueError(f"For 'Parameter', Parameter data can not be `bool`: 'default_input' must be "
                         f"a Tensor, a number, a list or an array, but got {default_input!r}.")
    if isinstance(default_input, Tensor):
        return default_input._data.copy()
    if isinstance(default_input, int):
        return Tensor(default_input, _dt.int32)._data
    if isinstance(default_input, float):
        return Tensor(default_input, _dt.float32)._data
    if isinstance(default_input, (np.ndarray, list, tuple, np.number)) or backend.is_gpu_array(default_input):
        return Tensor(default_input)._data
    raise TypeError(f"For 'Parameter', 'default_input' must be a Tensor, int, float, list, tuple or "
                    f"array, but got {_short_repr(default_input)} of type "
                    f"'{type(default_input).__name__}'.")


def _check_name(name, where: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"For '{where}', the name must be a str, but got {name!r} of type "
                        f"'{type(name).__name__}'.")
    if not name:
        raise ValueError(f"For '{where}', the name must not be empty.")
    return name


def _check_requires_grad(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"For '{where}', 'requires_grad' must be a bool, but got {value!r} of type "
                        f"'{type(value).__name__}'.")
    return value


class _GuardEpoch:
    """Counts changes that jit plans guard against without a retrace being certain: a Parameter's
    buffer replaced (``move_to``) and a Cell's phase changed. A plan re-checks its guards only
    when this moved since its last check (gpucell.jit.plan), so a steady training loop pays one
    comparison per call for them."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


guard_epoch = _GuardEpoch()


# MindSpore's ``implicit_conversion_seq``: Parameter.set_data casts a Tensor to the Parameter's dtype
# only when the Parameter's dtype comes later in this order, and raises TypeError otherwise.
_IMPLICIT_ORDER = {d: i for i, d in enumerate((_dt.bool_, _dt.int8, _dt.uint8, _dt.int16, _dt.int32, _dt.int64,
                                               _dt.float16, _dt.float32, _dt.float64, _dt.complex64,
                                               _dt.complex128))}


def _implicitly_castable(incoming: _dt.DType, current: _dt.DType) -> bool:
    if incoming is current:
        return True
    if incoming in _IMPLICIT_ORDER and current in _IMPLICIT_ORDER:
        return _IMPLICIT_ORDER[incoming] < _IMPLICIT_ORDER[current]
    # Dtypes outside MindSpore's order (UInt16/32/64, BFloat16): only into a dtype that holds every value.
    return bool(np.can_cast(incoming.numpy, current.numpy, "safe"))


def _check_implicit_cast(param: Parameter, incoming: _dt.DType) -> None:
    if not _implicitly_castable(incoming, param.dtype):
        raise TypeError(f"For 'Parameter.set_data' of '{param.name}', incoming Parameter dtype can not be "
                        f"converted to current dtype implicitly. Current dtype is {param.dtype}, and incoming is "
                        f"{incoming}. Use .set_dtype(xxx) to change the dtype.")


class Parameter(Tensor):
    """A Tensor with a name whose value a Cell updates in place during training.

    ``Parameter(default_input, name=None, requires_grad=True, layerwise_parallel=False)``. A Python
    int gives Int32 data, a float Float32; a bool is refused. Without a name it is called
    ``Parameter#N`` until a Cell attribute assignment gives it the attribute's name.
    """

    __slots__ = ("_name", "_auto_named", "_requires_grad", "layerwise_parallel", "_version")

    def __init__(self, default_input, name: str | None = None, requires_grad: bool = True,
                 layerwise_parallel: bool = False, parallel_optimizer: bool = True):
        requires_grad = _check_requires_grad(requires_grad, "Parameter")
        if name is not None:
            _check_name(name, "Parameter")
        self._data = _initial_array(default_input)
        self._node = None
        self._auto_named = name is None
        self._name = f"{_AUTO_PREFIX}{next(_auto_ids)}" if name is None else name
        self._requires_grad = requires_grad
        self.layerwise_parallel = bool(layerwise_parallel)
        self._version = 0  # bumped when the buffer is replaced, so compiled plans can notice

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = _check_name(value, "Parameter.name")
        self._auto_named = False

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._requires_grad = _check_requires_grad(value, "Parameter.requires_grad")

    @property
    def data(self) -> Parameter:
        return self

    def set_data(self, data, slice_shape: bool = False) -> Parameter:
        """Writes ``data`` into this Parameter in place, cast to its dtype, and returns it.

        The shape must match: a different shape raises ValueError (a silent reshape would also
        invalidate compiled plans).
        """
        if isinstance(data, bool):
            raise ValueError(f"For 'Parameter.set_data' of '{self._name}', the data can not be `bool`.")
        if isinstance(data, Tensor):
            self._check_incoming(data)
            source = data._data
        elif isinstance(data, (int, float, list, tuple, np.ndarray, np.number)) or backend.is_gpu_array(data):
            # Plain numbers are values, not typed tensors: they take the Parameter's dtype (as MindSpore
            # does for an int or a float), but a float never goes into an integer Parameter.
            source = Tensor(data)._data
            if source.dtype.kind in "fcV" and self._data.dtype.kind not in "fcV":
                _check_implicit_cast(self, _dt.from_numpy(source.dtype))
        else:
            raise TypeError(f"For 'Parameter.set_data' of '{self._name}', 'data' must be a Tensor, a number, "
                            f"a list or an array, but got {_short_repr(data)} of type "
                            f"'{type(data).__name__}'.")
        if tuple(source.shape) != self.shape:
            raise ValueError(f"For 'Parameter.set_data' of '{self._name}', the new data's shape "
                             f"{tuple(source.shape)} must equal the Parameter's shape {self.shape}.")
        if backend.device_of(source) != self.device:
            source = backend.to_device(source, self.device)
        self._data[...] = source
        return self

    def _check_incoming(self, data: Tensor) -> None:
        """What set_data checks of a Tensor before writing it: its dtype casts implicitly (MindSpore's
        order) and its shape is this Parameter's."""
        _check_implicit_cast(self, data.dtype)
        if tuple(data.shape) != self.shape:
            raise ValueError(f"For 'Parameter.set_data' of '{self._name}', the new data's shape "
                             f"{tuple(data.shape)} must equal the Parameter's shape {self.shape}.")

    def clone(self, init="same") -> Parameter:
        """A new Parameter with this name and a copy of the data (or data fresh from ``init``)."""
        if isinstance(init, str) and init == "same":
            source = self
        else:
            from gpucell.initializer import initializer
            source = initializer(init, self.shape, self.dtype)
            if source.device != self.device:
                source = source.move_to(self.device)
        twin = Parameter(source, name=self._name, requires_grad=self._requires_grad,
                         layerwise_parallel=self.layerwise_parallel)
        twin._auto_named = self._auto_named
        return twin

    def copy(self) -> Parameter:
        """A new Parameter with this name and a copy of the data: ``clone(init='same')``, as MindSpore."""
        return self.clone(init="same")

    def set_dtype(self, typ) -> _dt.DType:
        """Converts this Parameter's data to ``typ`` in place (the object and its name stay) and returns
        ``typ``; compiled plans that read it are retraced."""
        dtype = Tensor.set_dtype(self, typ)
        self._version += 1
        guard_epoch.value += 1
        return dtype

    def move_to(self, to: str, blocking: bool = True) -> Parameter:
        """Moves this Parameter's buffer to device ``to`` and returns the Parameter itself."""
        goal = backend.check_device(to, "Parameter.move_to")
        if goal != self.device:
            self._data = backend.to_device(self._data, goal)
            self._version += 1
            guard_epoch.value += 1
        return self

    def __repr__(self) -> str:
        return (f"Parameter (name={self._name}, shape={self.shape}, dtype={self.dtype}, "
                f"requires_grad={self._requires_grad})")

    def __reduce__(self):
        return (_rebuild_parameter, (self.asnumpy(), self._name, self._requires_grad,
                                     self.layerwise_parallel, self.device))


def _rebuild_parameter(array, name, requires_grad, layerwise_parallel, device):
    param = Parameter(Tensor(array, device=device), name=name, requires_grad=requires_grad,
                      layerwise_parallel=layerwise_parallel)
    return param


class ParameterTuple(tuple):
    """A tuple of Parameters with unique names, which can be cloned under a prefix.

    >>> import gpucell as ms
    >>> w = ms.Parameter(ms.Tensor([1.0]), name="w")
    >>> ms.ParameterTuple((w,)).clone("moments")
    (Parameter (name=moments.w, shape=(1,), dtype=Float32, requires_grad=True),)
    """

    def __new__(cls, iterable=()):
        items = tuple(iterable)
        seen: dict[str, Parameter] = {}
        for index, item in enumerate(items):
            if not isinstance(item, Parameter):
                raise TypeError(f"For 'ParameterTuple', every element must be a Parameter, but element "
                                f"{index} is {_short_repr(item)} of type '{type(item).__name__}'.")
            other = seen.get(item.name)
            if other is not None and other is not item:
                raise ValueError(f"For 'ParameterTuple', the value {item!r}, its name '{item.name}' "
                                 f"already exists. Please set a unique name for the parameter.")
            seen[item.name] = item
        return super().__new__(cls, items)

    def clone(self, prefix: str, init="same") -> ParameterTuple:
        """Each Parameter cloned (``init`` as in Parameter.clone) and renamed ``prefix.name``."""
        _check_name(prefix, "ParameterTuple.clone")
        clones = []
        for param in self:
            twin = param.clone(init)
            twin.name = f"{prefix}.{param.name}"
            clones.append(twin)
        return ParameterTuple(clones)

    def __repr__(self) -> str:
        return tuple.__repr__(self)

    __str__ = __repr__
