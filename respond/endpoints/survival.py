"""Kaplan–Meier estimates of iPFS and lesion local control (lifelines).

respond never computes a product-limit estimate itself: it fits
:class:`lifelines.KaplanMeierFitter` and reads from it

- the survival probability at a time, with the fitter's pointwise interval
  (lifelines' default: Greenwood variance on the log(−log) scale), read as a
  right-continuous step function;
- the median and its interval (:func:`lifelines.utils.median_survival_times`
  on the interval band); ``inf`` when the curve (or the band) does not reach
  0.5 — reported as "not reached";
- the number at risk at a time: observations whose time is ≥ that time
  (the convention of R's ``summary.survfit``).

A rate at a time later than the longest observed time is not estimable
(NaN, with a note) unless the curve has already reached 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from respond.errors import InputTableError

#: Days per month used to convert ``time_days`` to months: 365.25 / 12.
DAYS_PER_MONTH: Final = 30.4375

_UNITS: Final = {"days": 1.0, "months": DAYS_PER_MONTH}


def _select(events: pd.DataFrame, endpoint: str, criteria: str | None) -> tuple[pd.DataFrame, str]:
    missing = [c for c in ("criteria", "endpoint", "time_days", "event") if c not in events.columns]
    if missing:
        raise InputTableError(f"events table lacks column(s) {', '.join(missing)}", code="table.missing_column",
                              column=missing[0])
    rows = events[events["endpoint"] == endpoint]
    present = sorted(set(rows["criteria"]))
    if criteria is None:
        if len(present) != 1:
            raise ValueError(
                f"events hold {endpoint} for criteria {', '.join(present) or 'none'}; "
                "name one with criteria=... (criteria must not be pooled)")
        criteria = present[0]
    rows = rows[rows["criteria"] == criteria]
    if rows.empty:
        raise ValueError(f"no {endpoint} events for criteria {criteria!r} (present: {', '.join(present) or 'none'})")
    return rows, criteria


def km(events: pd.DataFrame, endpoint: str = "ipfs", criteria: str | None = None, *,
       time_unit: str = "days", level: float = 0.95, label: str | None = None):
    """Fit a Kaplan–Meier curve to one endpoint of one criteria of an ``events`` table.

    Parameters
    ----------
    events:
        The ``events`` table (``result.events`` or ``events.csv`` read with pandas).
    endpoint:
        ``ipfs`` or ``local_control``.
    criteria:
        Criteria id; may be omitted when the table holds only one.
    time_unit:
        ``days`` (as in the table) or ``months`` (30.4375 days).
    level:
        Confidence level of the intervals (``alpha = 1 - level``).

    Returns
    -------
    lifelines.KaplanMeierFitter
        Fitted; ``.survival_function_``, ``.confidence_interval_``,
        ``.median_survival_time_``, ``.plot_survival_function()`` …
    """
    from lifelines import KaplanMeierFitter

    if time_unit not in _UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(_UNITS)}, got {time_unit!r}")
    rows, criteria = _select(events, endpoint, criteria)
    durations = rows["time_days"].astype(float).to_numpy() / _UNITS[time_unit]
    observed = rows["event"].map(_as_bool).to_numpy()
    fitter = KaplanMeierFitter(alpha=1 - level)
    return fitter.fit(durations, event_observed=observed, label=label or f"{endpoint} {criteria}")


def _as_bool(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class KMRate:
    """Survival probability at ``time`` (fitter's unit) with interval and number at risk."""

    time: float
    estimate: float
    ci_low: float
    ci_high: float
    at_risk: int
    note: str | None


def rate_at(fitter, time: float) -> KMRate:
    """Survival probability of a fitted curve at ``time`` (step function, right-continuous)."""
    durations = np.asarray(fitter.durations, dtype=float)
    at_risk = int((durations >= time).sum())
    sf = fitter.survival_function_.iloc[:, 0]
    if time > durations.max() and sf.iloc[-1] > 0:
        return KMRate(time, math.nan, math.nan, math.nan, at_risk, "beyond the longest follow-up")
    ci = fitter.confidence_interval_survival_function_
    idx = sf.index.searchsorted(time, side="right") - 1
    return KMRate(time, float(sf.iloc[idx]), float(ci.iloc[idx, 0]), float(ci.iloc[idx, 1]), at_risk, None)


@dataclass(frozen=True)
class KMMedian:
    """Median time (fitter's unit) with interval; ``inf`` = not reached."""

    estimate: float
    ci_low: float
    ci_high: float
    note: str | None


def median_of(fitter) -> KMMedian:
    """Median of a fitted curve and the interval where its confidence band crosses 0.5."""
    from lifelines.utils import median_survival_times

    estimate = float(fitter.median_survival_time_)
    band = median_survival_times(fitter.confidence_interval_survival_function_)
    low, high = float(band.iloc[0, 0]), float(band.iloc[0, 1])
    notes = []
    if math.isinf(estimate):
        notes.append("median not reached")
    elif math.isinf(high):
        notes.append("upper limit not reached")
    return KMMedian(estimate, low, high, "; ".join(notes) or None)
