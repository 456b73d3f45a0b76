"""Cumulative incidence of local failure with death as the competing event (Aalen–Johansen, lifelines).

Per criteria, over the lesions of the ``local_control`` events: a local
failure is event 1 at its time; a lesion censored without failure whose
patient died is event 2 (death without local failure) at the time of death,
on the events' own time scale (``time_days + (death_date − event_date)``); the
others are censored (0). lifelines' :class:`~lifelines.AalenJohansenFitter`
breaks tied times by a small seeded jitter (``seed``), as its documentation
describes; the estimate and its interval are read at the preset times as a
right-continuous step function.
"""
from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Final

import numpy as np
import pandas as pd

from respond.outcomes.inputs import to_date
from respond.outcomes.settings import OutcomeSettings
from respond.outcomes.survival import DAYS_PER_MONTH

#: Seed of lifelines' jitter of tied times (fixed so that a run is reproducible).
JITTER_SEED: Final = 0


def competing_frame(events: pd.DataFrame, deaths: dict[str, dt.date]) -> pd.DataFrame:
    """``patient_id, lesion_id, time_months, status`` (0 censored, 1 local failure, 2 death first)."""
    rows = []
    for rec in events.to_dict("records"):
        failed = str(rec["event"]).strip().lower() in ("true", "1", "yes")
        time_days, status = float(rec["time_days"]), 1 if failed else 0
        death, seen = deaths.get(rec["patient_id"]), to_date(rec.get("event_date"))
        if not failed and death is not None and seen is not None and death >= seen:
            time_days, status = time_days + (death - seen).days, 2
        rows.append({"patient_id": rec["patient_id"], "lesion_id": rec.get("lesion_id"),
                     "time_months": time_days / DAYS_PER_MONTH, "status": status})
    return pd.DataFrame(rows, columns=["patient_id", "lesion_id", "time_months", "status"])


def fit_aalen_johansen(frame: pd.DataFrame, level: float):
    """A fitted :class:`lifelines.AalenJohansenFitter` of local failure (event of interest 1)."""
    from lifelines import AalenJohansenFitter

    fitter = AalenJohansenFitter(alpha=1 - level, seed=JITTER_SEED, calculate_variance=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tie-jitter warning: documented above
        return fitter.fit(frame["time_months"].to_numpy(float), frame["status"].to_numpy(int), event_of_interest=1)


def incidence_rows(frame: pd.DataFrame, settings: OutcomeSettings, *, criteria: str) -> list[dict]:
    """Rows of the cumulative_incidence table at the preset times."""
    base = {"endpoint": "local_control", "criteria": criteria, "n": len(frame)}
    if len(frame) == 0 or not (frame["status"] == 1).any():
        return [{**base, "time_months": t, "estimate": 0.0 if len(frame) else math.nan,
                 "note": "no local failure" if len(frame) else "no lesions"} for t in settings.rate_times_months]
    fitter = fit_aalen_johansen(frame, settings.confidence_level)
    cdf = fitter.cumulative_density_.iloc[:, 0]
    ci = fitter.confidence_interval_cumulative_density_
    longest = float(frame["time_months"].max())
    rows = []
    for t in settings.rate_times_months:
        idx = cdf.index.searchsorted(t, side="right") - 1
        if t > longest:
            rows.append({**base, "time_months": t, "estimate": math.nan, "note": "beyond the longest follow-up"})
            continue
        value = float(cdf.iloc[idx]) if idx >= 0 else 0.0
        low = float(ci.iloc[idx, 0]) if idx >= 0 else math.nan
        high = float(ci.iloc[idx, 1]) if idx >= 0 else math.nan
        rows.append({**base, "time_months": t, "estimate": value, "ci_low": _finite(low), "ci_high": _finite(high)})
    return rows


def _finite(value: float) -> float:
    return value if np.isfinite(value) else math.nan
