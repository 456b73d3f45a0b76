"""Patient-level intracranial progression-free survival (iPFS) events.

For each patient assessed under a criteria:

- **Origin**: ``treatment_start`` from the patients table, else the baseline scan.
- **Event**: the first PD, dated at the criteria engine's ``progression_date``
  (back-dated to the first scan showing an equivocal new lesion that was later
  confirmed). Without PD, death (``death_date``) is an event when the preset's
  ``endpoints.death_is_event`` is true.
- **Censoring** (no event): at the last evaluable assessment (a follow-up scan
  whose overall response is not NE), or at ``last_followup`` when that is later;
  at the origin (time 0) when there is neither.
- **Pattern** of a PD event, from the ``progression_causes`` of the PD scan:
  ``local`` (target progression or reappearance of a lesion), ``distant`` (new
  lesions only), ``local+distant``, else ``non_target``, else ``clinical``;
  a back-dated PD (no PD scan on the progression date) is ``distant``, the
  confirmed new lesion. A death event has pattern ``death``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from respond.config import Criteria
from respond.errors import InputTableError

#: censor_reason values of the ipfs endpoint.
CENSOR_LAST_ASSESSMENT = "last_evaluable_assessment"
CENSOR_LAST_FOLLOWUP = "last_followup"
CENSOR_NO_FOLLOWUP = "no_evaluable_followup"
CENSOR_DEATH_NOT_EVENT = "death_not_event"

#: Progression patterns, in the order they are tested.
PATTERNS = ("local+distant", "local", "distant", "non_target", "clinical", "death")


@dataclass(frozen=True)
class PatientDates:
    """Dates of one patient from the patients table (None when not given)."""

    treatment_start: dt.date | None = None
    last_followup: dt.date | None = None
    death_date: dt.date | None = None


def check_patient_dates(pid: str, dates: PatientDates, last_scan: dt.date | None, source: str | None) -> None:
    """Refuse impossible orders of dates (raises :class:`InputTableError` naming the patient)."""
    def fail(column: str, value, message: str) -> None:
        raise InputTableError(message, code="table.date_order", file=source, patient_id=pid, column=column,
                              value=value)

    start, last, death = dates.treatment_start, dates.last_followup, dates.death_date
    if start and death and death < start:
        fail("death_date", death, f"death_date {death} is before treatment_start {start}")
    if start and last and last < start:
        fail("last_followup", last, f"last_followup {last} is before treatment_start {start}")
    if death and last and last > death:
        fail("last_followup", last, f"last_followup {last} is after death_date {death}")
    if death and last_scan and death < last_scan:
        fail("death_date", death, f"death_date {death} is before the scan of {last_scan}")


def pattern_of(causes: str | None) -> str | None:
    """Progression pattern from a timepoint's '+'-joined ``progression_causes``."""
    parts = set(str(causes).split("+")) if causes else set()
    local = bool(parts & {"target", "reappearance"})
    distant = "new_lesion" in parts
    if local and distant:
        return "local+distant"
    if local:
        return "local"
    if distant:
        return "distant"
    if "non_target" in parts:
        return "non_target"
    if "clinical" in parts:
        return "clinical"
    return None


def ipfs_event(
    pid: str, criteria: Criteria, timepoints: pd.DataFrame, best: dict, dates: PatientDates
) -> dict:
    """The ``ipfs`` events row of one patient under one criteria.

    ``timepoints`` are the patient's rows under the criteria (dates as
    :class:`datetime.date`), ``best`` its best-response row.
    """
    records = timepoints.to_dict("records") if isinstance(timepoints, pd.DataFrame) else timepoints
    tps = sorted(records, key=lambda r: r["date"])
    baseline = tps[0]["date"]
    origin = dates.treatment_start or baseline
    origin_text = f"origin {origin} ({'treatment start' if dates.treatment_start else 'baseline scan'})"
    row = {"patient_id": pid, "criteria": criteria.id, "endpoint": "ipfs", "lesion_id": None,
           "pattern": None, "censor_reason": None, "config_hash": criteria.short_hash}
    progression = best.get("progression_date")
    death = dates.death_date
    if progression is not None:
        pd_rows = [r for r in tps if r["date"] == progression and r["overall_response"] == "PD"]
        if pd_rows:
            causes = pd_rows[0]["progression_causes"]
            pattern = pattern_of(causes)
            why = f"PD on {progression} ({causes})"
        else:
            pattern = "distant"
            why = f"PD back-dated to {progression}: a new lesion equivocal then, confirmed later"
        time = (progression - origin).days
        if time < 0:
            raise InputTableError(
                f"progression on {progression} is before the time origin {origin}; check treatment_start",
                code="table.date_order", patient_id=pid, column="treatment_start", value=origin)
        return {**row, "time_days": float(time), "event": True, "event_date": progression, "pattern": pattern,
                "reason": f"{origin_text}; {why}"}
    if death is not None and criteria.endpoints.death_is_event:
        return {**row, "time_days": float((death - origin).days), "event": True, "event_date": death,
                "pattern": "death", "reason": f"{origin_text}; death on {death} without progression"}
    evaluable = [r["date"] for r in tps if r["date"] > baseline and _called(r["overall_response"])]
    if evaluable:
        censor, reason = max(evaluable), CENSOR_LAST_ASSESSMENT
        why = f"censored at the last evaluable assessment {censor}"
    else:
        censor, reason = origin, CENSOR_NO_FOLLOWUP
        why = "no evaluable follow-up: censored at the origin"
    if censor < origin:
        censor, why = origin, f"last evaluable assessment {censor} before the origin: censored at the origin"
        reason = CENSOR_NO_FOLLOWUP
    if dates.last_followup is not None and dates.last_followup > censor:
        censor, reason = dates.last_followup, CENSOR_LAST_FOLLOWUP
        why = f"no progression; censored at the last follow-up {censor}"
    if death is not None:
        reason = CENSOR_DEATH_NOT_EVENT
        why += f"; death on {death} is not an event (endpoints.death_is_event: false)"
    return {**row, "time_days": float((censor - origin).days), "event": False, "event_date": censor,
            "censor_reason": reason, "reason": f"{origin_text}; {why}"}


def _called(response) -> bool:
    """An evaluable overall response: given and not NE."""
    return response is not None and not (isinstance(response, float) and response != response) and response != "NE"
