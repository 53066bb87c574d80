"""ProgressBar: a console progress bar over the steps of each epoch, with steps/s and the loss.

With tqdm installed and stderr a terminal it draws a tqdm bar; otherwise it prints a plain line
every ``interval`` seconds and one at the end of each epoch, so logs stay readable. The loss is read
from the device at most once per refresh, never once per step.
"""

from __future__ import annotations

import sys
import time

from gpucell.train.callback import _console
from gpucell.train.callback._callback import Callback

__all__ = ["ProgressBar"]


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressBar(Callback):
    """A progress bar per training epoch. ``Model.train`` adds one unless ``progress=False`` is
    passed or the callbacks already hold one; ``use_tqdm=False`` forces the plain-text form. In a
    data-parallel run only rank 0 shows it."""

    def __init__(self, interval: float = 5.0, use_tqdm: bool | None = None, file=None):
        self.interval = float(interval)
        self._use_tqdm = use_tqdm
        self._file = file
        self._bar = None
        self._start = self._last = 0.0
        self._steps = 0
        self._shown = True  # False on the ranks other than 0 of a data-parallel run

    def _out(self):
        return self._file if self._file is not None else sys.stderr

    def _want_tqdm(self) -> bool:
        if self._use_tqdm is False or _tqdm() is None:
            return False
        if self._use_tqdm:
            return True
        out = self._out()
        return bool(getattr(out, "isatty", lambda: False)())

    def on_train_epoch_begin(self, run_context) -> None:
        self._shown = _console.rank_zero()
        if not self._shown:
            return
        cb = run_context.original_args()
        self._start = self._last = time.perf_counter()
        self._steps = 0
        self._desc = f"epoch {cb.cur_epoch_num}/{cb.epoch_num}"
        self._total = cb.get("batch_num")
        if self._want_tqdm():
            self._bar = _tqdm()(total=self._total, desc=self._desc, unit="step", file=self._out(),
                                dynamic_ncols=True, leave=True)
            _console._active_bars.append(self._bar)

    def on_train_step_end(self, run_context) -> None:
        if not self._shown:
            return
        self._steps += 1
        now = time.perf_counter()
        refresh = now - self._last >= (0.5 if self._bar is not None else self.interval)
        if self._bar is not None:
            self._bar.update(1)
            if refresh:
                self._last = now
                loss = _console.loss_value(run_context.original_args().get("net_outputs"))
                if loss is not None:
                    self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif refresh:
            self._last = now
            self._line(run_context, now)

    def _line(self, run_context, now: float) -> None:
        loss = _console.loss_value(run_context.original_args().get("net_outputs"))
        done = f"{self._steps}/{self._total}" if self._total else f"{self._steps}"
        rate = self._steps / max(now - self._start, 1e-9)
        text = f"{self._desc}: {done} steps, {rate:.1f} steps/s"
        if loss is not None:
            text += f", loss {loss:.4f}"
        print(text, file=self._out(), flush=True)

    def on_train_epoch_end(self, run_context) -> None:
        if not self._shown:
            return
        if self._bar is not None:
            loss = _console.loss_value(run_context.original_args().get("net_outputs"))
            if loss is not None:
                self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self._close()
        else:
            self._line(run_context, time.perf_counter())

    def on_train_end(self, run_context) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            if self._bar in _console._active_bars:
                _console._active_bars.remove(self._bar)
            self._bar.close()
            self._bar = None

    def __exit__(self, *exc) -> None:
        self._close()
