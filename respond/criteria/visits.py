"""Timepoints of one patient: which scans form one visit, which visit is the baseline, what was imaged.

- **Visits.** Scans with the same ``visit`` (lesion table or scans table) are
  one timepoint. Without ``visit``, each scan date is a timepoint, or scans
  within ``visits.grouping_window_days`` of a visit's first scan are grouped
  (preset; default 0 = off). A visit is dated as SDTM dates an assessment
  spread over days: its **response** at the latest scan date of the visit
  (the assessment is complete then), a **progression** at the earliest scan
  date of the visit that shows it.
- **Baseline.** With a known treatment start, the baseline is the visit of
  the last scan on or before it (RECIST 1.1 §3.2); earlier visits are not
  used (warning ``scan_before_baseline``); a baseline more than
  ``visits.max_baseline_before_treatment_days`` before the treatment start,
  or after it, is warned about. Without a treatment start the first visit is
  the baseline.
- **Regions.** The scans table says which body regions were imaged at each
  visit (``lesion_count`` 0: imaged, nothing found). A lesion in a region not
  imaged at a visit is not evaluated there (never "disappeared"); a lesion
  without a row in a region imaged with nothing found is absent.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from respond.errors import format_values

#: Region that covers every other.
WHOLE_BODY = "whole_body"


@dataclass(frozen=True)
class Visit:
    """One timepoint: its label, scan dates, and the regions the scans table says were imaged."""

    label: str
    dates: tuple[dt.date, ...]
    regions: frozenset[str] | None = None  # None: the scans table says nothing about this visit
    empty_regions: frozenset[str] = frozenset()  # imaged with lesion_count 0

    @property
    def date(self) -> dt.date:
        """Response date: the latest scan date of the visit."""
        return self.dates[-1]

    @property
    def first(self) -> dt.date:
        """The earliest scan date of the visit."""
        return self.dates[0]

    def imaged(self, region: str | None) -> bool | None:
        """Whether ``region`` was imaged (None: not known)."""
        if self.regions is None or region is None:
            return None
        return region in self.regions or WHOLE_BODY in self.regions

    def imaged_empty(self, region: str | None) -> bool:
        """Whether the scans table says ``region`` was imaged and nothing was found."""
        return region is not None and (region in self.empty_regions or WHOLE_BODY in self.empty_regions)


@dataclass
class PatientVisits:
    """A patient's lesion rows (each with ``_visit``: index into ``visits``) and visits from the baseline on."""

    visits: list[Visit]
    rows: list[dict]
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _label(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _group_dates(dates: list[dt.date], window_days: int) -> dict[dt.date, str]:
    """Visit label per date for dates without a visit: one per date, or grouped within a window."""
    out: dict[dt.date, str] = {}
    start: dt.date | None = None
    for date in sorted(dates):
        if start is None or (date - start).days > window_days:
            start = date
        out[date] = start.isoformat()
    return out


def _records(frame: pd.DataFrame | list[dict] | None) -> list[dict]:
    if frame is None:
        return []
    return frame if isinstance(frame, list) else frame.to_dict("records")


def patient_visits(
    rows: pd.DataFrame | list[dict],
    scans: pd.DataFrame | list[dict] | None,
    *,
    treatment_start: dt.date | None,
    window_days: int,
    max_baseline_gap_days: int,
) -> PatientVisits:
    """Group a patient's lesion rows (and scans rows) into visits and choose the baseline."""
    records = _records(rows)
    scan_records = _records(scans)
    visit_of_date: dict[dt.date, str] = {}
    for rec in records + scan_records:
        label = _label(rec.get("visit"))
        if label is not None:
            visit_of_date.setdefault(rec["date"], label)
    loose = {rec["date"] for rec in records + scan_records if rec["date"] not in visit_of_date}
    visit_of_date.update(_group_dates(sorted(loose), window_days))

    def label_of(rec: dict) -> str:
        return _label(rec.get("visit")) or visit_of_date[rec["date"]]

    dates: dict[str, set[dt.date]] = {}
    for rec in records + scan_records:
        dates.setdefault(label_of(rec), set()).add(rec["date"])
    regions: dict[str, set[str]] = {}
    empty: dict[str, set[str]] = {}
    for rec in scan_records:
        label = label_of(rec)
        regions.setdefault(label, set()).add(rec["region"])
        count = rec.get("lesion_count")
        if count is not None and not (isinstance(count, float) and math.isnan(count)) and count == 0:
            empty.setdefault(label, set()).add(rec["region"])
    visits = sorted(
        (Visit(label, tuple(sorted(ds)), frozenset(regions[label]) if label in regions else None,
               frozenset(empty.get(label, ()))) for label, ds in dates.items()),
        key=lambda v: (v.first, v.date, v.label))
    warnings: list[tuple[str, str]] = []
    start = _baseline_index(visits, treatment_start, max_baseline_gap_days, warnings)
    visits = visits[start:]
    index = {v.label: i for i, v in enumerate(visits)}
    kept = []
    for rec in records:
        i = index.get(label_of(rec))
        if i is not None:
            kept.append({**rec, "_visit": i})
    return PatientVisits(visits, kept, warnings)


def _baseline_index(visits: list[Visit], treatment_start: dt.date | None, max_gap_days: int,
                    warnings: list[tuple[str, str]]) -> int:
    """Index of the baseline visit: the last visit with a scan on or before the treatment start."""
    if treatment_start is None or not visits:
        return 0
    before = [i for i, v in enumerate(visits) if v.first <= treatment_start]
    if not before:
        warnings.append(("baseline_after_treatment_start",
                         f"first scan {visits[0].first} is after the treatment start {treatment_start}: "
                         "it is used as the baseline"))
        return 0
    start = before[-1]
    baseline = visits[start]
    if start > 0:
        earlier = format_values(str(v.first) for v in visits[:start])
        warnings.append(("scan_before_baseline",
                         f"scan(s) {earlier} before the baseline {baseline.first} (the last scan on or before "
                         f"the treatment start {treatment_start}) are not used"))
    gap = (treatment_start - baseline.first).days
    if gap > max_gap_days:
        warnings.append(("baseline_before_treatment",
                         f"baseline {baseline.first} is {gap} days before the treatment start {treatment_start} "
                         f"(more than {max_gap_days}; RECIST 1.1 §3.2: never more than 4 weeks)"))
    return start
