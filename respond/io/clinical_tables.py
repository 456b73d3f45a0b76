"""Read and validate the clinical columns of the patients table and the treatments table.

Like every respond table reader: a bad value (a KPS of 150, sex 'x', a
technique nobody knows, a permanent implant without its isotope half-life)
excludes that patient, with an :class:`~respond.errors.InputTableError`
naming the file, row, column and value; every other patient is read. A
missing file or required column stops the read.
"""
from __future__ import annotations

import math
from typing import Any

from respond.io.lesion_table import ReadResult, TableSource, close_table, open_table
from respond.tables import CAUSES_OF_DEATH, PATIENTS, SEXES, SYSTEMIC_STATUSES, TECHNIQUES, TREATMENTS

#: Plausible ranges of the numeric clinical columns (inclusive).
_RANGES = {"age_years": (0.0, 130.0), "kps": (0.0, 100.0)}


def _optional_bool(parser, pid: str, row: Any, column: str, value: Any) -> bool | None:
    text = str(value).strip().lower()
    if text in ("", "nan", "none"):
        return None
    return parser.boolean(pid, row, column, value)


def _bounded(parser, pid: str, row: Any, column: str, value: Any) -> float:
    number = parser.number(pid, row, column, value)
    lo, hi = _RANGES[column]
    if not math.isnan(number) and number > hi:
        parser.fail(pid, row, column, value, f"{column} {number:g} is above {hi:g}", "table.out_of_range")
        return math.nan
    return number if math.isnan(number) or number >= lo else math.nan


def read_outcome_patients(source: TableSource) -> ReadResult:
    """The patients table with dates and the clinical columns of :data:`respond.tables.PATIENTS` typed.

    Blank cells are None / NaN (the outcome that needs them says so).
    """
    frame, parser, name = open_table(source, PATIENTS)
    out: dict[str, list] = {c: [] for c in PATIENTS.names if c != "patient_id"}
    for rec in frame.to_dict("records"):
        pid, row = rec["patient_id"], rec["_row"]
        for column in ("treatment_start", "last_followup", "death_date"):
            out[column].append(parser.date(pid, row, column, rec.get(column, ""), required=False))
        for column in ("age_years", "kps"):
            out[column].append(_bounded(parser, pid, row, column, rec.get(column, "")))
        for column, allowed in (("sex", SEXES), ("systemic_status", SYSTEMIC_STATUSES),
                                ("cause_of_death", CAUSES_OF_DEATH)):
            out[column].append(parser.choice(pid, row, column, rec.get(column, ""), allowed))
        for column in ("primary_controlled", "extracranial_metastases"):
            out[column].append(_optional_bool(parser, pid, row, column, rec.get(column, "")))
        site = str(rec.get("primary_site", "")).strip()
        out["primary_site"].append(site or None)
        if out["cause_of_death"][-1] and not out["death_date"][-1]:
            parser.fail(pid, row, "cause_of_death", rec.get("cause_of_death"),
                        "cause_of_death given without death_date; give the date of death or leave the cause blank",
                        "table.cause_without_death")
    for column, values in out.items():
        frame[column] = values
    return close_table(frame, parser, name, ["patient_id"])


def _treatment_row(parser, rec: dict) -> dict:
    pid, row = rec["patient_id"], rec["_row"]
    technique = parser.choice(pid, row, "technique", rec.get("technique", ""), TECHNIQUES)
    if technique is None and str(rec.get("technique", "")).strip() == "":
        parser.fail(pid, row, "technique", "", f"technique is blank; give one of {', '.join(TECHNIQUES)}",
                    "table.missing_value")
    parsed = {
        "lesion_id": str(rec.get("lesion_id", "")).strip() or None,
        "date": parser.date(pid, row, "date", rec.get("date", ""), required=True),
        "technique": technique,
        "total_dose_gy": parser.number(pid, row, "total_dose_gy", rec.get("total_dose_gy", ""), minimum=1e-9),
        "fractions": parser.number(pid, row, "fractions", rec.get("fractions", ""), minimum=1, integer=True),
    }
    for column in ("alpha_beta_gy", "isotope_half_life_days", "repair_half_time_h"):
        parsed[column] = parser.number(pid, row, column, rec.get(column, ""), minimum=1e-9)
    if math.isnan(parsed["total_dose_gy"]) and str(rec.get("total_dose_gy", "")).strip() == "":
        parser.fail(pid, row, "total_dose_gy", "", "total_dose_gy is blank", "table.missing_value")
    if technique == "brachytherapy":
        for column in ("isotope_half_life_days", "repair_half_time_h"):
            if math.isnan(parsed[column]) and str(rec.get(column, "")).strip() == "":
                parser.fail(pid, row, column, "", f"a permanent implant needs {column}", "table.missing_value")
    elif technique is not None and math.isnan(parsed["fractions"]) and str(rec.get("fractions", "")).strip() == "":
        parser.fail(pid, row, "fractions", "", f"{technique} needs the number of fractions", "table.missing_value")
    return parsed


def read_treatments_table(source: TableSource) -> ReadResult:
    """The treatments table (one row per course; blank lesion_id = whole brain), validated and typed."""
    frame, parser, name = open_table(source, TREATMENTS)
    parsed = [_treatment_row(parser, rec) for rec in frame.to_dict("records")]
    for column in parsed[0] if parsed else ():
        frame[column] = [p[column] for p in parsed]
    frame["_lesion_key"] = frame["lesion_id"].fillna("") if "lesion_id" in frame.columns else ""
    result = close_table(frame, parser, name, ["patient_id", "_lesion_key", "date", "technique"])
    result.frame = result.frame.drop(columns="_lesion_key")
    return result
