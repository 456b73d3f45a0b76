"""``respond.summarize``: recompute the endpoints of a finished run with other options.

The run is an :class:`~respond.results.Evaluation` / :class:`~respond.results.Assessment`
or its output folder, read with the one run-folder reader
(:mod:`respond.io.runs`). The lesion and patients tables are those of the run
(their paths and SHA-256 in ``run.json``; a changed file is refused) unless given.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from respond.config import Criteria, load_criteria
from respond.endpoints import EndpointResult, compute_endpoints
from respond.errors import ConfigError, InputTableError, RespondError, failure_row
from respond.io.lesion_table import ReadResult, check_patient_ids
from respond.io.runs import input_path, parse_input_entry, read_run_info, read_run_table
from respond.io.writers import file_sha256
from respond.tables import FAILURES

#: Tables of a run the endpoints are recomputed from.
RESPONSE_TABLES = ("timepoints", "best_response", "targets")


def summarize(
    source,
    *,
    rate_times_months: Iterable[float] | None = None,
    death_is_event: bool | None = None,
    local_failure_requires_confirmation: bool | None = None,
    confidence_level: float | None = None,
    lesions=None,
    patients=None,
    adjudications=None,
    treated: Iterable[tuple[str, str]] | pd.DataFrame | None = None,
) -> EndpointResult:
    """Recompute the endpoints of an earlier run with other options.

    ``source`` is an :class:`~respond.results.Evaluation` (or ``Assessment``)
    or the output folder of ``respond evaluate`` / ``assess``
    (timepoints.csv, best_response.csv, targets.csv, run.json). The lesion
    and patients tables are those of the run (their paths and SHA-256 in
    run.json; a changed file is refused) unless given. The keyword options
    override the presets' ``endpoints`` section for every criteria (the
    configuration hash in the outputs changes accordingly).
    """
    run = _RunTables.of(source)
    lesion_frame = run.table("lesions", lesions)
    if lesion_frame is None:
        raise InputTableError("the lesion table of the run is needed for local control; pass lesions=...",
                              code="table.not_found")
    patients_frame = run.table("patients", patients)
    if patients_frame is not None:  # a patients table sharing no id with the lesions would be silently ignored
        read = ReadResult(patients_frame, source=run.sources.get("patients", "<DataFrame>"))
        check_patient_ids(set(lesion_frame["patient_id"]), {"patients": read})
    adj_frame = run.table("adjudications", adjudications, lesions=lesion_frame)
    overrides = {k: v for k, v in {
        "rate_times_months": None if rate_times_months is None else list(rate_times_months),
        "death_is_event": death_is_event,
        "local_failure_requires_confirmation": local_failure_requires_confirmation,
        "confidence_level": confidence_level,
    }.items() if v is not None}
    criteria = [_override(c, overrides) for c in run.criteria] if overrides else run.criteria
    failed = {e.patient_id for e in run.failures}
    best = run.tables["best_response"]
    result = compute_endpoints(
        criteria, lesions=lesion_frame, timepoints=run.tables["timepoints"],
        best_response=best[~best["patient_id"].isin(failed)], targets=run.tables["targets"],
        patients=patients_frame, adjudications=adj_frame, treated=treated, sources=run.sources)
    if run.failures:
        read_rows = pd.DataFrame([failure_row(e, stage="read") for e in run.failures], columns=FAILURES.names)
        result.failures = pd.concat([read_rows, result.failures], ignore_index=True)
    return result


def _readers() -> dict[str, Callable]:
    from respond.io.adjudications import read_adjudications_table
    from respond.io.lesion_table import read_lesion_table, read_patients_table

    return {"lesions": read_lesion_table, "patients": read_patients_table, "adjudications": read_adjudications_table}


@dataclasses.dataclass
class _RunTables:
    """The response tables, criteria and inputs of a run, and the read problems met so far."""

    tables: dict[str, pd.DataFrame]
    criteria: list[Criteria]
    inputs: dict[str, str]
    stored: dict[str, Any]
    folder: Path | None = None
    sources: dict[str, str] = dataclasses.field(default_factory=dict)
    failures: list[RespondError] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, source) -> "_RunTables":
        if hasattr(source, "best_response") and hasattr(source, "criteria"):
            tables = {name: getattr(source, name) for name in RESPONSE_TABLES}
            lesions = getattr(source, "lesions", None)
            stored = {"lesions": lesions if lesions is not None and len(lesions.columns) else None,
                      **(getattr(source, "endpoint_tables", None) or {})}
            return cls(tables, list(source.criteria), {}, stored)
        folder = Path(source)
        tables, criteria, inputs = _read_outputs(folder)
        if (folder / "lesions.csv").is_file():
            inputs["lesions"] = str((folder / "lesions.csv").resolve())
        return cls(tables, criteria, inputs, {}, folder)

    def _read(self, name: str, given, **kw):
        kw = {"node_organs": sorted({o for c in self.criteria for o in c.scope.node_organs})} \
            if name == "lesions" else kw
        read = _readers()[name](given, **kw)
        self.failures.extend(read.failures)
        return read.frame

    def table(self, name: str, given=None, **kw) -> pd.DataFrame | None:
        """Table ``name``: the one given, else the run's own (a changed input file is refused), else None."""
        if given is not None:
            if isinstance(given, (str, Path)):
                self.sources[name] = str(given)
            return self._read(name, given, **kw)
        if self.stored.get(name) is not None:
            return self.stored[name]
        if name in self.inputs:
            path = _unchanged_input(self.inputs[name], name, self.folder)
            self.sources[name] = str(path)
            return self._read(name, path, **kw)
        return None


def _override(c: Criteria, overrides: dict[str, Any]) -> Criteria:
    data = c.as_dict()
    data["endpoints"].update(overrides)
    new = load_criteria(data)
    return dataclasses.replace(new, origin=c.origin)


def _read_outputs(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Criteria], dict[str, str]]:
    """The response tables, criteria and inputs of an output folder."""
    if not folder.is_dir():
        raise InputTableError("output folder not found; give the --out folder of `respond evaluate`",
                              code="table.not_found", file=str(folder))
    tables = {name: read_run_table(folder, name, required=True, hint="run `respond evaluate` first")
              for name in RESPONSE_TABLES}
    run = read_run_info(folder, required=True)
    criteria = []
    for entry in run.get("criteria", []):
        config = entry.get("config", {})
        if "endpoints" not in config:
            raise ConfigError(f"criteria {entry.get('id')} in run.json has no 'endpoints' section "
                              "(written by an older respond); run `respond evaluate` again",
                              code="config.missing_key", file=str(folder / "run.json"))
        c = load_criteria(config)
        criteria.append(dataclasses.replace(c, origin=entry.get("origin", c.origin)))
    return tables, criteria, dict(run.get("inputs", {}))


def _unchanged_input(entry: str, name: str, folder: Path | None) -> Path:
    """Path of an input recorded in run.json (``path sha256:hex``); refused when the file changed."""
    path = input_path(entry, folder)
    _, digest = parse_input_entry(entry)
    if path is None:
        raise InputTableError(f"run.json names no file for the {name} table (it was a DataFrame); pass it",
                              code="table.not_found")
    if not path.is_file():
        raise InputTableError(f"{name} table of the run not found; pass it explicitly",
                              code="table.not_found", file=str(path))
    if digest and file_sha256(path) != digest:
        raise InputTableError(f"{name} table changed since the run (SHA-256 differs); pass it explicitly "
                              "or run `respond evaluate` again", code="table.changed", file=str(path))
    return path
