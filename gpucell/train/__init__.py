"""gpucell.train: Model, callbacks and metrics (MindSpore's ``mindspore.train``)."""

from gpucell.train.callback import (
    Callback,
    CallbackParams,
    CheckpointConfig,
    LossMonitor,
    ModelCheckpoint,
    ProgressBar,
    RunContext,
    TimeMonitor,
)
from gpucell.train.metrics import Accuracy, Loss, Metric, get_metric_by_name
from gpucell.train.model import Model

__all__ = ["Model", "Callback", "RunContext", "CallbackParams", "LossMonitor", "TimeMonitor",
           "ModelCheckpoint", "CheckpointConfig", "ProgressBar", "Metric", "Accuracy", "Loss",
           "get_metric_by_name"]
