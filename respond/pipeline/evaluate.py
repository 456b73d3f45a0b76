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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from respond.config import Criteria, resolve_criteria
from respond.criteria import Evaluation
from respond.criteria.cohort import CriteriaTables, apply_criteria, frame_of
from respond.errors import failure_rows
from respond.io.lesion_table import (
    check_patient_ids,
    ReadResult,
    TableSource,
    read_clinical_table,
    read_lesion_table,
    read_patients_table,
    read_scans_table,
)
from respond.io.writers import describe_inputs
from respond.tables import FAILURES, WARNINGS

if TYPE_CHECKING:  # pragma: no cover
    from respond.endpoints.compute import EndpointResult

CriteriaSpec = str | Path | Criteria


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
    reads = _read_inputs(chosen, {"lesions": lesions, "clinical": clinical, "patients": patients,
                                  "adjudications": adjudications, "scans": scans})
    read_warnings, failures = _read_problems(reads)
    tables = _apply_criteria(chosen, reads, skip={f["patient_id"] for f in failures})
    failures += failure_rows(tables.failures, stage="evaluate")
    endpoints, endpoint_tables = _endpoints(chosen, reads, tables)
    failures += endpoints.failures.to_dict("records")
    finished = _now()
    return Evaluation(
        timepoints=tables.timepoints, best_response=tables.best_response, targets=tables.targets,
        failures=frame_of(failures, FAILURES.names), warnings=_all_warnings(read_warnings, tables.warnings),
        criteria=chosen, lesions=reads.lesions.frame.drop(columns="_row"),
        inputs=describe_inputs(reads.given), started=started, finished=finished,
        events=endpoints.events, summary=endpoints.summary, agreement=endpoints.agreement,
        endpoint_tables=endpoint_tables,
    )


@dataclass
class _Inputs:
    """The input tables of one evaluation as given (``given``: path, DataFrame or None, by table name) and as
    read and validated (None for a table not given)."""

    given: dict[str, TableSource | None]
    lesions: ReadResult
    clinical: ReadResult | None
    patients: ReadResult | None
    scans: ReadResult | None
    adjudications: ReadResult | None

    def frame(self, name: str) -> pd.DataFrame | None:
        """The validated rows of table ``name`` (None when it was not given)."""
        read = getattr(self, name)
        return read.frame if read is not None else None


def _read_inputs(chosen: list[Criteria], given: dict[str, TableSource | None]) -> _Inputs:
    """Read and validate the tables, the lesion table first (its node organs and reader-role columns come
    from the ``chosen`` criteria); adjudications are checked against the lesions read."""
    node_organs = sorted({o for c in chosen for o in c.scope.node_organs})
    lesion_read = read_lesion_table(given["lesions"], node_organs=node_organs, criteria_ids=[c.id for c in chosen])
    clinical_read = read_clinical_table(given["clinical"]) if given["clinical"] is not None else None
    patients_read = read_patients_table(given["patients"]) if given["patients"] is not None else None
    scans_read = read_scans_table(given["scans"]) if given["scans"] is not None else None
    adjudications_read = None
    if given["adjudications"] is not None:
        from respond.io.adjudications import read_adjudications_table
        adjudications_read = read_adjudications_table(given["adjudications"], lesions=lesion_read.frame)
    return _Inputs(given, lesion_read, clinical_read, patients_read, scans_read, adjudications_read)


def _read_problems(reads: _Inputs) -> tuple[list[dict], list[dict]]:
    """Warnings rows (the readers' own, then patient ids missing across tables) and failures rows (stage
    ``read``: one per patient and table) of reading the tables."""
    read_warnings = [w for r in (reads.lesions, reads.clinical, reads.patients) if r is not None for w in r.warnings]
    read_warnings += check_patient_ids(set(reads.lesions.frame["patient_id"]) | reads.lesions.failed_patients,
                                       {"clinical": reads.clinical, "patients": reads.patients})
    failures = failure_rows(reads.lesions.failures, stage="read")
    for read in (reads.clinical, reads.patients, reads.scans, reads.adjudications):
        if read is not None:
            failures += failure_rows(read.failures, stage="read")
    return read_warnings, failures


def _apply_criteria(chosen: list[Criteria], reads: _Inputs, *, skip: set) -> CriteriaTables:
    """The criteria tables of every patient not in ``skip`` (treatment start from the patients table)."""
    starts = {}
    if reads.patients is not None:
        starts = dict(zip(reads.patients.frame["patient_id"], reads.patients.frame["treatment_start"]))
    return apply_criteria(reads.lesions.frame, chosen, clinical=reads.frame("clinical"), treatment_starts=starts,
                          skip=skip, scans=reads.frame("scans"), adjudications=reads.frame("adjudications"))


def _endpoints(chosen: list[Criteria], reads: _Inputs, tables: CriteriaTables) -> tuple[EndpointResult, dict]:
    """The endpoints (:func:`respond.endpoints.compute_endpoints`) and the tables they were computed with."""
    from respond.endpoints import compute_endpoints

    endpoint_tables = {"patients": reads.frame("patients"), "adjudications": reads.frame("adjudications")}
    sources = {k: _source_name(reads.given[k]) for k in ("lesions", "patients") if reads.given[k] is not None}
    endpoints = compute_endpoints(
        chosen, lesions=reads.lesions.frame, timepoints=tables.timepoints, best_response=tables.best_response,
        targets=tables.targets, sources=sources, **endpoint_tables)
    return endpoints, endpoint_tables


def _all_warnings(read_warnings: list[dict], criteria_warnings: pd.DataFrame) -> pd.DataFrame:
    """The warnings table: those of reading the tables, then those of the criteria."""
    if not read_warnings:
        return criteria_warnings
    return pd.concat([frame_of(read_warnings, WARNINGS.names), criteria_warnings], ignore_index=True)


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
    sdtm_failures = frame_of(failure_rows(read.failures, stage="read"), FAILURES.names)
    result.failures = pd.concat([sdtm_failures, result.failures], ignore_index=True)
    given = {key: value for key, value in result.inputs.items() if key != "lesions"}  # clinical, patients
    result.inputs = {**describe_inputs({"tu": tu, "tr": tr, "rs": rs}), **given}
    if rs is not None:
        result.extra["rs_comparison"] = compare_with_recorded(result.timepoints, read.recorded, result.lesions)
    return result
