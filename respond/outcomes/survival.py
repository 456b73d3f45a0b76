"""Survival endpoints: Kaplan–Meier medians and rates, reverse-KM follow-up, log-rank tests (lifelines).

Endpoints (time in months of 30.4375 days):

- **os** — overall survival: from ``treatment_start`` to ``death_date`` (event,
  any cause), censored at ``last_followup``.
- **css** — cancer-specific survival: as OS, the event being death with
  ``cause_of_death`` cancer; death from another cause is censored at death; an
  unknown or blank cause is an event or censored by the preset
  (``css_unknown_cause``, default event).
- **ipfs** and **local_control** — the events derived by respond's endpoints
  stage (``events`` table, one criteria at a time; local control per lesion).

Estimates are read from :class:`lifelines.KaplanMeierFitter`: the median with
the interval where the pointwise band (Greenwood, log(−log)) crosses 0.5
(``inf`` = not reached); the rate at a time as a right-continuous step
function; the number at risk at t = observations with time ≥ t. Median
follow-up is the median of the reverse Kaplan–Meier estimate (censoring as the
event; Schemper & Smith, Control Clin Trials 1996;17:343-346). Group
comparisons use lifelines' log-rank test (``multivariate_logrank_test`` for
more than two groups).
"""
from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from respond.outcomes.inputs import blank, to_date
from respond.outcomes.settings import OutcomeSettings

#: Days per month (365.25 / 12), as everywhere in respond.
DAYS_PER_MONTH: Final = 30.4375


def patient_times(patients: pd.DataFrame, settings: OutcomeSettings) -> pd.DataFrame:
    """``patient_id, time_months, os_event, css_event, note`` from the patients table.

    A patient without ``treatment_start`` or without both ``death_date`` and
    ``last_followup`` gets no time (blank) and a note.
    """
    rows = []
    for rec in patients.to_dict("records"):
        start, death, last = (to_date(rec.get(c)) for c in ("treatment_start", "death_date", "last_followup"))
        row = {"patient_id": rec["patient_id"], "time_months": math.nan, "os_event": None, "css_event": None,
               "note": None}
        end = death or last
        if start is None or end is None:
            row["note"] = "no treatment_start" if start is None else "neither death_date nor last_followup"
        else:
            row["time_months"] = (end - start).days / DAYS_PER_MONTH
            row["os_event"] = death is not None
            cause = rec.get("cause_of_death")
            cancer = cause == "cancer" or (blank(cause) or cause == "unknown") and settings.css_unknown_cause == "event"
            row["css_event"] = death is not None and bool(cancer)
        rows.append(row)
    return pd.DataFrame(rows, columns=["patient_id", "time_months", "os_event", "css_event", "note"])


def _fit(times: np.ndarray, events: np.ndarray, level: float, label: str = "km"):
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(alpha=1 - level).fit(times, event_observed=events, label=label)


def _median(fitter) -> tuple[float, float, float, str | None]:
    from lifelines.utils import median_survival_times

    estimate = float(fitter.median_survival_time_)
    band = median_survival_times(fitter.confidence_interval_survival_function_)
    low, high = float(band.iloc[0, 0]), float(band.iloc[0, 1])
    note = "median not reached" if math.isinf(estimate) else "upper limit not reached" if math.isinf(high) else None
    return estimate, low, high, note


def _rate(fitter, time: float) -> tuple[float, float, float, int, str | None]:
    durations = np.asarray(fitter.durations, dtype=float)
    at_risk = int((durations >= time).sum())
    sf = fitter.survival_function_.iloc[:, 0]
    if time > durations.max() and sf.iloc[-1] > 0:
        return math.nan, math.nan, math.nan, at_risk, "beyond the longest follow-up"
    ci = fitter.confidence_interval_survival_function_
    idx = sf.index.searchsorted(time, side="right") - 1
    return float(sf.iloc[idx]), float(ci.iloc[idx, 0]), float(ci.iloc[idx, 1]), at_risk, None


def _base(endpoint: str, criteria: str | None, group_by: str | None, group: str | None) -> dict:
    return {"endpoint": endpoint, "criteria": criteria, "group_by": group_by, "group": group}


def km_rows(times, events, settings: OutcomeSettings, *, endpoint: str, criteria: str | None = None,
            group_by: str | None = None, group: str | None = None) -> list[dict]:
    """Median and rates at the preset times of one (sub)cohort, as outcomes-table rows."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events, dtype=bool)
    base = {**_base(endpoint, criteria, group_by, group), "n": len(times), "events": int(events.sum())}
    if len(times) == 0:
        return [{**base, "statistic": "median", "note": "no patients with a time"}]
    fitter = _fit(times, events, settings.confidence_level)
    estimate, low, high, note = _median(fitter)
    rows = [{**base, "statistic": "median", "estimate": estimate, "ci_low": low, "ci_high": high, "note": note}]
    for t in settings.rate_times_months:
        value, low, high, at_risk, note = _rate(fitter, t)
        rows.append({**base, "statistic": "rate", "time_months": t, "at_risk": at_risk, "estimate": value,
                     "ci_low": low, "ci_high": high, "note": note})
    return rows


def followup_row(times, events, settings: OutcomeSettings, *, endpoint: str, criteria: str | None = None) -> dict:
    """Median follow-up by the reverse Kaplan–Meier method (censoring is the event)."""
    times = np.asarray(times, dtype=float)
    events = np.asarray(events, dtype=bool)
    base = {**_base(endpoint, criteria, None, None), "statistic": "median_followup", "n": len(times),
            "events": int(events.sum())}
    if len(times) == 0 or events.all():
        return {**base, "note": "no censored observation: follow-up not estimable"}
    estimate, low, high, note = _median(_fit(times, ~events, settings.confidence_level, "reverse km"))
    return {**base, "estimate": estimate, "ci_low": low, "ci_high": high,
            "note": "reverse Kaplan-Meier" + (f"; {note.replace('median', 'median follow-up')}" if note else "")}


def logrank_row(times, events, groups, settings: OutcomeSettings, *, endpoint: str, criteria: str | None,
                group_by: str) -> dict:
    """Log-rank test across the groups (lifelines); a note when fewer than two groups have patients."""
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    times, events, groups = np.asarray(times, float), np.asarray(events, bool), np.asarray(groups, object)
    base = {**_base(endpoint, criteria, group_by, None), "statistic": "logrank", "n": len(times),
            "events": int(events.sum())}
    labels = list(dict.fromkeys(groups))
    if len(labels) < 2:
        return {**base, "note": "fewer than two groups: no log-rank test"}
    if events.sum() == 0:
        return {**base, "note": "no events: no log-rank test"}
    if len(labels) == 2:
        a, b = groups == labels[0], groups == labels[1]
        result = logrank_test(times[a], times[b], events[a], events[b])
    else:
        result = multivariate_logrank_test(times, groups, events)
    return {**base, "estimate": float(result.test_statistic), "p_value": float(result.p_value),
            "note": f"{len(labels)} groups, {len(labels) - 1} df"}


def grouped_rows(frame: pd.DataFrame, group_column: str, settings: OutcomeSettings, *, endpoint: str,
                 criteria: str | None = None, order: list[str] | None = None) -> list[dict]:
    """KM rows for each group of ``group_column`` (blank groups left out) and the log-rank row.

    ``frame`` holds ``time_months``, ``event`` and the group column.
    """
    known = frame[~frame[group_column].map(blank)]
    labels = [str(v).lower() if isinstance(v, (bool, np.bool_)) else str(v) for v in known[group_column]]
    known = known.assign(_group=labels)
    present = list(dict.fromkeys(labels))
    ordered = [g for g in (order or sorted(present)) if g in present]
    rows = []
    for g in ordered:
        mine = known[known["_group"] == g]
        rows += km_rows(mine["time_months"], mine["event"], settings, endpoint=endpoint, criteria=criteria,
                        group_by=group_column, group=g)
    row = logrank_row(known["time_months"], known["event"], known["_group"], settings, endpoint=endpoint,
                      criteria=criteria, group_by=group_column)
    left_out = len(frame) - len(known)
    if left_out:
        row["note"] = "; ".join(filter(None, [row.get("note"), f"{left_out} without a value left out"]))
    return rows + [row]
