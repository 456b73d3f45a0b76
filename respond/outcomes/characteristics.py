"""Cohort characteristics (a paper's Table 1): median (IQR) of numbers, n (%) of categories.

Quartiles are pandas' linear-interpolation quantiles (type 7 of Hyndman & Fan,
R's default). Percentages are of the patients with a value; those without
are counted in ``missing``.
"""
from __future__ import annotations

from typing import Final

import pandas as pd

from respond.outcomes.inputs import blank
from respond.tables import CHARACTERISTICS

#: Numeric characteristics (column, label).
NUMERIC: Final = (("age_years", "Age, years"), ("kps", "KPS"), ("n_brain_lesions", "CNS lesions at baseline"),
                  ("total_brain_volume_cm3", "Total CNS volume (GTV), cm³"),
                  ("largest_lesion_cm3", "Largest CNS lesion, cm³"))
#: Categorical characteristics (column, label).
CATEGORICAL: Final = (("sex", "Sex"), ("primary_site", "Primary site"), ("primary_controlled", "Primary controlled"),
                      ("extracranial_metastases", "Extracranial metastases"),
                      ("systemic_status", "Systemic status"), ("rpa", "RPA class"), ("gpa", "GPA group"),
                      ("sir", "SIR group"), ("bsbm", "BS-BM"), ("ggs", "GGS"))


def _label(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _numeric(values: pd.Series, label: str) -> dict:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    row = {"characteristic": label, "n": len(numbers), "missing": int(len(values) - len(numbers))}
    if len(numbers):
        q1, median, q3 = (float(numbers.quantile(q)) for q in (0.25, 0.5, 0.75))
        row |= {"median": median, "q1": q1, "q3": q3, "summary": f"{median:.3g} ({q1:.3g}–{q3:.3g})"}
    return row


def _categorical(values: pd.Series, label: str) -> list[dict]:
    known = [_label(v) for v in values if not blank(v)]
    missing = len(values) - len(known)
    rows = []
    for level, n in pd.Series(known, dtype=object).value_counts(sort=False).sort_index().items():
        pct = 100.0 * n / len(known)
        rows.append({"characteristic": label, "level": level, "n": int(n), "percent": pct,
                     "missing": missing, "summary": f"{n} ({pct:.0f} %)"})
    return rows


def characteristics(patients: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of ``patients`` (patients table joined with imaging covariates and index classes)."""
    rows: list[dict] = [{"characteristic": "Patients", "n": len(patients), "summary": str(len(patients))}]
    for column, label in NUMERIC:
        if column in patients.columns and patients[column].map(lambda v: not blank(v)).any():
            rows.append(_numeric(patients[column], label))
    for column, label in CATEGORICAL:
        if column in patients.columns and patients[column].map(lambda v: not blank(v)).any():
            rows += _categorical(patients[column], label)
    return CHARACTERISTICS.conform(pd.DataFrame(rows), keep_extra=False)
