"""Cohort throughput of ``respond assess``: patients per minute with 1 and 2 workers, time per stage.

Usage (from the repository root, in the project's virtualenv)::

    python benchmarks/bench_assess.py                 # 24 patients at 3 mm (the demo's scans)
    python benchmarks/bench_assess.py --patients 8 --spacing 2

The cohort is generated once (respond.testing.cohort: MR-like heads, 3-5
scans each, small head motion); each run starts from an empty output folder
(no resume), without the HTML report. Runs go 1, 2, 2, 1 workers and the
faster of each pair counts, so that warm-up and order do not bias the ratio.

Each run's wall time is split into the patients' batch (the per-patient
jobs, which the workers share) and the cohort-level work after it (criteria,
endpoints, the study-outcome analysis, writing the tables), which one
process does whatever the number of workers; the batch is timed by wrapping
``respond.pipeline.assess._run_patients`` (measurement only: nothing else is
changed).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import importlib

import respond
from respond.testing.cohort import write_cohort

assess_module = importlib.import_module("respond.pipeline.assess")  # the module (the package re-exports the function)

_batch_seconds: list[float] = []
_run_patients = assess_module._run_patients


def _timed_run_patients(*args, **kwargs):
    started = time.perf_counter()
    try:
        return _run_patients(*args, **kwargs)
    finally:
        _batch_seconds.append(time.perf_counter() - started)


assess_module._run_patients = _timed_run_patients


def run(manifest: Path, patients: Path, out: Path, workers: int) -> tuple[float, float, dict]:
    """Wall seconds of the whole assessment and of its patients' batch, and the run's ``run_info``."""
    started = time.perf_counter()
    result = respond.assess(manifest, out=out, patients=patients, workers=workers, report=False, progress=False)
    seconds = time.perf_counter() - started
    assert result.n_failed == 0, result.failures
    return seconds, _batch_seconds[-1], result.run_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--spacing", type=float, default=3.0, help="voxel size of the scans, mm")
    parser.add_argument("--pair-seconds", type=float, default=None,
                        help="seconds per registration to project with (e.g. a 256×256×180 pair from "
                             "bench_registration.py); default: this run's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        files = write_cohort(folder / "in", args.patients, spacing_mm=args.spacing)
        n_scans = sum(1 for _ in open(files.manifest)) - 1
        print(f"cohort: {args.patients} patients, {n_scans} scans at {args.spacing:g} mm "
              f"(generated in {time.perf_counter() - t0:.1f} s)")
        results: dict[int, tuple[float, float, dict]] = {}
        for i, workers in enumerate((1, 2, 2, 1)):  # both orders: the faster run of each counts
            seconds, batch, info = run(files.manifest, files.patients, folder / f"out{i}", workers)
            print(f"workers={workers}: {seconds:.1f} s, {60 * args.patients / seconds:.1f} patients/min "
                  f"(patients' batch {batch:.1f} s, cohort-level work {seconds - batch:.1f} s)")
            if workers not in results or seconds < results[workers][0]:
                results[workers] = (seconds, batch, info)
        print(f"speed-up with 2 workers: {results[1][0] / results[2][0]:.2f}x end to end, "
              f"{results[1][1] / results[2][1]:.2f}x on the patients' batch")
        stages = results[1][2]["stage_seconds"]
        total = sum(stages.values())
        wall, batch = results[1][0], results[1][1]
        print("time per stage (workers=1, summed over patients):")
        for stage, seconds in stages.items():
            print(f"  {stage:<20} {seconds:7.1f} s  {100 * seconds / total:5.1f} %")
        print(f"  {'batch, outside them':<20} {max(0.0, batch - total):7.1f} s  (process start, passing results)")
        print(f"  {'cohort-level work':<20} {wall - batch:7.1f} s  of {wall:.1f} s wall")
        pairs = n_scans - args.patients
        project(stages, batch, wall - batch, args.patients, n_scans, pairs, results[2][1], args.pair_seconds)


def project(stages: dict, batch_1: float, cohort_s: float, patients: int, scans: int, pairs: int,
            batch_2: float, pair_seconds: float | None) -> None:
    """Projected wall time of a 300-patient, 5-scan cohort, here (1 and 2 workers) and on 32 Dask workers.

    Assumptions: each patient is one single-threaded job (as the batch runs it); a patient's time is
    its registrations (4 pairs for 5 scans) + its other per-scan work + a fixed per-patient cost
    (process start, passing its results back), all from this run's 1-worker batch; 2 workers share
    the batch with this run's measured batch speed-up; the cohort-level work after the batch is
    taken as this run's (it grows slowly with the cohort: most of it is the study-outcome models,
    one fit per endpoint, group and covariate, and bench_criteria_scale.py runs the criteria and
    endpoints of 10,000 patients in about 14 s); on the cluster every worker has a core of
    this machine's speed and reads the scans from shared storage at the speed this machine reads
    them locally, and 300 patients on 32 workers run in ceil(300 / 32) = 10 waves.
    """
    register = stages.get("register", 0.0)
    per_pair = register / max(pairs, 1) if pair_seconds is None else pair_seconds
    per_scan = (sum(stages.values()) - register) / scans
    per_patient_fixed = max(0.0, batch_1 - sum(stages.values())) / patients
    patient = 4 * per_pair + 5 * per_scan + per_patient_fixed
    cohort_work = cohort_s
    speedup_2 = batch_1 / batch_2
    source = "this run's scans" if pair_seconds is None else f"{pair_seconds:g} s per pair (--pair-seconds)"
    print(f"projection, 300 patients × 5 scans ({source}: {per_pair:.2f} s per registration, "
          f"{per_scan:.2f} s other work per scan, {per_patient_fixed:.2f} s per patient to start and return "
          f"→ {patient:.1f} s per patient on one worker; cohort-level work {cohort_work:.0f} s as here):")
    print(f"  this machine, 1 worker:  {(300 * patient + cohort_work) / 60:6.1f} min")
    print(f"  this machine, 2 workers: {(300 * patient / speedup_2 + cohort_work) / 60:6.1f} min "
          f"(measured batch speed-up {speedup_2:.2f}x)")
    waves = -(-300 // 32)
    print(f"  32-worker Dask cluster:  {(waves * patient + cohort_work) / 60:6.1f} min ({waves} waves of "
          f"{patient:.1f} s; one core per worker of this machine's speed, scans on shared storage)")


if __name__ == "__main__":
    main()
