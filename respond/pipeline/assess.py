"""``respond.assess``: masks → tracked lesion table → responses → endpoints → report, for a cohort.

Each patient's imaging work (reading, registration, tracking, measurement)
runs in its own worker process (:mod:`respond.batch`): a crash, a hang or a
corrupt file costs that patient only, who is listed in ``failures``. The
criteria, endpoints and report then run once on the whole cohort, so the
aggregate tables are always rebuilt from the per-patient results, never
appended in place. With ``resume``, patients whose inputs, options and
respond version are unchanged (by content hash) are taken from the previous
run's store in ``OUT/.respond-cache`` (data only, validated on load:
:mod:`respond.pipeline.cache`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Final, Iterable

import pandas as pd

from respond import __version__
from respond.batch import Job, require_executor, run_jobs
from respond.errors import InputTableError, failure_row
from respond.io.lesion_table import TableSource, load_table, read_clinical_table
from respond.pipeline.cache import decode_patient_result, encode_patient_result
from respond.pipeline.options import BatchOptions, ImagingOptions, ManifestOptions, split_keywords
from respond.io.writers import path_sha256
from respond.pipeline.provenance import assessment_run_info
from respond.results import Assessment
from respond.tables import (BEST_RESPONSE, FAILURES, LESIONS, MANIFEST, MATCHES, REGISTRATIONS, SCANS, TARGETS,
                            TIMEPOINTS, WARNINGS)

#: Manifest columns that carry clinical data for RANO-BM.
CLINICAL_COLUMNS: Final = ("steroid_dose_mg", "clinical_status")
#: Folder of the per-patient result store inside the output folder.
CACHE_DIR: Final = ".respond-cache"
#: The worker function of one patient.
PATIENT_JOB: Final = "respond.pipeline.patient:run_patient"
#: Per-patient tables a worker returns.
PATIENT_TABLES: Final = ("lesions", "matches", "registrations", "scans", "warnings")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _manifest_clinical(path_or_frame: TableSource) -> pd.DataFrame | None:
    """The clinical columns of the manifest as a clinical table (None when it has none).

    Rows keep the manifest's line numbers (header = line 1) as their index, so that a problem is
    reported with the row of the manifest.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        raw = path_or_frame.copy()
    else:
        cells = load_table(path_or_frame, MANIFEST)[0]  # the one table reader: malformed rows refused
        raw = cells.drop(columns="_row")
        raw.index = list(cells["_row"])
    raw.columns = [str(c).strip() for c in raw.columns]
    present = [c for c in CLINICAL_COLUMNS if c in raw.columns]
    if not present:
        return None
    frame = raw[["patient_id", "date", *present]]
    values = frame[present].astype(str).apply(lambda col: col.str.strip())
    frame = frame[(values != "").any(axis=1)]
    return frame if len(frame) else None


def _clinical_source(manifest: TableSource, clinical: TableSource | None) -> TableSource | None:
    """The clinical table: given, or the manifest's clinical columns (not both); validated before any imaging."""
    manifest_clinical = _manifest_clinical(manifest)
    if manifest_clinical is not None and clinical is not None:
        raise InputTableError("clinical data given twice: in the manifest columns "
                              f"({', '.join(CLINICAL_COLUMNS)}) and in a clinical table; give them once",
                              code="table.clinical_twice", file=str(clinical))
    source = clinical if clinical is not None else manifest_clinical
    if source is not None:
        read_clinical_table(source)  # a malformed table stops here, before any imaging work
    return source


def _without(table: TableSource | None, patients: set[str]) -> TableSource | None:
    """The manifest's clinical rows without the ``patients`` the manifest excluded (their problems are
    already reported once, with the manifest's row). A separate clinical table is kept whole."""
    if not isinstance(table, pd.DataFrame) or not patients:
        return table
    return table[~table["patient_id"].astype(str).str.strip().isin(patients)]


def _clear_partial_files(folder: Path) -> None:
    """Remove temporary files a killed run left behind (never a finished output)."""
    for pattern in (".*.part", "parquet/.*.part", "transforms/.*.tfm", f"{CACHE_DIR}/.*.part"):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)


def _optional_path(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _jobs(manifest, options: dict[str, Any], transforms_dir: Path | None,
          ) -> tuple[list[Job], dict[tuple[str, str], tuple[str | None, str | None]]]:
    """One job per patient, and the content hashes (mask, image) of every scan by (patient, date).

    Each file is hashed once: the hashes make the patients' resume keys and go into ``run.json``.
    """
    jobs = []
    hashes: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for pid in manifest.patients:
        records = [{"patient_id": pid, "date": r["date"], "mask": str(r["mask"]), "image": _optional_path(r["image"]),
                    "organ": r["organ"], "_row": r["_row"]} for r in manifest.scans(pid).to_dict("records")]
        for r in records:
            hashes[(pid, str(r["date"]))] = (path_sha256(r["mask"]), path_sha256(r["image"]))
        identity = {
            "respond": __version__, "patient_id": pid, "options": options,
            "scans": [[str(r["date"]), r["organ"], *hashes[(pid, str(r["date"]))]] for r in records],
        }
        key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
        payload = {"patient_id": pid, "scans": records, "options": options, "manifest": manifest.source,
                   "transforms_dir": None if transforms_dir is None else str(transforms_dir)}
        jobs.append(Job(pid, PATIENT_JOB, payload, key, cost=sum(_bytes(r["image"] or r["mask"]) for r in records)))
    return jobs, hashes


def _bytes(path: str) -> int:
    """Size of a scan's file, or of the files directly in its DICOM folder, in bytes (0 when unreadable).

    The cost by which the batch orders patients, largest first.
    """
    try:
        if os.path.isdir(path):
            return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
        return os.path.getsize(path)
    except OSError:
        return 0


def assess(
    manifest: TableSource,
    *,
    out: str | os.PathLike | None = None,
    clinical: TableSource | None = None,
    patients: TableSource | None = None,
    adjudications: TableSource | None = None,
    criteria: Iterable | str | None = None,
    config: Iterable | str | None = None,
    treatments: TableSource | None = None,
    imaging: ImagingOptions | None = None,
    batch: BatchOptions | None = None,
    reading: ManifestOptions | None = None,
    report: bool = True,
    **options: Any,
) -> Assessment:
    """Assess every patient of a manifest (one row per scan: ``patient_id, date, mask``
    and optional ``image, organ, steroid_dose_mg, clinical_status``).

    ``clinical`` may instead hold the clinical columns (not both).
    ``patients``: ``patient_id, treatment_start`` and optional ``last_followup,
    death_date``. ``imaging`` (:class:`ImagingOptions`: lesions, transform,
    ``allow_*``), ``batch`` (:class:`BatchOptions`: workers, executor,
    scheduler, timeout_s, resume, retry_failed, progress) and ``reading``
    (:class:`ManifestOptions`: organ, allow_outside_paths) group the options;
    each field may also be given as a keyword (``workers=2``,
    ``allow_float_mask=True``; ``allow_outside`` is the older spelling of
    ``allow_outside_paths``). With ``out``, every table, ``run.json`` and
    (unless ``report=False``) ``report.html`` / ``responses.xlsx`` are written there.
    ``treatments`` (or clinical columns in ``patients``): the study-outcome
    tables are written too (:mod:`respond.pipeline.outcomes`).
    """
    from respond.config import resolve_criteria
    from respond.tracking.manifest import read_manifest

    started = _now()
    imaging, batch, reading = split_keywords(options, imaging=imaging, batch=batch, manifest=reading)
    require_executor(batch.executor)  # a missing optional dependency stops before any work
    chosen = resolve_criteria(criteria, config)  # a bad configuration stops before any work
    scans = read_manifest(manifest, organ=reading.organ, allow_outside=reading.allow_outside_paths)
    clinical_source = _clinical_source(manifest, clinical)
    out_dir = Path(out) if out is not None else None
    if out_dir is not None and out_dir.is_dir():
        _clear_partial_files(out_dir)
    outcomes, hashes = _run_patients(scans, imaging, batch, out_dir)
    parts, failures, stage_seconds = _collect(outcomes, scans)
    parts["warnings"].insert(0, _duplicate_masks(scans, hashes))
    clinical_source = _without(clinical_source, {e.patient_id for e in scans.failures})  # reported once, above
    evaluation = _evaluate(parts, failures, stage_seconds, chosen, clinical_source, patients, adjudications)
    result = _assessment(evaluation, parts, failures, scans, stage_seconds)
    result.run_info = assessment_run_info(
        result, criteria=chosen, options=imaging.as_dict(), outcomes=outcomes, started=started, finished=_now(),
        hashes=hashes, sources={"manifest": manifest, "clinical": clinical, "patients": patients,
                                "adjudications": adjudications, "treatments": treatments})
    if out_dir is not None:
        _write_outputs(out_dir, result, report=report, patients=patients, treatments=treatments)
    return result


def _write_outputs(out_dir: Path, result: Assessment, *, report: bool, patients, treatments) -> None:
    """Write every table and run.json, the study-outcome tables, then (unless ``report`` is false) the report."""
    from respond.pipeline.outcomes import outcomes_after_run

    result.write(out_dir)
    outcomes_after_run(out_dir, result, patients=patients, treatments=treatments)
    if report and len(result.best_response):
        from respond.report import write_report

        write_report(out_dir)


def _run_patients(scans, imaging: ImagingOptions, batch: BatchOptions, out_dir: Path | None):
    """Each patient's imaging work in its own worker; the outcomes and the scans' content hashes."""
    jobs, hashes = _jobs(scans, imaging.as_dict(), out_dir / "transforms" if out_dir is not None else None)
    outcomes = run_jobs(jobs, workers=batch.workers, timeout_s=batch.timeout_s,
                        cache_dir=out_dir / CACHE_DIR if out_dir is not None else None, resume=batch.resume,
                        retry_failed=batch.retry_failed, executor=batch.executor, scheduler=batch.scheduler,
                        progress=batch.progress, encode=encode_patient_result, decode=decode_patient_result)
    return outcomes, hashes


def _collect(outcomes, scans) -> tuple[dict[str, list[pd.DataFrame]], list[dict], dict[str, float]]:
    """The per-patient tables, the failure rows (manifest and patients) and the seconds per stage."""
    failures = [failure_row(e, stage="manifest") for e in scans.failures]
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in PATIENT_TABLES}
    stage_seconds: dict[str, float] = {}
    for outcome in outcomes:
        if not outcome.ok:
            failures.append({"patient_id": outcome.patient_id, **outcome.failure})
            continue
        value = outcome.value
        for name in parts:
            if name in value:  # scans and warnings: absent from results stored before they existed
                parts[name].append(value[name])
        failures.extend(value["failures"].to_dict("records"))
        for stage, seconds in value["seconds"].items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
    return parts, failures, stage_seconds


def _evaluate(parts, failures, stage_seconds, chosen, clinical, patients, adjudications):
    """The criteria and endpoints over the lesion table of the patients whose imaging succeeded (None if none)."""
    from respond.pipeline.evaluate import evaluate

    filled = [frame for frame in parts["lesions"] if len(frame)]
    lesion_table = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    failed_imaging = {f["patient_id"] for f in failures}
    t0 = time.perf_counter()
    evaluation = None
    if len(lesion_table):
        lesion_table = lesion_table[~lesion_table["patient_id"].isin(failed_imaging)]
        evaluation = evaluate(lesion_table, clinical=clinical, criteria=chosen, patients=patients,
                              adjudications=adjudications, scans=_imaged_scans(parts["scans"], failed_imaging))
    stage_seconds["evaluate"] = time.perf_counter() - t0
    return evaluation


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty


def _scan_table(scans, tracked: pd.DataFrame) -> pd.DataFrame:
    """The manifest as used, with absolute paths, the SCANS columns first (region and lesion_count from
    tracking; 0 = imaged, nothing found), then the manifest's own columns (mask, image, organ)."""
    table = scans.frame.drop(columns="_row").copy()
    for column in ("mask", "image"):
        table[column] = table[column].map(lambda p: None if _optional_path(p) is None else str(Path(p).resolve()))
    counts = tracked[["patient_id", "date", "region", "lesion_count"]].drop_duplicates(["patient_id", "date"])
    merged = table.merge(counts, on=["patient_id", "date"], how="left")
    merged["lesion_count"] = merged["lesion_count"].astype("Int64")
    return SCANS.conform(merged)


def _imaged_scans(frames: list[pd.DataFrame], failed: set) -> pd.DataFrame | None:
    """The tracked scans (SCANS rows with a known region) for the criteria: a scan with lesion_count 0 is
    "imaged, nothing found", so an empty baseline stays the baseline; None when no region is known."""
    table = _concat(frames, SCANS.empty())
    table = table[table["region"].notna() & ~table["patient_id"].isin(failed)].copy()
    if table.empty:
        return None
    table["date"] = table["date"].map(lambda d: d.isoformat() if hasattr(d, "isoformat") else d)
    return SCANS.conform(table, keep_extra=False)


def _duplicate_masks(scans, hashes) -> pd.DataFrame:
    """Warnings for masks with the same content at two dates or for two patients (from the scans' hashes)."""
    from respond.tracking.manifest import duplicate_mask_warnings

    rows = duplicate_mask_warnings(scans.frame, {key: value[0] for key, value in hashes.items()})
    return WARNINGS.conform(pd.DataFrame(rows), keep_extra=False) if rows else WARNINGS.empty()


def _warnings(evaluation, parts) -> pd.DataFrame | None:
    """The imaging warnings (empty masks, duplicate masks) followed by the criteria's warnings."""
    imaging = _concat(parts["warnings"], WARNINGS.empty())
    criteria = getattr(evaluation, "warnings", None) if evaluation is not None else None
    frames = [f for f in (imaging, criteria) if isinstance(f, pd.DataFrame) and len(f)]
    if not frames:
        return criteria if isinstance(criteria, pd.DataFrame) else None
    return WARNINGS.conform(pd.concat(frames, ignore_index=True), keep_extra=False)


def _assessment(evaluation, parts, failures, scans, stage_seconds) -> Assessment:
    tables: dict[str, pd.DataFrame | None] = {}
    if evaluation is not None:
        tables["lesions"] = evaluation.lesions
        for name in ("timepoints", "best_response", "targets", "events", "summary", "agreement", "warnings"):
            value = getattr(evaluation, name, None)
            tables[name] = value if isinstance(value, pd.DataFrame) else None
        failures = failures + evaluation.failures.to_dict("records")
    else:
        tables.update(lesions=LESIONS.empty(), timepoints=TIMEPOINTS.empty(), best_response=BEST_RESPONSE.empty(),
                      targets=TARGETS.empty())
    tables["warnings"] = _warnings(evaluation, parts)
    return Assessment(
        **tables,
        matches=_concat(parts["matches"], MATCHES.empty()),
        registrations=_concat(parts["registrations"], REGISTRATIONS.empty()),
        failures=FAILURES.conform(pd.DataFrame(failures), keep_extra=False) if failures else FAILURES.empty(),
        scans=_scan_table(scans, _concat(parts["scans"], SCANS.empty())),
        stage_seconds=stage_seconds,
    )
