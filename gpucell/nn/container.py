"""Containers: SequentialCell (runs its cells in order) and CellList (holds cells)."""

from __future__ import annotations

from collections import OrderedDict

from gpucell.nn.cell import Cell

__all__ = ["SequentialCell", "CellList"]


def _check_cell(value, where: str, index) -> "Cell":
    if not isinstance(value, Cell):
        raise TypeError(f"For '{where}', every element must be a Cell, but element {index} is "
                        f"{type(value).__name__}.")
    return value


class _IndexedCells(Cell):
    """Shared index handling: children named '0', '1', ... in order."""

    _kind = "CellList"

    def _items(self) -> list:
        return list(self._cells.values())

    def _rebuild(self, cells) -> None:
        self._cells.clear()
        for i, cell in enumerate(cells):
            self._cells[str(i)] = cell
            if self._auto_prefix:
                cell.update_parameters_name(f"{i}.")

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"For '{self._kind}', an index must be an int or a slice, but got "
                            f"{type(index).__name__}.")
        n = len(self._cells)
        if not -n <= index < n:
            raise IndexError(f"For '{self._kind}', index {index} is out of range for {n} cells.")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(self._items()[index])
        return self._items()[self._index(index)]

    def __setitem__(self, index, cell) -> None:
        items = self._items()
        items[self._index(index)] = _check_cell(cell, self._kind, index)
        self._rebuild(items)

    def __delitem__(self, index) -> None:
        items = self._items()
        if isinstance(index, slice):
            del items[index]
        else:
            del items[self._index(index)]
        self._rebuild(items)

    def __len__(self) -> int:
        return len(self._cells)

    def __iter__(self):
        return iter(self._items())

    def append(self, cell: Cell) -> "_IndexedCells":
        """Adds ``cell`` at the end."""
        _check_cell(cell, self._kind, len(self))
        self._rebuild(self._items() + [cell])
        return self


class SequentialCell(_IndexedCells):
    """Runs its cells in order, each on the previous one's output.

    ``SequentialCell(cells)`` takes a list of Cells, an OrderedDict of name to Cell, or the Cells as
    arguments; children are named ``'0'``, ``'1'``... (or by the dict's keys).

    >>> import gpucell as ms
    >>> from gpucell import nn
    >>> class Scale(nn.Cell):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = ms.Parameter(ms.Tensor([2.0]))
    ...     def construct(self, x):
    ...         return x * self.weight
    >>> net = nn.SequentialCell([Scale(), Scale()])
    >>> [name for name, _ in net.parameters_and_names()]
    ['0.weight', '1.weight']
    >>> net(ms.Tensor([1.0])).asnumpy()
    array([4.], dtype=float32)
    """

    _kind = "SequentialCell"

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, cell in args[0].items():
                self.insert_child_to_cell(name, _check_cell(cell, self._kind, name))
                cell.update_parameters_name(f"{name}.")
            return
        cells = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
        for i, cell in enumerate(cells):
            _check_cell(cell, self._kind, i)
        self._rebuild(cells)

    def construct(self, x):
        for cell in self._cells.values():
            x = cell(x)
        return x


class CellList(_IndexedCells):
    """A list of Cells registered as children; it has no construct of its own."""

    _kind = "CellList"

    def __init__(self, *args, **kwargs):
        super().__init__()
        cells = list(args[0]) if args else []
        for i, cell in enumerate(cells):
            _check_cell(cell, self._kind, i)
        self._rebuild(cells)

    def insert(self, index: int, cell: Cell) -> None:
        """Inserts ``cell`` before position ``index``."""
        items = self._items()
        items.insert(index, _check_cell(cell, self._kind, index))
        self._rebuild(items)

    def extend(self, cells) -> "CellList":
        """Appends every Cell of ``cells``."""
        cells = list(cells)
        for i, cell in enumerate(cells):
            _check_cell(cell, self._kind, i)
        self._rebuild(self._items() + cells)
        return self
