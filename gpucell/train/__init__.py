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
from gpucell.train.loss_scale_manager import DynamicLossScaleManager, FixedLossScaleManager, LossScaleManager
from gpucell.train.metrics import (
    F1,
    MAE,
    MSE,
    Accuracy,
    Fbeta,
    Loss,
    Metric,
    Precision,
    Recall,
    Top1CategoricalAccuracy,
    Top5CategoricalAccuracy,
    TopKCategoricalAccuracy,
    get_metric_by_name,
    get_metric_fn,
    names,
    rearrange_inputs,
)
from gpucell.train.model import Model

__all__ = ["Model", "LossScaleManager", "FixedLossScaleManager", "DynamicLossScaleManager",
           "Callback", "RunContext", "CallbackParams", "LossMonitor", "TimeMonitor",
           "ModelCheckpoint", "CheckpointConfig", "ProgressBar", "Metric", "Accuracy", "Loss", "MAE", "MSE",
           "Precision", "Recall", "Fbeta", "F1", "TopKCategoricalAccuracy", "Top1CategoricalAccuracy",
           "Top5CategoricalAccuracy", "rearrange_inputs", "names", "get_metric_fn", "get_metric_by_name"]
