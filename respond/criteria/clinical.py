"""Corticosteroid dose and clinical status in the RANO-BM response (Lin et al. 2015, Table).

- CR needs no corticosteroids and clinical status stable or improved.
- PR and SD need a corticosteroid dose stable or decreased against baseline and
  clinical status stable or improved.
- Clinical worsening is progression.
- An increase in corticosteroids alone is never progression: when imaging
  meets CR/PR/SD but the dose is above baseline, respond reports SD and says why
  (NON-CR/NON-PD for non-target-only disease, which is never SD: RECIST 1.1 Table 2).

Which of these apply is set by the preset (``clinical.use_corticosteroids``,
``clinical.use_clinical_status``). When a needed value is missing the
response is computed from imaging only and the row is flagged ``imaging_only``.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from respond.config import Criteria


@dataclass(frozen=True)
class ClinicalRecord:
    """Clinical data matched to one scan: dose in mg/day dexamethasone-equivalent (None = unknown)."""

    date: dt.date
    steroid_dose_mg: float | None
    clinical_status: str | None


def clinical_at(records: pd.DataFrame, date: dt.date, window_days: int) -> ClinicalRecord | None:
    """The clinical record nearest to ``date`` within ``window_days`` (earlier wins a tie)."""
    if records is None or records.empty:
        return None
    gaps = [abs((d - date).days) for d in records["date"]]
    best = min(range(len(gaps)), key=lambda i: (gaps[i], records["date"].iloc[i] > date))
    if gaps[best] > window_days:
        return None
    rec = records.iloc[best]
    dose = rec.get("steroid_dose_mg", math.nan)
    dose = None if dose is None or (isinstance(dose, float) and math.isnan(dose)) else float(dose)
    status = rec.get("clinical_status")
    return ClinicalRecord(rec["date"], dose, status if isinstance(status, str) and status else None)


@dataclass(frozen=True)
class ClinicalOutcome:
    """Overall response after the clinical rules, whether it rests on imaging only, and why."""

    overall: str
    imaging_only: bool
    notes: tuple[str, ...]
    clinical_progression: bool = False


def apply_clinical_rules(
    imaging_overall: str,
    *,
    has_targets: bool,
    current: ClinicalRecord | None,
    baseline: ClinicalRecord | None,
    criteria: Criteria,
) -> ClinicalOutcome:
    """Combine the imaging response of one timepoint with steroid dose and clinical status."""
    use_dose = criteria.clinical.use_corticosteroids
    use_status = criteria.clinical.use_clinical_status
    if not (use_dose or use_status):
        return ClinicalOutcome(imaging_overall, False, ())
    status = current.clinical_status if current else None
    dose = current.steroid_dose_mg if current else None
    base_dose = baseline.steroid_dose_mg if baseline else None
    if use_status and status == "worse":
        return ClinicalOutcome("PD", False, ("clinical status worse: PD",), clinical_progression=True)
    if imaging_overall == "PD":
        return ClinicalOutcome("PD", False, ())
    missing = []
    if use_status and status is None:
        missing.append("clinical status")
    if use_dose and dose is None:
        missing.append("steroid dose")
    if use_dose and base_dose is None and imaging_overall in ("CR", "PR", "SD"):
        missing.append("baseline steroid dose")
    notes: list[str] = []
    overall = imaging_overall
    if use_dose and dose is not None and overall in ("CR", "PR", "SD"):
        if base_dose is not None and dose > base_dose:
            # Without targets there is no SD (RECIST 1.1 Table 2): the call is NON-CR/NON-PD.
            stable = "SD" if has_targets else "NON-CR/NON-PD"
            if overall != stable:
                notes.append(
                    f"imaging {overall} but steroid dose {dose:g} mg/day > baseline {base_dose:g} mg/day: "
                    f"{stable} (a steroid increase alone is not PD)"
                )
            else:
                notes.append(f"steroid dose {dose:g} mg/day > baseline {base_dose:g} mg/day (not PD by itself)")
            overall = stable
        elif overall == "CR" and dose > 0:
            downgraded = "PR" if has_targets else "NON-CR/NON-PD"
            notes.append(f"imaging CR but on corticosteroids ({dose:g} mg/day): {downgraded}")
            overall = downgraded
    elif use_dose and dose is not None and overall == "NON-CR/NON-PD" and base_dose is not None and dose > base_dose:
        notes.append(f"steroid dose {dose:g} mg/day > baseline {base_dose:g} mg/day (not PD by itself)")
    if missing:
        notes.append(f"{' and '.join(missing)} missing: imaging only")
    return ClinicalOutcome(overall, bool(missing), tuple(notes))
