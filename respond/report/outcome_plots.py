"""Figures of the study outcomes, each returning a matplotlib Figure (``ax=`` to draw into an existing one).

- :func:`survival_plot` — Kaplan–Meier curve(s) of OS or CSS (lifelines) from the
  ``patient_covariates`` table, optionally by an index class or a covariate, with
  the log-rank p in the title and the numbers at risk below.
- :func:`forest` — a forest plot of the hazard ratios of the ``cox`` table
  (log scale, 95 % intervals, reference line at HR 1; rows without an HR say why).
"""
from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from respond.report.plots import CRITERIA_COLOURS

#: Readable names of the endpoints, index classes and covariates.
LABELS: Final = {
    "os": "Overall survival", "css": "Cancer-specific survival", "ipfs": "Intracranial progression-free survival",
    "local_control": "Local control", "rpa_class": "RPA class", "gpa_class": "GPA", "sir_class": "SIR",
    "bsbm_class": "BS-BM", "ggs_class": "GGS", "sex_male": "Male sex", "age_ge_60": "Age ≥ 60",
    "kps_lt_70": "KPS < 70", "extracranial_metastases": "Extracranial metastases",
    "multiple_brain_metastases": "Multiple brain metastases", "lung_primary": "Lung primary",
    "gtv_ge_10cm3": "GTV ≥ 10 cm³", "bed_gy": "BED (per Gy)", "lesion_volume_cm3": "Lesion volume (per cm³)",
}
#: Colours of the groups of a survival plot (Okabe–Ito, then the criteria colours).
GROUP_COLOURS: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _truth(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "1.0")


def _axes(ax, size: tuple[float, float]):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size)  # no pyplot: no backend is chosen or switched
    ax = fig.subplots()
    return fig, ax


def _group_label(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a class such as BS-BM 2 read back from CSV as 2.0
    text = str(value)
    return {"True": "yes", "False": "no", "true": "yes", "false": "no"}.get(text, text)


def survival_plot(patient_covariates: pd.DataFrame, endpoint: str = "os", group_by: str | None = None, *,
                  ax=None, at_risk: bool = True, time_unit: str = "months") -> Figure:
    """Kaplan–Meier curve(s) of ``os`` or ``css`` with 95 % bands; by ``group_by`` (e.g. ``rpa_class``,
    ``kps_lt_70``) with the log-rank p (lifelines) in the title; numbers at risk below."""
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts
    from lifelines.statistics import multivariate_logrank_test

    data = patient_covariates[pd.to_numeric(patient_covariates["os_months"], errors="coerce").notna()].copy()
    data["t"] = pd.to_numeric(data["os_months"])
    data["e"] = data[f"{endpoint}_event"].map(_truth)
    fig, ax = _axes(ax, (6.5, 4.5))
    title = LABELS.get(endpoint, endpoint)
    fitters = []
    if group_by is None:
        groups = [("All patients", data)]
    else:
        data = data[data[group_by].map(lambda v: not pd.isna(v) and str(v) != "")]
        keys = data[group_by].map(_group_label)
        groups = [(f"{LABELS.get(group_by, group_by)}: {g}", rows) for g, rows in data.groupby(keys, sort=True)]
        if len(groups) > 1 and data["e"].any():
            p = multivariate_logrank_test(data["t"], keys, data["e"]).p_value
            title += f" by {LABELS.get(group_by, group_by)} (log-rank p = {p:.3g})"
    for colour, (label, rows) in zip(GROUP_COLOURS, groups):
        fitter = KaplanMeierFitter(label=f"{label} (n={len(rows)})").fit(rows["t"], rows["e"])
        fitter.plot_survival_function(ax=ax, ci_show=group_by is None, color=colour, show_censors=True,
                                      censor_styles={"marker": "|", "ms": 6})
        fitters.append(fitter)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"Time ({time_unit})")
    ax.set_ylabel("Probability")
    ax.set_ylim(0, 1.05)
    ax.spines[["top", "right"]].set_visible(False)
    if at_risk and fitters:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"])
    fig.tight_layout()
    return fig


def forest(cox: pd.DataFrame, *, endpoint: str = "os", criteria: str | None = None, model: str | None = None,
           level: str | None = None, ax=None) -> Figure:
    """Forest plot of the hazard ratios of one endpoint of a ``cox`` table (rows: model, covariate).

    Rows without an HR (separation, no variation) are listed with the reason
    instead of a point. ``criteria`` selects the ipfs / local_control models.
    """
    rows = cox[cox["endpoint"] == endpoint]
    if criteria is not None:
        rows = rows[rows["criteria"] == criteria]
    if model is not None:
        rows = rows[rows["model"] == model]
    if level is not None:
        rows = rows[rows["level"] == level]
    rows = rows.reset_index(drop=True)
    fig, ax = _axes(ax, (7.0, 0.45 * max(len(rows), 2) + 1.2))
    y = np.arange(len(rows))[::-1]
    hr = pd.to_numeric(rows["hr"], errors="coerce")
    low, high = pd.to_numeric(rows["ci_low"], errors="coerce"), pd.to_numeric(rows["ci_high"], errors="coerce")
    colours = [CRITERIA_COLOURS[0] if m == "univariate" else CRITERIA_COLOURS[1] for m in rows["model"]]
    for yi, h, lo, hi, colour in zip(y, hr, low, high, colours):
        if math.isfinite(h):
            ax.plot([lo, hi], [yi, yi], color=colour, lw=1.5)
            ax.plot([h], [yi], "s", color=colour, ms=6)
    ax.axvline(1.0, color="#666666", lw=0.8, ls="--")
    ax.set_xscale("log")
    labels = [f"{LABELS.get(c, c)} ({m[:5]}.)" for c, m in zip(rows["covariate"], rows["model"])]
    ax.set_yticks(y, labels, fontsize=8)
    finite = pd.concat([low, high])[lambda s: np.isfinite(s) & (s > 0)]
    if len(finite):
        ax.set_xlim(min(finite.min(), 0.5) / 1.3, max(finite.max(), 2.0) * 1.3)
    for yi, h, lo, hi, p, note in zip(y, hr, low, high, rows["p_value"], rows["note"]):
        text = (f"{h:.2f} ({lo:.2f}–{hi:.2f}), p={float(p):.3g}" if math.isfinite(h)
                else f"not estimable: {str(note).split(';')[0]}")
        ax.annotate(text, xy=(1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=7)
    ax.set_xlabel("Hazard ratio (95 % CI), log scale")
    ax.set_title(f"Cox models — {LABELS.get(endpoint, endpoint)}" + (f" ({criteria})" if criteria else ""),
                 fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
