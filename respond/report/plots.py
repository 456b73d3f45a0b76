"""Figures a radiologist and a trial statistician expect, as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` so that a notebook
can restyle it; :func:`save` writes PNG and SVG. Colours are the Okabe–Ito
colour-blind-safe palette, one fixed colour per response everywhere.

Inputs are the output tables of respond (an ``Evaluation`` / ``Assessment``
result, or a folder written by ``respond evaluate`` / ``respond assess``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final, Iterable, Mapping

import matplotlib

matplotlib.use("Agg")  # figures are files and notebook objects; never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

#: Okabe–Ito colours per response category (colour-blind safe).
RESPONSE_COLOURS: Final = {
    "CR": "#009E73",  # bluish green
    "PR": "#56B4E9",  # sky blue
    "SD": "#E69F00",  # orange
    "NON-CR/NON-PD": "#CC79A7",  # reddish purple
    "PD": "#D55E00",  # vermillion
    "NE": "#999999",  # grey
}
#: Colours of criteria in shared plots (Kaplan–Meier).
CRITERIA_COLOURS: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
#: Reference lines of the waterfall and spider plots: PR and PD thresholds (%).
PR_LINE_PCT: Final = -30.0
PD_LINE_PCT: Final = 20.0
CRITERIA_NAMES: Final = {"recist1.1": "RECIST 1.1", "rano-bm": "RANO-BM"}

#: Output tables the figures and the report read.
RUN_TABLES = ("timepoints", "best_response", "targets", "lesions", "events", "summary", "agreement", "failures")


def load_tables(source: Any, names: Iterable[str] = RUN_TABLES) -> dict[str, pd.DataFrame]:
    """Tables of a result object (attributes) or of an output folder (CSV files); absent ones are skipped."""
    tables: dict[str, pd.DataFrame] = {}
    if isinstance(source, (str, Path)):
        from respond.io.runs import read_run_tables

        return read_run_tables(source, tuple(names))
    if isinstance(source, Mapping):
        return {k: v for k, v in source.items() if k in names and v is not None}
    for name in names:
        value = getattr(source, name, None)
        if isinstance(value, pd.DataFrame):
            tables[name] = value
    return tables


def criteria_name(criteria_id: str) -> str:
    return CRITERIA_NAMES.get(criteria_id, criteria_id)


def save(fig: Figure, path_stem: str | Path, *, formats: Iterable[str] = ("png", "svg"), dpi: int = 200) -> list[Path]:
    """Save a figure as PNG and SVG next to ``path_stem``; returns the paths."""
    from respond.io.writers import atomic_write

    stem = Path(path_stem)
    out = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        out.append(atomic_write(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi,
                                                                       bbox_inches="tight")))
    return out


def _criteria_list(frame: pd.DataFrame, criteria: str | Iterable[str] | None) -> list[str]:
    if criteria is None:
        present = list(dict.fromkeys(frame["criteria"]))
        return present
    return [criteria] if isinstance(criteria, str) else list(criteria)


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def best_change(timepoints: pd.DataFrame, criteria: str) -> pd.Series:
    """Per patient, the best (lowest) % change of the target sum from baseline over all assessments."""
    rows = timepoints[(timepoints["criteria"] == criteria)].copy()
    rows["pct"] = rows["pct_change_from_baseline"].map(_float)
    rows = rows[rows["pct"].notna()]
    return rows.groupby("patient_id")["pct"].min()


def _response_legend(ax, responses: Iterable[str], **kw) -> None:
    present = [r for r in RESPONSE_COLOURS if r in set(responses)]
    ax.legend(handles=[Patch(color=RESPONSE_COLOURS[r], label=r) for r in present], title="Best response",
              frameon=False, fontsize=8, title_fontsize=8, **kw)


def waterfall(source: Any, criteria: str | Iterable[str] | None = None) -> Figure:
    """Best % change of the target sum from baseline per patient, coloured by best overall response.

    One panel per criteria; dashed lines at −30 % (PR) and +20 % (PD).
    Patients without target lesions have no sum and are not drawn.
    """
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    chosen = _criteria_list(timepoints, criteria)
    fig, axes = plt.subplots(1, len(chosen), figsize=(5.5 * len(chosen), 4), squeeze=False, sharey=True)
    for ax, cid in zip(axes[0], chosen):
        change = best_change(timepoints, cid).sort_values(ascending=False)
        bor = best[best["criteria"] == cid].set_index("patient_id")["best_overall_response"]
        colours = [RESPONSE_COLOURS.get(bor.get(pid, "NE"), RESPONSE_COLOURS["NE"]) for pid in change.index]
        ax.bar(range(len(change)), change.values, color=colours, width=0.8, edgecolor="none")
        ax.axhline(PR_LINE_PCT, color="#444444", linestyle="--", linewidth=0.8)
        ax.axhline(PD_LINE_PCT, color="#444444", linestyle="--", linewidth=0.8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(range(len(change)))
        ax.set_xticklabels(change.index, rotation=90, fontsize=7)
        ax.set_title(f"{criteria_name(cid)} (n = {len(change)})", fontsize=10)
        ax.set_xlabel("Patient")
        _response_legend(ax, [bor.get(pid, "NE") for pid in change.index], loc="upper left",
                         bbox_to_anchor=(1.0, 1.0))
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("Best change of target sum from baseline (%)")
    fig.tight_layout()
    return fig


def spider(source: Any, criteria: str | Iterable[str] | None = None, *, time_unit: str = "weeks") -> Figure:
    """% change of the target sum from baseline over time, one line per patient (coloured by best response)."""
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    chosen = _criteria_list(timepoints, criteria)
    divisor = {"days": 1.0, "weeks": 7.0, "months": 30.4375}[time_unit]
    fig, axes = plt.subplots(1, len(chosen), figsize=(5.5 * len(chosen), 4), squeeze=False, sharey=True)
    for ax, cid in zip(axes[0], chosen):
        rows = timepoints[timepoints["criteria"] == cid]
        bor = best[best["criteria"] == cid].set_index("patient_id")["best_overall_response"]
        n = 0
        for pid, group in rows.groupby("patient_id", sort=True):
            base = group["baseline_sum_mm"].map(_float)
            if base.isna().all():
                continue
            x = group["days_from_baseline"].map(_float) / divisor
            y = group["pct_change_from_baseline"].map(_float).where(group["days_from_baseline"].map(_float) > 0, 0.0)
            keep = y.notna()
            colour = RESPONSE_COLOURS.get(bor.get(pid, "NE"), RESPONSE_COLOURS["NE"])
            ax.plot(x[keep], y[keep], marker="o", markersize=3, linewidth=1.2, color=colour, label=pid)
            pd_rows = group[group["overall_response"] == "PD"]
            if len(pd_rows):
                first = pd_rows.iloc[0]
                ax.plot(_float(first["days_from_baseline"]) / divisor,
                        _float(first["pct_change_from_baseline"]) if first["pct_change_from_baseline"] is not None
                        else 0.0, marker="X", markersize=7, color=RESPONSE_COLOURS["PD"], linestyle="none")
            n += 1
        ax.axhline(PR_LINE_PCT, color="#444444", linestyle="--", linewidth=0.8)
        ax.axhline(PD_LINE_PCT, color="#444444", linestyle="--", linewidth=0.8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_title(f"{criteria_name(cid)} (n = {n})", fontsize=10)
        ax.set_xlabel(f"Time from baseline ({time_unit})")
        _response_legend(ax, list(bor.values), loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("Change of target sum from baseline (%)")
    fig.tight_layout()
    return fig


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column].map(lambda v: None if v in (None, "") else str(v)), errors="coerce")


def swimmer(source: Any, criteria: str = "rano-bm", *, patients: pd.DataFrame | None = None,
            time_unit: str = "months") -> Figure:
    """Time on study per patient with response periods, progression (×), death (†) and censoring (→).

    Each assessment's overall response colours the bar from that scan to
    the next (grey until the first follow-up); time runs from treatment
    start (or the baseline scan).
    """
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    if criteria not in set(timepoints["criteria"]):
        criteria = _criteria_list(timepoints, None)[0]
    divisor = {"days": 1.0, "weeks": 7.0, "months": 30.4375}[time_unit]
    rows = timepoints[timepoints["criteria"] == criteria].copy()
    rows["_date"] = _dates(rows, "date")
    info = patients.set_index("patient_id") if patients is not None and len(patients) else None
    order = sorted(set(rows["patient_id"]), key=lambda p: -(rows[rows.patient_id == p]["_date"].max()
                                                           - rows[rows.patient_id == p]["_date"].min()).days)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(order) + 1.5))
    bor = best[best["criteria"] == criteria].set_index("patient_id")
    for y, pid in enumerate(reversed(order)):
        group = rows[rows["patient_id"] == pid].sort_values("_date")
        origin = group["_date"].iloc[0]
        start = _info_date(info, pid, "treatment_start")
        if start is not None:
            origin = start
        dates = list(group["_date"])
        end = dates[-1]
        last_fu = _info_date(info, pid, "last_followup")
        death = _info_date(info, pid, "death_date")
        for other in (last_fu, death):
            if other is not None and other > end:
                end = other
        responses = list(group["overall_response"])
        for i, (d, r) in enumerate(zip(dates, responses)):
            if not r:
                continue
            nxt = dates[i + 1] if i + 1 < len(dates) else end
            ax.barh(y, (nxt - d).days / divisor, left=(d - origin).days / divisor, height=0.6,
                    color=RESPONSE_COLOURS.get(r, RESPONSE_COLOURS["NE"]), edgecolor="white", linewidth=0.5)
        first_assessment = dates[1] if len(dates) > 1 else end
        ax.barh(y, (first_assessment - origin).days / divisor, left=0, height=0.6, color="#DDDDDD",
                edgecolor="none", zorder=0)
        prog = bor["progression_date"].get(pid) if "progression_date" in bor else None
        if prog:
            ax.plot((pd.Timestamp(str(prog)) - origin).days / divisor, y, marker="X", color="black", markersize=7)
        if death is not None:
            ax.plot((death - origin).days / divisor, y, marker="d", color="black", markersize=6)
        elif not prog:
            ax.annotate("", xy=((end - origin).days / divisor + 0.6, y), xytext=((end - origin).days / divisor, y),
                        arrowprops={"arrowstyle": "->", "color": "black", "lw": 1})
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(list(reversed(order)), fontsize=7)
    ax.set_xlabel(f"Time from treatment start ({time_unit})")
    ax.set_title(f"Swimmer plot — {criteria_name(criteria)}", fontsize=10)
    handles = [Patch(color=c, label=r) for r, c in RESPONSE_COLOURS.items() if r in set(rows["overall_response"])]
    handles += [Line2D([], [], marker="X", color="black", linestyle="none", label="progression"),
                Line2D([], [], marker="d", color="black", linestyle="none", label="death"),
                Line2D([], [], marker=r"$\rightarrow$", color="black", linestyle="none", label="ongoing")]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _info_date(info: pd.DataFrame | None, pid: str, column: str) -> pd.Timestamp | None:
    if info is None or column not in info.columns or pid not in info.index:
        return None
    value = info.at[pid, column]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return pd.Timestamp(str(value))


def km_plot(events: pd.DataFrame, endpoint: str = "ipfs", criteria: Iterable[str] | None = None, *,
            time_unit: str = "months", at_risk: bool = True) -> Figure:
    """Kaplan–Meier curves (lifelines) with 95 % confidence bands, one per criteria, numbers at risk below."""
    from lifelines.plotting import add_at_risk_counts

    from respond.endpoints import km

    rows = events[events["endpoint"] == endpoint]
    chosen = _criteria_list(rows, criteria)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    fitters = []
    for colour, cid in zip(CRITERIA_COLOURS, chosen):
        fitter = km(events, endpoint, cid, time_unit=time_unit, label=criteria_name(cid))
        fitter.plot_survival_function(ax=ax, ci_show=True, color=colour, show_censors=True,
                                      censor_styles={"marker": "|", "ms": 6})
        fitters.append(fitter)
    name = {"ipfs": "Intracranial progression-free survival", "local_control": "Local control"}.get(endpoint, endpoint)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel(f"Time ({time_unit})")
    ax.set_ylabel("Probability")
    ax.set_ylim(0, 1.05)
    ax.spines[["top", "right"]].set_visible(False)
    if at_risk and fitters:
        add_at_risk_counts(*fitters, ax=ax, rows_to_show=["At risk"])
    fig.tight_layout()
    return fig
