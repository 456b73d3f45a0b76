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


if __name__ == "__main__":
    main()
