"""Covariates of the outcome models: imaging covariates from the lesion table, clinical ones from the patients table.

Imaging covariates are taken per patient at the **baseline scan** (the
patient's first date in the lesion table), over CNS lesions (organ ``brain``
or ``cns``; every lesion when the table has no organ column) that are present
(longest diameter > 0 or blank, status not ``absent``, not merged into
another): the number of lesions (fragments of one lesion count once), their
total volume (GTV, cm³) and the volume of the largest one (cm³), from
``volume_mm3``. A present lesion without a volume makes the volumes blank.

The dichotomised covariates are True / False, or blank when an input is missing.
"""
from __future__ import annotations

import math
from typing import Final

import pandas as pd

from respond.outcomes.inputs import blank
from respond.outcomes.settings import OutcomeSettings
from respond.tables import PATIENT_COVARIATES

#: Organs counted as CNS lesions for the imaging covariates.
CNS_ORGANS: Final = ("brain", "cns")
#: mm³ per cm³.
MM3_PER_CM3: Final = 1000.0


def _present(lesions: pd.DataFrame) -> pd.DataFrame:
    keep = pd.Series(True, index=lesions.index)
    if "organ" in lesions.columns:
        keep &= lesions["organ"].astype(str).str.strip().str.lower().isin(CNS_ORGANS)
    if "longest_diameter_mm" in lesions.columns:
        ld = pd.to_numeric(lesions["longest_diameter_mm"], errors="coerce")
        keep &= ~(ld <= 0)
    if "status" in lesions.columns:
        keep &= lesions["status"].astype(str).str.lower() != "absent"
    if "merged_into" in lesions.columns:
        keep &= lesions["merged_into"].map(blank)
    return lesions[keep]


def _baseline_rows(lesions: pd.DataFrame) -> pd.DataFrame:
    dates = lesions["date"].astype(str)
    first = dates.groupby(lesions["patient_id"]).transform("min")
    return lesions[dates == first]


def imaging_covariates(lesions: pd.DataFrame | None) -> pd.DataFrame:
    """``patient_id, baseline_date, n_brain_lesions, total_brain_volume_cm3, largest_lesion_cm3``."""
    columns = ["patient_id", "baseline_date", "n_brain_lesions", "total_brain_volume_cm3", "largest_lesion_cm3"]
    if lesions is None or lesions.empty:
        return pd.DataFrame(columns=columns)
    baseline = _baseline_rows(lesions)
    rows = []
    for pid, mine in baseline.groupby("patient_id", sort=True):
        present = _present(mine)
        parent = present["lesion_id"].astype(str)
        if "fragment_of" in present.columns:
            parent = present["fragment_of"].where(~present["fragment_of"].map(blank), parent).astype(str)
        raw = present["volume_mm3"] if "volume_mm3" in present.columns else pd.Series(math.nan, index=present.index)
        raw = pd.to_numeric(raw, errors="coerce")
        volumes = raw.groupby(parent).sum(min_count=1)
        known = not raw.isna().any()
        rows.append({"patient_id": pid, "baseline_date": str(mine["date"].iloc[0]),
                     "n_brain_lesions": int(parent.nunique()),
                     "total_brain_volume_cm3": float(volumes.sum()) / MM3_PER_CM3 if known else math.nan,
                     "largest_lesion_cm3": float(volumes.max()) / MM3_PER_CM3 if known and len(volumes)
                     else math.nan})
    return pd.DataFrame(rows, columns=columns)


def lesion_covariates(lesions: pd.DataFrame | None) -> pd.DataFrame:
    """``patient_id, lesion_id, lesion_volume_cm3``: each lesion's volume at its first date."""
    columns = ["patient_id", "lesion_id", "lesion_volume_cm3"]
    if lesions is None or lesions.empty or "volume_mm3" not in lesions.columns:
        return pd.DataFrame(columns=columns)
    ordered = lesions.assign(_d=lesions["date"].astype(str)).sort_values("_d")
    first = ordered.groupby(["patient_id", "lesion_id"], sort=True).first().reset_index()
    first["lesion_volume_cm3"] = pd.to_numeric(first["volume_mm3"], errors="coerce") / MM3_PER_CM3
    return first[columns]


def _flag(value, test) -> bool | None:
    return None if blank(value) else bool(test(value))


def patient_covariates(patients: pd.DataFrame, imaging: pd.DataFrame, settings: OutcomeSettings) -> pd.DataFrame:
    """One row per patient: imaging covariates and the dichotomised covariates of the preset."""
    merged = patients.merge(imaging, on="patient_id", how="left") if len(patients) else patients
    lung = set(settings.lung_sites)
    rows = []
    for rec in merged.to_dict("records"):
        n = rec.get("n_brain_lesions")
        rows.append({
            "patient_id": rec["patient_id"], "n_brain_lesions": n,
            "total_brain_volume_cm3": rec.get("total_brain_volume_cm3"),
            "largest_lesion_cm3": rec.get("largest_lesion_cm3"),
            "sex_male": _flag(rec.get("sex"), lambda s: s == "male"),
            "age_ge_60": _flag(rec.get("age_years"), lambda a: a >= settings.age_cut_years),
            "kps_lt_70": _flag(rec.get("kps"), lambda k: k < settings.kps_cut),
            "extracranial_metastases": _flag(rec.get("extracranial_metastases"), bool),
            "multiple_brain_metastases": _flag(n, lambda k: k >= settings.multiple_cut),
            "lung_primary": _flag(rec.get("primary_site"), lambda s: str(s).strip().lower() in lung),
            "gtv_ge_10cm3": _flag(rec.get("total_brain_volume_cm3"), lambda v: v >= settings.gtv_cut_cm3),
        })
    frame = pd.DataFrame(rows, columns=PATIENT_COVARIATES.names)
    return PATIENT_COVARIATES.conform(frame, keep_extra=False)
