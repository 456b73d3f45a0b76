"""``responses.xlsx``: one sheet per output table, safe to open in a spreadsheet program.

Text is always written as a string cell (never a formula), and text that a
spreadsheet would read as a formula — starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return — is prefixed with a single quote ``'``
(OWASP, "CSV Injection"). Numbers stay numbers, rounded to the precision of
their measurement (:mod:`respond.report.precision`); booleans stay booleans.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Final, Mapping

import numpy as np
import pandas as pd

from respond.io.writers import atomic_write
from respond.report.precision import round_value

#: Tables written to the spreadsheet, in sheet order.
SHEETS: Final = ("best_response", "timepoints", "targets", "lesions", "events", "summary", "agreement",
                 "matches", "registrations", "failures", "warnings",
                 # study outcomes (respond.outcomes), when the run has them
                 "characteristics", "indices", "outcomes", "cox", "doses", "cumulative_incidence")
#: First characters that make a spreadsheet evaluate a cell (OWASP CSV-injection guidance).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text that would start a formula, prefixed with ``'``; other text unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_value(column: str, value: Any) -> Any:
    """The value to store: None for blanks, rounded numbers, booleans, dates, everything else as safe text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round_value(column, float(value))
    if isinstance(value, (dt.date, pd.Timestamp)):
        return str(value.date() if isinstance(value, (dt.datetime, pd.Timestamp)) else value)
    return str(value)


def _write_sheet(sheet, frame: pd.DataFrame) -> None:
    for j, column in enumerate(frame.columns, start=1):
        _put(sheet.cell(row=1, column=j), str(column))
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        for j, (column, value) in enumerate(zip(frame.columns, row), start=1):
            _put(sheet.cell(row=i, column=j), cell_value(str(column), value))


def _put(cell, value: Any) -> None:
    if isinstance(value, str):
        cell.value = neutralise(value)
        cell.data_type = "s"  # a string cell, whatever the text looks like
    else:
        cell.value = value


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """One sheet per table of :data:`SHEETS` present in ``tables`` (openpyxl), written atomically."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name in SHEETS:
        frame = tables.get(name)
        if frame is not None:
            _write_sheet(workbook.create_sheet(name), frame)
    if not workbook.sheetnames:
        workbook.create_sheet("empty")
    return atomic_write(Path(path), workbook.save)
