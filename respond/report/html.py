"""The run report: one self-contained HTML file (figures embedded) and a spreadsheet.

``DIR/report.html`` holds the cohort summary (counts, response rates, Kaplan–Meier
rates and medians per criteria, agreement between criteria), a per-patient
table linking to each patient's section, and per patient the timeline of
responses with the rule trace and, when the scans are known, the measurement
overlays. It needs no network and no other file. Every figure is also
written to ``DIR/figures/`` as PNG and SVG (for papers), and
``DIR/responses.xlsx`` has one sheet per table.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from pathlib import Path
from typing import Any, Final, Iterable

import pandas as pd

from respond import __version__
from respond.io.runs import input_path
from respond.io.writers import atomic_write
from respond.report import plots
from respond.report.plots import RESPONSE_COLOURS, criteria_name, load_tables, plt

#: Tables written to the spreadsheet, in sheet order.
SHEETS: Final = ("best_response", "timepoints", "targets", "lesions", "events", "summary", "agreement",
                 "matches", "failures", "warnings",
                 # study outcomes (respond.outcomes), when the run has them
                 "characteristics", "indices", "outcomes", "cox", "doses", "cumulative_incidence")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:0 24px 60px;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin:24px 0 4px}h2{border-bottom:2px solid #0072B2;padding-bottom:4px;margin-top:36px}
h3{margin:26px 0 6px}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top}
th{background:#f3f6f9;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.resp{display:inline-block;min-width:3.2em;text-align:center;border-radius:3px;padding:0 4px;color:#000;font-weight:600}
.reason{color:#444;font-size:.92em;min-width:320px}.nowrap{white-space:nowrap}
td.num{white-space:nowrap}figure{margin:10px 0}figure img{max-width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:140px}
.card b{font-size:1.5em;display:block}.warn{color:#D55E00}nav a{margin-right:14px}
"""

_SELF_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
});
</script>"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _resp(value: Any) -> str:
    if not value:
        return ""
    colour = RESPONSE_COLOURS.get(str(value), "#DDDDDD")
    return f'<span class="resp" style="background:{colour}">{_e(value)}</span>'


def figure_html(fig, alt: str, *, save_as: Path | None = None) -> str:
    """A figure as an embedded PNG (base64 data URI), closed after use.

    With ``save_as`` (a path without suffix) it is also written as PNG and SVG there.
    """
    if save_as is not None:
        plots.save(fig, save_as)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></figure>'


_HEADERS: Final = {
    "days_from_baseline": "day", "target_sum_mm": "sum (mm)", "pct_change_from_baseline": "Δ baseline %",
    "pct_change_from_nadir": "Δ nadir %", "target_response": "targets", "non_target_response": "non-targets",
    "new_lesions": "new", "overall_response": "overall", "imaging_only": "imaging only",
    "best_overall_response": "best response", "best_response_date": "date of best", "progression_date": "progression",
}


def _table(frame: pd.DataFrame, columns: Iterable[str], *, responses: Iterable[str] = (),
           classes: dict[str, str] | None = None) -> str:
    columns = [c for c in columns if c in frame.columns]
    responses = set(responses)
    classes = {c: "nowrap" for c in columns} | (classes or {})
    head = "".join(f"<th>{_e(_HEADERS.get(c, c))}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, row):
            text = _resp(v) if c in responses else _e(v)
            cells.append(f'<td class="{classes.get(c, "")}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary_section(t: dict[str, pd.DataFrame]) -> str:
    best = t["best_response"]
    parts = ["<h2 id=\"summary\">Cohort summary</h2>", '<div class="cards">']
    parts.append(f'<div class="card"><b>{best["patient_id"].nunique()}</b>patients assessed</div>')
    failures = t.get("failures")
    n_failed = failures["patient_id"].nunique() if failures is not None and len(failures) else 0
    cls = ' class="card warn"' if n_failed else ' class="card"'
    parts.append(f"<div{cls}><b>{n_failed}</b>patients not assessed</div>")
    for cid in dict.fromkeys(best["criteria"]):
        rows = best[best["criteria"] == cid]
        responders = rows["best_overall_response"].isin(["CR", "PR"]).sum()
        parts.append(f'<div class="card"><b>{responders}/{len(rows)}</b>CR or PR, {_e(criteria_name(cid))}</div>')
    parts.append("</div>")
    counts = (best.groupby(["criteria", "best_overall_response"]).size().unstack(fill_value=0)
              .reindex(columns=[r for r in RESPONSE_COLOURS if r in set(best["best_overall_response"])]))
    counts.index = [criteria_name(c) for c in counts.index]
    parts.append("<h3>Best overall response</h3>")
    parts.append(_table(counts.reset_index().rename(columns={"index": "criteria"}),
                        ["criteria", *counts.columns], classes={c: "num" for c in counts.columns}))
    summary = t.get("summary")
    if summary is not None and len(summary):
        parts.append("<h3>Rates and Kaplan–Meier estimates (95 % CI)</h3>")
        parts.append(_summary_pivot(summary))
    agreement = t.get("agreement")
    if agreement is not None and len(agreement):
        differ = agreement[~agreement["agree"].map(lambda v: str(v).lower() in ("true", "1"))]
        parts.append(f"<h3>Agreement between criteria</h3><p>{len(agreement) - len(differ)} of {len(agreement)} "
                     "patients have the same best overall response.</p>")
        if len(differ):
            parts.append(_table(differ, ["patient_id", "criteria_a", "response_a", "criteria_b", "response_b",
                                         "reason"], responses=("response_a", "response_b"),
                                classes={"reason": "reason"}))
    return "\n".join(parts)


_STATISTIC_NAMES: Final = {
    "iorr": "Intracranial objective response rate", "dcr": "Disease control rate",
    "ilc_rate": "Intracranial control (no PD)", "ipfs_rate": "iPFS rate", "ipfs_median": "iPFS median",
    "local_control_rate": "Local control rate (lesions)", "local_control_median": "Local control median (lesions)",
    "kappa": "Cohen's kappa", "observed_agreement": "Observed agreement",
}


def _cell(row: pd.Series) -> str:
    estimate = _number(row.get("estimate"))
    if row.get("unit") == "proportion" and estimate not in ("", "not reached"):
        estimate = f"{float(row['estimate']) * 100:.1f} %"
        ci = (f" ({float(row['ci_low']) * 100:.1f}–{float(row['ci_high']) * 100:.1f})"
              if _number(row.get("ci_low")) and _number(row.get("ci_high")) else "")
    else:
        ci = (f" ({_number(row.get('ci_low'))}–{_number(row.get('ci_high'))})"
              if _number(row.get("ci_low")) or _number(row.get("ci_high")) else "")
    counts = []
    if _integer(row.get("events")) != "" and _integer(row.get("n")) != "":
        counts.append(f"{_integer(row['events'])}/{_integer(row['n'])}")
    if _integer(row.get("at_risk")) != "":
        counts.append(f"{_integer(row['at_risk'])} at risk")
    note = f" — {row['note']}" if row.get("note") else ""
    detail = f'<br><span class="meta">{_e(", ".join(counts))}{_e(note)}</span>' if counts or note else ""
    return f"{_e(estimate or '—')}{_e(ci)}{detail}"


def _integer(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if pd.isna(number) else str(int(number))


def _summary_pivot(summary: pd.DataFrame) -> str:
    """Statistics as rows, criteria as columns: estimate (CI), events/n, number at risk."""
    frame = summary.copy()
    frame["time"] = frame["time_months"].map(lambda v: f" at {float(v):g} months" if _number(v) else "")
    frame["label"] = [f"{_STATISTIC_NAMES.get(s, s.replace('_', ' '))}{t}" + (f" [{m}]" if m not in (None, "") else "")
                      for s, t, m in zip(frame["statistic"], frame["time"], frame["method"])]
    columns = list(dict.fromkeys(frame["criteria"]))
    head = "<th>statistic</th>" + "".join(f"<th>{_e(criteria_name(str(c)))}</th>" for c in columns)
    rows = []
    for label in dict.fromkeys(frame["label"]):
        cells = []
        for c in columns:
            hit = frame[(frame["label"] == label) & (frame["criteria"] == c)]
            cells.append(f"<td>{_cell(hit.iloc[0]) if len(hit) else ''}</td>")
        rows.append(f"<tr><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if pd.isna(number):
        return ""
    return "not reached" if number == float("inf") else f"{number:.3g}"


def _stem(folder: Path | None, name: str) -> Path | None:
    return None if folder is None else folder / re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _figures_section(t: dict[str, pd.DataFrame], patients: pd.DataFrame | None, figures: Path | None) -> str:
    parts = ['<h2 id="figures">Figures</h2>']
    timepoints = t["timepoints"]
    with_targets = timepoints[timepoints["baseline_sum_mm"].notna()]
    if len(with_targets):
        parts.append(figure_html(plots.waterfall(t), "waterfall plot of the best change of the target sum",
                                 save_as=_stem(figures, "waterfall")))
        parts.append(figure_html(plots.spider(t), "spider plot of the target sum over time",
                                 save_as=_stem(figures, "spider")))
    for cid in dict.fromkeys(timepoints["criteria"]):
        parts.append(figure_html(plots.swimmer(t, cid, patients=patients), f"swimmer plot, {criteria_name(cid)}",
                                 save_as=_stem(figures, f"swimmer_{cid}")))
    events = t.get("events")
    if events is not None and len(events):
        for endpoint in ("ipfs", "local_control"):
            if (events["endpoint"] == endpoint).any():
                parts.append(figure_html(plots.km_plot(events, endpoint), f"Kaplan-Meier plot of {endpoint}",
                                         save_as=_stem(figures, f"km_{endpoint}")))
    return "\n".join(parts)


def _patient_sections(t: dict[str, pd.DataFrame], scans: pd.DataFrame | None, figures: Path | None) -> str:
    best, timepoints = t["best_response"], t["timepoints"]
    lesions = t.get("lesions")
    parts = ['<h2 id="patients">Patients</h2>']
    wide = best.pivot(index="patient_id", columns="criteria", values="best_overall_response").reset_index()
    wide.columns = [criteria_name(str(c)) if c != "patient_id" else c for c in wide.columns]
    wide["patient_id"] = wide["patient_id"].map(lambda p: f'<a href="#p-{_e(p)}">{_e(p)}</a>')
    rows = []
    for r in wide.itertuples(index=False):
        cells = [f"<td>{r[0]}</td>"] + [f"<td>{_resp(v)}</td>" for v in r[1:]]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{_e(c)}</th>" for c in wide.columns)
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    for pid in sorted(set(best["patient_id"])):
        parts.append(f'<h3 id="p-{_e(pid)}">Patient {_e(pid)}</h3>')
        mine = best[best["patient_id"] == pid]
        parts.append(_table(mine.assign(criteria=mine["criteria"].map(criteria_name)),
                            ["criteria", "best_overall_response", "confirmed", "best_response_date",
                             "progression_date", "reason"], responses=("best_overall_response",),
                            classes={"reason": "reason"}))
        tps = timepoints[timepoints["patient_id"] == pid]
        parts.append(_table(tps.assign(criteria=tps["criteria"].map(criteria_name)),
                            ["criteria", "date", "days_from_baseline", "target_sum_mm", "pct_change_from_baseline",
                             "pct_change_from_nadir", "target_response", "non_target_response", "new_lesions",
                             "overall_response", "imaging_only", "reason"],
                            responses=("target_response", "non_target_response", "overall_response"),
                            classes={"reason": "reason", "target_sum_mm": "num", "days_from_baseline": "num",
                                     "pct_change_from_baseline": "num", "pct_change_from_nadir": "num"}))
        if scans is not None and lesions is not None:
            parts.append(_overlay_html(pid, scans, lesions, figures))
    return "\n".join(parts)


def _overlay_html(pid: str, scans: pd.DataFrame, lesions: pd.DataFrame, figures: Path | None) -> str:
    from respond.report.overlays import contact_sheet

    mine_scans = scans[scans["patient_id"] == pid]
    mine = lesions[lesions["patient_id"] == pid]
    if mine_scans.empty or mine.empty or "ld_p1_x" not in mine.columns:
        return ""
    try:
        fig = contact_sheet(mine_scans, mine)
    except Exception as exc:  # noqa: BLE001 - a missing scan must not lose the report
        return f'<p class="warn">Measurement overlays unavailable: {_e(exc)}</p>'
    return figure_html(fig, f"measurement overlays of patient {pid}", save_as=_stem(figures, f"overlays_{pid}"))


def build_report(source: Any, *, title: str = "respond — response assessment", patients: pd.DataFrame | None = None,
                 scans: pd.DataFrame | None = None, run_info: dict | None = None,
                 figures: Path | None = None) -> str:
    """The report as an HTML string (see :func:`write_report`); figures also saved in ``figures`` when given."""
    from respond.report.outcomes import outcomes_section

    t = load_tables(source, (*plots.RUN_TABLES, "matches", "warnings"))
    outcomes = outcomes_section(source, figures)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    criteria = ", ".join(f"{_e(c['name'])} (config {_e(c['sha256'][:16])})" for c in (run_info or {}).get("criteria", []))
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="meta">respond {_e(__version__)} · report written {when}'
            + (f" · criteria: {criteria}" if criteria else "") + "</p>",
            '<nav><a href="#summary">Summary</a><a href="#figures">Figures</a>'
            + ('<a href="#outcomes">Outcomes</a>' if outcomes else "") + '<a href="#patients">Patients</a></nav>',
            _summary_section(t), _figures_section(t, patients, figures), outcomes,
            _patient_sections(t, scans, figures)]
    failures = t.get("failures")
    if failures is not None and len(failures):
        body.append('<h2 id="failures">Patients not assessed</h2>')
        body.append(_table(failures, ["patient_id", "stage", "error_code", "message"], classes={"message": "reason"}))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + _SELF_CHECK + "</body></html>")


def write_report(run_dir: str | Path, *, out: str | Path | None = None, title: str | None = None) -> Path:
    """Write ``report.html`` (and ``responses.xlsx``) for the outputs in ``run_dir``.

    Uses ``patients.csv`` / ``scans.csv`` in ``run_dir`` when present (swimmer
    follow-up, measurement overlays).
    """
    folder = Path(run_dir)
    extra = load_tables(folder, ("patients", "scans"))
    info_path = folder / "run.json"
    run_info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else None
    given = ((run_info or {}).get("inputs") or {}).get("patients")
    if "patients" not in extra and given:  # the patients table the run was given
        path = input_path(given, folder)
        if path is not None and path.is_file():
            extra["patients"] = pd.read_csv(path, dtype=str, keep_default_na=False)
    page = build_report(folder, title=title or "respond — response assessment", patients=extra.get("patients"),
                        scans=extra.get("scans"), run_info=run_info, figures=folder / "figures")
    path = Path(out) if out else folder / "report.html"
    atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    write_workbook(folder, folder / "responses.xlsx")
    return path


def write_workbook(source: Any, path: str | Path) -> Path:
    """One sheet per output table (openpyxl)."""
    t = load_tables(source, SHEETS)

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name in SHEETS:
                if name in t:
                    t[name].to_excel(writer, sheet_name=name, index=False)

    return atomic_write(path, write)
