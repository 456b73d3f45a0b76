"""Lesion-table rows from measurements, and an atomic CSV writer.

The table follows :data:`respond.tables.LESIONS` (the criteria engine's input
first, then the measurement columns), followed by the extra measurement columns
in :data:`EXTRA_COLUMNS`.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Final, Iterable

import numpy as np
import pandas as pd

from respond.tables import LESIONS

#: Measurement columns written after the LESIONS columns (when LESIONS does not define them).
EXTRA_COLUMNS: Final = (
    "label",  # mask value the lesion comes from
    "voxel_count",  # number of voxels in the lesion
    "below_10mm",  # longest diameter < 10 mm: not measurable under RECIST 1.1 / RANO-BM
    "sa_p1_x", "sa_p1_y", "sa_p1_z",  # short-axis endpoint 1, LPS mm
    "sa_p2_x", "sa_p2_y", "sa_p2_z",  # short-axis endpoint 2, LPS mm
    "obliquity_deg",  # angle between the measured slices' native normal and patient z, degrees
)

_INT_COLUMNS: Final = ("n_slices", "ld_slice", "label", "voxel_count")
_BOOL_COLUMNS: Final = ("touches_edge", "single_slice", "reformatted", "below_10mm")


def lesion_frame(
    rows: Iterable[dict[str, Any]],
    *,
    patient_id: str | None = None,
    date: dt.date | None = None,
    organ: str | None = None,
) -> pd.DataFrame:
    """The lesion table of one scan: one row per lesion, status ``present``.

    With no rows (an empty mask) the result has the columns and no rows.
    """
    rows = list(rows)
    if not rows:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ["lesion_id", *EXTRA_COLUMNS]})
        return _ordered(LESIONS.conform(frame))
    names = list(dict.fromkeys(k for row in rows for k in row))
    columns: dict[str, Any] = {
        "patient_id": [patient_id if patient_id is not None else pd.NA] * len(rows),
        "date": [date if date is not None else pd.NA] * len(rows),
    }
    for name in names:
        values = [row.get(name, pd.NA) for row in rows]
        if name in _INT_COLUMNS:
            # A label above 2⁶³ − 1 (uint64 masks) stays exact as an unsigned column.
            big = name == "label" and any(int(v) > np.iinfo(np.int64).max for v in values)
            columns[name] = pd.array(values, dtype="UInt64" if big else "Int64").to_numpy(
                dtype="uint64" if big else "int64")
        elif name in _BOOL_COLUMNS:
            # Blank = unknown (e.g. touches_edge of a SEG read without its image): nullable booleans.
            blank = any(v is pd.NA or v is None for v in values)
            columns[name] = pd.array(values, dtype="boolean") if blank else np.array(values, dtype=bool)
        else:
            columns[name] = values
    columns["organ"] = [organ if organ is not None else pd.NA] * len(rows)
    columns["status"] = ["present"] * len(rows)
    for name in LESIONS.names:
        columns.setdefault(name, [pd.NA] * len(rows))
    return _ordered(pd.DataFrame(columns))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """LESIONS columns, then the extra measurement columns, then any others (e.g. SEG identifiers)."""
    extras = [c for c in EXTRA_COLUMNS if c not in LESIONS.names]
    rest = [c for c in frame.columns if c not in LESIONS.names and c not in extras]
    return frame[LESIONS.names + extras + rest].reset_index(drop=True)


def write_lesion_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a lesion table to CSV atomically (temporary file in the same folder, then rename).

    Dates are written as ISO ``YYYY-MM-DD``; floats with full precision. A reader
    never sees a half-written file: either the old file or the new one.
    """
    from respond.io.writers import write_csv

    out = frame.copy()
    if "date" in out.columns:
        out["date"] = out["date"].map(lambda d: d.isoformat() if isinstance(d, dt.date) else d)
    return write_csv(out, path)
