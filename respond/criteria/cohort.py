"""Apply criteria to a whole cohort: validated DataFrames in, the criteria's tables out.

Pure: no file is read or written here. The tables come from
:mod:`respond.io.lesion_table` (or are built in Python with the same parsed
values: dates as :class:`datetime.date`, numbers as float, NaN for blanks);
:func:`respond.pipeline.evaluate.evaluate` is the application service that
reads files, calls :func:`apply_criteria` and the endpoints, and writes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from respond.config import Criteria
from respond.criteria.patient import PatientAssessment, assess_patient
from respond.criteria.visits import PatientVisits, patient_visits
from respond.errors import RespondError
from respond.tables import BEST_RESPONSE, TARGETS, TIMEPOINTS, WARNINGS, records_by_patient



@dataclass
class CriteriaTables:
    """What :func:`apply_criteria` returns: the response tables and per-patient failures."""

    timepoints: pd.DataFrame
    best_response: pd.DataFrame
    targets: pd.DataFrame
    warnings: pd.DataFrame
    failures: list[RespondError] = field(default_factory=list)


def _by_patient(frame: pd.DataFrame | None, *, sort_by: str | None = None) -> dict[Any, pd.DataFrame]:
    """Rows of ``frame`` per patient id, split once (not filtered once per patient)."""
    if frame is None or frame.empty:
        return {}
    out = {}
    for pid, rows in frame.groupby("patient_id", sort=False):
        if sort_by is not None:
            rows = rows.sort_values(sort_by, kind="stable")
        out[pid] = rows.reset_index(drop=True)
    return out


def apply_criteria(
    lesions: pd.DataFrame,
    criteria: Sequence[Criteria],
    *,
    clinical: pd.DataFrame | None = None,
    treatment_starts: Mapping[Any, dt.date | None] | None = None,
    scans: pd.DataFrame | None = None,
    adjudications: pd.DataFrame | None = None,
    skip: Iterable[Any] = (),
) -> CriteriaTables:
    """Assess every patient of a validated lesion table under every criteria.

    ``clinical``: validated clinical rows (steroid dose in mg/day, clinical
    status); ``treatment_starts``: treatment start per patient id (origin of
    the minimum SD interval and limit of the baseline); ``scans``: validated
    scans rows (regions imaged per date or visit); ``adjudications``:
    validated adjudication rows (a lesion's change adjudicated radionecrosis or
    pseudoprogression does not make the timepoint PD); ``skip``: patient ids not to assess (they
    failed earlier). A patient whose assessment raises a
    :class:`~respond.errors.RespondError` is returned in ``failures`` and the
    others are assessed.
    """
    starts = dict(treatment_starts or {})
    skipped = set(skip)
    clinical_by_patient = _by_patient(clinical, sort_by="date")
    scans_by_patient = records_by_patient(scans)
    adjudications_by_patient = _by_patient(adjudications)
    hashes = {c.id: c.short_hash for c in criteria}  # once per criteria, not once per output row
    rows: dict[str, list[dict]] = {"targets": [], "timepoints": [], "best_response": [], "warnings": []}
    failures: list[RespondError] = []
    for pid, patient_rows in sorted(records_by_patient(lesions).items(), key=lambda item: item[0]):
        if pid in skipped:
            continue
        try:
            visits = _VisitCache(patient_rows, scans_by_patient.get(pid), starts.get(pid))
            assessed = [(c, assess_patient(pid, visits.of(c), c, clinical=clinical_by_patient.get(pid),
                                           treatment_start=starts.get(pid),
                                           adjudications=adjudications_by_patient.get(pid)))
                        for c in criteria]
        except RespondError as exc:
            exc.patient_id = exc.patient_id or pid
            failures.append(exc)
            continue
        for c, a in assessed:
            if a is not None:
                _collect(rows, pid, a, c.id, hashes[c.id])
    return CriteriaTables(
        timepoints=frame_of(rows["timepoints"], TIMEPOINTS.names),
        best_response=frame_of(rows["best_response"], BEST_RESPONSE.names),
        targets=frame_of(rows["targets"], TARGETS.names),
        warnings=frame_of(rows["warnings"], WARNINGS.names),
        failures=failures,
    )


class _VisitCache:
    """A patient's visits, built once per visit rule (criteria sharing the rule share them)."""

    def __init__(self, rows: list[dict], scans: list[dict] | None, treatment_start: dt.date | None) -> None:
        self.rows, self.scans, self.treatment_start = rows, scans, treatment_start
        self.cache: dict[tuple[int, int], PatientVisits] = {}

    def of(self, criteria: Criteria) -> PatientVisits:
        key = (criteria.visits.grouping_window_days, criteria.visits.max_baseline_before_treatment_days)
        if key not in self.cache:
            self.cache[key] = patient_visits(self.rows, self.scans, treatment_start=self.treatment_start,
                                             window_days=key[0], max_baseline_gap_days=key[1])
        return self.cache[key]


def _collect(tables: dict[str, list[dict]], pid: Any, a: PatientAssessment, criteria_id: str,
             config_hash: str) -> None:
    for name, rows in (("targets", a.targets), ("timepoints", a.timepoints), ("best_response", [a.best])):
        for row in rows:
            row["config_hash"] = config_hash
            tables[name].append(row)
    for code, message in a.warnings:
        tables["warnings"].append({"patient_id": pid, "criteria": criteria_id, "code": code, "message": message})


def frame_of(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A table of ``rows`` with exactly ``columns``, blanks as None."""
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(object).where(frame.notna(), None)
