"""Figures a radiologist and a trial statistician expect, as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` so that a notebook
can restyle it; :func:`save` writes PNG and SVG. Colours are the Okabe–Ito
colour-blind-safe palette, one fixed colour per response everywhere.

Every function takes ``ax=``: given, it draws into that Axes (or, for the
plots with one panel per criteria, a sequence of Axes) and returns its
Figure; otherwise it makes a new :class:`~matplotlib.figure.Figure` without
pyplot, so no backend is chosen or switched on import.

Inputs are the output tables of respond (an ``Evaluation`` / ``Assessment``
result, or a folder written by ``respond evaluate`` / ``respond assess``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final, Iterable, Mapping, Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

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


def panels(ax: Axes | Sequence[Axes] | None, n: int, *, size: tuple[float, float] = (5.5, 4.0),
           sharey: bool = True) -> tuple[Figure, list[Axes], bool]:
    """The Axes to draw ``n`` panels into: those given (one Axes, or one per panel) or a new Figure's.

    Returns ``(figure, axes, created)``; ``created`` tells whether the Figure is ours to lay out.
    """
    if ax is None:
        fig = Figure(figsize=(size[0] * n, size[1]))
        axes = list(fig.subplots(1, n, squeeze=False, sharey=sharey)[0])
        return fig, axes, True
    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if len(axes) != n:
        raise ValueError(f"{n} panel(s), one per criteria, need {n} Axes, got {len(axes)}: "
                         "pass one criteria or one Axes per criteria")
    return axes[0].figure, axes, False


def _reference_lines(ax: Axes) -> Line2D:
    """The PR (−30 %) and PD (+20 %) thresholds; returns their legend handle."""
    ax.axhline(0, color="black", linewidth=0.6)
    for level in (PR_LINE_PCT, PD_LINE_PCT):
        ax.axhline(level, color="#444444", linestyle="--", linewidth=0.8)
    return Line2D([], [], color="#444444", linestyle="--", linewidth=0.8,
                  label=f"PR {PR_LINE_PCT:+.0f} % / PD {PD_LINE_PCT:+.0f} %")


def _response_legend(ax: Axes, responses: Iterable[str], extra: Sequence[Any] = (), **kw) -> None:
    """A legend of the response colours actually drawn (plus ``extra`` handles), never an unused entry."""
    present = [r for r in RESPONSE_COLOURS if r in set(responses)]
    handles = [Patch(color=RESPONSE_COLOURS[r], label=r) for r in present] + list(extra)
    ax.legend(handles=handles, title="Best response", frameon=False, fontsize=8, title_fontsize=8, **kw)


def waterfall(source: Any, criteria: str | Iterable[str] | None = None, *,
              ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Best % change of the target sum from baseline per patient, coloured by best overall response.

    One panel per criteria; dashed lines at −30 % (PR) and +20 % (PD).
    Patients without target lesions have no sum and are not drawn.
    """
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    chosen = _criteria_list(timepoints, criteria)
    fig, axes, created = panels(ax, len(chosen))
    for panel, cid in zip(axes, chosen):
        change = best_change(timepoints, cid).sort_values(ascending=False)
        bor = best[best["criteria"] == cid].set_index("patient_id")["best_overall_response"]
        drawn = [bor.get(pid, "NE") or "NE" for pid in change.index]
        colours = [RESPONSE_COLOURS.get(r, RESPONSE_COLOURS["NE"]) for r in drawn]
        panel.bar(range(len(change)), change.values, color=colours, width=0.8, edgecolor="none")
        thresholds = _reference_lines(panel)
        panel.set_xticks(range(len(change)))
        panel.set_xticklabels(change.index, rotation=90, fontsize=7)
        panel.set_title(f"{criteria_name(cid)} (n = {len(change)})", fontsize=10)
        panel.set_xlabel("Patient")
        _response_legend(panel, drawn, [thresholds], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        panel.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("Best change of target sum from baseline (%)")
    if created:
        fig.tight_layout()
    return fig


def spider(source: Any, criteria: str | Iterable[str] | None = None, *, time_unit: str = "weeks",
           ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """% change of the target sum from baseline over time, one line per patient (coloured by best response).

    A cross marks the first assessment with overall PD.
    """
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    chosen = _criteria_list(timepoints, criteria)
    divisor = {"days": 1.0, "weeks": 7.0, "months": 30.4375}[time_unit]
    fig, axes, created = panels(ax, len(chosen))
    for panel, cid in zip(axes, chosen):
        rows = timepoints[timepoints["criteria"] == cid]
        bor = best[best["criteria"] == cid].set_index("patient_id")["best_overall_response"]
        drawn, any_pd = [], False
        for pid, group in rows.groupby("patient_id", sort=True):
            if group["baseline_sum_mm"].map(_float).isna().all():
                continue
            response = bor.get(pid, "NE") or "NE"
            any_pd |= _spider_line(panel, group, divisor, RESPONSE_COLOURS.get(response, RESPONSE_COLOURS["NE"]), pid)
            drawn.append(response)
        thresholds = _reference_lines(panel)
        panel.set_title(f"{criteria_name(cid)} (n = {len(drawn)})", fontsize=10)
        panel.set_xlabel(f"Time from baseline ({time_unit})")
        extra = [Line2D([], [], marker="X", markersize=7, color=RESPONSE_COLOURS["PD"], linestyle="none",
                        label="first PD")] if any_pd else []
        extra.append(thresholds)
        _response_legend(panel, drawn, extra, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        panel.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("Change of target sum from baseline (%)")
    if created:
        fig.tight_layout()
    return fig


def _spider_line(ax: Axes, group: pd.DataFrame, divisor: float, colour: str, label: str) -> bool:
    """One patient's line (baseline at 0 %); a cross at the first PD. Returns whether a cross was drawn."""
    days = group["days_from_baseline"].map(_float)
    x = days / divisor
    y = group["pct_change_from_baseline"].map(_float).where(days > 0, 0.0)
    keep = y.notna()
    ax.plot(x[keep], y[keep], marker="o", markersize=3, linewidth=1.2, color=colour, label=label)
    pd_rows = group[group["overall_response"] == "PD"]
    if not len(pd_rows):
        return False
    first = pd_rows.iloc[0]
    change = _float(first["pct_change_from_baseline"])
    ax.plot(_float(first["days_from_baseline"]) / divisor, 0.0 if math.isnan(change) else change,
            marker="X", markersize=7, color=RESPONSE_COLOURS["PD"], linestyle="none")
    return True


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column].map(lambda v: None if v is None or v == "" or (isinstance(v, float)
                                                                                       and math.isnan(v))
                                            else str(v)), errors="coerce")


#: Colour of the swimmer bar before the first follow-up assessment.
NOT_ASSESSED_COLOUR: Final = "#DDDDDD"


def swimmer(source: Any, criteria: str = "rano-bm", *, patients: pd.DataFrame | None = None,
            time_unit: str = "months", ax: Axes | None = None) -> Figure:
    """Time on study per patient with response periods, progression (×), death (◆) and ongoing (→).

    Each assessment's overall response colours the bar from that scan to
    the next (grey until the first follow-up); time runs from treatment
    start (or the baseline scan). The legend lists exactly the marks drawn;
    the x axis leaves room for the longest patient's arrow.
    """
    t = load_tables(source)
    timepoints, best = t["timepoints"], t["best_response"]
    if criteria not in set(timepoints["criteria"]):
        criteria = _criteria_list(timepoints, None)[0]
    divisor = {"days": 1.0, "weeks": 7.0, "months": 30.4375}[time_unit]
    rows = timepoints[timepoints["criteria"] == criteria].copy()
    rows["_date"] = _dates(rows, "date")
    info = patients.set_index("patient_id") if patients is not None and len(patients) else None
    span = rows.groupby("patient_id")["_date"].agg(lambda d: (d.max() - d.min()).days)
    order = sorted(span.index, key=lambda p: (-span[p], str(p)))
    fig, (axis,), created = panels(ax, 1, size=(8.0, 0.35 * len(order) + 1.6))
    bor = best[best["criteria"] == criteria].set_index("patient_id")
    lanes = [_swimmer_lane(axis, y, rows[rows["patient_id"] == pid].sort_values("_date"), info, pid, bor, divisor)
             for y, pid in enumerate(reversed(order))]
    longest = max((lane["end"] for lane in lanes), default=1.0)
    arrow = max(0.04 * longest, 0.3)
    for y, lane in enumerate(lanes):
        if lane["ongoing"]:
            axis.annotate("", xy=(lane["end"] + arrow, y), xytext=(lane["end"], y),
                          arrowprops={"arrowstyle": "->", "color": "black", "lw": 1})
    axis.set_xlim(0, longest + 2.5 * arrow)  # the arrow of the longest patient stays inside the axes
    axis.set_ylim(-0.7, len(order) - 0.3)
    axis.set_yticks(range(len(order)))
    axis.set_yticklabels(list(reversed(order)), fontsize=7)
    axis.set_xlabel(f"Time from treatment start ({time_unit})")
    axis.set_title(f"Swimmer plot — {criteria_name(criteria)}", fontsize=10)
    axis.legend(handles=_swimmer_handles(lanes), frameon=False, fontsize=7, loc="upper left",
                bbox_to_anchor=(1.0, 1.0))
    axis.spines[["top", "right"]].set_visible(False)
    if created:
        fig.tight_layout()
    return fig


def _swimmer_lane(ax: Axes, y: int, group: pd.DataFrame, info: pd.DataFrame | None, pid: str,
                  bor: pd.DataFrame, divisor: float) -> dict[str, Any]:
    """Draw one patient's bar and marks; returns what was drawn (for the legend and the arrow)."""
    origin = _info_date(info, pid, "treatment_start") or group["_date"].iloc[0]
    dates = list(group["_date"])
    death = _info_date(info, pid, "death_date")
    end = max(d for d in (dates[-1], _info_date(info, pid, "last_followup"), death) if d is not None)
    responses = [r if r else None for r in group["overall_response"]]
    for i, (d, r) in enumerate(zip(dates, responses)):
        if r:
            nxt = dates[i + 1] if i + 1 < len(dates) else end
            ax.barh(y, (nxt - d).days / divisor, left=(d - origin).days / divisor, height=0.6,
                    color=RESPONSE_COLOURS.get(r, RESPONSE_COLOURS["NE"]), edgecolor="white", linewidth=0.5)
    first_assessment = dates[1] if len(dates) > 1 else end
    ax.barh(y, (first_assessment - origin).days / divisor, left=0, height=0.6, color=NOT_ASSESSED_COLOUR,
            edgecolor="none", zorder=0)
    prog = bor["progression_date"].get(pid) if "progression_date" in bor else None
    prog = None if prog is None or (isinstance(prog, float) and math.isnan(prog)) or prog == "" else prog
    if prog:
        ax.plot((pd.Timestamp(str(prog)) - origin).days / divisor, y, marker="X", color="black", markersize=7)
    if death is not None:
        ax.plot((death - origin).days / divisor, y, marker="d", color="black", markersize=6)
    return {"end": (end - origin).days / divisor, "responses": [r for r in responses[1:] if r],
            "progression": bool(prog), "death": death is not None, "ongoing": death is None and not prog}


def _swimmer_handles(lanes: list[dict[str, Any]]) -> list[Any]:
    drawn = {r for lane in lanes for r in lane["responses"]}
    handles: list[Any] = [Patch(color=NOT_ASSESSED_COLOUR, label="before first follow-up")]
    handles += [Patch(color=c, label=r) for r, c in RESPONSE_COLOURS.items() if r in drawn]
    for key, marker, label in (("progression", "X", "progression"), ("death", "d", "death"),
                               ("ongoing", r"$\rightarrow$", "ongoing")):
        if any(lane[key] for lane in lanes):
            handles.append(Line2D([], [], marker=marker, color="black", linestyle="none", label=label))
    return handles


def _info_date(info: pd.DataFrame | None, pid: str, column: str) -> pd.Timestamp | None:
    if info is None or column not in info.columns or pid not in info.index:
        return None
    value = info.at[pid, column]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return pd.Timestamp(str(value))


#: Line styles of criteria in shared plots, so that curves that coincide stay distinguishable.
CRITERIA_DASHES: Final = ("-", (0, (5, 3)), (0, (1, 2)), "-.", (0, (8, 2, 2, 2)))


def km_plot(events: pd.DataFrame, endpoint: str = "ipfs", criteria: Iterable[str] | None = None, *,
            time_unit: str = "months", at_risk: bool = True, ax: Axes | None = None) -> Figure:
    """Kaplan–Meier curves (lifelines) with 95 % confidence bands, one per criteria, numbers at risk below.

    Each criteria has its own colour and dash pattern; a curve identical to an
    earlier one says so in its legend entry, so that both stay visible.
    """
    from lifelines.plotting import add_at_risk_counts

    from respond.endpoints import km

    rows = events[events["endpoint"] == endpoint]
    chosen = _criteria_list(rows, criteria)
    fig, (axis,), created = panels(ax, 1, size=(8.5, 4.5))
    fitters = []
    for colour, dashes, cid in zip(CRITERIA_COLOURS, CRITERIA_DASHES, chosen):
        fitter = km(events, endpoint, cid, time_unit=time_unit, label=criteria_name(cid))
        curve = fitter.survival_function_.iloc[:, 0]
        same = [f._label for f in fitters if f.survival_function_.iloc[:, 0].equals(curve)]
        fitter.plot_survival_function(ax=axis, ci_show=True, color=colour, linestyle=dashes, show_censors=True,
                                      censor_styles={"marker": "|", "ms": 6},
                                      label=criteria_name(cid) + (f" (same curve as {same[0]})" if same else ""))
        fitters.append(fitter)
    name = {"ipfs": "Intracranial progression-free survival", "local_control": "Local control"}.get(endpoint, endpoint)
    axis.set_title(name, fontsize=10)
    axis.set_xlabel(f"Time ({time_unit})")
    axis.set_ylabel("Probability")
    axis.set_ylim(0, 1.05)
    axis.spines[["top", "right"]].set_visible(False)
    handles = [h for h in axis.get_legend_handles_labels()[0]]
    handles += [Line2D([], [], marker="|", markersize=8, color="#444444", linestyle="none", label="censored"),
                Patch(color="#888888", alpha=0.3, label="95 % confidence band (curve's colour)")]
    axis.legend(handles=handles, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if at_risk and fitters:
        add_at_risk_counts(*fitters, ax=axis, fig=fig, rows_to_show=["At risk"])
    if created:
        fig.tight_layout()
    return fig
