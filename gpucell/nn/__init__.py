"""gpucell.nn: Cells, containers and (with later issues) layers, losses and optimizers."""

from gpucell.nn.cell import Cell, HookHandle
from gpucell.nn.container import CellList, SequentialCell

__all__ = ["Cell", "HookHandle", "CellList", "SequentialCell"]
