"""The criteria engine: RECIST 1.1 and RANO-BM responses from a lesion table.

Pure: validated DataFrames and :class:`~respond.config.Criteria` in, tables
out (:func:`apply_criteria`); no file is read or written. Reading the tables
and writing the results is :func:`respond.evaluate`
(:mod:`respond.pipeline.evaluate`).

>>> from respond.criteria import apply_criteria
>>> tables = apply_criteria(lesions, [load_criteria("recist1.1")])   # doctest: +SKIP
>>> tables.best_response                                             # doctest: +SKIP
"""
from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from respond import __version__
from respond.config import Criteria
from respond.criteria.cohort import CriteriaTables, apply_criteria
from respond.criteria.patient import PatientAssessment, assess_patient
from respond.tables import AGREEMENT, EVENTS, SUMMARY

__all__ = ["CriteriaTables", "Evaluation", "PatientAssessment", "apply_criteria", "assess_patient"]


@dataclass
class Evaluation:
    """Result of :func:`respond.evaluate`: the output tables as DataFrames.

    Attributes
    ----------
    timepoints, best_response, targets:
        The tables of the same names (columns in :mod:`respond.tables`).
    failures:
        One row per patient that could not be assessed (stage, code, message).
    warnings:
        Reader choices that break the criteria, kept as given (patient, criteria, message).
    criteria:
        The criteria applied, in order.
    lesions:
        The lesion table as read and validated (patients that failed excluded).
    extra:
        Further tables by file stem, e.g. ``rs_comparison`` (SDTM RS quality control).
    events, summary, agreement:
        Clinical endpoints (:mod:`respond.endpoints`): iPFS and lesion local-control
        events, rates with intervals, and the agreement of best responses between criteria.
    """

    timepoints: pd.DataFrame
    best_response: pd.DataFrame
    targets: pd.DataFrame
    failures: pd.DataFrame
    warnings: pd.DataFrame
    criteria: list[Criteria]
    lesions: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    events: pd.DataFrame = field(default_factory=EVENTS.empty)
    summary: pd.DataFrame = field(default_factory=SUMMARY.empty)
    agreement: pd.DataFrame = field(default_factory=AGREEMENT.empty)
    #: Validated patients and adjudication tables, kept for ``respond.summarize``.
    endpoint_tables: dict[str, Any] = field(default_factory=dict, repr=False)

    def run_info(self) -> dict[str, Any]:
        """Provenance of the run: versions, criteria with hashes, inputs with hashes, counts."""
        return {
            "respond_version": __version__,
            "python": platform.python_version(),
            "libraries": _library_versions(),
            "started": self.started,
            "finished": self.finished,
            "criteria": [
                {"id": c.id, "name": c.name, "version": c.version, "origin": c.origin,
                 "sha256": c.sha256, "config": c.as_dict()}
                for c in self.criteria
            ],
            "inputs": self.inputs,
            "counts": {
                "patients_assessed": int(self.best_response["patient_id"].nunique()) if len(self.best_response) else 0,
                "patients_failed": int(self.failures["patient_id"].nunique()) if len(self.failures) else 0,
                "timepoints": len(self.timepoints),
                "warnings": len(self.warnings),
            },
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every table (CSV) and ``run.json`` into ``out_dir``; return their paths."""
        # Writing belongs to the application layer; this class moves to respond.results.
        from respond.io.writers import write_csv, write_json

        out = Path(out_dir)
        paths = {}
        for name in ("lesions", "timepoints", "best_response", "targets", "failures", "warnings",
                     "events", "summary", "agreement"):
            paths[name] = write_csv(getattr(self, name), out / f"{name}.csv")
        for name, frame in self.extra.items():
            paths[name] = write_csv(frame, out / f"{name}.csv")
        paths["run"] = write_json(self.run_info(), out / "run.json")
        return paths


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("numpy", "pandas", "PyYAML", "click"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions
