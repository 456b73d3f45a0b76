"""The ``evaluate`` application service: read the tables, apply the criteria, compute the endpoints.

>>> import respond
>>> result = respond.evaluate("lesions.csv", clinical="clinical.csv")   # doctest: +SKIP
>>> result.best_response                                                 # doctest: +SKIP

The rules live in :mod:`respond.criteria` (pure: DataFrames in, tables out)
and :mod:`respond.endpoints`; this module wires them to the table readers
(:mod:`respond.io`) and records the run's provenance.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from respond.config import Criteria, resolve_criteria
from respond.criteria import Evaluation
from respond.criteria.cohort import apply_criteria, frame_of
from respond.errors import RespondError
from respond.io.lesion_table import (
    TableSource,
    read_clinical_table,
    read_lesion_table,
    read_patients_table,
    read_scans_table,
)
from respond.io.writers import describe_inputs
from respond.tables import FAILURES

CriteriaSpec = str | Path | Criteria


def failure_rows(errors: Sequence[RespondError], stage: str) -> list[dict]:
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


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def evaluate(
    lesions: TableSource,
    clinical: TableSource | None = None,
    criteria: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    config: Iterable[CriteriaSpec] | CriteriaSpec | None = None,
    *,
    patients: TableSource | None = None,
    adjudications: TableSource | None = None,
    scans: TableSource | None = None,
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
        the imaging call of lesion local control (:mod:`respond.endpoints.local_control`);
        a lesion's change adjudicated ``radionecrosis`` or ``pseudoprogression`` does not make
        its timepoint PD (the call before it stays in ``overall_response_unadjudicated``).
    scans:
        Optional scans table (``patient_id, date, region`` and optional ``visit, lesion_count``):
        what was imaged when. A lesion in a region not imaged at a visit is not evaluated there;
        ``lesion_count`` 0 says the region was imaged and nothing was found.

    Returns
    -------
    Evaluation
        ``.timepoints``, ``.best_response``, ``.targets``, ``.failures``, ``.warnings``,
        ``.events``, ``.summary``, ``.agreement``.
    """
    started = _now()
    chosen = resolve_criteria(criteria, config)
    node_organs = sorted({o for c in chosen for o in c.scope.node_organs})
    lesion_read = read_lesion_table(lesions, node_organs=node_organs)
    clinical_read = read_clinical_table(clinical) if clinical is not None else None
    patients_read = read_patients_table(patients) if patients is not None else None
    scans_read = read_scans_table(scans) if scans is not None else None
    adjudications_read = None
    if adjudications is not None:
        from respond.endpoints.adjudications import read_adjudications_table
        adjudications_read = read_adjudications_table(adjudications, lesions=lesion_read.frame)

    failures = failure_rows(lesion_read.failures, "read")
    for read in (clinical_read, patients_read, scans_read, adjudications_read):
        if read is not None:
            failures += failure_rows(read.failures, "read")
    failed = {f["patient_id"] for f in failures}

    starts = {}
    if patients_read is not None:
        starts = dict(zip(patients_read.frame["patient_id"], patients_read.frame["treatment_start"]))
    tables = apply_criteria(lesion_read.frame, chosen, clinical=clinical_read.frame if clinical_read else None,
                            treatment_starts=starts, skip=failed,
                            scans=scans_read.frame if scans_read is not None else None,
                            adjudications=adjudications_read.frame if adjudications_read is not None else None)
    failures += failure_rows(tables.failures, "evaluate")

    from respond.endpoints import compute_endpoints
    endpoint_tables = {"patients": patients_read.frame if patients_read is not None else None,
                       "adjudications": adjudications_read.frame if adjudications_read is not None else None}
    endpoints = compute_endpoints(
        chosen, lesions=lesion_read.frame, timepoints=tables.timepoints, best_response=tables.best_response,
        targets=tables.targets,
        sources={k: _source_name(v) for k, v in (("lesions", lesions), ("patients", patients)) if v is not None},
        **endpoint_tables)
    failures += endpoints.failures.to_dict("records")

    finished = _now()
    inputs = describe_inputs({"lesions": lesions, "clinical": clinical, "patients": patients,
                              "adjudications": adjudications, "scans": scans})
    return Evaluation(
        timepoints=tables.timepoints, best_response=tables.best_response, targets=tables.targets,
        failures=frame_of(failures, FAILURES.names), warnings=tables.warnings,
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
    scans: TableSource | None = None,
) -> Evaluation:
    """Apply the criteria to CDISC SDTM tumour domains (TU, TR; CSV or .xpt).

    One assessment stream per subject and evaluator (see
    :func:`respond.io.sdtm.read_sdtm`). With RS, ``result.extra["rs_comparison"]``
    lists respond's overall response next to the recorded one at every visit.
    """
    from respond.io.sdtm import compare_with_recorded, read_sdtm

    read = read_sdtm(tu, tr, rs, evaluator=evaluator)
    result = evaluate(read.lesions, clinical=clinical, criteria=criteria, config=config, patients=patients,
                      scans=scans)
    sdtm_failures = frame_of(failure_rows(read.failures, "read"), FAILURES.names)
    result.failures = pd.concat([sdtm_failures, result.failures], ignore_index=True)
    given = {key: value for key, value in result.inputs.items() if key != "lesions"}  # clinical, patients
    result.inputs = {**describe_inputs({"tu": tu, "tr": tr, "rs": rs}), **given}
    if rs is not None:
        result.extra["rs_comparison"] = compare_with_recorded(result.timepoints, read.recorded, result.lesions)
    return result
