"""Result objects of respond's application services: :class:`Evaluation` and :class:`Assessment`.

Each output table is a real attribute (a :class:`pandas.DataFrame` whose
columns are defined in :mod:`respond.tables`), so ``dir(result)`` lists the
tables and a notebook completes their names. ``repr(result)`` is a short
summary (patients assessed and failed, rows per table), never the tables
themselves.

These classes hold data only; ``write()`` hands the tables to the one
run-folder writer, :func:`respond.io.runs.write_run`.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from respond.config import Criteria
from respond.tables import AGREEMENT, BEST_RESPONSE, EVENTS, FAILURES, LESIONS, MATCHES, REGISTRATIONS, SCANS
from respond.tables import SUMMARY, TARGETS, TIMEPOINTS

__all__ = ["Assessment", "EndpointTables", "Evaluation", "library_versions"]

#: Libraries whose versions are recorded in ``run.json``.
RECORDED_LIBRARIES = ("numpy", "pandas", "PyYAML", "click")


def library_versions(names: tuple[str, ...] = RECORDED_LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names`` (missing ones left out), for provenance."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _patients(frame: pd.DataFrame | None) -> int:
    if frame is None or not len(frame) or "patient_id" not in frame.columns:
        return 0
    return int(frame["patient_id"].nunique())


def _short_repr(kind: str, assessed: int, failed: int, tables: Iterator[tuple[str, pd.DataFrame]]) -> str:
    rows = ", ".join(f"{name}={len(frame)}" for name, frame in tables)
    return f"<{kind}: {assessed} patient(s) assessed, {failed} failed; rows: {rows}>"


def short_repr(result: Any, names: tuple[str, ...], *, assessed_from: str = "lesions") -> str:
    """A one-line summary of a result object holding the DataFrames ``names``: patients and rows per table."""
    frames = {name: getattr(result, name) for name in names if isinstance(getattr(result, name, None), pd.DataFrame)}
    return _short_repr(type(result).__name__, _patients(frames.get(assessed_from)), _patients(frames.get("failures")),
                       iter(frames.items()))


@dataclass(repr=False)
class Evaluation:
    """Result of ``respond.evaluate``: the criteria and endpoint tables as DataFrames.

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
    endpoint_tables: dict[str, Any] = field(default_factory=dict)

    #: Tables written by :meth:`write`, in order (then ``extra``).
    TABLES = ("lesions", "timepoints", "best_response", "targets", "failures", "warnings",
              "events", "summary", "agreement")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every output table by name (the attributes of :data:`TABLES`, then ``extra``)."""
        return {**{name: getattr(self, name) for name in self.TABLES}, **self.extra}

    def run_info(self) -> dict[str, Any]:
        """Provenance of the run: versions, criteria with hashes, inputs with hashes, counts."""
        return {
            "respond_version": _version(),
            "python": platform.python_version(),
            "libraries": library_versions(),
            "started": self.started,
            "finished": self.finished,
            "criteria": criteria_records(self.criteria),
            "inputs": self.inputs,
            "counts": {
                "patients_assessed": _patients(self.best_response),
                "patients_failed": _patients(self.failures),
                "timepoints": len(self.timepoints),
                "warnings": len(self.warnings),
            },
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every table (CSV) and ``run.json`` into ``out_dir``; return their paths."""
        from respond.io.runs import write_run  # the one run-folder writer (io), loaded on use

        return write_run(self.tables, self.run_info(), out_dir, parquet=False)

    def __repr__(self) -> str:
        return _short_repr("Evaluation", _patients(self.best_response), _patients(self.failures),
                           iter(self.tables.items()))


def criteria_records(criteria: list[Criteria]) -> list[dict[str, Any]]:
    """The ``criteria`` entries of ``run.json``: id, name, version, origin, hash and the whole configuration."""
    return [{"id": c.id, "name": c.name, "version": c.version, "origin": c.origin, "sha256": c.sha256,
             "config": c.as_dict()} for c in criteria]


def _version() -> str:
    from respond import __version__

    return __version__


@dataclass(repr=False)
class Assessment:
    """The tables of an assessment run (``respond.assess``), as DataFrames.

    ``lesions`` (the tracked, measured lesion table), ``matches``,
    ``registrations``, ``timepoints``, ``best_response``, ``targets``,
    ``events``, ``summary``, ``agreement``, ``warnings``, ``failures`` (one row
    per patient that could not be assessed: stage, error code, message), and
    ``scans`` (the manifest as used). ``events``, ``summary``, ``agreement``
    and ``warnings`` are None when no patient reached the criteria.
    ``stage_seconds`` sums the time spent per stage over all patients;
    ``run_info`` is the provenance written to ``run.json``.
    """

    lesions: pd.DataFrame = field(default_factory=LESIONS.empty)
    timepoints: pd.DataFrame = field(default_factory=TIMEPOINTS.empty)
    best_response: pd.DataFrame = field(default_factory=BEST_RESPONSE.empty)
    targets: pd.DataFrame = field(default_factory=TARGETS.empty)
    events: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    agreement: pd.DataFrame | None = None
    warnings: pd.DataFrame | None = None
    matches: pd.DataFrame = field(default_factory=MATCHES.empty)
    registrations: pd.DataFrame = field(default_factory=REGISTRATIONS.empty)
    failures: pd.DataFrame = field(default_factory=FAILURES.empty)
    scans: pd.DataFrame = field(default_factory=SCANS.empty)
    run_info: dict[str, Any] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    #: The table attributes, in the order they are written.
    TABLES = ("lesions", "timepoints", "best_response", "targets", "events", "summary", "agreement", "warnings",
              "matches", "registrations", "failures", "scans")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables that were computed, by name (None ones left out)."""
        return {name: getattr(self, name) for name in self.TABLES if getattr(self, name) is not None}

    @property
    def n_failed(self) -> int:
        """Number of patients with a row in ``failures``."""
        return _patients(self.failures)

    def write(self, out: str | Path, *, parquet: bool | None = None) -> dict[str, Path]:
        """Write every table as CSV (and Parquet when pyarrow is installed) plus ``run.json``."""
        from respond.io.runs import write_run  # the one run-folder writer (io), loaded on use

        return write_run(self.tables, self.run_info, out, parquet=parquet)

    def __repr__(self) -> str:
        return _short_repr("Assessment", _patients(self.best_response), self.n_failed, iter(self.tables.items()))



@dataclass(repr=False)
class EndpointTables:
    """Endpoint tables (``respond.summarize``): ``events``, ``summary``, ``agreement`` and the patients
    that ``failures`` excluded. :class:`respond.endpoints.EndpointResult` adds the cross-table."""

    events: pd.DataFrame
    summary: pd.DataFrame
    agreement: pd.DataFrame
    failures: pd.DataFrame
    criteria: list[Criteria] = field(default_factory=list)

    #: Tables written by :meth:`write`.
    TABLES = ("events", "summary", "agreement")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The endpoint tables by name."""
        return {name: getattr(self, name) for name in self.TABLES}

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write events.csv, summary.csv and agreement.csv into ``out_dir``."""
        from respond.io.runs import write_tables  # the one run-folder writer (io), loaded on use

        return write_tables(self.tables, out_dir)

    def __repr__(self) -> str:
        return _short_repr(type(self).__name__, _patients(self.events), _patients(self.failures),
                           iter({**self.tables, "failures": self.failures}.items()))
