"""The report's provenance section: what went in, with what, and how — from ``run.json``.

Input files with their SHA-256, the respond, Python and library versions, each
criteria configuration with its hash and response population, the data
cut-off date, the run options and the run's counts, in a collapsible
``<details>`` element so that it is there for an audit and out of the way
otherwise.
"""
from __future__ import annotations

import html
import json
from typing import Any, Final, Mapping

import pandas as pd

#: Libraries whose versions the report records for itself (it draws the figures and writes the spreadsheet).
REPORT_LIBRARIES: Final = ("matplotlib", "openpyxl", "SimpleITK", "scikit-image", "lifelines")
#: Keys of run.json that may hold the data cut-off date, in order of preference.
CUTOFF_KEYS: Final = ("data_cutoff", "data_cutoff_date", "cutoff_date")


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _rows(pairs) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def _split_input(described: str) -> tuple[str, str]:
    """``"path sha256:<hex>"`` → (path, hex); a DataFrame given from Python has no file or hash."""
    path, _, digest = str(described).partition(" sha256:")
    return path, digest


def inputs_table(run_info: Mapping[str, Any]) -> str:
    """Input tables and scan files with their SHA-256."""
    rows = []
    for role, described in (run_info.get("inputs") or {}).items():
        path, digest = _split_input(described)
        rows.append((role, path, digest or "(given as a DataFrame: no file)"))
    for key, scan in (run_info.get("scans") or {}).items():
        for kind in ("mask", "image"):
            if scan.get(kind):
                rows.append((f"{kind} {key}", scan[kind], scan.get(f"{kind}_sha256") or ""))
    if not rows:
        return "<p>No input files recorded.</p>"
    body = "".join(f'<tr><td class="nowrap">{_e(r)}</td><td class="path">{_e(p)}</td><td class="hash">{_e(h)}</td></tr>'
                   for r, p, h in rows)
    return f"<table><thead><tr><th>input</th><th>file</th><th>SHA-256</th></tr></thead><tbody>{body}</tbody></table>"


def criteria_table(run_info: Mapping[str, Any]) -> str:
    """Each criteria applied: name, version, origin, configuration hash, response population."""
    rows = []
    for c in run_info.get("criteria") or []:
        config = c.get("config") or {}
        population = (config.get("endpoints") or {}).get("response_population", "")
        rows.append(f"<tr><td>{_e(c.get('name'))}</td><td>{_e(c.get('id'))}</td><td>{_e(c.get('version'))}</td>"
                    f"<td>{_e(c.get('origin'))}</td><td class=\"hash\">{_e(c.get('sha256'))}</td>"
                    f"<td>{_e(population)}</td></tr>")
    if not rows:
        return "<p>No criteria recorded.</p>"
    return ("<table><thead><tr><th>criteria</th><th>id</th><th>version</th><th>configuration</th>"
            "<th>configuration SHA-256</th><th>response population</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def data_cutoff(run_info: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> str:
    """The recorded data cut-off date, else the latest date in the data (said to be so)."""
    for key in CUTOFF_KEYS:
        if run_info.get(key):
            return _e(run_info[key])
    dates = []
    for name, column in (("timepoints", "date"), ("patients", "last_followup"), ("patients", "death_date")):
        frame = tables.get(name)
        if frame is not None and column in frame.columns:
            dates.extend(str(v) for v in frame[column] if v is not None and str(v) not in ("", "nan", "NaT"))
    latest = max(dates, default="")
    return (f"none recorded; the latest date in the data is {_e(latest)}" if latest
            else "none recorded")


def report_libraries() -> str:
    """Versions of the libraries the report itself used, e.g. ``"matplotlib 3.9.2, openpyxl 3.1.5"``."""
    from importlib import metadata

    found = []
    for name in REPORT_LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def provenance_section(run_info: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> str:
    """The collapsible provenance section (empty string when nothing was recorded)."""
    if not run_info:
        return ('<h2 id="provenance">Provenance</h2><details class="provenance"><summary>Not recorded</summary>'
                "<p>This report was made from tables without a run.json.</p></details>")
    libraries = ", ".join(f"{k} {v}" for k, v in (run_info.get("libraries") or {}).items())
    general = _rows([
        ("respond", _e(run_info.get("respond_version"))), ("Python", _e(run_info.get("python"))),
        ("libraries of the run", _e(libraries)), ("libraries of the report", _e(report_libraries())),
        ("run started", _e(run_info.get("started"))),
        ("run finished", _e(run_info.get("finished"))), ("data cut-off", data_cutoff(run_info, tables)),
        ("counts", _e(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (run_info.get("counts") or {}).items()))),
    ])
    options = run_info.get("options") or {}
    options_html = (_rows([(k, _e(json.dumps(v))) for k, v in options.items()]) if options
                    else "<p>Defaults (no options recorded).</p>")
    return ('<h2 id="provenance">Provenance</h2><details class="provenance" id="provenance-details">'
            "<summary>Inputs with SHA-256, versions, criteria configurations, data cut-off and run options</summary>"
            f"<h3>Run</h3>{general}<h3>Criteria configurations</h3>{criteria_table(run_info)}"
            f"<h3>Run options</h3>{options_html}<h3>Input files</h3>{inputs_table(run_info)}</details>")
