"""gpucell.nn.wrap: WithLossCell, WithEvalCell and TrainOneStepCell."""

from gpucell.nn.wrap.cell_wrapper import TrainOneStepCell, WithEvalCell, WithLossCell

__all__ = ["WithLossCell", "WithEvalCell", "TrainOneStepCell"]
