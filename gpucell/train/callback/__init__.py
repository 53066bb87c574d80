"""gpucell.train.callback: Callback, RunContext, LossMonitor, TimeMonitor, ModelCheckpoint,
CheckpointConfig and ProgressBar."""

from gpucell.train.callback._callback import Callback, CallbackList, CallbackParams, RunContext
from gpucell.train.callback._checkpoint import CheckpointConfig, ModelCheckpoint
from gpucell.train.callback._monitors import LossMonitor, TimeMonitor
from gpucell.train.callback._progress import ProgressBar

__all__ = ["Callback", "RunContext", "CallbackParams", "CallbackList", "LossMonitor", "TimeMonitor",
           "ModelCheckpoint", "CheckpointConfig", "ProgressBar"]
