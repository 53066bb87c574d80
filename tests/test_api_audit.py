"""docs/MINDSPORE_API_AUDIT.md stays true: each listed name exists (or, marked missing, does not), its
gpucell column is its signature, every exported op and installed Tensor method is listed, and the
summary counts the rows."""

from __future__ import annotations

import collections
import inspect
import re
from pathlib import Path

import pytest

import gpucell as ms
from gpucell import nn, ops
from gpucell.ops.tensor_methods import METHODS

AUDIT = Path(__file__).resolve().parents[1] / "docs" / "MINDSPORE_API_AUDIT.md"
STATUSES = ("same", "fixed", "differs", "missing")


def _rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in AUDIT.read_text().splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            assert len(cells) == 4, line
            rows.append(tuple(cells))
    return rows


ROWS = _rows()


def _plain(sig: inspect.Signature, drop_self: bool = False) -> str:
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params[1:] if drop_self else params,
                           return_annotation=inspect.Signature.empty))


def _resolve(name: str):
    head, _, path = name.partition(".")
    obj = {"ops": ops, "Tensor": ms.Tensor, "nn": nn, "ms": ms}[head]
    for attr in path.split("."):  # ms.amp.all_finite: a module's name
        obj = getattr(obj, attr)
    return obj


def _signature(name: str) -> str:
    obj = _resolve(name)
    if name.startswith("Tensor."):
        static = isinstance(inspect.getattr_static(ms.Tensor, name.split(".", 1)[1]), staticmethod)
        return _plain(inspect.signature(obj), drop_self=not static)
    if isinstance(obj, type):
        call = obj.construct if issubclass(obj, nn.Cell) else obj.__call__
        return f"{_plain(inspect.signature(obj))} -> {_plain(inspect.signature(call), drop_self=True)}"
    return _plain(inspect.signature(obj))


def _status(cell: str) -> str:
    return cell.split(":", 1)[0]


def test_every_row_has_a_known_status_and_a_unique_name():
    assert len(ROWS) > 200
    names = [r[0] for r in ROWS]
    assert len(names) == len(set(names)), [n for n, c in collections.Counter(names).items() if c > 1]
    for name, _, _, status in ROWS:
        assert _status(status) in STATUSES, (name, status)


@pytest.mark.parametrize("row", [r for r in ROWS if _status(r[3]) != "missing"], ids=lambda r: r[0].strip("`"))
def test_present_names_exist_with_the_listed_signature(row):
    name, _, gpucell_column, _ = row
    assert gpucell_column == f"`{_signature(name.strip('`'))}`"


@pytest.mark.parametrize("row", [r for r in ROWS if _status(r[3]) == "missing"], ids=lambda r: r[0].strip("`"))
def test_missing_names_are_absent(row):
    name, mindspore_column, gpucell_column, _ = row
    assert gpucell_column == "—" and mindspore_column != "—"
    with pytest.raises(AttributeError):
        _resolve(name.strip("`"))


def test_same_rows_that_differ_in_spelling_say_how():
    for name, mindspore_column, gpucell_column, status in ROWS:
        if _status(status) == "same" and mindspore_column != gpucell_column:
            assert ":" in status, f"{name}: the columns differ, but the status gives no note"


def test_every_export_and_tensor_method_is_listed():
    listed = {r[0].strip("`") for r in ROWS}
    exported = {f"ops.{n}" for n in ops.__all__ if n != "Primitive"}
    methods = {f"Tensor.{n}" for n in METHODS} | {"Tensor.from_numpy"}
    assert not exported - listed, sorted(exported - listed)
    assert not methods - listed, sorted(methods - listed)


def test_the_summary_counts_the_rows():
    counts = collections.Counter(_status(r[3]) for r in ROWS)
    match = re.search(r"Summary: (\d+) same, (\d+) fixed, (\d+) differs, (\d+) missing \((\d+) rows\)",
                      AUDIT.read_text())
    assert match, "no summary line"
    assert [int(g) for g in match.groups()] == [counts["same"], counts["fixed"], counts["differs"], counts["missing"],
                                                len(ROWS)]


def test_flatten_row_records_the_fix():
    row = next(r for r in ROWS if r[0] == "`ops.flatten`")
    assert row[1] == row[2] == "`(input, order='C', *, start_dim=1, end_dim=-1)`"
    assert _status(row[3]) == "fixed"
