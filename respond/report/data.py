"""What a report is made from: the tables of a result object or of a run folder, read once.

:func:`collect` accepts an ``Evaluation`` / ``Assessment`` (tables as
attributes, or a ``tables`` mapping), a mapping of DataFrames, or a run
folder written by ``respond evaluate`` / ``respond assess`` (its CSV files
and ``run.json``). Everything downstream — figures, HTML sections, the
spreadsheet — is given the DataFrames collected here and reads no table again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Mapping

import pandas as pd

from respond.io.runs import input_path

from respond.report.plots import load_tables

#: Every table the report may use.
REPORT_TABLES: Final = ("timepoints", "best_response", "targets", "lesions", "events", "summary", "agreement",
                        "failures", "warnings", "matches", "registrations", "scans", "patients",
                        # study outcomes (respond.outcomes), when the run has them
                        "characteristics", "patient_covariates", "indices", "outcomes", "cox", "doses",
                        "cumulative_incidence")


@dataclass
class ReportData:
    """The tables of a run (by name), its ``run.json`` content, and the folder relative paths start from.

    ``folder`` resolves ``registrations.transform_file`` (relative to the
    output folder); None when the result was never written.
    """

    tables: dict[str, pd.DataFrame]
    run_info: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    def get(self, name: str) -> pd.DataFrame | None:
        frame = self.tables.get(name)
        return frame if frame is not None and len(frame.columns) else None

    def patient(self, name: str, patient_id: str) -> pd.DataFrame | None:
        """Rows of one patient in table ``name`` (None when the table is absent)."""
        frame = self.get(name)
        if frame is None or "patient_id" not in frame.columns:
            return None
        return frame[frame["patient_id"].astype(str) == str(patient_id)]


def _object_tables(source: Any) -> dict[str, pd.DataFrame]:
    tables = dict(load_tables(source.tables, REPORT_TABLES)) if isinstance(getattr(source, "tables", None),
                                                                           Mapping) else {}
    tables.update({k: v for k, v in load_tables(source, REPORT_TABLES).items() if k not in tables})
    extra = getattr(source, "endpoint_tables", None) or {}
    if "patients" not in tables and isinstance(extra.get("patients"), pd.DataFrame):
        tables["patients"] = extra["patients"]
    return tables


def _run_info(source: Any) -> dict[str, Any]:
    info = getattr(source, "run_info", None)
    if callable(info):
        info = info()
    return dict(info) if isinstance(info, Mapping) else {}


def collect(source: Any, *, folder: str | Path | None = None) -> ReportData:
    """The report's tables and provenance from a result object, a mapping of tables or a run folder."""
    if isinstance(source, ReportData):
        return source
    if isinstance(source, (str, Path)):
        run_dir = Path(source)
        tables = load_tables(run_dir, REPORT_TABLES)
        info_path = run_dir / "run.json"
        info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
        return ReportData(_with_patients(tables, info, run_dir), info, run_dir)
    if isinstance(source, Mapping):
        return ReportData(load_tables(source, REPORT_TABLES), {}, Path(folder) if folder else None)
    info = _run_info(source)
    base = Path(folder) if folder else None
    return ReportData(_with_patients(_object_tables(source), info, base or Path.cwd()), info, base)


def _with_patients(tables: dict[str, pd.DataFrame], info: Mapping[str, Any], run_dir: Path) -> dict[str, pd.DataFrame]:
    """The tables, plus the patients table the run was given (run.json inputs) when none is among them."""
    if "patients" not in tables:
        given = _input_path((info.get("inputs") or {}).get("patients"), run_dir)
        if given is not None:
            tables["patients"] = pd.read_csv(given, dtype=str, keep_default_na=False)
    return tables


def _input_path(described: str | None, run_dir: Path) -> Path | None:
    """The file of a ``"path sha256:<hex>"`` input description (:func:`respond.io.runs.input_path`), when it is
    still there."""
    path = input_path(described, run_dir) if described else None
    return path if path is not None and path.is_file() else None
    path = Path(described.split(" sha256:")[0])
    for candidate in ((path,) if path.is_absolute() else (run_dir / path, path)):
        if candidate.is_file():
            return candidate
    return None
