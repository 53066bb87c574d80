"""save_checkpoint / load_checkpoint / load_param_into_net, with MindSpore's semantics.

Files are safetensors (readable by other tools; loading runs no code), written atomically: a crash
mid-save leaves the previous checkpoint intact (and a hidden ``.<name>.<pid>.<hex>.tmp`` beside it,
which is safe to delete). Loading validates everything (file structure,
CRC32s, then every shape and dtype against the net) before it writes a single Parameter, so a bad
checkpoint raises and leaves the net unchanged.

Optimizer state travels the way it does in MindSpore: saving a Cell that holds the optimizer (the
optimizer itself, or a TrainOneStepCell) saves its ``moments.*`` ParameterTuples too; saving the bare
network leaves them out; ``choice_func`` picks by name.

>>> import os, tempfile
>>> import gpucell as ms
>>> from gpucell import nn, Parameter, Tensor
>>> class Net(nn.Cell):
...     def __init__(self):
...         super().__init__()
...         self.w = Parameter(Tensor([[1.0, 2.0]]), name="w")
>>> path = os.path.join(tempfile.mkdtemp(), "net.ckpt")
>>> ms.save_checkpoint(Net(), path, append_dict={"epoch_num": 3})
>>> params = ms.load_checkpoint(path)
>>> params["w"]
Parameter (name=w, shape=(1, 2), dtype=Float32, requires_grad=True)
>>> ms.load_param_into_net(Net(), params)
([], ['epoch_num'])
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Callable

import numpy as np

from gpucell import _safetensors, backend
from gpucell import dtype as _dt
from gpucell.nn.cell import Cell
from gpucell.ops._util import check_bool
from gpucell.parameter import Parameter
from gpucell.tensor import Tensor, from_numpy

__all__ = ["CheckpointMismatchError", "load_checkpoint", "load_param_into_net", "save_checkpoint"]

_EXTENSIONS = (".ckpt", ".safetensors")
_FLOATS = frozenset({_dt.float16, _dt.float32, _dt.float64})
_INTS = frozenset({_dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.uint8})
# load_param_into_net reports what it did not load here, at WARNING, as MindSpore logs it: with no
# logging configured, Python prints WARNING records to stderr, so a user sees them.
logger = logging.getLogger(__name__)
_pending: dict[str, threading.Thread] = {}
_pending_lock = threading.Lock()
_write_lock = threading.Lock()


class CheckpointMismatchError(ValueError, RuntimeError):
    """A checkpoint entry whose shape or dtype does not fit the net (MindSpore raises RuntimeError)."""


# -- saving ------------------------------------------------------------------------------------
def save_checkpoint(save_obj, ckpt_file_name, integrated_save: bool = True, async_save=False,
                    append_dict: dict | None = None, enc_key=None, enc_mode: str = "AES-GCM",
                    choice_func: Callable[[str], bool] | None = None, crc_check: bool = False,
                    format: str = "ckpt") -> None:
    """Saves the Parameters of ``save_obj`` to ``ckpt_file_name`` (safetensors, written atomically).

    ``save_obj``: a Cell (every Parameter, by ``param.name``), a list of Parameters or of
    ``{"name": str, "data": Tensor}`` dicts, or a dict of name -> Parameter (``load_checkpoint``'s
    result). A name without ``.ckpt`` / ``.safetensors`` gets ``.ckpt`` (``.safetensors`` when
    ``format="safetensors"``), as MindSpore does. ``append_dict`` values: int, float, bool, Tensor
    or Parameter are saved as tensors, str in the file's metadata. ``async_save=True`` snapshots the
    data to host memory, then writes in a thread (``load_checkpoint`` of that file waits for it).
    ``choice_func(name) -> bool`` keeps only the names it accepts. A CRC32 of every tensor is
    always stored (``crc_check`` is accepted for MindSpore code). ``integrated_save`` only matters
    for model parallelism and is accepted as a no-op. Encryption is not supported.
    """
    where = "save_checkpoint"
    if not isinstance(save_obj, (Cell, list, dict)):
        raise TypeError(f"For '{where}', 'save_obj' must be a Cell, a list or a dict, but got "
                        f"{type(save_obj).__name__}.")
    for flag, value in (("integrated_save", integrated_save), ("crc_check", crc_check)):
        check_bool(where, flag, value)
    if async_save not in (False, True, "thread"):
        raise ValueError(f"For '{where}', 'async_save' must be a bool or 'thread', but got {async_save!r}.")
    _no_encryption(where, "enc_key", enc_key)
    if format not in ("ckpt", "safetensors"):
        raise ValueError(f"For '{where}', 'format' must be 'ckpt' or 'safetensors' (both are written as "
                         f"safetensors), but got {format!r}.")
    if choice_func is not None and not callable(choice_func):
        raise TypeError(f"For '{where}', 'choice_func' must be callable, but got "
                        f"{type(choice_func).__name__}.")
    path = _save_path(ckpt_file_name, format)

    entries, metadata = _entries_of(save_obj, choice_func)
    appended = _check_append_dict(append_dict)
    names = [name for name, _ in entries] + list(metadata) + list(appended)
    for key, value in appended.items():
        if isinstance(value, str):
            metadata[key] = value
        else:
            entries.append((key, value if isinstance(value, Tensor) else Tensor(value)))
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"For '{where}', the names {twice} occur more than once among the parameters "
                         f"and 'append_dict'; every saved name must be unique.")
    # A host snapshot first: training may go on (and change the Parameters) while a thread writes.
    copy = bool(async_save)
    arrays = [(name, np.array(t.asnumpy(), copy=True) if copy else t.asnumpy()) for name, t in entries]

    if not async_save:
        _write(path, arrays, metadata)
        return
    thread = threading.Thread(target=_write_in_thread, args=(path, arrays, metadata),
                              name=f"gpucell-save-{os.path.basename(path)}", daemon=False)
    with _pending_lock:
        previous = _pending.get(path)
        _pending[path] = thread
    if previous is not None:
        previous.join()  # two saves of one file land in the order they were asked for
    thread.start()


def _write(path: str, arrays, metadata) -> None:
    with _write_lock:
        _safetensors.write(path, arrays, metadata)


def _write_in_thread(path: str, arrays, metadata) -> None:
    try:
        _write(path, arrays, metadata)
    except BaseException as exc:  # noqa: BLE001 - a thread cannot raise to its caller
        warnings.warn(f"For 'save_checkpoint', the asynchronous save of '{path}' failed "
                      f"({type(exc).__name__}: {exc}); the previous file, if any, is unchanged.",
                      RuntimeWarning, stacklevel=1)


def _wait_for_save(path: str) -> None:
    with _pending_lock:
        thread = _pending.get(path)
    if thread is not None:
        thread.join()
        with _pending_lock:
            if _pending.get(path) is thread:
                del _pending[path]


def _save_path(name, format: str) -> str:
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"For 'save_checkpoint', 'ckpt_file_name' must be a str, but got "
                        f"{type(name).__name__}.")
    path = os.path.abspath(os.fspath(name))
    if os.path.isdir(path):
        raise IsADirectoryError(f"For 'save_checkpoint', 'ckpt_file_name' {path!r} is a directory; "
                                f"it must be a file name.")
    if not path.endswith(_EXTENSIONS):
        path += ".safetensors" if format == "safetensors" else ".ckpt"
    return path


def _entries_of(save_obj, choice_func) -> tuple[list[tuple[str, Tensor]], dict[str, str]]:
    """The (name, Tensor) pairs to save, and the str values a load_checkpoint dict carries."""
    where = "save_checkpoint"
    if isinstance(save_obj, Cell):
        pairs = [(p.name, p) for _, p in save_obj.parameters_and_names()]
    elif isinstance(save_obj, dict):
        pairs = list(save_obj.items())
    else:
        pairs = []
        for index, item in enumerate(save_obj):
            if isinstance(item, Parameter):
                pairs.append((item.name, item))
            elif isinstance(item, dict) and set(item) >= {"name", "data"}:
                pairs.append((item["name"], item["data"]))
            else:
                raise TypeError(f"For '{where}', a list 'save_obj' must hold Parameters or "
                                f"{{'name': str, 'data': Tensor}} dicts, but element {index} is "
                                f"{type(item).__name__}.")
    entries, strings = [], {}
    for name, data in pairs:
        if not isinstance(name, str) or not name:
            raise TypeError(f"For '{where}', every name must be a non-empty str, but got {name!r}.")
        if not isinstance(data, (Tensor, str)):
            raise TypeError(f"For '{where}', the data of '{name}' must be a Parameter or Tensor, but "
                            f"got {type(data).__name__}.")
        if choice_func is not None and not choice_func(name):
            continue
        if isinstance(data, str):  # a load_checkpoint dict carries appended strings along
            strings[name] = data
        else:
            entries.append((name, data))
    return entries, strings


def _check_append_dict(append_dict) -> dict:
    if append_dict is None:
        return {}
    if not isinstance(append_dict, dict):
        raise TypeError(f"For 'save_checkpoint', 'append_dict' must be a dict, but got "
                        f"{type(append_dict).__name__}.")
    for key, value in append_dict.items():
        if not isinstance(key, str) or not isinstance(value, (int, float, bool, str, Tensor)):
            raise TypeError(f"For 'save_checkpoint', 'append_dict' maps str to int, float, bool, str, "
                            f"Tensor or Parameter, but got {key!r}: {type(value).__name__}.")
        if key.startswith("gpucell.") or key == "__metadata__":
            raise ValueError(f"For 'save_checkpoint', the 'append_dict' key {key!r} is reserved.")
    return append_dict


# -- loading -----------------------------------------------------------------------------------
def load_checkpoint(ckpt_file_name, net: Cell | None = None, strict_load: bool = False,
                    filter_prefix=None, dec_key=None, dec_mode: str = "AES-GCM", specify_prefix=None,
                    choice_func: Callable[[str], bool] | None = None, crc_check: bool = False,
                    format: str = "ckpt") -> dict:
    """Reads a checkpoint into a dict of name -> Parameter (appended strings stay str).

    The file is validated before anything is returned: its structure, and each tensor's CRC32
    when gpucell wrote it (``crc_check=True`` also refuses files without CRCs). A damaged or
    truncated file raises ValueError naming the file and the problem. ``specify_prefix`` keeps
    only names starting with it, ``filter_prefix`` drops them (each a str or a list/tuple of str);
    when neither is given, ``choice_func(name) -> bool`` decides. With ``net``, the Parameters are
    then loaded into it through ``load_param_into_net(net, params, strict_load)``. The Parameters
    are created on the current device.
    """
    where = "load_checkpoint"
    check_bool(where, "strict_load", strict_load)
    check_bool(where, "crc_check", crc_check)
    _no_encryption(where, "dec_key", dec_key)
    if net is not None and not isinstance(net, Cell):
        raise TypeError(f"For '{where}', 'net' must be a Cell or None, but got {type(net).__name__}.")
    if not isinstance(ckpt_file_name, (str, os.PathLike)):
        raise TypeError(f"For '{where}', 'ckpt_file_name' must be a str, but got "
                        f"{type(ckpt_file_name).__name__}.")
    specify = _check_prefix(specify_prefix, "specify_prefix")
    filters = _check_prefix(filter_prefix, "filter_prefix")
    path = os.path.abspath(os.fspath(ckpt_file_name))
    _wait_for_save(path)
    if not os.path.isfile(path):
        raise ValueError(f"For '{where}', the checkpoint file '{path}' does not exist.")

    def wanted(name: str) -> bool:
        if specify or filters:
            return ((not specify or name.startswith(specify))
                    and not (filters and name.startswith(filters)))
        return choice_func is None or bool(choice_func(name))

    with open(path, "rb") as f:
        entries, metadata, start = _safetensors.read_header(f, path)
        crcs = _safetensors.crc_table(metadata, path)
        if crc_check and not crcs:
            raise ValueError(f"For '{where}', 'crc_check' is True but '{path}' holds no CRC32s.")
        arrays = {e.name: _safetensors.read_tensor(f, path, e, start, crcs.get(e.name))
                  for e in entries if wanted(e.name)}
    result: dict = {name: Parameter(array, name=name) for name, array in arrays.items()}
    for key, value in metadata.items():
        if key != _safetensors.CRC_KEY and key not in result and wanted(key):
            result[key] = value
    if not result:
        raise ValueError(f"For '{where}', nothing was loaded from '{path}': the file is empty or "
                         f"'specify_prefix', 'filter_prefix' or 'choice_func' removed every name.")
    if net is not None:
        load_param_into_net(net, result, strict_load)
    return result


def _check_prefix(prefix, arg: str) -> tuple[str, ...]:
    if prefix is None:
        return ()
    items = (prefix,) if isinstance(prefix, str) else prefix
    if not isinstance(items, (list, tuple)) or not items or not all(
            isinstance(p, str) and p for p in items):
        raise TypeError(f"For 'load_checkpoint', '{arg}' must be a non-empty str or a non-empty "
                        f"list/tuple of non-empty str, but got {prefix!r}.")
    return tuple(items)


# -- into a net --------------------------------------------------------------------------------
def load_param_into_net(net: Cell, parameter_dict: dict, strict_load: bool = False) \
        -> tuple[list[str], list[str]]:
    """Writes ``parameter_dict``'s values into ``net``'s Parameters of the same name, in place.

    Returns ``(param_not_load, ckpt_not_load)``: names of the net's Parameters that got nothing, and
    names in ``parameter_dict`` that went nowhere (string entries always stay here). When some of
    the net's Parameters get nothing, a WARNING on the ``gpucell.checkpoint`` logger lists them, as
    MindSpore logs it (with no logging configured, Python prints it to stderr).

    With ``strict_load=False`` (MindSpore's default), Parameters still missing are matched by
    suffix, by MindSpore's rule: the first dict name that ends with a missing net name (net order,
    then dict order) gives a prefix ``P``; every missing ``n`` with ``P + n`` in the dict loads from
    it; repeated while a new prefix turns up, each logged at WARNING. So a checkpoint of a wrapping
    Cell (``backbone.dense.weight``) loads into the bare net (``dense.weight``). Dtypes of one kind
    convert (float32 <-> float16, int64 -> int32) when no value overflows. With
    ``strict_load=True`` names and dtypes must match exactly. A shape or dtype mismatch raises
    CheckpointMismatchError (a ValueError and a RuntimeError) before any Parameter changes.
    Unlike MindSpore, a dict entry loaded through a prefix leaves ``ckpt_not_load``.

    >>> from gpucell import nn, Parameter, Tensor
    >>> class Net(nn.Cell):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(Tensor([1.0]), name="w")
    >>> load_param_into_net(Net(), {"x": Parameter(Tensor([2.0]), name="x")})  # and a WARNING
    (['w'], ['x'])
    """
    where = "load_param_into_net"
    if not isinstance(net, Cell):
        raise TypeError(f"For '{where}', 'net' must be a Cell, but got {type(net).__name__}.")
    if not isinstance(parameter_dict, dict):
        raise TypeError(f"For '{where}', 'parameter_dict' must be a dict, but got "
                        f"{type(parameter_dict).__name__}.")
    for key, value in parameter_dict.items():
        if not isinstance(key, str) or not isinstance(value, (Tensor, str)):
            raise TypeError(f"For '{where}', 'parameter_dict' must map str to Parameter (or str), but "
                            f"got {key!r}: {type(value).__name__}.")
    check_bool(where, "strict_load", strict_load)

    plan: list[tuple[Parameter, str]] = []
    param_not_load: list[str] = []
    missing: list[Parameter] = []
    ckpt_not_load = list(parameter_dict)
    for _, param in net.parameters_and_names():
        value = parameter_dict.get(param.name)
        if value is None:
            param_not_load.append(param.name)
            missing.append(param)
        elif not isinstance(value, str):  # a string entry loads nothing, as in MindSpore
            plan.append((param, param.name))
    if missing and not strict_load:
        plan += _match_by_suffix(missing, parameter_dict, param_not_load)
    for _, key in plan:
        if key in ckpt_not_load:
            ckpt_not_load.remove(key)

    # Everything is checked and converted before the first write: a mismatch changes nothing.
    ready = [(param, _converted(param, key, parameter_dict[key], strict_load)) for param, key in plan]
    for param, data in ready:
        param.set_data(data if isinstance(data, Tensor) else _tensor_of(data))
    if param_not_load:
        _warn_not_loaded(param_not_load, len(plan), ckpt_not_load)
    return param_not_load, ckpt_not_load


def _warn_not_loaded(param_not_load: list[str], loaded: int, ckpt_not_load: list[str]) -> None:
    """MindSpore's WARNING; when nothing at all loaded, it also shows what the dict held instead."""
    message = (f"For 'load_param_into_net', {len(param_not_load)} parameters in the 'net' are not loaded, "
               f"because they are not in the 'parameter_dict', please check whether the network "
               f"structure is consistent when training and loading checkpoint. {param_not_load} are "
               f"not loaded.")
    if not loaded:
        shown = ckpt_not_load[:5] + (["..."] if len(ckpt_not_load) > 5 else [])
        message += (f" No parameter of the 'net' was loaded: the 'parameter_dict' names are {shown}"
                    if ckpt_not_load else " No parameter of the 'net' was loaded: the 'parameter_dict' is "
                                          "empty")
        message += "."
    logger.warning(message)


def _match_by_suffix(missing: list[Parameter], parameter_dict: dict, param_not_load: list[str]):
    """MindSpore's prefix search (``_load_dismatch_prefix_params``): the first dict name that ends
    with a missing net name gives a prefix P; every missing name n with P + n in the dict loads."""
    tensors = [k for k, v in parameter_dict.items() if not isinstance(v, str)]
    found = []
    while missing:
        prefix = next((key[:-len(p.name)] for p in missing for key in tensors
                       if len(key) > len(p.name) and key.endswith(p.name)), None)
        if prefix is None:
            break
        logger.warning(f"For 'load_param_into_net', remove parameter prefix name: {prefix}, continue to load.")
        hits = [p for p in missing if prefix + p.name in parameter_dict
                and not isinstance(parameter_dict[prefix + p.name], str)]
        for param in hits:
            found.append((param, prefix + param.name))
            missing.remove(param)
            param_not_load.remove(param.name)
    return found


def _converted(param: Parameter, key: str, value: Tensor, strict_load: bool):
    """``value``'s data, checked against ``param`` and cast to its dtype on its device."""
    where = "load_param_into_net"
    if tuple(value.shape) != param.shape:
        raise CheckpointMismatchError(
            f"For '{where}', '{param.name}' has shape {param.shape} in the net but '{key}' has shape "
            f"{tuple(value.shape)} in the checkpoint; nothing was loaded.")
    data = value.move_to(param.device) if value.device != param.device else value
    if value.dtype == param.dtype:
        return data
    same_kind = ({value.dtype, param.dtype} <= _FLOATS) or ({value.dtype, param.dtype} <= _INTS)
    if strict_load or not same_kind:
        why = "strict_load requires equal dtypes" if same_kind else "only float <-> float and int <-> int " \
            "convert (and only with strict_load=False)"
        raise CheckpointMismatchError(
            f"For '{where}', '{param.name}' is {param.dtype} in the net but '{key}' is {value.dtype} "
            f"in the checkpoint ({why}); nothing was loaded.")
    raw = data._data
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, by name
        cast = raw.astype(param.dtype.numpy)
    if param.dtype in _INTS:
        info = np.iinfo(param.dtype.numpy)
        if raw.size and (int(raw.min()) < info.min or int(raw.max()) > info.max):
            raise CheckpointMismatchError(
                f"For '{where}', '{key}' holds values in [{int(raw.min())}, {int(raw.max())}] that "
                f"overflow the net's {param.dtype} '{param.name}'; nothing was loaded.")
    elif raw.size and bool((_xp(raw).isfinite(raw) & ~_xp(raw).isfinite(cast)).any()):
        raise CheckpointMismatchError(
            f"For '{where}', '{key}' holds values too large for the net's {param.dtype} "
            f"'{param.name}'; nothing was loaded.")
    return cast


def _xp(array):
    return backend.array_module(array)


def _tensor_of(array) -> Tensor:
    """A Tensor over ``array`` (no copy on the CPU)."""
    return from_numpy(array) if isinstance(array, np.ndarray) else Tensor(array)


# -- shared checks -----------------------------------------------------------------------------
def _no_encryption(where: str, arg: str, key) -> None:
    if key is not None:
        raise NotImplementedError(f"For '{where}', '{arg}' (checkpoint encryption) is not supported by "
                                  f"gpucell; leave it None.")
