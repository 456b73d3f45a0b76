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
from fractions import Fraction

import pandas as pd

from respond.config import Criteria
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


def _follow(lid: str, dates: list[dt.date], at, is_node: bool, criteria: Criteria,
            findings: dict[dt.date, str]) -> dict:
    rules = criteria.endpoints
    pct = Fraction(str(rules.local_failure_increase_pct))
    absolute = exact_mm(rules.local_failure_absolute_mm)
    confirm = rules.local_failure_requires_confirmation
    nadir = sum_value(at(dates[0]), is_node=is_node, criteria=criteria)
    been_absent = False
    suppressed = False
    pending: tuple[dt.date, str] | None = None
    last: dt.date | None = None
    notes: list[str] = []
    for date in dates[1:]:
        o = at(date)
        value = sum_value(o, is_node=is_node, criteria=criteria)
        present = is_present(o, is_node=is_node, criteria=criteria)
        if value is None and present is None:
            continue  # not evaluated at this scan
        last = date
        failing = None
        if o.state == "progression":
            failing = "unequivocal progression"
        elif present and been_absent:
            failing = "reappeared after disappearing"
        elif value is not None and nadir is not None:
            rise = value - nadir
            if rise > 0 and rise >= absolute and rise * 100 >= pct * nadir:
                failing = (f"{mm_text(value)} mm vs its nadir {mm_text(nadir)} mm "
                           f"(+{mm_text(rise)} mm, ≥ {rules.local_failure_increase_pct:g} % and "
                           f"≥ {rules.local_failure_absolute_mm:g} mm)")
        finding = findings.get(date)
        if finding == "tumor":
            first = pending[0] if pending else date
            what = failing or "imaging below the failure rule"
            return {"event": True, "date": first, "pattern": "local", "censor_reason": None,
                    "reason": f"lesion {lid}: local failure on {first}: {pending[1] if pending else what}; "
                              f"adjudicated tumor on {date}"}
        if finding is not None:
            suppressed = True
        if failing is None:
            suppressed = False
            if pending:
                notes.append(f"growth on {pending[0]} not confirmed on {date}")
            pending = None
        elif suppressed:
            if finding is not None:
                notes.append(f"{date}: {failing}, adjudicated {finding}: not a local failure")
            pending = None
        elif not confirm:
            return {"event": True, "date": date, "pattern": "local", "censor_reason": None,
                    "reason": f"lesion {lid}: local failure on {date}: {failing}"}
        elif pending is None:
            pending = (date, failing)
        else:
            return {"event": True, "date": pending[0], "pattern": "local", "censor_reason": None,
                    "reason": f"lesion {lid}: local failure on {pending[0]}: {pending[1]}; confirmed on {date}"}
        if value is not None and (nadir is None or value < nadir):
            nadir = value
        if present is False:
            been_absent = True
    prefix = f"lesion {lid}: " + ("; ".join(notes) + "; " if notes else "")
    if last is None:
        return {"event": False, "date": None, "pattern": None, "censor_reason": CENSOR_NO_FOLLOWUP,
                "reason": prefix + "not evaluated after baseline: censored at the origin"}
    if pending:
        return {"event": False, "date": last, "pattern": None, "censor_reason": CENSOR_PENDING,
                "reason": prefix + f"growth on {pending[0]} awaits a confirming scan: censored on {last}"}
    return {"event": False, "date": last, "pattern": None, "censor_reason": CENSOR_LAST_ASSESSMENT,
            "reason": prefix + f"no local failure; censored at its last assessment {last}"}
