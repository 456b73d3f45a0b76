"""Cohort throughput of ``respond assess``: patients per minute with 1 and 2 workers, time per stage.

Usage (from the repository root, in the project's virtualenv)::

    python benchmarks/bench_assess.py                 # 8 patients at 3 mm (the demo's scans)
    python benchmarks/bench_assess.py --patients 16 --spacing 2

The cohort is generated once (respond.testing.cohort: MR-like heads, 3-5
scans each, small head motion); each run starts from an empty output folder
(no resume), without the HTML report. Runs go 1, 2, 2, 1 workers and the
faster of each pair counts, so that warm-up and order do not bias the ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import respond
from respond.testing.cohort import write_cohort


def run(manifest: Path, patients: Path, out: Path, workers: int) -> tuple[float, dict]:
    started = time.perf_counter()
    result = respond.assess(manifest, out=out, patients=patients, workers=workers, report=False, progress=False)
    seconds = time.perf_counter() - started
    assert result.n_failed == 0, result.failures
    return seconds, result.run_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=8)
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
        results: dict[int, tuple[float, dict]] = {}
        for i, workers in enumerate((1, 2, 2, 1)):  # both orders: the faster run of each counts
            seconds, info = run(files.manifest, files.patients, folder / f"out{i}", workers)
            print(f"workers={workers}: {seconds:.1f} s, {60 * args.patients / seconds:.1f} patients/min")
            if workers not in results or seconds < results[workers][0]:
                results[workers] = (seconds, info)
        speedup = results[1][0] / results[2][0]
        print(f"speed-up with 2 workers: {speedup:.2f}x")
        stages = results[1][1]["stage_seconds"]
        total = sum(stages.values())
        wall = results[1][0]
        print("time per stage (workers=1, summed over patients):")
        for stage, seconds in stages.items():
            print(f"  {stage:<20} {seconds:7.1f} s  {100 * seconds / total:5.1f} %")
        print(f"  {'outside the stages':<20} {max(0.0, wall - total):7.1f} s  of {wall:.1f} s wall (process start-up, tables)")
        pairs = n_scans - args.patients
        project(stages, wall, args.patients, n_scans, pairs, results[2][0], args.pair_seconds)


def project(stages: dict, wall_1: float, patients: int, scans: int, pairs: int, wall_2: float,
            pair_seconds: float | None) -> None:
    """Projected wall time of a 300-patient, 5-scan cohort, here (2 workers) and on 32 Dask workers.

    Assumptions: each patient is one single-threaded job (as the batch runs it); a patient's time is
    its registrations (4 pairs for 5 scans) + its other per-scan work + a fixed per-patient cost
    (process start-up, tables), all taken from this run's 1-worker figures; cohort-level work
    (criteria, endpoints, writing tables) is negligible (see the stage table); on the cluster every
    worker has a core of this machine's speed and reads the scans from shared storage at the speed
    this machine reads them locally; 300 patients on 32 workers run in ceil(300 / 32) = 10 waves.
    """
    register = stages.get("register", 0.0)
    per_pair = register / max(pairs, 1) if pair_seconds is None else pair_seconds
    per_scan = (sum(stages.values()) - register) / scans
    per_patient_fixed = max(0.0, wall_1 - sum(stages.values())) / patients
    patient = 4 * per_pair + 5 * per_scan + per_patient_fixed
    cohort_1 = 300 * patient
    speedup_2 = wall_1 / wall_2
    source = "this run's scans" if pair_seconds is None else f"{pair_seconds:g} s per pair (--pair-seconds)"
    print(f"projection, 300 patients × 5 scans ({source}: {per_pair:.2f} s per registration, "
          f"{per_scan:.2f} s other work per scan, {per_patient_fixed:.2f} s per patient outside the stages "
          f"→ {patient:.1f} s per patient on one worker):")
    print(f"  this machine, 1 worker:  {cohort_1 / 60:6.1f} min")
    print(f"  this machine, 2 workers: {cohort_1 / speedup_2 / 60:6.1f} min (measured speed-up {speedup_2:.2f}x)")
    waves = -(-300 // 32)
    print(f"  32-worker Dask cluster:  {waves * patient / 60:6.1f} min ({waves} waves of {patient:.1f} s; "
          "one core per worker of this machine's speed, scans on shared storage)")


if __name__ == "__main__":
    main()
