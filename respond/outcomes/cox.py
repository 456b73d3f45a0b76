"""Cox proportional-hazards models (lifelines ``CoxPHFitter``), as rows of the ``cox`` table.

- A boolean covariate enters as 1 (the named condition true) / 0, so the HR
  compares true vs false; a numeric one (``bed_gy``, ``lesion_volume_cm3``) per unit.
- Observations with a blank covariate are left out of that model (counted in ``n``).
- Lesion-level models pass ``cluster_col="patient_id"``: lifelines then uses the
  robust (sandwich) variance, as lesions of one patient are not independent.
- The proportional-hazards assumption is checked with lifelines'
  ``proportional_hazard_test`` (scaled Schoenfeld residuals, rank-transformed
  time); a p below the preset's ``ph_alpha`` is noted on the covariate's row.
- A covariate without variation, with events in one group only (separation:
  the partial likelihood has no maximum, the HR runs to 0 or ∞), or whose fit
  fails or does not converge gets a row with the reason in ``note`` and no HR.
"""
from __future__ import annotations

import math
import warnings
from typing import Final

import numpy as np
import pandas as pd

from respond.outcomes.inputs import blank

#: |log HR| above which a converged fit is treated as separated (HR > ~22000 or < 1/22000).
SEPARATION_LOG_HR: Final = 10.0


def _design(frame: pd.DataFrame, covariates: list[str], extra: list[str]) -> pd.DataFrame:
    keep = frame[~frame[covariates].apply(lambda col: col.map(blank)).any(axis=1)]
    data = keep[["time_months", "event", *covariates, *extra]].copy()
    data["event"] = data["event"].astype(bool).astype(int)
    for c in covariates:
        data[c] = data[c].astype(float)
    return data


def _problem(data: pd.DataFrame, covariate: str) -> str | None:
    values = data[covariate]
    if values.nunique() < 2:
        return "no variation: every observation has the same value"
    if values.nunique() == 2:
        events_by_value = data.groupby(covariate)["event"].sum()
        if (events_by_value == 0).any():
            empty = events_by_value[events_by_value == 0].index[0]
            return f"separation: no event when {covariate} = {empty:g}; HR not estimable"
    return None


def _ph_note(fitter, data: pd.DataFrame, alpha: float) -> dict[str, str]:
    from lifelines.statistics import proportional_hazard_test

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = proportional_hazard_test(fitter, data, time_transform="rank")
    except Exception as exc:  # noqa: BLE001 - the check must not lose the model
        return {c: f"PH check failed ({type(exc).__name__})" for c in fitter.params_.index}
    notes = {}
    for name, p in test.summary["p"].items():
        key = name[0] if isinstance(name, tuple) else name
        notes[key] = (f"PH assumption questionable (Schoenfeld p={p:.3g})" if p < alpha
                      else f"PH check p={p:.3g}")
    return notes


def fit_cox(frame: pd.DataFrame, covariates: list[str], *, endpoint: str, criteria: str | None, model: str,
            level: str, confidence_level: float, ph_alpha: float) -> list[dict]:
    """One Cox model of ``time_months``/``event`` on ``covariates``; one row per covariate.

    ``frame`` holds ``time_months``, ``event``, the covariates and, for
    ``level="lesion"``, ``patient_id`` (the cluster).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    cluster = ["patient_id"] if level == "lesion" else []
    data = _design(frame, covariates, cluster)
    base = {"endpoint": endpoint, "criteria": criteria, "model": model, "level": level, "n": len(data),
            "events": int(data["event"].sum()) if len(data) else 0}

    def failed(note: str) -> list[dict]:
        return [{**base, "covariate": c, "note": note} for c in covariates]

    if len(data) == 0 or base["events"] == 0:
        return failed("no events" if len(data) else "no observation with every covariate")
    problems = {c: p for c in covariates if (p := _problem(data, c))}
    suffix = "; left out of the model" if len(covariates) > 1 else ""
    left_out = [{**base, "covariate": c, "note": note + suffix} for c, note in problems.items()]
    covariates = [c for c in covariates if c not in problems]
    if not covariates:
        return left_out
    data = data[["time_months", "event", *covariates, *cluster]]
    fitter = CoxPHFitter(alpha=1 - confidence_level)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fitter.fit(data, duration_col="time_months", event_col="event",
                       cluster_col="patient_id" if cluster else None)
    except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
        return failed(f"fit failed: {str(exc).splitlines()[0][:160]}") + left_out
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    ph = _ph_note(fitter, data, ph_alpha) if level == "patient" else {}
    summary = fitter.summary
    rows = []
    for c in covariates:
        s = summary.loc[c]
        coef = float(s["coef"])
        if not converged or abs(coef) > SEPARATION_LOG_HR:
            rows.append({**base, "covariate": c, "note": "did not converge (possible separation); HR not estimable"})
            continue
        note = ph.get(c) if level == "patient" else "robust variance, clustered on patient_id"
        rows.append({**base, "covariate": c, "hr": math.exp(coef), "ci_low": float(s.iloc[_col(summary, "lower")]),
                     "ci_high": float(s.iloc[_col(summary, "upper")]), "p_value": float(s["p"]), "note": note})
    return rows + left_out


def _col(summary: pd.DataFrame, which: str) -> int:
    """Position of the ``exp(coef) lower/upper`` column (its name carries the level, e.g. 95%)."""
    for i, name in enumerate(summary.columns):
        if name.startswith(f"exp(coef) {which}"):
            return i
    raise KeyError(f"exp(coef) {which}")
