"""The criteria engine: RECIST 1.1 and RANO-BM responses from a lesion table.

>>> import respond
>>> result = respond.evaluate("lesions.csv", clinical="clinical.csv")   # doctest: +SKIP
>>> result.best_response                                                 # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from respond.config import DEFAULT_CRITERIA, Criteria, load_criteria
from respond.criteria.patient import PatientAssessment, assess_patient
from respond.errors import RespondError
from respond.io.lesion_table import (
    ReadResult,
    TableSource,
    read_clinical_table,
    read_lesion_table,
    read_patients_table,
)
from respond.io.writers import describe_inputs
from respond.results import Evaluation  # re-exported: respond.criteria.Evaluation keeps working
from respond.results import library_versions as _library_versions  # noqa: F401 - used by older callers
from respond.tables import BEST_RESPONSE, FAILURES, TARGETS, TIMEPOINTS

CriteriaSpec = str | Path | Criteria


def _resolve_criteria(criteria: Iterable[CriteriaSpec] | CriteriaSpec | None,
                      config: Iterable[CriteriaSpec] | CriteriaSpec | None) -> list[Criteria]:
    def as_list(x):
        if x is None:
            return []
        if isinstance(x, (str, Path, Criteria)):
            return [x]
        return list(x)

    specs = as_list(criteria) + as_list(config)
    if not specs:
        specs = list(DEFAULT_CRITERIA)
    loaded = [load_criteria(s) for s in specs]
    ids = [c.id for c in loaded]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        from respond.errors import ConfigError
        raise ConfigError(f"criteria id(s) {', '.join(dup)} given twice; give each criteria a distinct 'id'",
                          code="config.duplicate_id")
    return loaded


def _failure_rows(errors: Sequence[RespondError], stage: str) -> list[dict]:
    """One failures row per patient (all its problems in the message)."""
    by_patient: dict[Any, list[RespondError]] = {}
    for e in errors:
        by_patient.setdefault(e.patient_id, []).append(e)
    rows = []
    for pid, errs in by_patient.items():
        message = " | ".join(str(e) for e in errs)
        rows.append({"patient_id": pid, "stage": stage, "error_code": errs[0].code, "message": message})
    return rows


def _source_name(source: TableSource | None) -> str | None:
    if source is None:
        return None
    return "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)


def evaluate(
    lesions: TableSource,
    clinical: TableSource | None = None,
    criteria: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    config: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    *,
    patients: TableSource | None = None,
    adjudications: TableSource | None = None,
) -> Evaluation:
    """Apply response criteria to a lesion table.

    Parameters
    ----------
    lesions:
        Lesion table (CSV path or DataFrame), one row per lesion per scan date.
    clinical:
        Optional clinical table (steroid dose in mg/day, clinical status) for RANO-BM.
    criteria:
        Preset ids (``"recist1.1"``, ``"rano-bm"``), YAML paths or :class:`Criteria`.
        Both presets when neither ``criteria`` nor ``config`` is given.
    config:
        Further criteria files (protocol variants), evaluated in addition.
    patients:
        Optional patients table; ``treatment_start`` is the origin of the minimum SD interval
        and of the endpoints; ``last_followup`` and ``death_date`` are used by iPFS.
    adjudications:
        Optional adjudication table (``patient_id, lesion_id, date, finding``) overriding
        the imaging call of lesion local control (:mod:`respond.endpoints.local_control`).

    Returns
    -------
    Evaluation
        ``.timepoints``, ``.best_response``, ``.targets``, ``.failures``, ``.warnings``,
        ``.events``, ``.summary``, ``.agreement``.
    """
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    chosen = _resolve_criteria(criteria, config)
    node_organs = sorted({o for c in chosen for o in c.scope.node_organs})
    lesion_read = read_lesion_table(lesions, node_organs=node_organs)
    clinical_read = read_clinical_table(clinical) if clinical is not None else None
    patients_read = read_patients_table(patients) if patients is not None else None
    adjudications_read = None
    if adjudications is not None:
        from respond.io.adjudications import read_adjudications_table
        adjudications_read = read_adjudications_table(adjudications, lesions=lesion_read.frame)

    failures = _failure_rows(lesion_read.failures, "read")
    for read in (clinical_read, patients_read, adjudications_read):
        if read is not None:
            failures += _failure_rows(read.failures, "read")
    failed = {f["patient_id"] for f in failures}

    clinical_by_patient = _group(clinical_read)
    starts = {}
    if patients_read is not None:
        starts = dict(zip(patients_read.frame["patient_id"], patients_read.frame["treatment_start"]))

    tables: dict[str, list[dict]] = {"targets": [], "timepoints": [], "best_response": [], "warnings": []}
    frame = lesion_read.frame
    for pid, rows in frame.groupby("patient_id", sort=True):
        if pid in failed:
            continue
        try:
            assessed = [(c, assess_patient(pid, rows, c, clinical=clinical_by_patient.get(pid),
                                           treatment_start=starts.get(pid)))
                        for c in chosen]
        except RespondError as exc:
            exc.patient_id = exc.patient_id or pid
            failures += _failure_rows([exc], "evaluate")
            continue
        for c, a in assessed:
            if a is not None:
                _collect(tables, pid, a, c)

    timepoints = _frame(tables["timepoints"], TIMEPOINTS.names)
    best_response = _frame(tables["best_response"], BEST_RESPONSE.names)
    targets = _frame(tables["targets"], TARGETS.names)
    from respond.endpoints import compute_endpoints
    endpoint_tables = {"patients": patients_read.frame if patients_read is not None else None,
                       "adjudications": adjudications_read.frame if adjudications_read is not None else None}
    endpoints = compute_endpoints(
        chosen, lesions=lesion_read.frame, timepoints=timepoints, best_response=best_response, targets=targets,
        sources={k: _source_name(v) for k, v in (("lesions", lesions), ("patients", patients)) if v is not None},
        **endpoint_tables)
    failures += endpoints.failures.to_dict("records")

    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    inputs = describe_inputs({"lesions": lesions, "clinical": clinical, "patients": patients,
                              "adjudications": adjudications})
    return Evaluation(
        timepoints=timepoints, best_response=best_response, targets=targets,
        failures=_frame(failures, FAILURES.names),
        warnings=_frame(tables["warnings"], ["patient_id", "criteria", "message"]),
        criteria=chosen, lesions=lesion_read.frame.drop(columns="_row"),
        inputs=inputs, started=started, finished=finished,
        events=endpoints.events, summary=endpoints.summary, agreement=endpoints.agreement,
        endpoint_tables=endpoint_tables,
    )


def evaluate_sdtm(
    tu: str | Path,
    tr: str | Path,
    rs: str | Path | None = None,
    *,
    clinical: TableSource | None = None,
    criteria: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    config: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    patients: TableSource | None = None,
    evaluator: str | None = None,
) -> Evaluation:
    """Apply the criteria to CDISC SDTM tumour domains (TU, TR; CSV or .xpt).

    One assessment stream per subject and evaluator (see
    :func:`respond.io.sdtm.read_sdtm`). With RS, ``result.extra["rs_comparison"]``
    lists respond's overall response next to the recorded one at every visit.
    """
    from respond.io.sdtm import compare_with_recorded, read_sdtm

    read = read_sdtm(tu, tr, rs, evaluator=evaluator)
    result = evaluate(read.lesions, clinical=clinical, criteria=criteria, config=config, patients=patients)
    sdtm_failures = _frame(_failure_rows(read.failures, "read"), FAILURES.names)
    result.failures = pd.concat([sdtm_failures, result.failures], ignore_index=True)
    given = {key: value for key, value in result.inputs.items() if key != "lesions"}  # clinical, patients
    result.inputs = {**describe_inputs({"tu": tu, "tr": tr, "rs": rs}), **given}
    if rs is not None:
        result.extra["rs_comparison"] = compare_with_recorded(result.timepoints, read.recorded, result.lesions)
    return result


def _group(read: ReadResult | None) -> dict[str, pd.DataFrame]:
    if read is None:
        return {}
    return {pid: rows.sort_values("date").reset_index(drop=True) for pid, rows in read.frame.groupby("patient_id")}


def _collect(tables: dict[str, list[dict]], pid: str, a: PatientAssessment, c: Criteria) -> None:
    for name, rows in (("targets", a.targets), ("timepoints", a.timepoints), ("best_response", [a.best])):
        for row in rows:
            tables[name].append({**row, "config_hash": c.short_hash})
    for message in a.warnings:
        tables["warnings"].append({"patient_id": pid, "criteria": c.id, "message": message})


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(object).where(frame.notna(), None)
