"""LossMonitor and TimeMonitor: MindSpore's console reports of the loss and the step time."""

from __future__ import annotations

import math
import time

from gpucell.train.callback._callback import Callback, step_in_epoch
from gpucell.train.callback._console import loss_value, write

__all__ = ["LossMonitor", "TimeMonitor"]


def _positive_int(where: str, arg: str, value, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValueError(f"For '{where}', the '{arg}' must be an int >= {0 if allow_zero else 1}, but got "
                         f"{value!r}.")
    return value


class LossMonitor(Callback):
    """Prints ``epoch: 1 step: 5, loss is 2.302`` every ``per_print_times`` steps (0: never), and
    stops training with ValueError when a printed loss is NaN or infinite.

    The loss is read from the device only on the steps it prints, so the steps between them do not
    wait for the device.
    """

    def __init__(self, per_print_times: int = 1):
        self._per_print_times = _positive_int("LossMonitor", "per_print_times", per_print_times,
                                              allow_zero=True)
        self._last_print_time = 0

    def on_train_begin(self, run_context) -> None:
        self._last_print_time = run_context.original_args().get("cur_step_num", 0)

    def on_train_step_end(self, run_context) -> None:
        cb = run_context.original_args()
        if not self._per_print_times or cb.cur_step_num - self._last_print_time < self._per_print_times:
            return
        self._last_print_time = cb.cur_step_num
        loss = loss_value(cb.net_outputs)
        step = step_in_epoch(cb)
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            raise ValueError(f"epoch: {cb.cur_epoch_num} step: {step}. Invalid loss {loss}, "
                             f"terminating training.")
        write(f"epoch: {cb.cur_epoch_num} step: {step}, loss is {loss}")

    def on_eval_end(self, run_context) -> None:
        cb = run_context.original_args()
        if cb.get("eval_results") is not None:
            write(f"Eval result: epoch {cb.get('cur_epoch_num')}, metrics: {cb.eval_results}")


class TimeMonitor(Callback):
    """Prints the epoch's wall time and the mean time per step at the end of every epoch.

    ``data_size``: steps per epoch (default: the dataset's size). The time of the last step includes
    waiting for the device, so the figures are real, not launch times.
    """

    def __init__(self, data_size: int | None = None):
        self.data_size = None if data_size is None else _positive_int("TimeMonitor", "data_size", data_size)
        self.epoch_time = None
        self.epoch_steps = 0

    def on_train_epoch_begin(self, run_context) -> None:
        self.epoch_time = time.perf_counter()
        self.epoch_steps = 0

    def on_train_step_end(self, run_context) -> None:
        self.epoch_steps += 1

    def on_train_epoch_end(self, run_context) -> None:
        if self.epoch_time is None:
            return
        loss_value(run_context.original_args().get("net_outputs"))  # waits for the device
        elapsed = (time.perf_counter() - self.epoch_time) * 1000.0
        steps = self.data_size or self.epoch_steps or 1
        write(f"Train epoch time: {elapsed:5.3f} ms, per step time: {elapsed / steps:5.3f} ms")
