"""The study-outcomes service: read a run's tables, compute :mod:`respond.outcomes`, write the CSVs.

``respond outcomes RUN_DIR --out DIR`` and the ``--treatments`` option of
``respond evaluate`` / ``respond assess`` come here. Inputs:

- ``lesions.csv`` and ``events.csv`` of the run (or a result object's tables);
- the patients table: ``patients=`` if given, else ``RUN_DIR/patients.csv``,
  else the patients file recorded in ``RUN_DIR/run.json``;
- the treatments table: ``treatments=`` if given, else ``RUN_DIR/treatments.csv``,
  else the treatments file recorded in ``run.json``.

Both tables are validated (:mod:`respond.io.clinical_tables`); a patient with
a bad value is left out of the outcomes and listed in ``outcome_failures.csv``;
suspicious inputs (a KPS between tens, a treated lesion the lesion table does
not hold) are listed in ``outcome_warnings.csv``.
Written (atomically): ``indices.csv``, ``outcomes.csv``, ``cox.csv``,
``doses.csv``, ``cumulative_incidence.csv``, ``characteristics.csv``,
``patient_covariates.csv`` and ``outcomes.json`` (settings and inputs).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from respond.errors import InputTableError
from respond.io.clinical_tables import read_outcome_patients, read_treatments_table
from respond.io.lesion_table import TableSource
from respond.io.writers import describe_inputs, write_csv, write_json
from respond.outcomes import OutcomeResult, compute_outcomes
from respond.tables import FAILURES, PATIENTS

#: Columns of the patients table that only the outcomes use.
CLINICAL_PATIENT_COLUMNS = tuple(PATIENTS.names[4:])


def _recorded_input(folder: Path, key: str) -> Path | None:
    """The input file ``key`` recorded in ``folder/run.json`` or ``outcomes.json`` (None when absent or gone)."""
    for name in ("run.json", "outcomes.json"):
        info = folder / name
        if not info.is_file():
            continue
        given = (json.loads(info.read_text(encoding="utf-8")).get("inputs") or {}).get(key)
        if not given or given == "<DataFrame>":
            continue
        path = Path(str(given).split(" sha256:")[0])
        if path.is_file():
            return path
    return None


def _table_in(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / f"{name}.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return None
    # identifiers stay text: "001" is not 1
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"patient_id": str, "lesion_id": str})


def _run_tables(source: Any) -> tuple[dict[str, Any], Path | None]:
    """lesions / events (and patients / treatments sources) of a run folder, result or mapping."""
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise InputTableError("run folder not found; give the output folder of respond evaluate or assess",
                                  code="table.not_found", file=str(folder))
        tables = {name: _table_in(folder, name) for name in ("lesions", "events")}
        for name in ("patients", "treatments"):
            own = folder / f"{name}.csv"
            tables[name] = own if own.is_file() else _recorded_input(folder, name)
        return tables, folder
    if isinstance(source, dict):
        return dict(source), None
    tables = dict(getattr(source, "tables", {}) or {})
    for name in ("lesions", "events"):
        if isinstance(getattr(source, name, None), pd.DataFrame):
            tables.setdefault(name, getattr(source, name))
    patients = (getattr(source, "endpoint_tables", None) or {}).get("patients")
    if patients is not None:
        tables.setdefault("patients", patients)
    return tables, None


def run_outcomes(source: Any = None, *, patients: TableSource | None = None,
                 treatments: TableSource | None = None, config: Any = None,
                 covariates: Iterable[str] | None = None, out: str | Path | None = None) -> OutcomeResult:
    """Compute the outcome tables of a run folder / result / mapping of tables; write them to ``out``."""
    tables, _ = _run_tables(source)
    patients_source = patients if patients is not None else tables.get("patients")
    treatments_source = treatments if treatments is not None else tables.get("treatments")
    errors = []
    patients_frame = treatments_frame = None
    if patients_source is not None:
        read = read_outcome_patients(patients_source)
        patients_frame, errors = read.frame.drop(columns="_row", errors="ignore"), [*errors, *read.failures]
    if treatments_source is not None:
        read = read_treatments_table(treatments_source)
        treatments_frame, errors = read.frame.drop(columns="_row", errors="ignore"), [*errors, *read.failures]
    result = compute_outcomes(patients=patients_frame, treatments=treatments_frame, lesions=tables.get("lesions"),
                              events=tables.get("events"), config=config, covariates=covariates)
    if errors:
        rows = [{"stage": "outcomes", **e.as_record()} for e in errors]
        result.failures = FAILURES.conform(pd.concat([pd.DataFrame(rows), result.failures], ignore_index=True),
                                           keep_extra=False)
    if out is not None:
        write_outcomes(result, out, inputs={"patients": patients_source, "treatments": treatments_source})
    return result


def write_outcomes(result: OutcomeResult, out: str | Path, *, inputs: dict[str, Any] | None = None
                   ) -> dict[str, Path]:
    """Write every outcome table (and ``outcome_failures.csv`` when a patient was left out) into ``out``."""
    folder = Path(out)
    paths = {name: write_csv(frame, folder / f"{name}.csv") for name, frame in result.tables.items()}
    if len(result.failures):
        paths["outcome_failures"] = write_csv(result.failures, folder / "outcome_failures.csv")
    if len(result.warnings):
        paths["outcome_warnings"] = write_csv(result.warnings, folder / "outcome_warnings.csv")
    settings = result.settings
    described = describe_inputs({k: v for k, v in (inputs or {}).items() if isinstance(v, (str, Path, pd.DataFrame))})
    paths["outcomes_run"] = write_json({"config": getattr(settings, "origin", None),
                                        "config_hash": getattr(settings, "short_hash", None),
                                        "inputs": described}, folder / "outcomes.json")
    return paths


def wants_outcomes(patients: TableSource | None, treatments: TableSource | None) -> bool:
    """True when a run should write the outcome tables: a treatments table, or a patients table with
    at least one clinical column (age_years, sex, kps, …)."""
    if treatments is not None:
        return True
    if patients is None:
        return False
    if isinstance(patients, pd.DataFrame):
        columns = list(patients.columns)
    else:
        path = Path(patients)
        if not path.is_file():
            return False
        columns = list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    return any(str(c).strip() in CLINICAL_PATIENT_COLUMNS for c in columns)


def outcomes_after_run(out: str | Path, result: Any, *, patients: TableSource | None,
                       treatments: TableSource | None) -> OutcomeResult | None:
    """The hook at the end of ``evaluate`` / ``assess``: write the outcome tables when wanted."""
    if not wants_outcomes(patients, treatments):
        return None
    tables, _ = _run_tables(result)
    tables["patients"] = patients
    return run_outcomes(tables, treatments=treatments, out=out)
