"""The follow-up visits of one patient under one criteria, in order: each visit's response and why.

Rules per visit are those of :mod:`respond.criteria.timepoint`; this module
carries what one visit passes to the next:

- the **nadir** (smallest fully evaluated target sum, baseline included);
- **continued PR** (EORTC RECIST FAQ, *The definition of SD: a clarification*
  and *Managing PR when TP measurements change slightly over time*): once the
  targets reached PR (or CR), a later visit that is neither PR nor PD by the
  table stays PR — "the subsequent response is not based on the change from
  baseline but the change from the nadir" — until PD is met. Preset
  ``response.after_partial_response: per_timepoint`` reads RECIST 1.1 Table 3
  strictly instead (PR then SD → SD);
- the **CR** that makes a later reappearance PD (RECIST 1.1 FAQ; a nodal
  target has reappeared at ≥ 10 mm short axis, a non-target node only when it
  has unequivocally progressed — FAQ *Abnormal lymph node*);
- **new lesions** first seen at an earlier visit (an equivocal new lesion
  confirmed later is PD dated at its first scan; a node that was not
  pathological at baseline is a new lesion from 10 mm short axis, unequivocal
  from ``measurability.new_node_unequivocal_min_short_axis_mm``, FAQ *New
  lymph node lesions*);
- **adjudications**: a lesion whose change at a visit was adjudicated
  radionecrosis or pseudoprogression does not make that visit PD (RANO-BM:
  a PD later shown to be treatment effect is withdrawn); the call before the
  adjudication stays in ``overall_response_unadjudicated``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import pandas as pd

from respond.config import Criteria
from respond.criteria.best import TimepointCall
from respond.criteria.clinical import ClinicalRecord, apply_clinical_rules, clinical_at
from respond.criteria.observations import Observation, exact_mm, is_present, mm_text, sum_value
from respond.criteria.targets import RoleDecision
from respond.criteria.timepoint import (Nadir, combine_overall, non_target_response, pct_change_value,
                                         target_response)

if TYPE_CHECKING:  # pragma: no cover
    from respond.criteria.patient import PatientAssessment, Series

#: A lesion in a region the scans table says was not imaged at a visit: not evaluated (one shared
#: object, so that the trace can say why).
NOT_IMAGED = Observation(state="not_evaluated", ld=None, sa=None, n_slices=float("nan"), equivocal=False)


@dataclass
class _State:
    """What one visit passes to the next."""

    nadir: Nadir  # smallest fully evaluated sum so far (the latest wins a tie)
    first_seen: dict[str, tuple[int, dt.date]] = field(default_factory=dict)
    cr_date: dt.date | None = None
    response_reached: bool = False  # targets reached PR or CR (continued PR)


@dataclass
class _Call:
    """One visit's call and the values that go into its row."""

    overall: str
    imaging_overall: str
    target: str | None
    non_target: str | None
    new_state: str
    total: Fraction | None
    nadir: Nadir | None
    reasons: list[str]
    causes: list[str]
    progression_date: dt.date | None
    imaging_only: bool
    values: dict[str, Fraction | None]
    flags: list[str]


@dataclass(frozen=True)
class _Patient:
    """What stays the same across one patient's visits under one criteria (sums in mm)."""

    series: "Series"
    targets: list[RoleDecision]
    non_targets: list[RoleDecision]
    new_ids: list[str]
    criteria: Criteria
    baseline_total: Fraction  # sum of the targets' baseline values (0 without targets)
    baseline_clinical: ClinicalRecord | None  # the clinical record nearest the baseline scan


@dataclass
class _Findings:
    """What the parts of one visit's call found, in trace order: reasons, PD causes beyond the target and
    non-target responses (``new_lesion``, ``reappearance``), and the scan dates that date a PD."""

    reasons: list[str] = field(default_factory=list)
    progression_reasons: list[str] = field(default_factory=list)
    progression_dates: list[dt.date] = field(default_factory=list)


@dataclass
class _TargetCall:
    """The target part of one visit's call: response, sum and the nadir it was judged against (mm)."""

    response: str | None = None
    total: Fraction | None = None
    nadir: Nadir | None = None
    values: dict[str, Fraction | None] = field(default_factory=dict)  # each target's contribution
    flags: list[str] = field(default_factory=list)  # targets the reader marked ``progression``


def _round(value: Fraction | float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def assess_timepoints(
    patient_id: str,
    series: "Series",
    targets: list[RoleDecision],
    non_targets: list[RoleDecision],
    new_ids: list[str],
    criteria: Criteria,
    *,
    clinical: pd.DataFrame | None,
    result: "PatientAssessment",
    treatment_effects: dict[int, dict[str, str]],
) -> list[TimepointCall]:
    """Append one timepoints row per visit to ``result``; return the follow-up calls."""
    window = criteria.clinical.match_window_days
    baseline_total = sum((d.baseline_value for d in targets), Fraction(0))
    patient = _Patient(series, targets, non_targets, new_ids, criteria, baseline_total,
                       clinical_at(clinical, series.baseline, window))
    state = _State(Nadir(series.baseline, baseline_total, {d.lesion_id: d.baseline_value for d in targets}))
    result.timepoints.append(_baseline_row(patient_id, patient))
    calls: list[TimepointCall] = []
    for vi in range(1, len(series.visits)):
        visit = series.visits[vi]
        current = clinical_at(clinical, visit.date, window)
        call, unadjudicated = _adjudicated_call(patient, state, vi, current, treatment_effects.get(vi, {}))
        _advance(state, call, visit, series, targets, vi)
        result.timepoints.append(_timepoint_row(patient_id, patient, vi, call, unadjudicated))
        calls.append(TimepointCall(visit.date, call.overall, call.progression_date))
    return calls


def _baseline_row(patient_id: str, patient: _Patient) -> dict:
    """The timepoints row of the baseline visit: its target sum (mm) and how many targets and non-targets."""
    series, targets, total = patient.series, patient.targets, patient.baseline_total
    return {
        "patient_id": patient_id, "criteria": patient.criteria.id, "date": series.baseline,
        "days_from_baseline": 0,
        "target_sum_mm": _round(total) if targets else None,
        "baseline_sum_mm": _round(total) if targets else None,
        "nadir_sum_mm": _round(total) if targets else None,
        "new_lesions": None, "imaging_only": False, "visit": series.visits[0].label,
        "reason": (f"baseline: {len(targets)} target(s)"
                   + (f", sum {mm_text(total)} mm" if targets else "")
                   + f"; {len(patient.non_targets)} non-target(s)"),
    }


def _adjudicated_call(patient: _Patient, state: _State, vi: int, current: ClinicalRecord | None,
                      effects: dict[str, str]) -> tuple[_Call, str | None]:
    """The call at visit ``vi`` and, when adjudicated treatment effects (``effects``: lesion → finding)
    withdrew a PD, the call before them (RANO-BM: a PD later shown to be treatment effect is withdrawn).

    The new lesions first seen are carried from the call that stands.
    """
    first_seen = dict(state.first_seen)
    call = _call_visit(patient, state, vi, current, first_seen, withdrawn={})
    unadjudicated = None
    if effects and call.overall == "PD":
        unadjudicated = call.overall
        first_seen = dict(state.first_seen)
        call = _call_visit(patient, state, vi, current, first_seen, withdrawn=effects)
    state.first_seen = first_seen
    return call, unadjudicated


def _timepoint_row(patient_id: str, patient: _Patient, vi: int, call: _Call, unadjudicated: str | None) -> dict:
    """The timepoints row of follow-up visit ``vi``: sums (mm), % changes, responses and the trace."""
    series, visit, baseline_total = patient.series, patient.series.visits[vi], patient.baseline_total
    from_baseline = pct_change_value(call.total, baseline_total) if call.total is not None else None
    from_nadir = pct_change_value(call.total, call.nadir.total) if call.total is not None and call.nadir else None
    return {
        "patient_id": patient_id, "criteria": patient.criteria.id, "date": visit.date, "visit": visit.label,
        "days_from_baseline": (visit.date - series.baseline).days,
        "target_sum_mm": _round(call.total), "baseline_sum_mm": _round(baseline_total) if patient.targets else None,
        "nadir_sum_mm": _round(call.nadir.total) if call.nadir else None,
        "pct_change_from_baseline": _round(from_baseline),
        "pct_change_from_nadir": _round(from_nadir),
        "target_response": call.target, "non_target_response": call.non_target, "new_lesions": call.new_state,
        "overall_response": call.overall, "progression_causes": "+".join(call.causes) or None,
        "overall_response_unadjudicated": unadjudicated or call.overall,
        "imaging_only": call.imaging_only, "reason": "; ".join(call.reasons),
    }


def _advance(state: _State, call: _Call, visit, series: "Series", targets: list[RoleDecision], vi: int) -> None:
    """Carry this visit's call to the next: nadir, CR date, continued PR, new lesions first seen."""
    if targets and call.total is not None and not call.flags and call.total <= state.nadir.total:
        state.nadir = Nadir(visit.date, call.total, {k: v for k, v in call.values.items() if v is not None})
    if call.overall == "CR" and state.cr_date is None:
        state.cr_date = visit.date
    if call.target in ("PR", "CR"):
        state.response_reached = True


def _call_visit(patient: _Patient, state: _State, vi: int, current: ClinicalRecord | None,
                first_seen: dict[str, tuple[int, dt.date]], withdrawn: dict[str, str]) -> _Call:
    """The response at visit ``vi``; lesions in ``withdrawn`` (adjudicated treatment effect) cannot make it PD.

    ``current`` is the clinical record of the visit; ``first_seen`` is updated in place (see
    :func:`_new_lesions`).
    """
    found = _Findings()
    target = _target_call(patient, state, vi, withdrawn, found)
    non_target = _non_target_call(patient, vi, withdrawn, found)
    new_state, new_reasons, new_dates = _new_lesions(patient.series, patient.new_ids, vi, first_seen, withdrawn)
    found.reasons += new_reasons
    if new_dates:
        found.progression_reasons.append("new_lesion")
        found.progression_dates += new_dates
    _reappearance(patient, state, vi, withdrawn, found)
    _not_counted(patient, vi, withdrawn, found)
    return _overall_call(patient, vi, current, target, non_target, new_state, found)


def _target_call(patient: _Patient, state: _State, vi: int, withdrawn: dict[str, str],
                 found: _Findings) -> _TargetCall:
    """Target response at visit ``vi`` against the baseline and the nadir (none without targets).

    A withdrawn target (adjudicated treatment effect) counts at most its size at the nadir and its
    ``progression`` status is ignored. Continued PR per the EORTC FAQ (module docstring).
    """
    series, targets, criteria = patient.series, patient.targets, patient.criteria
    if not targets:
        return _TargetCall()
    nadir = state.nadir
    values: dict[str, Fraction | None] = {}
    target_ids, carried = {d.lesion_id for d in targets}, set()
    for d in targets:
        value = _target_value(series, d, vi, target_ids, carried, criteria)
        if d.lesion_id in withdrawn and value is not None and d.lesion_id in nadir.values:
            value = min(value, nadir.values[d.lesion_id])
        values[d.lesion_id] = value
    flags = [d.lesion_id for d in targets
             if series.at(d.lesion_id, vi).state == "progression" and d.lesion_id not in withdrawn]
    node_ids = {d.lesion_id for d in targets if d.is_node}
    outcome = target_response(values, progression_flags=flags, node_ids=node_ids,
                              baseline_total=patient.baseline_total, nadir=nadir, criteria=criteria)
    response, total = outcome.response, outcome.total
    found.reasons += outcome.reasons
    if (response == "SD" and state.response_reached
            and criteria.response.after_partial_response == "continued"):
        response = "PR"
        found.reasons.append(f"continued PR ({_pct_text(total, nadir.total)} vs nadir "
                             f"{mm_text(nadir.total)} mm, PD not met)")
    if response == "PD":
        found.progression_dates.append(_first_date(series, [d.lesion_id for d in targets], vi))
    return _TargetCall(response, total, nadir, values, flags)


def _non_target_call(patient: _Patient, vi: int, withdrawn: dict[str, str], found: _Findings) -> str | None:
    """Non-target response at visit ``vi``; a withdrawn lesion's ``progression`` status is ignored."""
    series, criteria = patient.series, patient.criteria
    presence = {d.lesion_id: is_present(series.at(d.lesion_id, vi), is_node=d.is_node, criteria=criteria)
                for d in patient.non_targets}
    flags = [d.lesion_id for d in patient.non_targets
             if series.at(d.lesion_id, vi).state == "progression" and d.lesion_id not in withdrawn]
    response, text = non_target_response(presence, flags)
    if text:
        found.reasons.append(text)
    if response == "PD":
        found.progression_dates.append(_first_date(series, flags, vi))
    return response


def _reappearance(patient: _Patient, state: _State, vi: int, withdrawn: dict[str, str],
                  found: _Findings) -> None:
    """Record the lesions back after a CR at visit ``vi`` (see :func:`_reappeared`) as a cause of PD."""
    back = _reappeared(patient.series, patient.targets, patient.non_targets, vi, state, withdrawn,
                       patient.criteria)
    if back:
        found.progression_reasons.append("reappearance")
        found.progression_dates.append(_first_date(patient.series, back, vi))
        found.reasons.append(f"lesion(s) {', '.join(back)} reappeared after the CR of {state.cr_date}: PD")


def _not_counted(patient: _Patient, vi: int, withdrawn: dict[str, str], found: _Findings) -> None:
    """Trace the lesions that do not count at visit ``vi``: region not imaged, change adjudicated."""
    series = patient.series
    not_imaged = [d.lesion_id for d in patient.targets + patient.non_targets
                  if series.at(d.lesion_id, vi) is NOT_IMAGED]
    if not_imaged:
        found.reasons.append(f"lesion(s) {', '.join(not_imaged)}: region not imaged at this visit (scans table), "
                             "not evaluated")
    for lid, finding in sorted(withdrawn.items()):
        found.reasons.append(f"lesion {lid}: change adjudicated {finding}, not counted as progression")


def _overall_call(patient: _Patient, vi: int, current: ClinicalRecord | None, target: _TargetCall,
                  non_target: str | None, new_state: str, found: _Findings) -> _Call:
    """Overall response at visit ``vi``: imaging (RECIST 1.1 Tables 1–2), then the clinical rules (RANO-BM);
    PD is dated at the earliest scan that showed it (the visit's date for clinical progression alone)."""
    visit = patient.series.visits[vi]
    imaging, combine_text = combine_overall(target.response, non_target,
                                            progression_reasons=found.progression_reasons)
    clin = apply_clinical_rules(imaging, has_targets=bool(patient.targets), current=current,
                                baseline=patient.baseline_clinical, criteria=patient.criteria)
    overall = clin.overall
    causes = _progression_causes(target.response, non_target, found.progression_reasons,
                                 clinical_pd=clin.clinical_progression)
    progression_date = None
    if overall == "PD":
        progression_date = (visit.date if causes == ["clinical"]
                            else min(found.progression_dates, default=visit.first))
    reasons = found.reasons
    if combine_text != "PD":
        reasons.append(combine_text)
    reasons += list(clin.notes)
    if overall == "PD" or overall != imaging:
        reasons.append(f"overall {overall}")
    return _Call(overall, imaging, target.response, non_target, new_state, target.total, target.nadir, reasons,
                 causes, progression_date, clin.imaging_only, target.values, target.flags)


def _target_value(series: "Series", d: RoleDecision, vi: int, target_ids: set[str], carried: set[str],
                  criteria: Criteria) -> Fraction | None:
    """A target's contribution to the sum; a target merged into a lesion that is not a target carries the
    coalesced measurement (RECIST 1.1 §4.3: the coalesced lesion is measured), once, so it is never lost
    nor counted twice (``carried`` holds the lesions already counted)."""
    obs = series.at(d.lesion_id, vi)
    if (obs.state == "merged" and obs.merged_into not in target_ids and obs.merged_into in series.organ
            and obs.merged_into not in carried):
        carried.add(obs.merged_into)
        carrier = series.at(obs.merged_into, vi)
        return sum_value(carrier, is_node=series.is_node(obs.merged_into), criteria=criteria)
    return sum_value(obs, is_node=d.is_node, criteria=criteria)


def _pct_text(total: Fraction | None, reference: Fraction) -> str:
    change = pct_change_value(total, reference) if total is not None else None
    return "n/a" if change is None else f"{float(change):+.1f}%"


def _first_date(series: "Series", lesion_ids: list[str], vi: int) -> dt.date:
    """Earliest scan date of the visit among the rows of these lesions (progression dating)."""
    dates = [series.date_of(lid, vi) for lid in lesion_ids]
    return min(dates, default=series.visits[vi].first)


def _reappeared(series: "Series", targets: list[RoleDecision], non_targets: list[RoleDecision], vi: int,
                state: _State, withdrawn: dict[str, str], criteria: Criteria) -> list[str]:
    """Lesions back after a CR (FAQ: a target node at ≥ 10 mm; a non-target node when it unequivocally progressed)."""
    if state.cr_date is None or not criteria.response.reappearance_after_cr_is_progression:
        return []
    back = []
    strict_nodes = criteria.response.non_target_node_reappearance == "unequivocal_progression"
    for d in targets + non_targets:
        if d.lesion_id in withdrawn:
            continue
        obs = series.at(d.lesion_id, vi)
        if d.role == "non_target" and d.is_node and strict_nodes:
            if obs.state == "progression":
                back.append(d.lesion_id)
        elif is_present(obs, is_node=d.is_node, criteria=criteria):
            back.append(d.lesion_id)
    return back


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
    series: "Series", new_ids: list[str], vi: int, first_seen: dict[str, tuple[int, dt.date]],
    withdrawn: dict[str, str],
) -> tuple[str, list[str], list[dt.date]]:
    """New-lesion state at visit ``vi`` (no / equivocal / yes), reasons, and progression dates they imply.

    ``first_seen`` keeps, per new lesion, the visit and scan date of its
    current appearance; it is updated in place (a lesion that vanishes starts
    again). A node is new from the normal limit (10 mm short axis) and
    equivocal below ``new_node_unequivocal_min_short_axis_mm`` at its first
    visit; seen again at a later visit it is confirmed.
    """
    criteria = series.criteria
    equivocal, unequivocal, dates, reasons = [], [], [], []
    node_limit = exact_mm(criteria.measurability.new_node_unequivocal_min_short_axis_mm)
    for lid in new_ids:
        if lid in withdrawn:
            continue
        obs = series.at(lid, vi)
        is_node = series.is_node(lid)
        present = is_present(obs, is_node=is_node, criteria=criteria)
        if not present:
            if present is False:
                first_seen.pop(lid, None)
            continue
        first_vi, first_date = first_seen.setdefault(lid, (vi, series.date_of(lid, vi)))
        small_node = (is_node and obs.state != "progression" and obs.sa is not None and obs.sa < node_limit)
        if obs.equivocal or (small_node and first_vi == vi):
            equivocal.append(lid)
            continue
        unequivocal.append(lid)
        dates.append(first_date)
        if first_vi < vi:
            reasons.append(f"new lesion {lid}, equivocal since {first_date}, now "
                           + ("confirmed" if small_node else "unequivocal") + f": PD dated {first_date}")
        else:
            reasons.append(f"new lesion {lid}: PD")
    if equivocal:
        reasons.append(f"equivocal new lesion(s) {', '.join(equivocal)}: not PD until confirmed")
    state = "yes" if unequivocal else ("equivocal" if equivocal else "no")
    return state, reasons, dates
