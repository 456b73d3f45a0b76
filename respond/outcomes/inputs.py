"""Typed views of the patients and treatments tables for the outcome computations.

Files are read and validated by :mod:`respond.io.clinical_tables` (file, row,
value in every message). This module accepts those typed frames, or frames
given from Python with text cells, and converts each value strictly: a value
that cannot be read excludes its patient from the outcomes with an
:class:`~respond.errors.InputTableError` naming the patient, column and value
(never a silent guess).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from respond.errors import InputTableError
from respond.tables import CAUSES_OF_DEATH, SEXES, SYSTEMIC_STATUSES, TECHNIQUES

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_CHOICES = {"sex": SEXES, "systemic_status": SYSTEMIC_STATUSES, "cause_of_death": CAUSES_OF_DEATH,
            "technique": TECHNIQUES}
_PATIENT_TYPES = {"treatment_start": "date", "last_followup": "date", "death_date": "date",
                  "age_years": "float", "sex": "choice", "kps": "float", "primary_site": "text",
                  "primary_controlled": "bool", "extracranial_metastases": "bool", "systemic_status": "choice",
                  "cause_of_death": "choice"}
_TREATMENT_TYPES = {"lesion_id": "text", "date": "date", "total_dose_gy": "float", "fractions": "float",
                    "technique": "choice", "alpha_beta_gy": "float", "isotope_half_life_days": "float",
                    "repair_half_time_h": "float"}


def blank(value: Any) -> bool:
    """True for None, NaN, NA and blank text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in ("", "nan")


def to_date(value: Any) -> dt.date | None:
    """A :class:`datetime.date` from a date, datetime, Timestamp or ISO text; None for a blank."""
    if blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _convert(kind: str, column: str, value: Any) -> Any:
    if blank(value):
        return None
    if kind == "text":
        return str(value).strip()
    if kind == "date":
        return to_date(value)
    if kind == "float":
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError("not yes/no")
    text = str(value).strip().lower()
    if text not in _CHOICES[column]:
        raise ValueError(f"allowed: {', '.join(_CHOICES[column])}")
    return text


def _typed(frame: pd.DataFrame, types: dict[str, str], what: str) -> tuple[pd.DataFrame, list[InputTableError]]:
    failures: list[InputTableError] = []
    rows = []
    for rec in frame.to_dict("records"):
        pid = str(rec["patient_id"]).strip()
        out = {**rec, "patient_id": pid}
        for column, kind in types.items():
            try:
                out[column] = _convert(kind, column, rec.get(column))
            except (ValueError, TypeError) as exc:
                failures.append(InputTableError(
                    f"{what}: {column} '{rec.get(column)}' cannot be read ({exc})",
                    code="table.bad_value", patient_id=pid, row=rec.get("_row"), column=column,
                    value=rec.get(column)))
        rows.append(out)
    typed = pd.DataFrame(rows, columns=list(dict.fromkeys([*frame.columns, *types])))
    bad = {e.patient_id for e in failures}
    return typed[~typed["patient_id"].isin(bad)].reset_index(drop=True), failures


def typed_patients(frame: pd.DataFrame | None) -> tuple[pd.DataFrame, list[InputTableError]]:
    """The patients table with dates, numbers, yes/no and choices typed; patients with bad values left out."""
    if frame is None or len(frame) == 0:
        return pd.DataFrame(columns=["patient_id", *_PATIENT_TYPES]), []
    return _typed(frame, _PATIENT_TYPES, "patients table")


def typed_treatments(frame: pd.DataFrame | None) -> tuple[pd.DataFrame, list[InputTableError]]:
    """The treatments table typed; every row of a patient with a bad value left out."""
    if frame is None or len(frame) == 0:
        return pd.DataFrame(columns=["patient_id", *_TREATMENT_TYPES]), []
    return _typed(frame, _TREATMENT_TYPES, "treatments table")
