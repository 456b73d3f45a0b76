"""Assess one patient under one set of criteria: roles, every timepoint, best response."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from respond.config import Criteria
from respond.criteria.best import TimepointCall, best_overall_response
from respond.criteria.clinical import apply_clinical_rules, clinical_at
from respond.criteria.observations import (
    NOT_SEEN,
    Observation,
    is_present,
    mm_text,
    sum_value,
)
from respond.criteria.targets import BaselineLesion, RoleDecision, assign_roles
from respond.criteria.timepoint import (
    Nadir,
    combine_overall,
    non_target_response,
    pct_change,
    target_response,
)
from respond.errors import CriteriaError
from respond.tables import ROLE_PREFIX


@dataclass
class PatientAssessment:
    """Everything one patient contributes to the output tables under one criteria."""

    targets: list[dict] = field(default_factory=list)
    timepoints: list[dict] = field(default_factory=list)
    best: dict | None = None
    warnings: list[str] = field(default_factory=list)


def _round(value: Fraction | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _reader_role(row: dict, criteria: Criteria) -> str | None:
    specific = row.get(ROLE_PREFIX + criteria.id)
    return specific if specific else (row.get("role") or None)


class _Series:
    """A patient's in-scope lesions as observations by lesion and date."""

    def __init__(self, rows: pd.DataFrame, criteria: Criteria) -> None:
        self.criteria = criteria
        self.dates: list[dt.date] = sorted(set(rows["date"]))
        self.baseline = self.dates[0]
        self.organ: dict[str, str] = {}
        self.obs: dict[tuple[str, dt.date], Observation] = {}
        self.first_row: dict[str, dict] = {}
        for row in rows.sort_values("date", kind="stable").to_dict("records"):
            lid = row["lesion_id"]
            self.organ[lid] = row["organ"]
            self.first_row.setdefault(lid, row)
            self.obs[(lid, row["date"])] = Observation.from_row(row, is_node=self.is_node(lid))

    def is_node(self, lid: str) -> bool:
        return self.criteria.is_node(self.organ[lid])

    def at(self, lid: str, date: dt.date) -> Observation:
        return self.obs.get((lid, date), NOT_SEEN)

    def baseline_lesions(self) -> list[BaselineLesion]:
        out = []
        for lid, row in self.first_row.items():
            if row["date"] == self.baseline and self.at(lid, self.baseline).state != "absent":
                out.append(BaselineLesion(lid, self.organ[lid], self.is_node(lid),
                                          self.at(lid, self.baseline), _reader_role(row, self.criteria)))
        return out


def assess_patient(
    patient_id: str,
    lesions: pd.DataFrame,
    criteria: Criteria,
    *,
    clinical: pd.DataFrame | None = None,
    treatment_start: dt.date | None = None,
) -> PatientAssessment | None:
    """Assess one patient; None when the criteria do not apply (no in-scope lesion).

    ``lesions`` are the patient's validated rows (see
    :func:`respond.io.lesion_table.read_lesion_table`); ``clinical`` the
    patient's clinical rows; ``treatment_start`` the origin of the minimum
    SD interval (the baseline scan when None).
    """
    rows = lesions[lesions["organ"].map(criteria.in_scope)]
    if rows.empty:
        return None
    series = _Series(rows, criteria)
    decisions = assign_roles(series.baseline_lesions(), criteria)
    result = PatientAssessment()
    for d in decisions:
        if d.warning:
            result.warnings.append(d.warning)
        result.targets.append({
            "patient_id": patient_id, "criteria": criteria.id, "lesion_id": d.lesion_id, "role": d.role,
            "organ": d.organ, "baseline_value_mm": _round(d.baseline_value),
            "reason": d.reason + (f" — WARNING: {d.warning}" if d.warning else ""),
        })
    targets = [d for d in decisions if d.role == "target"]
    for d in targets:
        if d.baseline_value is None:
            raise CriteriaError(
                f"target lesion {d.lesion_id} has no baseline measurement; measure it or make it a non-target",
                code="criteria.target_without_baseline", patient_id=patient_id)
    non_targets = [d for d in decisions if d.role == "non_target"]
    baseline_ids = {d.lesion_id for d in decisions}
    new_ids = sorted(lid for lid in series.organ if lid not in baseline_ids)
    for lid in new_ids:
        seen = [d for d in series.dates
                if is_present(series.at(lid, d), is_node=series.is_node(lid), criteria=criteria)]
        if seen:
            result.targets.append({
                "patient_id": patient_id, "criteria": criteria.id, "lesion_id": lid, "role": "new",
                "organ": series.organ[lid], "baseline_value_mm": None,
                "reason": f"not present at baseline {series.baseline}; first seen {seen[0]}",
            })
    calls = _assess_timepoints(patient_id, series, targets, non_targets, new_ids, criteria,
                               clinical=clinical, result=result)
    origin = treatment_start or series.baseline
    result.best = best_overall_response(calls, criteria, origin=origin, has_targets=bool(targets))
    result.best.update({"patient_id": patient_id, "criteria": criteria.id})
    return result


def _assess_timepoints(
    patient_id: str,
    series: _Series,
    targets: list[RoleDecision],
    non_targets: list[RoleDecision],
    new_ids: list[str],
    criteria: Criteria,
    *,
    clinical: pd.DataFrame | None,
    result: PatientAssessment,
) -> list[TimepointCall]:
    window = criteria.clinical.match_window_days
    baseline_clinical = clinical_at(clinical, series.baseline, window)
    baseline_total = sum((d.baseline_value for d in targets), Fraction(0))
    node_ids = {d.lesion_id for d in targets if d.is_node}
    history = [Nadir(series.baseline, baseline_total, {d.lesion_id: d.baseline_value for d in targets})]
    first_seen: dict[str, dt.date] = {}
    cr_date: dt.date | None = None
    result.timepoints.append({
        "patient_id": patient_id, "criteria": criteria.id, "date": series.baseline, "days_from_baseline": 0,
        "target_sum_mm": _round(baseline_total) if targets else None,
        "baseline_sum_mm": _round(baseline_total) if targets else None,
        "nadir_sum_mm": _round(baseline_total) if targets else None,
        "new_lesions": None, "imaging_only": False,
        "reason": (f"baseline: {len(targets)} target(s)"
                   + (f", sum {mm_text(baseline_total)} mm" if targets else "")
                   + f"; {len(non_targets)} non-target(s)"),
    })
    calls: list[TimepointCall] = []
    for date in series.dates[1:]:
        reasons: list[str] = []
        progression_reasons: list[str] = []
        progression_date = date

        t_resp = t_total = nadir = None
        if targets:
            nadir = min(reversed(history), key=lambda n: n.total)  # latest scan wins a tie
            values = {d.lesion_id: sum_value(series.at(d.lesion_id, date), is_node=d.is_node, criteria=criteria)
                      for d in targets}
            flags = [d.lesion_id for d in targets if series.at(d.lesion_id, date).state == "progression"]
            outcome = target_response(values, progression_flags=flags, node_ids=node_ids,
                                      baseline_total=baseline_total, nadir=nadir, criteria=criteria)
            t_resp, t_total = outcome.response, outcome.total
            reasons += outcome.reasons
            if t_total is not None and not flags:
                history.append(Nadir(date, t_total, {k: v for k, v in values.items() if v is not None}))

        presence = {d.lesion_id: is_present(series.at(d.lesion_id, date), is_node=d.is_node, criteria=criteria)
                    for d in non_targets}
        nt_flags = [d.lesion_id for d in non_targets if series.at(d.lesion_id, date).state == "progression"]
        nt_resp, nt_text = non_target_response(presence, nt_flags)
        if nt_text:
            reasons.append(nt_text)

        new_state, new_reasons, new_dates = _new_lesions(series, new_ids, date, first_seen)
        reasons += new_reasons
        if new_dates:
            progression_reasons.append("new_lesion")
            progression_date = min(new_dates)

        if cr_date is not None and criteria.response.reappearance_after_cr_is_progression:
            back = [d.lesion_id for d in targets + non_targets
                    if is_present(series.at(d.lesion_id, date), is_node=d.is_node, criteria=criteria)]
            if back:
                progression_reasons.append("reappearance")
                reasons.append(f"lesion(s) {', '.join(back)} reappeared after the CR of {cr_date}: PD")

        imaging, combine_text = combine_overall(t_resp, nt_resp, progression_reasons=progression_reasons)
        clin = apply_clinical_rules(
            imaging, has_targets=bool(targets), current=clinical_at(clinical, date, window),
            baseline=baseline_clinical, criteria=criteria)
        overall = clin.overall
        causes = _progression_causes(t_resp, nt_resp, progression_reasons, clinical_pd=clin.clinical_progression)
        if overall != "PD":
            progression_date = None
        elif causes == ["clinical"]:
            progression_date = date
        if combine_text != "PD":
            reasons.append(combine_text)
        reasons += list(clin.notes)
        if overall == "PD" or overall != imaging:
            reasons.append(f"overall {overall}")
        if overall == "CR" and cr_date is None:
            cr_date = date

        result.timepoints.append({
            "patient_id": patient_id, "criteria": criteria.id, "date": date,
            "days_from_baseline": (date - series.baseline).days,
            "target_sum_mm": _round(t_total), "baseline_sum_mm": _round(baseline_total) if targets else None,
            "nadir_sum_mm": _round(nadir.total) if nadir else None,
            "pct_change_from_baseline": _round(pct_change(t_total, baseline_total)) if t_total is not None else None,
            "pct_change_from_nadir": _round(pct_change(t_total, nadir.total)) if t_total is not None and nadir else None,
            "target_response": t_resp, "non_target_response": nt_resp, "new_lesions": new_state,
            "overall_response": overall, "progression_causes": "+".join(causes) or None,
            "imaging_only": clin.imaging_only, "reason": "; ".join(reasons),
        })
        calls.append(TimepointCall(date, overall, progression_date))
    return calls


def _progression_causes(
    target: str | None, non_target: str | None, other: list[str], *, clinical_pd: bool
) -> list[str]:
    """What made a timepoint PD: target, non_target, new_lesion, reappearance, clinical."""
    causes = []
    if target == "PD":
        causes.append("target")
    if non_target == "PD":
        causes.append("non_target")
    causes += other
    if clinical_pd:
        causes.append("clinical")
    return causes


def _new_lesions(
    series: _Series, new_ids: list[str], date: dt.date, first_seen: dict[str, dt.date]
) -> tuple[str, list[str], list[dt.date]]:
    """New-lesion state at ``date`` (no / equivocal / yes), reasons, and progression dates they imply.

    ``first_seen`` keeps, per new lesion, the first scan of its current
    appearance; it is updated in place (a lesion that vanishes starts again).
    """
    equivocal, unequivocal, dates, reasons = [], [], [], []
    for lid in new_ids:
        obs = series.at(lid, date)
        present = is_present(obs, is_node=series.is_node(lid), criteria=series.criteria)
        if not present:
            if present is False:
                first_seen.pop(lid, None)
            continue
        first = first_seen.setdefault(lid, date)
        if obs.equivocal:
            equivocal.append(lid)
        else:
            unequivocal.append(lid)
            dates.append(first)
            if first < date:
                reasons.append(f"new lesion {lid}, equivocal since {first}, now unequivocal: "
                               f"PD dated {first}")
            else:
                reasons.append(f"new lesion {lid}: PD")
    if equivocal:
        reasons.append(f"equivocal new lesion(s) {', '.join(equivocal)}: not PD until confirmed")
    state = "yes" if unequivocal else ("equivocal" if equivocal else "no")
    return state, reasons, dates
