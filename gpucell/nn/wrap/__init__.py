"""gpucell.nn.wrap: WithLossCell, WithEvalCell, TrainOneStepCell and DistributedGradReducer."""

from gpucell.nn.wrap.cell_wrapper import (
    DynamicLossScaleUpdateCell,
    FixedLossScaleUpdateCell,
    TrainOneStepCell,
    TrainOneStepWithLossScaleCell,
    WithEvalCell,
    WithLossCell,
)
from gpucell.nn.wrap.grad_reducer import DistributedGradReducer

__all__ = ["WithLossCell", "WithEvalCell", "TrainOneStepCell", "TrainOneStepWithLossScaleCell",
           "DynamicLossScaleUpdateCell", "FixedLossScaleUpdateCell", "DistributedGradReducer"]
