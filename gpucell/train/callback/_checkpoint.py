"""ModelCheckpoint and CheckpointConfig: save the training network every N steps, keep the last K.

Files are named as MindSpore names them, ``<prefix>-<epoch>_<step in epoch>.ckpt``; a prefix whose
files already exist in the directory becomes ``<prefix>_1``, ``<prefix>_2``... The training network
is saved (the network with its optimizer state: moments, learning rate, global step), through
``gpucell.save_checkpoint``, which writes atomically.
"""

from __future__ import annotations

import glob
import os
import time

from gpucell.train.callback._callback import Callback, step_in_epoch
from gpucell.train.callback._console import rank_zero

__all__ = ["CheckpointConfig", "ModelCheckpoint"]


def _opt_int(where: str, arg: str, value, minimum: int = 0):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"For '{where}', the '{arg}' must be an int >= {minimum} or None, but got "
                         f"{value!r}.")
    return value


class CheckpointConfig:
    """When to save and how many files to keep.

    ``save_checkpoint_steps``: save every N steps; ``save_checkpoint_seconds``: or every N seconds
    (used when the steps are 0 or None); ``keep_checkpoint_max``: the newest K files are kept;
    ``saved_network``: save this Cell instead of the training network; ``append_info``: a list of
    ``"epoch_num"``, ``"step_num"`` and dicts of extra values written into each file.
    """

    def __init__(self, save_checkpoint_steps=1, save_checkpoint_seconds=0, keep_checkpoint_max=5,
                 keep_checkpoint_per_n_minutes=0, integrated_save=True, async_save=False,
                 saved_network=None, append_info=None, enc_key=None, enc_mode="AES-GCM",
                 exception_save=False, **kwargs):
        where = "CheckpointConfig"
        self.save_checkpoint_steps = _opt_int(where, "save_checkpoint_steps", save_checkpoint_steps)
        self.save_checkpoint_seconds = _opt_int(where, "save_checkpoint_seconds", save_checkpoint_seconds)
        if not self.save_checkpoint_steps and not self.save_checkpoint_seconds:
            raise ValueError(f"For '{where}', 'save_checkpoint_steps' and 'save_checkpoint_seconds' can "
                             f"not both be 0 or None.")
        self.keep_checkpoint_max = _opt_int(where, "keep_checkpoint_max", keep_checkpoint_max, 1) or 1
        self.keep_checkpoint_per_n_minutes = keep_checkpoint_per_n_minutes
        self.integrated_save = integrated_save
        self.async_save = async_save
        if enc_key is not None:
            raise ValueError(f"For '{where}', encryption ('enc_key') is not supported by gpucell.")
        from gpucell.nn.cell import Cell
        if saved_network is not None and not isinstance(saved_network, Cell):
            raise TypeError(f"For '{where}', the 'saved_network' must be a Cell or None, but got "
                            f"{type(saved_network).__name__}.")
        self.saved_network = saved_network
        self.append_info = self._check_append_info(append_info)
        self.exception_save = exception_save

    @staticmethod
    def _check_append_info(info):
        if info is None:
            return []
        if not isinstance(info, list):
            raise TypeError(f"For 'CheckpointConfig', the 'append_info' must be a list, but got "
                            f"{type(info).__name__}.")
        for item in info:
            if not (item in ("epoch_num", "step_num") or isinstance(item, dict)):
                raise ValueError(f"For 'CheckpointConfig', each 'append_info' entry must be 'epoch_num', "
                                 f"'step_num' or a dict, but got {item!r}.")
        return info


class ModelCheckpoint(Callback):
    """Saves a checkpoint as ``config`` says (default: every step, the newest 5 kept).

    >>> from gpucell.train import CheckpointConfig, ModelCheckpoint
    >>> cb = ModelCheckpoint(prefix="mlp", directory="/tmp/ckpt",
    ...                      config=CheckpointConfig(save_checkpoint_steps=100, keep_checkpoint_max=3))
    """

    def __init__(self, prefix: str = "CKP", directory: str | None = None, config=None):
        if not isinstance(prefix, str) or not prefix or "/" in prefix:
            raise ValueError(f"For 'ModelCheckpoint', the 'prefix' must be a non-empty file name prefix, but "
                             f"got {prefix!r}.")
        if directory is not None and not isinstance(directory, str):
            raise TypeError(f"For 'ModelCheckpoint', the 'directory' must be a str or None, but got "
                            f"{type(directory).__name__}.")
        config = CheckpointConfig() if config is None else config
        if not isinstance(config, CheckpointConfig):
            raise TypeError(f"For 'ModelCheckpoint', the 'config' must be a CheckpointConfig, but got "
                            f"{type(config).__name__}.")
        self._prefix = prefix
        self._directory = os.path.abspath(directory if directory is not None else os.getcwd())
        self._config = config
        self._saved: list[str] = []
        self._last_step = None
        self._last_time = time.monotonic()
        self._latest = None
        self._prefix_checked = False

    @property
    def latest_ckpt_file_name(self) -> str | None:
        """The path of the newest checkpoint written."""
        return self._latest

    def _unique_prefix(self) -> None:
        os.makedirs(self._directory, exist_ok=True)
        base, n = self._prefix, 0
        while glob.glob(os.path.join(self._directory, glob.escape(self._prefix) + "-*.ckpt")):
            n += 1
            self._prefix = f"{base}_{n}"
        self._prefix_checked = True

    def on_train_begin(self, run_context) -> None:
        if rank_zero():
            self._unique_prefix()
        self._last_time = time.monotonic()

    def on_train_step_end(self, run_context) -> None:
        cb = run_context.original_args()
        cfg = self._config
        due = bool(cfg.save_checkpoint_steps) and cb.cur_step_num % cfg.save_checkpoint_steps == 0
        if not cfg.save_checkpoint_steps and cfg.save_checkpoint_seconds:
            due = time.monotonic() - self._last_time >= cfg.save_checkpoint_seconds
        if due:
            self._save(cb)

    def on_train_end(self, run_context) -> None:
        cb = run_context.original_args()
        if cb.get("cur_step_num") and cb.cur_step_num != self._last_step:
            self._save(cb)

    def _save(self, cb) -> None:
        from gpucell.checkpoint import save_checkpoint  # the checkpoint layer sits above nn and train

        if not rank_zero():
            return  # data parallel: every rank holds the same Parameters, rank 0 writes them once
        if not self._prefix_checked:
            self._unique_prefix()
        path = os.path.join(self._directory, f"{self._prefix}-{cb.cur_epoch_num}_{step_in_epoch(cb)}.ckpt")
        network = self._config.saved_network or cb.train_network
        append = {}
        for item in self._config.append_info:
            if item == "epoch_num":
                append["epoch_num"] = int(cb.cur_epoch_num)
            elif item == "step_num":
                append["step_num"] = int(cb.cur_step_num)
            else:
                append.update(item)
        save_checkpoint(network, path, integrated_save=self._config.integrated_save,
                        async_save=self._config.async_save, append_dict=append or None)
        self._last_step = cb.cur_step_num
        self._last_time = time.monotonic()
        self._latest = path
        if path in self._saved:
            self._saved.remove(path)
        self._saved.append(path)
        while len(self._saved) > self._config.keep_checkpoint_max:
            old = self._saved.pop(0)
            try:
                os.remove(old)
            except FileNotFoundError:
                pass


