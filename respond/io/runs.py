"""A run folder: the tables and ``run.json`` that ``respond evaluate`` / ``assess`` write, read back.

One writer (:func:`write_run`) and one reader (:func:`read_run_table`) for
every stage that works on a finished run (``respond summarize``, the report,
the SDTM export). Cells are typed by the column kinds of :mod:`respond.tables`:

- ``str``: text as written (``"NA"`` stays ``"NA"``), blank → None;
- ``date``: :class:`datetime.date` (ISO ``YYYY-MM-DD`` in the file), blank → None;
- ``float`` / ``int``: Python numbers, blank → None;
- ``bool``: ``True``/``False`` (``true``, ``1``, ``yes`` read as True), blank → None.

Columns a table does not define (e.g. ``config_hash``) are numbers when every
non-blank cell is one, text otherwise. Every column is of ``object`` dtype
with None for missing values, as the in-memory results are.

Inputs recorded in ``run.json`` are strings ``"PATH sha256:HEX"``;
:func:`parse_input_entry` is the one place that splits them.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any, Final, Mapping

import pandas as pd

from respond import tables as table_definitions
from respond.errors import InputTableError
from respond.io.writers import atomic_write, write_csv, write_json
from respond.tables import Table

#: File that holds a run's provenance.
RUN_INFO: Final = "run.json"
#: Separator between the path and the hash of an input entry in ``run.json``.
SHA256_SEPARATOR: Final = " sha256:"
#: Cell texts read as True in a ``bool`` column (case-insensitive).
TRUE_TEXTS: Final = frozenset({"true", "1", "yes"})
#: Cell texts read as False in a ``bool`` column (case-insensitive).
FALSE_TEXTS: Final = frozenset({"false", "0", "no"})


def table_definition(name: str) -> Table | None:
    """The :class:`~respond.tables.Table` written as ``NAME.csv`` (None for tables it does not define)."""
    for value in vars(table_definitions).values():
        if isinstance(value, Table) and value.name == name:
            return value
    return None


# --- writing ------------------------------------------------------------------------------------

def write_run(tables: Mapping[str, pd.DataFrame], run_info: dict[str, Any], out: str | Path, *,
              parquet: bool | None = False) -> dict[str, Path]:
    """Write each table as ``NAME.csv`` (and ``parquet/NAME.parquet``) plus ``run.json``, atomically.

    ``parquet=None`` writes Parquet when pyarrow is installed. Returns the paths by table name
    (``run`` for ``run.json``).
    """
    out = Path(out)
    if parquet is None:
        parquet = _has_pyarrow()
    paths = {}
    for name, frame in tables.items():
        paths[name] = write_csv(frame, out / f"{name}.csv")
        if parquet:
            write_parquet(frame, out / "parquet" / f"{name}.parquet")
    paths["run"] = write_json(run_info, out / RUN_INFO)
    return paths


def write_tables(tables: Mapping[str, pd.DataFrame], out: str | Path) -> dict[str, Path]:
    """Write each table as ``NAME.csv`` into ``out`` (atomically); return the paths by name."""
    return {name: write_csv(frame, Path(out) / f"{name}.csv") for name, frame in tables.items()}


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _parquet_text(value: Any) -> str | None:
    """A cell of a mixed column as Parquet text: missing (None, NaN) → null; anything else, "" included, its text."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as Parquet; mixed object columns (dates, blanks) as text, which is lossless and portable."""
    text = frame.copy()
    for column in text.columns:
        if text[column].dtype == object:
            text[column] = text[column].map(_parquet_text)
    return atomic_write(path, lambda tmp: text.to_parquet(tmp, index=False))


# --- reading ------------------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) \
        or (isinstance(value, str) and value.strip() == "")


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_TEXTS:
        return True
    if lowered in FALSE_TEXTS:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _int(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError(f"not a whole number: {text!r}")
    return int(value)


_PARSERS = {
    "str": str,
    "date": lambda text: dt.date.fromisoformat(text.strip()[:10]),
    "float": float,
    "int": _int,
    "bool": _bool,
}


def _typed_column(values: pd.Series, kind: str | None, *, file: str, column: str) -> pd.Series:
    parse = _PARSERS.get(kind) if kind else None
    if parse is None:  # a column the table does not define: numbers when every cell is one
        try:
            return values.map(lambda v: None if _blank(v) else _number(v)).astype(object)
        except ValueError:
            parse = str
    out = []
    for row, text in enumerate(values, start=2):
        try:
            out.append(None if _blank(text) else parse(text))
        except ValueError:
            raise InputTableError(f"value {text!r} is not a {kind}; the file was changed since respond wrote it",
                                  code="run.bad_value", file=file, row=row, column=column, value=text) from None
    return pd.Series(out, index=values.index, dtype=object)


def read_table_file(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """Read one output table (CSV written by respond), typed by the column kinds of table ``name``."""
    path = Path(path)
    definition = table_definition(name or path.stem)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    kinds = {c.name: c.kind for c in definition.columns} if definition is not None else {}
    frame = pd.DataFrame(index=raw.index)
    for column in raw.columns:
        frame[column] = _typed_column(raw[column], kinds.get(column), file=str(path), column=column)
    return frame


def read_run_table(folder: str | Path, name: str, *, required: bool = False,
                   hint: str = "give the output folder of respond evaluate or assess",
                   code: str = "table.not_found") -> pd.DataFrame | None:
    """Table ``name`` of a run folder (``NAME.csv``), typed; None when absent and not ``required``
    (an :class:`~respond.errors.InputTableError` with ``code`` and ``hint`` when required)."""
    path = Path(folder) / f"{name}.csv"
    if not path.is_file():
        if required:
            raise InputTableError(f"{name}.csv not found: {hint}", code=code, file=str(path))
        return None
    return read_table_file(path, name)


def read_run_tables(folder: str | Path, names: tuple[str, ...] | list[str]) -> dict[str, pd.DataFrame]:
    """The tables ``names`` present in a run folder, typed (absent ones left out)."""
    tables = {}
    for name in names:
        frame = read_run_table(folder, name)
        if frame is not None:
            tables[name] = frame
    return tables


def read_run_info(folder: str | Path, *, required: bool = False) -> dict[str, Any] | None:
    """``run.json`` of a run folder; None when absent and not ``required``."""
    path = Path(folder) / RUN_INFO
    if not path.is_file():
        if required:
            raise InputTableError("run.json not found in the output folder", code="table.not_found", file=str(path))
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# --- inputs recorded in run.json -----------------------------------------------------------------

def parse_input_entry(entry: str) -> tuple[str, str | None]:
    """Split a ``run.json`` input entry ``"PATH sha256:HEX"`` into (PATH, HEX); HEX is None when absent.

    PATH is ``"<DataFrame>"`` for a table given from Python.
    """
    path, separator, digest = str(entry).rpartition(SHA256_SEPARATOR)
    if not separator:
        return str(entry), None
    return path, digest


def input_path(entry: str, folder: str | Path | None = None) -> Path | None:
    """The file named by a ``run.json`` input entry (None for a DataFrame).

    A relative path (written by an older respond) is tried relative to the run ``folder``
    first, then relative to the current folder.
    """
    text, _ = parse_input_entry(entry)
    if not text or text == "<DataFrame>":
        return None
    path = Path(text)
    if not path.is_absolute() and folder is not None and (Path(folder) / path).exists():
        return Path(folder) / path
    return path
