"""The run report: one self-contained HTML file (figures embedded) and a spreadsheet.

``DIR/report.html`` holds the cohort summary (counts, response rates, Kaplan–Meier
rates and medians per criteria, agreement between criteria), the figures, a
per-patient table linking to each patient's section, per patient the timeline
of responses with the rule trace, the audit tables (measurements by date with
change from baseline and nadir, target and non-target lists with reasons,
registration QC with a checkerboard picture, warnings) and, when the scans are
known, the measurement overlays; then the provenance of the run. It needs no
network and no other file. Every figure is also written to ``DIR/figures/``
as PNG and SVG (for papers), and ``DIR/responses.xlsx`` has one sheet per table.

The page is a list of :data:`SECTIONS`, each a :class:`Section` (anchor id,
navigation title, a function of the :class:`~respond.report.data.ReportData`
and the figures folder returning HTML). A stage that adds a section to the
report adds one :class:`Section` to that list.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Final

import pandas as pd

from respond import __version__
from respond.io.paths import prepare_output_dir
from respond.io.writers import atomic_write
from respond.report import audit, plots
from respond.report.data import ReportData, collect
from respond.report.plots import RESPONSE_COLOURS, criteria_name
from respond.report.fragments import PICTURE_FORMATS, _e, _resp, _stem, _table, figure_html
from respond.report.precision import format_count, format_statistic, format_value
from respond.report.provenance import provenance_section
from respond.report.workbook import write_workbook as _write_tables

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:0 24px 60px;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin:24px 0 4px}h2{border-bottom:2px solid #0072B2;padding-bottom:4px;margin-top:36px}
h3{margin:26px 0 6px}.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0;max-width:100%}.scroll{overflow-x:auto}
th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top}
th{background:#f3f6f9;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.resp{display:inline-block;min-width:3.2em;text-align:center;border-radius:3px;padding:0 4px;color:#000;font-weight:600}
.reason{color:#444;font-size:.92em;min-width:320px}.nowrap{white-space:nowrap}
td.num{white-space:nowrap}figure{margin:10px 0}figure img{max-width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:140px}
.card b{font-size:1.5em;display:block}.warn{color:#D55E00}nav a{margin-right:14px}
details.provenance{margin:8px 0}details.provenance summary{cursor:pointer;font-weight:600}
td.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}td.path{word-break:break-all}
table.kv th{width:11em}h4{margin:14px 0 4px;font-size:1em;color:#333}.patient{border-top:1px solid #ccc;margin-top:30px}
"""

_SELF_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
});
</script>"""


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
        parts.append('<p class="meta">Proportions with the exact (Clopper–Pearson) interval; the Jeffreys '
                     "intervals are in responses.xlsx (sheet summary).</p>")
        parts.append(_summary_pivot(summary[~summary["method"].isin(OTHER_INTERVALS)]))
    agreement = t.get("agreement")
    if agreement is not None and len(agreement):
        differ = agreement[~agreement["agree"].map(lambda v: str(v).lower() in ("true", "1"))]
        parts.append(f"<h3>Agreement between criteria</h3><p>{len(agreement) - len(differ)} of {len(agreement)} "
                     "patients have the same best overall response.</p>")
        if len(differ):
            differ = differ.assign(criteria_a=differ["criteria_a"].map(lambda c: criteria_name(str(c))),
                                   criteria_b=differ["criteria_b"].map(lambda c: criteria_name(str(c))))
            parts.append(_table(differ, ["patient_id", "criteria_a", "response_a", "criteria_b", "response_b",
                                         "reason"], responses=("response_a", "response_b"),
                                classes={"reason": "reason"}))
    return "\n".join(parts)


#: Interval method of the proportions shown in the report; the others are in the spreadsheet only.
REPORTED_INTERVAL: Final = "clopper-pearson"
OTHER_INTERVALS: Final = ("jeffreys",)
#: Methods not repeated in the label of a statistic (the table's note names them).
SHOWN_METHODS: Final = (REPORTED_INTERVAL, "kaplan-meier", "count", "cohen")

_STATISTIC_NAMES: Final = {
    "iorr": "Intracranial objective response rate", "dcr": "Disease control rate",
    "ilc_rate": "Intracranial control (no PD)", "ipfs_rate": "iPFS rate", "ipfs_median": "iPFS median",
    "local_control_rate": "Local control rate (lesions)", "local_control_median": "Local control median (lesions)",
    "kappa": "Cohen's kappa", "observed_agreement": "Observed agreement",
}


def _cell(row: pd.Series) -> str:
    estimate = format_statistic(row.get("estimate"))
    if row.get("unit") == "proportion" and estimate not in ("", "not reached"):
        estimate = f"{float(row['estimate']) * 100:.1f} %"
        ci = (f" ({float(row['ci_low']) * 100:.1f}–{float(row['ci_high']) * 100:.1f})"
              if format_statistic(row.get("ci_low")) and format_statistic(row.get("ci_high")) else "")
    else:
        ci = (f" ({format_statistic(row.get('ci_low'))}–{format_statistic(row.get('ci_high'))})"
              if format_statistic(row.get("ci_low")) or format_statistic(row.get("ci_high")) else "")
    counts = []
    if format_count(row.get("events")) != "" and format_count(row.get("n")) != "":
        counts.append(f"{format_count(row['events'])}/{format_count(row['n'])}")
    if format_count(row.get("at_risk")) != "":
        counts.append(f"{format_count(row['at_risk'])} at risk")
    note = f" — {row['note']}" if row.get("note") else ""
    detail = f'<br><span class="meta">{_e(", ".join(counts))}{_e(note)}</span>' if counts or note else ""
    return f"{_e(estimate or '—')}{_e(ci)}{detail}"


def _summary_pivot(summary: pd.DataFrame) -> str:
    """Statistics as rows, criteria as columns: estimate (CI), events/n, number at risk."""
    frame = summary.copy()
    frame["time"] = frame["time_months"].map(lambda v: f" at {float(v):g} months" if format_statistic(v) else "")
    frame["label"] = [f"{_STATISTIC_NAMES.get(s, s.replace('_', ' '))}{t}"
                      + (f" [{m}]" if m not in (None, "", *SHOWN_METHODS) else "")
                      for s, t, m in zip(frame["statistic"], frame["time"], frame["method"])]
    columns = list(dict.fromkeys(frame["criteria"]))
    head = "<th>statistic</th>" + "".join(
        f"<th>{_e(' vs '.join(criteria_name(p) for p in str(c).split(' vs ')))}</th>" for c in columns)
    rows = []
    for label in dict.fromkeys(frame["label"]):
        cells = []
        for c in columns:
            hit = frame[(frame["label"] == label) & (frame["criteria"] == c)]
            cells.append(f"<td>{_cell(hit.iloc[0]) if len(hit) else ''}</td>")
        rows.append(f"<tr><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass(frozen=True)
class Section:
    """One section of the report: its anchor ``id``, its ``title`` in the navigation, and how to render it.

    ``render(data, figures)`` returns the section's HTML (empty: the section
    is left out); ``figures`` is the folder figures are also saved in, or None.
    """

    id: str
    title: str
    render: Callable[[ReportData, Path | None], str]


def _figures_section(data: ReportData, figures: Path | None) -> str:
    t = data.tables
    parts = ['<h2 id="figures">Figures</h2>']
    timepoints = t["timepoints"]
    with_targets = timepoints[timepoints["baseline_sum_mm"].map(plots._float).notna()]
    if len(with_targets):
        parts.append(figure_html(plots.waterfall(t), "waterfall plot of the best change of the target sum",
                                 save_as=_stem(figures, "waterfall")))
        parts.append(figure_html(plots.spider(t), "spider plot of the target sum over time",
                                 save_as=_stem(figures, "spider")))
    for cid in dict.fromkeys(timepoints["criteria"]):
        parts.append(figure_html(plots.swimmer(t, cid, patients=data.get("patients")),
                                 f"swimmer plot, {criteria_name(cid)}", save_as=_stem(figures, f"swimmer_{cid}")))
    events = data.get("events")
    if events is not None and len(events):
        for endpoint in ("ipfs", "local_control"):
            if (events["endpoint"] == endpoint).any():
                parts.append(figure_html(plots.km_plot(events, endpoint), f"Kaplan-Meier plot of {endpoint}",
                                         save_as=_stem(figures, f"km_{endpoint}")))
    return "\n".join(parts)


def _patients_index(data: ReportData) -> str:
    best = data.tables["best_response"]
    wide = best.pivot(index="patient_id", columns="criteria", values="best_overall_response").reset_index()
    wide.columns = [criteria_name(str(c)) if c != "patient_id" else c for c in wide.columns]
    rows = []
    for r in wide.itertuples(index=False):
        cells = [f'<td><a href="#p-{_e(r[0])}">{_e(r[0])}</a></td>'] + [f"<td>{_resp(v)}</td>" for v in r[1:]]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{_e(c)}</th>" for c in wide.columns)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _patients_section(data: ReportData, figures: Path | None) -> str:
    best = data.tables["best_response"]
    parts = ['<h2 id="patients">Patients</h2>', _patients_index(data)]
    for pid in sorted(set(best["patient_id"]), key=str):
        parts.append(patient_html(data, str(pid), figures))
    return "\n".join(parts)


def patient_html(data: ReportData, pid: str, figures: Path | None) -> str:
    """One patient's section: responses with the rule trace, audit tables, registration QC, overlays."""
    best, timepoints = data.patient("best_response", pid), data.patient("timepoints", pid)
    parts = [f'<section class="patient"><h3 id="p-{_e(pid)}">Patient {_e(pid)}</h3>', "<h4>Best overall response</h4>",
             _table(best.assign(criteria=best["criteria"].map(criteria_name)),
                    ["criteria", "best_overall_response", "confirmed", "best_response_date", "progression_date",
                     "reason"], responses=("best_overall_response",), classes={"reason": "reason"}),
             "<h4>Assessments</h4>",
             _table(timepoints.assign(criteria=timepoints["criteria"].map(criteria_name)),
                    ["criteria", "date", "days_from_baseline", "target_sum_mm", "pct_change_from_baseline",
                     "pct_change_from_nadir", "target_response", "non_target_response", "new_lesions",
                     "overall_response", "imaging_only", "reason"],
                    responses=("target_response", "non_target_response", "overall_response"),
                    classes={"reason": "reason", "target_sum_mm": "num", "days_from_baseline": "num",
                             "pct_change_from_baseline": "num", "pct_change_from_nadir": "num"})]
    parts += [_measurements_html(data, pid), _targets_html(data, pid), _registration_html(data, pid, figures),
              _warnings_html(data, pid), _overlay_html(data, pid, figures), "</section>"]
    return "\n".join(p for p in parts if p)


_MEASUREMENT_CLASSES: Final = {c: "num" for c in audit.MEASUREMENT_COLUMNS[4:]}


def _measurements_html(data: ReportData, pid: str) -> str:
    lesions = data.patient("lesions", pid)
    if lesions is None or lesions.empty or "longest_diameter_mm" not in lesions.columns:
        return ""
    table = audit.measurement_table(lesions)
    return ('<h4 class="measurements">Measurements by lesion and date</h4>'
            '<p class="meta">LD longest diameter, SA short axis; change of the LD from the lesion\'s baseline and '
            "from its nadir (smallest earlier LD).</p>"
            + _table(table, audit.MEASUREMENT_COLUMNS, classes=_MEASUREMENT_CLASSES))


def _targets_html(data: ReportData, pid: str) -> str:
    targets = data.patient("targets", pid)
    if targets is None or targets.empty:
        return '<h4 class="targets">Target and non-target lesions</h4><p>No lesion selected at baseline.</p>'
    parts = ['<h4 class="targets">Target and non-target lesions</h4>']
    for cid in dict.fromkeys(targets["criteria"]):
        mine = targets[targets["criteria"] == cid]
        parts.append(f"<p><b>{_e(criteria_name(str(cid)))}</b></p>")
        parts.append(_table(mine, ["lesion_id", "role", "organ", "reason"], classes={"reason": "reason"}))
    return "\n".join(parts)


_REGISTRATION_COLUMNS: Final = ("date", "baseline_date", "method", "rotation_deg", "translation_mm", "metric_change",
                                "overlap", "plausible", "problems", "notes")


def _registration_rows(registrations: pd.DataFrame) -> pd.DataFrame:
    """The registration table as shown: method with its transform, the metric from start to end of optimisation."""
    def method(row) -> str:
        kind = row.get("transform_type")
        return f"{row.get('method')} ({kind})" if kind and str(kind) not in ("nan", "None", "identity") else \
            str(row.get("method"))

    def metric(row) -> str:
        start, end = format_value("metric", row.get("initial_metric")), format_value("metric", row.get("final_metric"))
        return f"{row.get('metric')}: {start} → {end}" if start and end else ""

    records = registrations.to_dict("records")
    return registrations.assign(method=[method(r) for r in records], metric_change=[metric(r) for r in records])


def _registration_html(data: ReportData, pid: str, figures: Path | None) -> str:
    registrations = data.patient("registrations", pid)
    if registrations is None:
        return ""
    parts = ['<h4 class="registration">Registration QC (each follow-up onto the baseline)</h4>']
    if registrations.empty:
        parts.append("<p>No follow-up registered.</p>")
        return "\n".join(parts)
    shown = _registration_rows(registrations)
    problems = any(_e(v) for v in shown["problems"]) if "problems" in shown.columns else False
    columns = [c for c in _REGISTRATION_COLUMNS if c != "problems" or problems]  # an empty column only takes room
    parts.append(_table(shown, columns,
                        classes={"notes": "reason", "problems": "reason", "rotation_deg": "num",
                                 "translation_mm": "num", "overlap": "num"}))
    scans = data.patient("scans", pid)
    if scans is not None and len(scans):
        try:
            fig = audit.registration_checkerboard(scans, registrations, data.folder)
        except Exception as exc:  # noqa: BLE001 - a missing scan must not lose the report
            return "\n".join(parts) + f'<p class="warn">Registration picture unavailable: {_e(exc)}</p>'
        if fig is not None:
            parts.append(figure_html(fig, f"registration checkerboard of patient {pid}",
                                     save_as=_stem(figures, f"registration_{pid}"), formats=PICTURE_FORMATS))
    return "\n".join(parts)


def _warnings_html(data: ReportData, pid: str) -> str:
    warnings = data.patient("warnings", pid)
    if warnings is None:
        return ""
    if warnings.empty:
        return '<h4 class="warnings">Warnings</h4><p>None.</p>'
    return ('<h4 class="warnings">Warnings</h4>'
            + _table(warnings.assign(criteria=warnings["criteria"].map(lambda c: criteria_name(str(c)) if c else "")),
                     ["criteria", "code", "message"], classes={"message": "reason"}))


def _overlay_html(data: ReportData, pid: str, figures: Path | None) -> str:
    from respond.report.overlays import contact_sheet

    scans, lesions = data.patient("scans", pid), data.patient("lesions", pid)
    if scans is None or lesions is None or scans.empty or lesions.empty or "ld_p1_x" not in lesions.columns:
        return ""
    try:
        fig = contact_sheet(scans, lesions, targets=data.patient("targets", pid),
                            transforms=_transforms(data.patient("registrations", pid), data.folder))
    except Exception as exc:  # noqa: BLE001 - a missing scan must not lose the report
        return f'<p class="warn">Measurement overlays unavailable: {_e(exc)}</p>'
    return ('<h4 class="overlays">Measurement overlays</h4>'
            + figure_html(fig, f"measurement overlays of patient {pid}", save_as=_stem(figures, f"overlays_{pid}"),
                                 formats=PICTURE_FORMATS))


def _transforms(registrations: pd.DataFrame | None, folder: Path | None) -> dict[str, Any]:
    """Per date, the plausible registration (baseline → scan points) of one patient; identity at the baseline."""
    import SimpleITK as sitk

    out: dict[str, Any] = {}
    if registrations is None or folder is None:
        return out
    for row in registrations.to_dict("records"):
        if str(row.get("plausible")).lower() not in ("true", "1"):
            continue
        if row.get("method") == "baseline":
            out[str(row["date"])] = sitk.Transform(3, sitk.sitkIdentity)
        elif isinstance(row.get("transform_file"), str) and (folder / row["transform_file"]).is_file():
            out[str(row["date"])] = sitk.ReadTransform(str(folder / row["transform_file"]))
    return out


def _failures_section(data: ReportData, figures: Path | None) -> str:
    failures = data.get("failures")
    if failures is None or not len(failures):
        return ""
    return ('<h2 id="failures">Patients not assessed</h2>'
            + _table(failures, ["patient_id", "stage", "error_code", "message"], classes={"message": "reason"}))


def _outcomes_section(tables: dict[str, pd.DataFrame], figures: Path | None) -> str:
    from respond.report.outcomes import outcomes_section  # it builds on this module's helpers

    return outcomes_section(tables, figures)


#: The sections of the report, in page order; the navigation lists those that render. A stage adds its
#: section here as one entry, e.g. the study outcomes after the figures:
#: ``Section("outcomes", "Outcomes", outcomes_section)`` with ``outcomes_section(data, figures) -> str``
#: defined in respond/report/outcomes.py (``data.tables`` holds the run's tables by name).
SECTIONS: list[Section] = [
    Section("summary", "Summary", lambda data, figures: _summary_section(data.tables)),
    Section("figures", "Figures", _figures_section),
    Section("outcomes", "Outcomes", lambda data, figures: _outcomes_section(data.tables, figures)),
    Section("patients", "Patients", _patients_section),
    Section("failures", "Not assessed", _failures_section),
    Section("provenance", "Provenance", lambda data, figures: provenance_section(data.run_info, data.tables)),
]


def build_report(source: Any, *, title: str = "respond — response assessment", patients: pd.DataFrame | None = None,
                 scans: pd.DataFrame | None = None, run_info: dict | None = None,
                 figures: Path | None = None) -> str:
    """The report as an HTML string (see :func:`write_report`); figures also saved in ``figures`` when given.

    ``source``: a result object, a mapping of tables, a run folder or a
    :class:`~respond.report.data.ReportData`; ``patients``, ``scans`` and
    ``run_info`` override what it holds.
    """
    data = collect(source)
    data = ReportData({**data.tables, **({"patients": patients} if patients is not None else {}),
                       **({"scans": scans} if scans is not None else {})}, run_info or data.run_info, data.folder)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    criteria = ", ".join(f"{_e(c['name'])} (config {_e(c['sha256'][:16])})" for c in data.run_info.get("criteria", []))
    rendered = [(section, section.render(data, figures)) for section in SECTIONS]
    rendered = [(section, text) for section, text in rendered if text]
    nav = "".join(f'<a href="#{section.id}">{_e(section.title)}</a>' for section, _ in rendered)
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="meta">respond {_e(__version__)} · report written {when}'
            + (f" · criteria: {criteria}" if criteria else "") + "</p>", f"<nav>{nav}</nav>",
            *(text for _, text in rendered)]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + _SELF_CHECK + "</body></html>")


def write_report(result: Any, out: str | Path | None = None, *, title: str | None = None) -> Path:
    """Write ``report.html``, ``responses.xlsx`` and ``figures/`` for a result; returns the report's path.

    ``result``: an ``Evaluation`` or ``Assessment`` (or a mapping of tables),
    or a run folder written by ``respond evaluate`` / ``respond assess``.
    ``out``: the report file (``*.html``) or a folder to write ``report.html``
    into; default (and required for a result object): the run folder. The
    spreadsheet and ``figures/`` go into the run folder, or next to the
    report for a result object, whose output folder is taken to be there
    (it resolves the transform files of the registration QC pictures).
    """
    if out is None and not isinstance(result, (str, Path)):
        raise ValueError("write_report(result, out): give the folder or .html file to write the report to")
    target = Path(out) if out is not None else Path(result) / "report.html"
    if target.suffix.lower() != ".html":
        target = target / "report.html"
    folder = Path(result) if isinstance(result, (str, Path)) else target.parent
    prepare_output_dir(target.parent, what="report folder")  # one level, before figures/ is written into it
    data = collect(result, folder=folder)
    page = build_report(data, title=title or "respond — response assessment", figures=folder / "figures")
    atomic_write(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    _write_tables(data.tables, folder / "responses.xlsx")
    return target


def write_workbook(source: Any, path: str | Path) -> Path:
    """``responses.xlsx``: one sheet per output table (see :mod:`respond.report.workbook`)."""
    return _write_tables(collect(source).tables, path)
