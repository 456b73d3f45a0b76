"""The per-patient result store of ``--resume``: JSON data only, validated on load against :mod:`respond.tables`.

A worker's result (:func:`respond.pipeline.patient.run_patient`) is the
patient's ``lesions``, ``matches``, ``registrations`` and ``failures`` tables
and the ``seconds`` per stage. Each table is stored column by column: name,
pandas dtype (one of :data:`DTYPES`) and cells that are JSON scalars, with
dates tagged (``{"date": "2024-01-31"}``) so that they come back as dates.

On load every part is checked — the set of tables, each column's dtype, each
cell's type, and for a column :mod:`respond.tables` defines, that the cell
fits the column's kind — and anything unexpected raises
:class:`CacheEntryError`: the batch then refuses the entry and computes the
patient again. Nothing read back is executed (no pickle), so whoever can write
into an output folder cannot run code through a resumed run.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import numpy as np
import pandas as pd

from respond.errors import RespondError
from respond.tables import FAILURES, LESIONS, MATCHES, REGISTRATIONS, Table

#: Tables of a patient's result, with their definitions.
RESULT_TABLES: Final = {"lesions": LESIONS, "matches": MATCHES, "registrations": REGISTRATIONS,
                        "failures": FAILURES}
#: Column dtypes a stored table may have.
DTYPES: Final = frozenset({"object", "float64", "int64", "bool", "Int64", "boolean", "string"})
#: Python types a cell of each column kind may hold (None is always allowed).
KIND_TYPES: Final = {"str": (str,), "date": (dt.date,), "float": (int, float), "int": (int,), "bool": (bool,)}


class CacheEntryError(RespondError, ValueError):
    """A stored per-patient result does not validate; it is refused and the patient computed again."""

    default_code = "cache.invalid"


# --- encoding ---------------------------------------------------------------------------------

def _encode_cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else {"float": repr(value)}
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return {"datetime": pd.Timestamp(value).isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # e.g. a Path: stored as its text


def encode_table(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON data: ``columns`` (name, dtype) and ``rows`` of cells."""
    columns = [{"name": str(c), "dtype": str(frame[c].dtype) if str(frame[c].dtype) in DTYPES else "object"}
               for c in frame.columns]
    rows = [[_encode_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return {"columns": columns, "rows": rows}


def encode_patient_result(value: dict[str, Any]) -> dict[str, Any]:
    """A worker's result as JSON data (see :func:`decode_patient_result`)."""
    return {"tables": {name: encode_table(value[name]) for name in RESULT_TABLES},
            "seconds": {str(k): float(v) for k, v in value["seconds"].items()}}


# --- decoding ---------------------------------------------------------------------------------

def _refuse(message: str) -> CacheEntryError:
    return CacheEntryError(message, code="cache.invalid")


def _decode_cell(cell: Any, where: str) -> Any:
    if cell is None or isinstance(cell, (bool, int, float, str)):
        return cell
    if isinstance(cell, dict) and len(cell) == 1:
        (tag, text), = cell.items()
        if isinstance(text, str):
            try:
                if tag == "date":
                    return dt.date.fromisoformat(text)
                if tag == "datetime":
                    return pd.Timestamp(dt.datetime.fromisoformat(text))
                if tag == "float" and text in ("inf", "-inf"):
                    return float(text)
            except ValueError:
                pass
    raise _refuse(f"{where}: unexpected cell {str(cell)[:60]!r}")


def _fits(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int" and isinstance(value, float):  # an int column with blanks is float64 in pandas
        return value.is_integer()
    return isinstance(value, KIND_TYPES.get(kind, ()))


def _check_kind(values: list[Any], kind: str, where: str) -> None:
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if not _fits(value, kind):
            raise _refuse(f"{where}: {type(value).__name__} value {str(value)[:60]!r} in a {kind} column")


def _column_spec(spec: Any, where: str) -> tuple[str, str]:
    if not (isinstance(spec, dict) and set(spec) == {"name", "dtype"} and isinstance(spec["name"], str)
            and spec["dtype"] in DTYPES):
        raise _refuse(f"{where}: malformed column {str(spec)[:60]!r}")
    return spec["name"], spec["dtype"]


def decode_table(data: Any, definition: Table) -> pd.DataFrame:
    """The DataFrame stored by :func:`encode_table`, validated against ``definition``; CacheEntryError if not."""
    where = f"table {definition.name}"
    if not (isinstance(data, dict) and set(data) == {"columns", "rows"} and isinstance(data["columns"], list)
            and isinstance(data["rows"], list)):
        raise _refuse(f"{where}: not a stored table")
    specs = [_column_spec(spec, where) for spec in data["columns"]]
    if len({name for name, _ in specs}) != len(specs):
        raise _refuse(f"{where}: a column name repeats")
    rows = data["rows"]
    if not all(isinstance(row, list) and len(row) == len(specs) for row in rows):
        raise _refuse(f"{where}: a row does not have {len(specs)} cells")
    kinds = {c.name: c.kind for c in definition.columns}
    columns = {}
    for j, (name, dtype) in enumerate(specs):
        values = [_decode_cell(row[j], f"{where}, column {name}") for row in rows]
        if name in kinds:
            _check_kind(values, kinds[name], f"{where}, column {name}")
        try:
            columns[name] = pd.Series(values, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise _refuse(f"{where}, column {name}: cells do not fit dtype {dtype} ({exc})") from None
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def decode_patient_result(data: Any) -> dict[str, Any]:
    """A worker's result read back from the store, validated; CacheEntryError when anything is unexpected."""
    if not (isinstance(data, dict) and set(data) == {"tables", "seconds"} and isinstance(data["tables"], dict)):
        raise _refuse("not a stored patient result")
    if set(data["tables"]) != set(RESULT_TABLES):
        raise _refuse(f"tables {sorted(data['tables'])} stored; expected {sorted(RESULT_TABLES)}")
    seconds = data["seconds"]
    if not (isinstance(seconds, dict) and all(isinstance(k, str) and isinstance(v, (int, float))
                                              and not isinstance(v, bool) for k, v in seconds.items())):
        raise _refuse("malformed seconds per stage")
    value: dict[str, Any] = {name: decode_table(data["tables"][name], definition)
                             for name, definition in RESULT_TABLES.items()}
    value["seconds"] = {k: float(v) for k, v in seconds.items()}
    return value
