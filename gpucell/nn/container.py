"""Containers: SequentialCell (runs its cells in order) and CellList (holds cells)."""

from __future__ import annotations

from collections import OrderedDict

from gpucell.nn.cell import Cell, call_observers, structure

__all__ = ["SequentialCell", "CellList"]


def _check_cell(value, where: str, index) -> Cell:
    if not isinstance(value, Cell):
        raise TypeError(f"For '{where}', every element must be a Cell, but element {index!r} is "
                        f"{value!r:.60} of type '{type(value).__name__}'.")
    return value


class _IndexedCells(Cell):
    """Shared index handling: children named '0', '1', ... in order."""

    _kind = "CellList"

    def _items(self) -> list:
        return list(self._cells.values())

    def _entries(self) -> list:
        """``(name, cell)`` per child: the name given by an OrderedDict, or None for a numbered one."""
        fixed = self.__dict__.get("_fixed_names", ())
        return [(name if name in fixed else None, cell) for name, cell in self._cells.items()]

    def _rebuild(self, entries) -> None:
        """Registers ``entries`` (cells, or ``(name, cell)`` pairs); unnamed ones are numbered by position.

        As in MindSpore, names from an OrderedDict survive append / del, numbered cells are renumbered.
        """
        self._cells.clear()
        for i, entry in enumerate(entries):
            name, cell = entry if isinstance(entry, tuple) else (None, entry)
            key = name if name is not None else str(i)
            self._cells[key] = cell
            if self._auto_prefix:
                cell.update_parameters_name(f"{key}.")
        structure.epoch += 1  # which Cell sits where changed (jit plans watch this)

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"For '{self._kind}', an index must be an int or a slice, but got "
                            f"{index!r:.60} of type '{type(index).__name__}'.")
        n = len(self._cells)
        if not -n <= index < n:
            raise IndexError(f"For '{self._kind}', index {index} is out of range for {n} cells.")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(self._items()[index])
        return self._items()[self._index(index)]

    def __setitem__(self, index, cell) -> None:
        entries = self._entries()
        position = self._index(index)
        entries[position] = (entries[position][0], _check_cell(cell, self._kind, index))
        self._rebuild(entries)

    def __delitem__(self, index) -> None:
        entries = self._entries()
        if isinstance(index, slice):
            del entries[index]
        else:
            del entries[self._index(index)]
        self._rebuild(entries)

    def __len__(self) -> int:
        return len(self._cells)

    def __iter__(self):
        return iter(self._items())

    def append(self, cell: Cell) -> _IndexedCells:
        """Adds ``cell`` at the end."""
        _check_cell(cell, self._kind, len(self))
        self._rebuild(self._entries() + [cell])
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
                if not isinstance(name, str) or not name or "." in name:
                    raise KeyError(f"For '{self._kind}', a cell name must be a non-empty str without '.', "
                                   f"but got {name!r}.")
                _check_cell(cell, self._kind, name)
            self.__dict__["_fixed_names"] = frozenset(args[0])
            self._rebuild(list(args[0].items()))
            return
        cells = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
        for i, cell in enumerate(cells):
            _check_cell(cell, self._kind, i)
        self._rebuild(cells)

    def _rebuild(self, entries) -> None:
        super()._rebuild(entries)
        # (cell, follower) per step: a follower that ``cell.absorbs`` (a ReLU after a Dense) runs
        # fused into it, one op forward and one backward instead of two each.
        cells = list(self._cells.values())
        schedule, i = [], 0
        while i < len(cells):
            cell = cells[i]
            follower = cells[i + 1] if i + 1 < len(cells) else None
            absorbs = getattr(cell, "absorbs", None)
            if follower is not None and absorbs is not None and absorbs(follower):
                schedule.append((cell, follower))
                i += 2
            else:
                schedule.append((cell, None))
                i += 1
        self.__dict__["_schedule"] = tuple(schedule)

    def construct(self, x):
        if call_observers.observers or call_observers.graph_call is not None:
            # The jit tracer and the profiler see every Cell call (the jit fuses on its own).
            for cell in self._cells.values():
                x = cell(x)
            return x
        for cell, follower in self._schedule:
            if follower is None:
                x = cell(x)
                continue
            fused = cell.call_absorbing(x, follower) if cell.hook_free() else None
            x = follower(cell(x)) if fused is None else fused
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
        """Inserts ``cell`` before position ``index`` (an int; past either end: at that end)."""
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"For '{self._kind}', the index to insert at must be an int, but got "
                            f"{index!r:.60} of type '{type(index).__name__}'.")
        entries = self._entries()
        entries.insert(index, _check_cell(cell, self._kind, index))
        self._rebuild(entries)

    def extend(self, cells) -> CellList:
        """Appends every Cell of ``cells`` (a list or tuple of Cells, or another CellList)."""
        if not isinstance(cells, (list, tuple, CellList)):
            raise TypeError(f"For '{self._kind}', the new cells wanted to append should be instance of list, "
                            f"but got {type(cells).__name__}.")
        cells = list(cells)
        for i, cell in enumerate(cells):
            _check_cell(cell, self._kind, i)
        self._rebuild(self._entries() + cells)
        return self

    def __iadd__(self, cells) -> CellList:
        """``cell_list += [cell, ...]``: extend in place, as MindSpore's CellList."""
        return self.extend(cells)
