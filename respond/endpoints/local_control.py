"""Lesion-level local control: for each treated lesion, time to local failure.

A treated lesion (preset ``endpoints.treated_lesions``: every lesion present
at baseline, the target lesions, or the lesion table's ``treated`` column; or
an explicit list) fails locally at the first follow-up scan where

- its own size (longest diameter; short axis for lymph nodes; ``too_small`` =
  the preset's default) is ≥ ``local_failure_increase_pct`` % **and** ≥
  ``local_failure_absolute_mm`` mm above its own nadir (smallest size at an
  earlier scan, baseline included), or
- it is present again after having been absent at an earlier scan
  (reappearance), or
- the reader marked it ``progression`` (unequivocal progression).

With ``local_failure_requires_confirmation`` the next scan at which the lesion
is evaluated must meet the rule too; the failure is then dated at the first
scan. A failure still awaiting its confirming scan at the end of follow-up
is censored at that scan (``pending_confirmation``).

An adjudication (``patient_id, lesion_id, date, finding``) overrides the
imaging call at the scan of that date:

- ``radionecrosis`` / ``pseudoprogression``: the growth episode it was made on
  is not a local failure — that scan and the following scans as long as the
  lesion keeps meeting the rule; growth after the lesion has fallen back
  below the rule is judged afresh;
- ``tumor``: a local failure at that scan (confirmation included; with
  confirmation required, dated at the first scan of a pending episode).

Lesions are censored at their last evaluated scan; time starts at the
patient's origin (treatment start, else baseline scan).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from respond.config import Criteria, Endpoints
from respond.criteria.observations import NOT_SEEN, Observation, exact_mm, is_present, mm_text, sum_value
from respond.errors import InputTableError

CENSOR_LAST_ASSESSMENT = "last_assessment"
CENSOR_PENDING = "pending_confirmation"
CENSOR_NO_FOLLOWUP = "no_followup"

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", "", "nan", "none"}


def treated_from_column(pid: str, rows: pd.DataFrame | list[dict], source: str | None) -> set[str]:
    """Lesions of one patient whose ``treated`` cell is true on any row (strict true/false)."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    if (isinstance(rows, pd.DataFrame) and "treated" not in rows.columns) or any(
            "treated" not in rec for rec in records):
        raise InputTableError(
            "endpoints.treated_lesions is 'column' but the lesion table has no 'treated' column; "
            "add it (true/false) or choose baseline / targets",
            code="table.missing_column", file=source, column="treated")
    treated = set()
    for rec in records:
        value = rec["treated"]
        text = str(value).strip().lower() if not isinstance(value, bool) else str(value).lower()
        if text in _TRUE:
            treated.add(rec["lesion_id"])
        elif text not in _FALSE:
            raise InputTableError(f"'{value}' is not true/false", code="table.bad_boolean", file=source,
                                  patient_id=pid, row=rec.get("_row"), column="treated", value=value)
    return treated


def lesion_events(
    pid: str,
    criteria: Criteria,
    rows: pd.DataFrame,
    treated: list[str],
    origin: dt.date,
    adjudications: dict[tuple[str, dt.date], str],
) -> list[dict]:
    """``local_control`` events rows of one patient's treated lesions under one criteria.

    ``rows`` are the patient's in-scope lesion-table rows (a DataFrame or records; dates as
    :class:`datetime.date`); ``adjudications`` maps (lesion, scan date) to a finding.
    """
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    dates = sorted({rec["date"] for rec in records})
    obs: dict[tuple[str, dt.date], Observation] = {}
    node: dict[str, bool] = {}
    for rec in records:
        node[rec["lesion_id"]] = criteria.is_node(rec["organ"])
        obs[(rec["lesion_id"], rec["date"])] = Observation.from_row(rec, is_node=node[rec["lesion_id"]])
    out = []
    for lid in treated:
        row = _follow(lid, dates, lambda d: obs.get((lid, d), NOT_SEEN), node.get(lid, False), criteria,
                      {d: f for (l, d), f in adjudications.items() if l == lid})
        event_date = row.pop("date") or origin
        time = (event_date - origin).days
        if time < 0:
            if row["event"]:
                raise InputTableError(
                    f"local failure of lesion {lid} on {event_date} is before the time origin {origin}",
                    code="table.date_order", patient_id=pid, column="treatment_start", value=origin)
            event_date, time = origin, 0
            row["censor_reason"] = CENSOR_NO_FOLLOWUP
        out.append({"patient_id": pid, "criteria": criteria.id, "endpoint": "local_control", "lesion_id": lid,
                    "time_days": float(time), "event_date": event_date,
                    "config_hash": criteria.short_hash, **row,
                    "reason": f"origin {origin}; {row['reason']}"})
    return out


@dataclass
class _Course:
    """One treated lesion followed scan by scan: what each scan passes to the next (sizes in mm)."""

    nadir: Fraction | None  # smallest size so far, baseline included
    been_absent: bool = False  # absent at an earlier scan: present again is a reappearance
    suppressed: bool = False  # inside a growth episode adjudicated a treatment effect
    pending: tuple[dt.date, str] | None = None  # growth awaiting its confirming scan: (date, why)
    last: dt.date | None = None  # the last scan at which the lesion was evaluated
    notes: list[str] = field(default_factory=list)


def _follow(lid: str, dates: list[dt.date], at, is_node: bool, criteria: Criteria,
            findings: dict[dt.date, str]) -> dict:
    """Local control of lesion ``lid`` over the patient's scan ``dates`` (baseline first): an event or a
    censoring row (``event, date, pattern, censor_reason, reason``; the rules in the module docstring).

    ``at(date)`` is the lesion's observation at a scan; ``findings`` the adjudications by scan date.
    """
    rules = criteria.endpoints
    limits = (Fraction(str(rules.local_failure_increase_pct)), exact_mm(rules.local_failure_absolute_mm))
    course = _Course(nadir=sum_value(at(dates[0]), is_node=is_node, criteria=criteria))
    for date in dates[1:]:
        o = at(date)
        value = sum_value(o, is_node=is_node, criteria=criteria)
        present = is_present(o, is_node=is_node, criteria=criteria)
        if value is None and present is None:
            continue  # not evaluated at this scan
        course.last = date
        failing = _failing(o, value, present, course, rules, limits)
        event = _judge(lid, date, failing, findings.get(date), course, rules.local_failure_requires_confirmation)
        if event is not None:
            return event
        if value is not None and (course.nadir is None or value < course.nadir):
            course.nadir = value
        if present is False:
            course.been_absent = True
    return _censored(lid, course)


def _failing(o: Observation, value: Fraction | None, present: bool | None, course: _Course, rules: Endpoints,
             limits: tuple[Fraction, Fraction]) -> str | None:
    """Why the lesion meets the local failure rule at this scan, or None: unequivocal progression,
    reappearance, or a rise over its nadir ≥ ``limits`` (percent, mm) both."""
    if o.state == "progression":
        return "unequivocal progression"
    if present and course.been_absent:
        return "reappeared after disappearing"
    nadir = course.nadir
    if value is not None and nadir is not None:
        pct, absolute = limits
        rise = value - nadir
        if rise > 0 and rise >= absolute and rise * 100 >= pct * nadir:
            return (f"{mm_text(value)} mm vs its nadir {mm_text(nadir)} mm "
                    f"(+{mm_text(rise)} mm, ≥ {rules.local_failure_increase_pct:g} % and "
                    f"≥ {rules.local_failure_absolute_mm:g} mm)")
    return None


def _judge(lid: str, date: dt.date, failing: str | None, finding: str | None, course: _Course,
           confirm: bool) -> dict | None:
    """The local failure at this scan, or None (``course`` updated): the adjudication ``finding`` of the
    scan overrides imaging (module docstring); with ``confirm`` a failure waits for its next scan."""
    pending = course.pending
    if finding == "tumor":
        first = pending[0] if pending else date
        what = failing or "imaging below the failure rule"
        return _failure(first, f"lesion {lid}: local failure on {first}: {pending[1] if pending else what}; "
                               f"adjudicated tumor on {date}")
    if finding is not None:
        course.suppressed = True
    if failing is None:
        course.suppressed = False
        if pending:
            course.notes.append(f"growth on {pending[0]} not confirmed on {date}")
        course.pending = None
    elif course.suppressed:
        if finding is not None:
            course.notes.append(f"{date}: {failing}, adjudicated {finding}: not a local failure")
        course.pending = None
    elif not confirm:
        return _failure(date, f"lesion {lid}: local failure on {date}: {failing}")
    elif pending is None:
        course.pending = (date, failing)
    else:
        return _failure(pending[0], f"lesion {lid}: local failure on {pending[0]}: {pending[1]}; "
                                    f"confirmed on {date}")
    return None


def _failure(date: dt.date, reason: str) -> dict:
    """A local failure on ``date``."""
    return {"event": True, "date": date, "pattern": "local", "censor_reason": None, "reason": reason}


def _censored(lid: str, course: _Course) -> dict:
    """The lesion without local failure: censored at its last evaluated scan (at the origin without one)."""
    prefix = f"lesion {lid}: " + ("; ".join(course.notes) + "; " if course.notes else "")
    last, pending = course.last, course.pending
    if last is None:
        return {"event": False, "date": None, "pattern": None, "censor_reason": CENSOR_NO_FOLLOWUP,
                "reason": prefix + "not evaluated after baseline: censored at the origin"}
    if pending:
        return {"event": False, "date": last, "pattern": None, "censor_reason": CENSOR_PENDING,
                "reason": prefix + f"growth on {pending[0]} awaits a confirming scan: censored on {last}"}
    return {"event": False, "date": last, "pattern": None, "censor_reason": CENSOR_LAST_ASSESSMENT,
            "reason": prefix + f"no local failure; censored at its last assessment {last}"}
