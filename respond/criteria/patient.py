"""Assess one patient under one set of criteria: roles, every timepoint, best response.

The baseline of every criteria is the patient's baseline visit: a lesion in
the criteria's scope first seen later is new (RANO-BM: a new lesion is one
"not present on prior scans"). Only when the scans table says the scope's
region (the brain, for RANO-BM) was not imaged at baseline does the criteria
start at the first visit that imaged it, with a warning.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from respond.config import Criteria
from respond.criteria.best import best_overall_response
from respond.criteria.observations import NOT_SEEN, Observation, is_present, sum_fragments
from respond.criteria.targets import BaselineLesion, RoleDecision, assign_roles
from respond.criteria.timeline import NOT_IMAGED, assess_timepoints
from respond.criteria.visits import PatientVisits, Visit, patient_visits
from respond.errors import CriteriaError
from respond.tables import ROLE_PREFIX

__all__ = ["PatientAssessment", "assess_patient", "Series", "NOT_IMAGED"]

#: Findings of an adjudication that withdraw a lesion's growth from the timepoint response.
TREATMENT_EFFECTS = ("radionecrosis", "pseudoprogression")


@dataclass
class PatientAssessment:
    """Everything one patient contributes to the output tables under one criteria.

    ``warnings`` holds ``(code, message)`` pairs.
    """

    targets: list[dict] = field(default_factory=list)
    timepoints: list[dict] = field(default_factory=list)
    best: dict | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)


def round_mm(value: Fraction | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _reader_role(row: dict, criteria: Criteria) -> str | None:
    specific = row.get(ROLE_PREFIX + criteria.id)
    return specific if specific else (row.get("role") or None)


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


class Series:
    """A patient's in-scope lesions as observations by lesion and visit (fragments summed, regions checked)."""

    def __init__(self, rows: list[dict], visits: list[Visit], criteria: Criteria) -> None:
        self.criteria = criteria
        self.visits = visits
        self.baseline = visits[0].date
        self.organ: dict[str, str] = {}
        self.first_row: dict[str, dict] = {}
        self.obs: dict[tuple[str, int], Observation] = {}
        self.scan_date: dict[tuple[str, int], dt.date] = {}
        self.notes: list[tuple[str, str]] = []
        fragments: dict[tuple[str, int], list[dict]] = {}
        for row in sorted(rows, key=lambda r: (r["_visit"], r["date"])):
            parent = _text(row.get("fragment_of"))
            lid = parent or row["lesion_id"]
            self.organ.setdefault(lid, row["organ"])
            self.first_row.setdefault(lid, row)
            key = (lid, row["_visit"])
            if parent:
                fragments.setdefault(key, []).append(row)
                continue
            if key in self.obs:
                self.notes.append(("lesion_measured_twice_in_visit",
                                   f"lesion {lid} has rows on {self.scan_date[key]} and {row['date']} in visit "
                                   f"{visits[row['_visit']].label}: the later one is used"))
            self.obs[key] = Observation.from_row(row, is_node=self.is_node(lid))
            self.scan_date[key] = row["date"]
        for (lid, vi), parts in fragments.items():
            if (lid, vi) in self.obs:
                raise CriteriaError(f"lesion {lid} has a row of its own and fragment rows (fragment_of={lid}) in "
                                    f"visit {visits[vi].label}; give either the lesion or its fragments",
                                    code="criteria.fragment_and_parent")
            observed = [Observation.from_row(p, is_node=self.is_node(lid)) for p in parts]
            self.obs[(lid, vi)] = sum_fragments(observed, is_node=self.is_node(lid))
            self.scan_date[(lid, vi)] = min(p["date"] for p in parts)
        self._regions = {lid: criteria.region_of(organ) for lid, organ in self.organ.items()}

    def is_node(self, lid: str) -> bool:
        return self.criteria.is_node(self.organ[lid])

    def at(self, lid: str, vi: int) -> Observation:
        """The lesion at visit ``vi``; not evaluated without a row, or when its region was not imaged."""
        visit = self.visits[vi]
        region = self._regions[lid]
        if visit.imaged(region) is False:
            return NOT_IMAGED
        obs = self.obs.get((lid, vi))
        if obs is None:
            if visit.imaged_empty(region):
                return Observation(state="absent", ld=None, sa=None, n_slices=float("nan"), equivocal=False)
            return NOT_SEEN
        return obs

    def date_of(self, lid: str, vi: int) -> dt.date:
        """Scan date of the lesion's row at visit ``vi`` (the visit's first scan without one)."""
        return self.scan_date.get((lid, vi), self.visits[vi].first)

    def baseline_lesions(self) -> list[BaselineLesion]:
        out = []
        for lid, row in self.first_row.items():
            obs = self.at(lid, 0)
            if row["_visit"] == 0 and obs.state != "absent":
                out.append(BaselineLesion(lid, self.organ[lid], self.is_node(lid), obs,
                                          _reader_role(row, self.criteria)))
        return out


def _scope_visits(pv: PatientVisits, rows: list[dict], criteria: Criteria) -> tuple[list[Visit], list[dict],
                                                                                    list[tuple[str, str]]]:
    """Visits of this criteria: from the patient's baseline, unless its scope was not imaged then."""
    regions = {criteria.region_of(o) for o in (criteria.scope.organs or ())} - {None}
    if not regions or pv.visits[0].regions is None or any(pv.visits[0].imaged(r) for r in regions):
        return pv.visits, rows, []
    start = next((i for i, v in enumerate(pv.visits) if any(v.imaged(r) for r in regions)), None)
    if start is None:
        return [], [], []
    note = (f"the scans table says {', '.join(sorted(regions))} was not imaged at the baseline "
            f"{pv.visits[0].first}: {criteria.name} starts at the first visit imaging it ({pv.visits[start].first})")
    kept = [{**r, "_visit": r["_visit"] - start} for r in rows if r["_visit"] >= start]
    return pv.visits[start:], kept, [("scope_not_imaged_at_baseline", note)]


def assess_patient(
    patient_id: str,
    lesions: pd.DataFrame | PatientVisits,
    criteria: Criteria,
    *,
    clinical: pd.DataFrame | None = None,
    treatment_start: dt.date | None = None,
    adjudications: pd.DataFrame | None = None,
) -> PatientAssessment | None:
    """Assess one patient; None when the criteria do not apply (no in-scope lesion).

    ``lesions`` are the patient's validated rows (see
    :func:`respond.io.lesion_table.read_lesion_table`) or their visits
    (:func:`respond.criteria.visits.patient_visits`); ``clinical`` the
    patient's clinical rows; ``treatment_start`` the origin of the minimum
    SD interval (the baseline scan when None) and the limit of the baseline;
    ``adjudications`` the patient's adjudication rows (lesion_id, date, finding).
    """
    if isinstance(lesions, pd.DataFrame):
        lesions = patient_visits(lesions, None, treatment_start=treatment_start,
                                 window_days=criteria.visits.grouping_window_days,
                                 max_baseline_gap_days=criteria.visits.max_baseline_before_treatment_days)
    rows = [r for r in lesions.rows if criteria.in_scope(r["organ"])]
    if not rows:
        return None
    visits, rows, notes = _scope_visits(lesions, rows, criteria)
    if not rows:
        return None
    result = PatientAssessment(warnings=list(lesions.warnings) + notes + _unknown_organs(rows, criteria))
    series = Series(rows, visits, criteria)
    result.warnings += series.notes
    decisions = assign_roles(series.baseline_lesions(), criteria)
    _target_rows(patient_id, decisions, criteria, result)
    targets = [d for d in decisions if d.role == "target"]
    _check_target_baselines(patient_id, targets)
    non_targets = [d for d in decisions if d.role == "non_target"]
    new_ids = _new_lesion_rows(patient_id, series, decisions, result)
    treatment_effects = _treatment_effects(adjudications, visits)
    calls = assess_timepoints(patient_id, series, targets, non_targets, new_ids, criteria,
                              clinical=clinical, result=result, treatment_effects=treatment_effects)
    origin = treatment_start or series.baseline
    result.best = best_overall_response(calls, criteria, origin=origin, has_targets=bool(targets))
    result.best.update({"patient_id": patient_id, "criteria": criteria.id})
    return result


def _unknown_organs(rows: list[dict], criteria: Criteria) -> list[tuple[str, str]]:
    """An ``unknown_organ`` warning when organs of ``rows`` are not in the criteria's vocabulary."""
    unknown = sorted({r["organ"] for r in rows if not criteria.is_known_organ(r["organ"])})
    if not unknown:
        return []
    return [("unknown_organ", f"organ(s) {', '.join(unknown)} not in the {criteria.name} "
                              "vocabulary (scope.known_organs): each is counted as an organ "
                              "of its own; check the spelling")]


def _check_target_baselines(patient_id: str, targets: list[RoleDecision]) -> None:
    """Refuse a target lesion without a baseline measurement (its sum would have no reference)."""
    for d in targets:
        if d.baseline_value is None:
            raise CriteriaError(
                f"target lesion {d.lesion_id} has no baseline measurement; measure it or make it a non-target",
                code="criteria.target_without_baseline", patient_id=patient_id)


def _new_lesion_rows(patient_id: str, series: Series, decisions: list[RoleDecision],
                     result: PatientAssessment) -> list[str]:
    """The lesions that are neither targets nor non-targets (the new-lesion candidates, sorted), and a
    targets row ``new`` for each one seen present after baseline (RANO-BM: "not present on prior scans").

    A lesion excluded at baseline (absent, or a normal node) that is later disease becomes ``new``.
    """
    criteria = series.criteria
    followed = {d.lesion_id for d in decisions if d.role in ("target", "non_target")}
    new_ids = sorted(lid for lid in series.organ if lid not in followed)
    excluded = {row["lesion_id"]: row for row in result.targets if row["role"] == "excluded"}
    for lid in new_ids:
        seen = next((v.date for vi, v in enumerate(series.visits) if vi > 0
                     and is_present(series.at(lid, vi), is_node=series.is_node(lid), criteria=criteria)), None)
        if seen is None:
            continue
        if lid in excluded:  # absent or a normal node at baseline, disease later: a new lesion
            excluded[lid].update(role="new", reason=f"{excluded[lid]['reason']} at baseline; first seen as "
                                                    f"disease {seen}")
            continue
        result.targets.append({
            "patient_id": patient_id, "criteria": criteria.id, "lesion_id": lid, "role": "new",
            "organ": series.organ[lid], "baseline_value_mm": None,
            "reason": f"not present at baseline {series.baseline}; first seen {seen}",
        })
    return new_ids


def _target_rows(patient_id: str, decisions: list[RoleDecision], criteria: Criteria,
                 result: PatientAssessment) -> None:
    for d in decisions:
        if d.warning:
            result.warnings.append(("reader_role", d.warning))
        result.targets.append({
            "patient_id": patient_id, "criteria": criteria.id, "lesion_id": d.lesion_id, "role": d.role,
            "organ": d.organ, "baseline_value_mm": round_mm(d.baseline_value),
            "reason": d.reason + (f" — WARNING: {d.warning}" if d.warning else ""),
        })


def _treatment_effects(adjudications: pd.DataFrame | None, visits: list[Visit]) -> dict[int, dict[str, str]]:
    """Per visit index: lesions whose imaging change was adjudicated a treatment effect, and the finding."""
    if adjudications is None or adjudications.empty:
        return {}
    index = {d: i for i, v in enumerate(visits) for d in v.dates}
    out: dict[int, dict[str, str]] = {}
    for rec in adjudications.to_dict("records"):
        finding = str(rec.get("finding", "")).strip().lower()
        vi = index.get(rec["date"])
        if finding in TREATMENT_EFFECTS and vi is not None:
            out.setdefault(vi, {})[str(rec["lesion_id"])] = finding
    return out

