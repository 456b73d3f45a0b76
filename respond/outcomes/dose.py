"""Biologically effective dose (BED) and EQD2 of radiotherapy courses (linear-quadratic model).

- External beam (SRS, HFSRT, WBRT, EBRT): ``BED = D (1 + d / (α/β))`` with D the
  total dose and d = D / n the dose per fraction (Fowler JF. The linear-quadratic
  formula and progress in fractionated radiotherapy. Br J Radiol 1989;62:679-694).
- Permanent implant (brachytherapy, dose delivered by a decaying source, fully
  decayed): ``BED = D (1 + (λ / (μ + λ)) · D / (α/β))`` with λ = ln 2 / T½ of the
  isotope and μ = ln 2 / the sublethal-damage repair half-time, both per hour
  (Dale RG. The application of the linear-quadratic dose-effect equation to
  fractionated and protracted radiotherapy. Br J Radiol 1985;58:515-528).
- ``EQD2 = BED / (1 + 2 / (α/β))`` (the dose in 2-Gy fractions with the same BED).

α/β is the row's ``alpha_beta_gy`` or the preset's (10 Gy, tumour). A lesion's
summed BED adds its own courses and the whole-brain courses (blank lesion_id)
of its patient dated on or after the lesion was first seen in the lesion table
(a lesion that appeared after whole-brain radiotherapy was not treated by it).
"""
from __future__ import annotations

import math
from typing import Final

import pandas as pd

from respond.tables import DOSES

#: Hours per day, to put λ (per day from the half-life in days) and μ (per hour) on one scale.
HOURS_PER_DAY: Final = 24.0
#: Techniques computed with the external-beam formula.
EXTERNAL_BEAM: Final = ("srs", "hfsrt", "wbrt", "ebrt")


def bed_external_beam(total_dose_gy: float, fractions: int, alpha_beta_gy: float) -> float:
    """BED of ``fractions`` equal fractions totalling ``total_dose_gy`` (Gy)."""
    per_fraction = total_dose_gy / fractions
    return total_dose_gy * (1.0 + per_fraction / alpha_beta_gy)


def bed_permanent_implant(total_dose_gy: float, half_life_days: float, repair_half_time_h: float,
                          alpha_beta_gy: float) -> float:
    """BED of a permanent implant delivering ``total_dose_gy`` (Gy) to full decay."""
    decay = math.log(2) / (half_life_days * HOURS_PER_DAY)  # λ, per hour
    repair = math.log(2) / repair_half_time_h  # μ, per hour
    return total_dose_gy * (1.0 + (decay / (repair + decay)) * total_dose_gy / alpha_beta_gy)


def eqd2(bed_gy: float, alpha_beta_gy: float) -> float:
    """Equivalent dose in 2-Gy fractions of a BED (Gy)."""
    return bed_gy / (1.0 + 2.0 / alpha_beta_gy)


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def course_dose(row: dict, default_alpha_beta_gy: float) -> dict:
    """One doses-table row for one treatments-table row (the BED blank with a note when not computable)."""
    ab = default_alpha_beta_gy if _blank(row.get("alpha_beta_gy")) else float(row["alpha_beta_gy"])
    dose, fractions, technique = row.get("total_dose_gy"), row.get("fractions"), row.get("technique")
    out = {"patient_id": row["patient_id"], "lesion_id": None if _blank(row.get("lesion_id")) else row["lesion_id"],
           "date": row.get("date"), "technique": technique, "total_dose_gy": dose,
           "fractions": None if _blank(fractions) else int(fractions), "alpha_beta_gy": ab,
           "bed_gy": math.nan, "eqd2_gy": math.nan, "note": None}
    if _blank(dose):
        out["note"] = "total_dose_gy missing"
    elif technique == "brachytherapy":
        half_life, repair = row.get("isotope_half_life_days"), row.get("repair_half_time_h")
        if _blank(half_life) or _blank(repair):
            out["note"] = "permanent implant needs isotope_half_life_days and repair_half_time_h"
        else:
            out["bed_gy"] = bed_permanent_implant(float(dose), float(half_life), float(repair), ab)
    elif _blank(fractions) or fractions < 1:
        out["note"] = "fractions missing"
    else:
        out["bed_gy"] = bed_external_beam(float(dose), int(fractions), ab)
    if not math.isnan(out["bed_gy"]):
        out["eqd2_gy"] = eqd2(out["bed_gy"], ab)
    return out


def dose_table(treatments: pd.DataFrame | None, lesions: pd.DataFrame | None,
               default_alpha_beta_gy: float) -> pd.DataFrame:
    """The doses table: one row per course, then one ``total`` row per treated lesion (summed BED)."""
    if treatments is None or treatments.empty:
        return DOSES.empty()
    rows = [course_dose(r, default_alpha_beta_gy) for r in treatments.to_dict("records")]
    courses = pd.DataFrame(rows)
    totals = _lesion_totals(courses, lesions)
    frame = pd.concat([courses, totals], ignore_index=True) if len(totals) else courses
    return DOSES.conform(frame, keep_extra=False)


def _first_seen(pid: str, courses: pd.DataFrame, lesions: pd.DataFrame | None) -> dict[str, object]:
    """Each lesion of the patient and the first date it is in the lesion table (None: treatments only)."""
    seen: dict[str, object] = {}
    if lesions is not None and len(lesions) and {"lesion_id", "date"} <= set(lesions.columns):
        mine = lesions[lesions["patient_id"] == pid]
        for lid, dates in mine.groupby(mine["lesion_id"].astype(str))["date"]:
            seen[lid] = min(dates)
    for lid in courses.loc[courses["patient_id"] == pid, "lesion_id"]:
        if not _blank(lid):
            seen.setdefault(str(lid), None)
    return seen


def _lesion_totals(courses: pd.DataFrame, lesions: pd.DataFrame | None) -> pd.DataFrame:
    rows = []
    for pid in dict.fromkeys(courses["patient_id"]):
        mine = courses[courses["patient_id"] == pid]
        whole = mine[mine["lesion_id"].map(_blank)]
        for lid, first in _first_seen(pid, courses, lesions).items():
            applies = whole if first is None else whole[[str(d) >= str(first) for d in whole["date"]]]
            included = pd.concat([mine[mine["lesion_id"] == lid], applies])
            if included.empty:
                continue
            rows.append(_total_row(pid, lid, included))
    return pd.DataFrame(rows)


def _total_row(pid: str, lid: str, included: pd.DataFrame) -> dict:
    row = {"patient_id": pid, "lesion_id": lid, "date": None, "technique": "total",
           "total_dose_gy": float(included["total_dose_gy"].astype(float).sum()), "fractions": None,
           "alpha_beta_gy": math.nan, "bed_gy": math.nan, "eqd2_gy": math.nan}
    courses = ", ".join(f"{r.technique} {r.date}" for r in included.itertuples())
    if included["bed_gy"].isna().any():
        row["note"] = f"BED of a course unknown; courses: {courses}"
        return row
    row["bed_gy"] = float(included["bed_gy"].sum())
    ratios = set(included["alpha_beta_gy"].astype(float))
    if len(ratios) == 1:
        ab = ratios.pop()
        row["alpha_beta_gy"], row["eqd2_gy"] = ab, eqd2(row["bed_gy"], ab)
        row["note"] = f"sum of {len(included)} course(s): {courses}"
    else:
        row["note"] = f"sum of {len(included)} course(s) with different α/β (no single EQD2): {courses}"
    return row


def lesion_bed(doses: pd.DataFrame) -> pd.DataFrame:
    """``patient_id, lesion_id, bed_gy``: each lesion's summed BED (the doses table's total rows)."""
    if doses is None or doses.empty:
        return pd.DataFrame(columns=["patient_id", "lesion_id", "bed_gy"])
    totals = doses[doses["technique"] == "total"]
    return totals[["patient_id", "lesion_id", "bed_gy"]].reset_index(drop=True)
