"""End-to-end assessment of a cohort: masks → tracked lesion table → responses → endpoints → report.

>>> import respond
>>> result = respond.assess("manifest.csv", out="results/", patients="patients.csv")   # doctest: +SKIP
>>> result.best_response                                                                # doctest: +SKIP

Each patient's imaging work (reading, registration, tracking, measurement)
runs in its own worker process (:mod:`respond.batch`): a crash, a hang or a
corrupt file costs that patient only, who is listed in ``failures``. The
criteria, endpoints and report then run once on the whole cohort, so the
aggregate tables are always rebuilt from the per-patient results, never
appended in place. With ``resume``, patients whose inputs, options and
respond version are unchanged (by content hash) are taken from the previous
run's store in ``OUT/.respond-cache``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from respond import __version__
from respond.batch import Job, run_jobs
from respond.errors import InputTableError
from respond.io.lesion_table import TableSource, read_clinical_table
from respond.io.writers import describe_inputs, file_sha256, write_csv, write_json
from respond.tables import FAILURES, MATCHES, REGISTRATIONS

#: Manifest columns that carry clinical data for RANO-BM.
CLINICAL_COLUMNS = ("steroid_dose_mg", "clinical_status")
#: Folder of the per-patient result store inside the output folder.
CACHE_DIR = ".respond-cache"
#: The worker function of one patient.
PATIENT_JOB = "respond.pipeline.patient:run_patient"


@dataclass
class Assessment:
    """The tables of an assessment run, as DataFrames.

    ``lesions`` (the tracked, measured lesion table), ``matches``,
    ``registrations``, ``timepoints``, ``best_response``, ``targets``,
    ``events``, ``summary``, ``agreement``, ``warnings``, ``failures`` (one row
    per patient that could not be assessed: stage, error code, message), and
    ``scans`` (the manifest as used). ``stage_seconds`` sums the time spent
    per stage over all patients.
    """

    tables: dict[str, pd.DataFrame]
    run_info: dict[str, Any] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def n_failed(self) -> int:
        failures = self.tables["failures"]
        return int(failures["patient_id"].nunique()) if len(failures) else 0

    def write(self, out: str | Path, *, parquet: bool | None = None) -> dict[str, Path]:
        """Write every table as CSV (and Parquet when pyarrow is installed) plus ``run.json``."""
        out = Path(out)
        if parquet is None:
            try:
                import pyarrow  # noqa: F401
                parquet = True
            except ImportError:
                parquet = False
        paths = {}
        for name, frame in self.tables.items():
            paths[name] = write_csv(frame, out / f"{name}.csv")
            if parquet:
                _write_parquet(frame, out / "parquet" / f"{name}.parquet")
        paths["run"] = write_json(self.run_info, out / "run.json")
        return paths


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    from respond.io.writers import atomic_write

    text = frame.copy()
    for column in text.columns:  # mixed object columns (dates, blanks) as text: lossless and portable
        if text[column].dtype == object:
            text[column] = text[column].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v))
                                            else str(v))
    atomic_write(path, lambda tmp: text.to_parquet(tmp, index=False))


def _clear_partial_files(folder: Path) -> None:
    """Remove temporary files a killed run left behind (never a finished output)."""
    for pattern in (".*.part", "parquet/.*.part", "transforms/.*.tfm"):
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
    for path in (folder / CACHE_DIR).glob(".*.part"):
        path.unlink(missing_ok=True)


def _path_sha256(path: str | os.PathLike | None) -> str | None:
    """Content hash of a file, or of every file of a folder (DICOM series) in name order."""
    if path is None or (isinstance(path, float) and pd.isna(path)):
        return None
    p = Path(path)
    if p.is_dir():
        digest = hashlib.sha256()
        for child in sorted(x for x in p.rglob("*") if x.is_file()):
            digest.update(child.relative_to(p).as_posix().encode())
            digest.update(file_sha256(child).encode())
        return digest.hexdigest()
    return file_sha256(p) if p.is_file() else None


def _manifest_clinical(path_or_frame: TableSource) -> pd.DataFrame | None:
    """The clinical columns of the manifest as a clinical table (None when it has none)."""
    if isinstance(path_or_frame, pd.DataFrame):
        raw = path_or_frame.copy()
    else:
        raw = pd.read_csv(path_or_frame, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [str(c).strip() for c in raw.columns]
    present = [c for c in CLINICAL_COLUMNS if c in raw.columns]
    if not present:
        return None
    frame = raw[["patient_id", "date", *present]]
    values = frame[present].astype(str).apply(lambda col: col.str.strip())
    frame = frame[(values != "").any(axis=1)]
    return frame if len(frame) else None


def _jobs(manifest, options: dict[str, Any], transforms_dir: Path | None,
          ) -> tuple[list[Job], dict[tuple[str, str], tuple[str | None, str | None]]]:
    """One job per patient, and the content hashes (mask, image) of every scan by (patient, date).

    Each file is hashed once: the hashes make the patients' resume keys and go into ``run.json``.
    """
    jobs = []
    hashes: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for pid in manifest.patients:
        scans = manifest.scans(pid)
        records = [{"patient_id": pid, "date": r["date"], "mask": str(r["mask"]),
                    "image": None if r["image"] is None or (isinstance(r["image"], float) and pd.isna(r["image"]))
                    else str(r["image"]),
                    "organ": r["organ"], "_row": r["_row"]} for r in scans.to_dict("records")]
        for r in records:
            hashes[(pid, str(r["date"]))] = (_path_sha256(r["mask"]), _path_sha256(r["image"]))
        identity = {
            "respond": __version__, "patient_id": pid, "options": options,
            "scans": [[str(r["date"]), r["organ"], *hashes[(pid, str(r["date"]))]] for r in records],
        }
        key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
        payload = {"patient_id": pid, "scans": records, "options": options, "manifest": manifest.source,
                   "transforms_dir": None if transforms_dir is None else str(transforms_dir)}
        jobs.append(Job(pid, PATIENT_JOB, payload, key))
    return jobs, hashes


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
    lesions: str = "components",
    transform: str = "rigid",
    organ: str | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: Any = None,
    timeout_s: float | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    allow_outside: bool = False,
    allow_resample_mask: bool = False,
    allow_implausible: bool = False,
    allow_uneven_slices: bool = False,
    report: bool = True,
    progress: bool | None = None,
) -> Assessment:
    """Assess every patient of a manifest (one row per scan: ``patient_id, date, mask``
    and optional ``image, organ, steroid_dose_mg, clinical_status``).

    ``clinical`` may instead hold the clinical columns (not both).
    ``patients``: ``patient_id, treatment_start`` and optional ``last_followup,
    death_date``. ``workers`` processes (``executor="local"``) or a Dask
    cluster (``executor="dask"``, ``scheduler`` an address or a
    ``dask.distributed.Client``; a local cluster when None). ``timeout_s``:
    per-patient limit. With ``out``, every table, ``run.json`` and (unless
    ``report=False``) ``report.html`` / ``responses.xlsx`` are written there.
    ``treatments`` (or clinical columns in ``patients``): the study-outcome
    tables are written too (:mod:`respond.pipeline.outcomes`).
    """
    from respond.config import resolve_criteria
    from respond.pipeline.evaluate import evaluate
    from respond.lesions.manifest import read_manifest

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if lesions not in ("components", "labels"):
        raise ValueError(f"lesions must be 'components' or 'labels', got {lesions!r}")
    chosen = resolve_criteria(criteria, config)  # a bad configuration stops before any work
    scans = read_manifest(manifest, organ=organ, allow_outside=allow_outside)
    manifest_clinical = _manifest_clinical(manifest)
    if manifest_clinical is not None and clinical is not None:
        raise InputTableError("clinical data given twice: in the manifest columns "
                              f"({', '.join(CLINICAL_COLUMNS)}) and in a clinical table; give them once",
                              code="table.clinical_twice", file=str(clinical))
    clinical_source = clinical if clinical is not None else manifest_clinical
    if clinical_source is not None:
        read_clinical_table(clinical_source)  # a malformed table stops here, before any imaging work

    out_dir = Path(out) if out is not None else None
    cache = out_dir / CACHE_DIR if out_dir is not None else None
    if out_dir is not None and out_dir.is_dir():
        _clear_partial_files(out_dir)
    options = {"lesions": lesions, "transform": transform, "allow_resample_mask": allow_resample_mask,
               "allow_implausible": allow_implausible, "allow_uneven_slices": allow_uneven_slices}
    jobs, hashes = _jobs(scans, options, out_dir / "transforms" if out_dir is not None else None)
    outcomes = run_jobs(jobs, workers=workers, timeout_s=timeout_s, cache_dir=cache, resume=resume,
                        retry_failed=retry_failed, executor=executor, scheduler=scheduler, progress=progress)

    failures = [{"stage": "manifest", **e.as_record()} for e in scans.failures]
    parts: dict[str, list[pd.DataFrame]] = {"lesions": [], "matches": [], "registrations": []}
    stage_seconds: dict[str, float] = {}
    for outcome in outcomes:
        if not outcome.ok:
            failures.append({"patient_id": outcome.patient_id, **outcome.failure})
            continue
        value = outcome.value
        for name in parts:
            parts[name].append(value[name])
        failures.extend(value["failures"].to_dict("records"))
        for stage, seconds in value["seconds"].items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
    filled = [frame for frame in parts["lesions"] if len(frame)]
    lesion_table = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    failed_imaging = {f["patient_id"] for f in failures}

    t0 = time.perf_counter()
    if len(lesion_table):
        lesion_table = lesion_table[~lesion_table["patient_id"].isin(failed_imaging)]
        evaluation = evaluate(lesion_table, clinical=clinical_source, criteria=chosen, patients=patients,
                              adjudications=adjudications)
    else:
        evaluation = None
    stage_seconds["evaluate"] = time.perf_counter() - t0

    tables = _tables(evaluation, parts, failures, scans)
    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    result = Assessment(tables=tables, stage_seconds=stage_seconds)
    result.run_info = _run_info(result, chosen, manifest, clinical, patients, adjudications, options, outcomes,
                                started, finished, hashes)
    if out_dir is not None:
        result.write(out_dir)
        from respond.pipeline.outcomes import outcomes_after_run

        outcomes_after_run(out_dir, result, patients=patients, treatments=treatments)
        if report and len(result.tables["best_response"]):
            from respond.report import write_report

            write_report(out_dir)
    return result


def _tables(evaluation, parts, failures, scans) -> dict[str, pd.DataFrame]:
    def concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else empty

    tables: dict[str, pd.DataFrame] = {}
    if evaluation is not None:
        tables["lesions"] = evaluation.lesions
        for name in ("timepoints", "best_response", "targets", "events", "summary", "agreement", "warnings"):
            value = getattr(evaluation, name, None)
            if isinstance(value, pd.DataFrame):
                tables[name] = value
        failures = failures + evaluation.failures.to_dict("records")
    else:
        from respond.tables import BEST_RESPONSE, LESIONS, TARGETS, TIMEPOINTS

        tables.update(lesions=LESIONS.empty(), timepoints=TIMEPOINTS.empty(), best_response=BEST_RESPONSE.empty(),
                      targets=TARGETS.empty())
    tables["matches"] = concat(parts["matches"], MATCHES.empty())
    tables["registrations"] = concat(parts["registrations"], REGISTRATIONS.empty())
    tables["failures"] = FAILURES.conform(pd.DataFrame(failures), keep_extra=False) if failures else FAILURES.empty()
    scan_table = scans.frame.drop(columns="_row").copy()
    for column in ("mask", "image"):
        scan_table[column] = scan_table[column].map(lambda p: None if p is None or (isinstance(p, float) and pd.isna(p))
                                                    else str(Path(p).resolve()))
    tables["scans"] = scan_table
    return tables


def _run_info(result, chosen, manifest, clinical, patients, adjudications, options, outcomes, started, finished,
              hashes) -> dict[str, Any]:
    from respond.criteria import _library_versions

    inputs = describe_inputs({"manifest": manifest, "clinical": clinical, "patients": patients,
                              "adjudications": adjudications})
    scans = result.tables["scans"]
    return {
        "respond_version": __version__, "python": platform.python_version(), "libraries": _library_versions(),
        "started": started, "finished": finished,
        "criteria": [{"id": c.id, "name": c.name, "version": c.version, "origin": c.origin, "sha256": c.sha256,
                      "config": c.as_dict()} for c in chosen],
        "options": options, "inputs": inputs,
        "scans": {f"{r.patient_id} {r.date}": {"mask": r.mask, "mask_sha256": hashes[(r.patient_id, str(r.date))][0],
                                               "image": r.image,
                                               "image_sha256": hashes[(r.patient_id, str(r.date))][1]}
                  for r in scans.itertuples()},
        "counts": {
            "patients": len(outcomes) + len({f["patient_id"] for f in result.tables["failures"].to_dict("records")
                                              if f["stage"] == "manifest"}),
            "patients_assessed": int(result.tables["best_response"]["patient_id"].nunique())
            if len(result.tables["best_response"]) else 0,
            "patients_failed": result.n_failed,
            "patients_reused": sum(1 for o in outcomes if o.cached),
            "scans": len(scans),
        },
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
    }
