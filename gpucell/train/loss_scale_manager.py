"""Loss-scale managers, as MindSpore's ``mindspore.train.loss_scale_manager``: what
``Model(..., loss_scale_manager=...)`` and ``amp.build_train_network`` turn into a
``TrainOneStepWithLossScaleCell``."""

from __future__ import annotations

from gpucell.nn.wrap.cell_wrapper import DynamicLossScaleUpdateCell, FixedLossScaleUpdateCell

__all__ = ["LossScaleManager", "FixedLossScaleManager", "DynamicLossScaleManager"]


class LossScaleManager:
    """The base of the loss-scale managers."""

    def get_loss_scale(self):
        raise NotImplementedError

    def update_loss_scale(self, overflow):
        raise NotImplementedError

    def get_update_cell(self):
        raise NotImplementedError


class FixedLossScaleManager(LossScaleManager):
    """A fixed loss scale. With ``drop_overflow_update`` (the default) an overflowing step is
    skipped (``get_update_cell`` is a ``FixedLossScaleUpdateCell``); without it the step always
    updates and ``get_update_cell`` is None."""

    def __init__(self, loss_scale=128.0, drop_overflow_update=True):
        if loss_scale < 1:
            raise ValueError(f"For 'FixedLossScaleManager', the 'loss_scale' must be >= 1, but got {loss_scale!r}.")
        if not isinstance(drop_overflow_update, bool):
            raise TypeError(f"For 'FixedLossScaleManager', the 'drop_overflow_update' must be a bool, but got "
                            f"{drop_overflow_update!r}.")
        self._loss_scale = float(loss_scale)
        self._drop_overflow_update = drop_overflow_update

    def get_loss_scale(self) -> float:
        return self._loss_scale

    def get_drop_overflow_update(self) -> bool:
        return self._drop_overflow_update

    def update_loss_scale(self, overflow) -> None:
        pass

    def get_update_cell(self):
        return FixedLossScaleUpdateCell(self._loss_scale) if self._drop_overflow_update else None


class DynamicLossScaleManager(LossScaleManager):
    """A loss scale halved (``scale_factor``) on overflow and doubled after ``scale_window``
    finite steps; overflowing steps are skipped."""

    def __init__(self, init_loss_scale=2 ** 24, scale_factor=2, scale_window=2000):
        if init_loss_scale < 1:
            raise ValueError(f"For 'DynamicLossScaleManager', the 'init_loss_scale' must be >= 1, but got "
                             f"{init_loss_scale!r}.")
        from gpucell.amp import _check_positive

        _check_positive("DynamicLossScaleManager", "scale_factor", scale_factor)
        if scale_factor <= 1:
            raise ValueError(f"For 'DynamicLossScaleManager', the 'scale_factor' must be > 1, but got "
                             f"{scale_factor!r}.")
        self.loss_scale = float(init_loss_scale)
        self.scale_factor = scale_factor
        self.scale_window = int(_check_positive("DynamicLossScaleManager", "scale_window", scale_window))
        self.increase_ratio = scale_factor
        self.decrease_ratio = 1 / scale_factor
        self.cur_iter = 1
        self.last_overflow_iter = 0

    def get_loss_scale(self) -> float:
        return self.loss_scale

    def get_drop_overflow_update(self) -> bool:
        return True

    def update_loss_scale(self, overflow) -> None:
        """The host-side update MindSpore also offers (the training step uses the update cell)."""
        if overflow:
            self.loss_scale = max(self.loss_scale * self.decrease_ratio, 1)
            self.last_overflow_iter = self.cur_iter
        elif (self.cur_iter - self.last_overflow_iter) % self.scale_window == 0:
            self.loss_scale *= self.increase_ratio
        self.cur_iter += 1

    def get_update_cell(self):
        return DynamicLossScaleUpdateCell(self.loss_scale, self.scale_factor, self.scale_window)
