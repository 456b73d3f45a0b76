"""Registration time per scan pair on a 256×256×180 MR-like volume (1 mm), default settings.

Generates an MR-like head (respond.testing.series) with lesions, a follow-up
after a known rigid motion (rotation about three axes, up to 10°, shift up to
20 mm; one pair acquired sagittally), registers each follow-up to the baseline
with the default settings and reports, per pair: wall time, the error of the
recovered transform at the lesions (mm), and — measured in the same run, as a
yardstick for this machine's speed — the time to merely read the two images
from NIfTI.

    .venv/bin/python benchmarks/bench_registration.py [--threads 1] [--repeat 1] [--affine] [--legacy]

One thread is the batch setting (workers run ITK single-threaded for
reproducibility). ``--legacy`` also times the settings before the speed work
(Gaussian pyramid from the full grid, samples over the whole grid, 40,000
per level) in the same run, for before/after figures. CPU seconds are shown
next to wall seconds: on a shared machine the wall time of a single-threaded
job grows with the load, its CPU time much less.
"""
from __future__ import annotations

import argparse
import os
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from respond.registration import (
    RegistrationSettings,
    register_to_baseline,
    transform_error_mm,
)
from respond.testing.series import SAGITTAL, Piece, ScanSpec, make_series

SIZE = (256, 256, 180)
SPACING_MM = 1.0
MOTIONS = [  # (rotation about x, y, z in degrees, translation mm, direction)
    ((5.0, 0.0, 0.0), (5.0, -6.0, 3.0), None),
    ((0.0, 6.0, 8.0), (-12.0, 14.0, 8.0), SAGITTAL),
    ((-7.0, 0.0, 4.0), (10.0, 8.0, -9.0), None),
]


def _specs() -> list[ScanSpec]:
    day = dt.date(2024, 1, 10)
    lesions = {"A": (Piece((30.0, 20.0, 10.0), (10.0, 10.0, 10.0)),),
               "B": (Piece((-35.0, 10.0, -5.0), (7.0, 7.0, 7.0)),),
               "C": (Piece((10.0, -40.0, 20.0), (16.0, 9.0, 9.0)),)}
    specs = [ScanSpec(day, lesions)]
    for n, (rotation, translation, direction) in enumerate(MOTIONS, start=1):
        specs.append(ScanSpec(day + dt.timedelta(days=56 * n), lesions, rotation_deg=rotation,
                              translation_mm=translation, direction=direction or specs[0].direction))
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="SimpleITK threads (default 1, the batch setting)")
    parser.add_argument("--legacy", action="store_true", help="also time the settings before the speed work")
    parser.add_argument("--repeat", type=int, default=1, help="registrations per pair (median reported)")
    parser.add_argument("--affine", action="store_true", help="also time affine registration")
    args = parser.parse_args(argv)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)

    started = time.perf_counter()
    extent = tuple(s * SPACING_MM for s in SIZE)
    series = make_series(_specs(), extent_mm=extent, spacing_mm=SPACING_MM, anatomy_spacing_mm=1.0)
    generated = time.perf_counter() - started
    base = series.scans[0]
    print(f"python {platform.python_version()}, SimpleITK {sitk.Version_VersionString()}, "
          f"threads {args.threads}, volume {base.image.GetSize()} at {SPACING_MM} mm "
          f"(series generated in {generated:.1f} s)")
    points = np.array([p.center_mm for pieces in base.spec.lesions.values() for p in pieces])

    kinds = ["rigid"] + (["affine"] if args.affine else [])
    variants = {"default": RegistrationSettings()}
    if args.legacy:
        variants["before"] = RegistrationSettings(pyramid="gaussian", metric_mask="none", samples_per_level=40_000)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n, scan in enumerate(series.scans[1:], start=1):
            # Yardstick: reading the pair from compressed NIfTI on this machine, now.
            fixed_path, moving_path = Path(tmp) / "fixed.nii.gz", Path(tmp) / "moving.nii.gz"
            sitk.WriteImage(base.image, str(fixed_path))
            sitk.WriteImage(scan.image, str(moving_path))
            t0 = time.perf_counter()
            sitk.ReadImage(str(fixed_path))
            sitk.ReadImage(str(moving_path))
            read_s = time.perf_counter() - t0
            for kind in kinds:
                for name, settings in variants.items():
                    times, cpus, errors, result = [], [], [], None
                    for _ in range(args.repeat):
                        t0, c0 = time.perf_counter(), time.process_time()
                        result = register_to_baseline(base.image, scan.image, transform=kind, settings=settings)
                        times.append(time.perf_counter() - t0)
                        cpus.append(time.process_time() - c0)
                        errors.append(transform_error_mm(result.transform, scan.transform, points).max())
                    assert result is not None
                    direction = "sagittal" if scan.image.GetDirection() != base.image.GetDirection() else "axial"
                    rows.append((n, direction, kind, name, float(np.median(times)), float(np.median(cpus)),
                                 float(np.max(errors)), read_s, result.iterations, result.plausible))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| pair | grid | kind | settings | wall s | CPU s | error at lesions mm | read pair s | wall / read | "
          "iterations | plausible |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, direction, kind, name, seconds, cpu, error, read_s, iterations, plausible in rows:
        print(f"| {n} | {direction} | {kind} | {name} | {seconds:.2f} | {cpu:.2f} | {error:.2f} | {read_s:.2f} | "
              f"{seconds / read_s:.1f} | {iterations} | {plausible} |")
    for name in variants:
        rigid = [r for r in rows if r[2] == "rigid" and r[3] == name]
        print(f"rigid, {name}: median {np.median([r[4] for r in rigid]):.2f} s wall, "
              f"{np.median([r[5] for r in rigid]):.2f} s CPU per pair (target ≤ 3 s on one thread); "
              f"largest error {max(r[6] for r in rigid):.2f} mm (target ≤ 0.5 mm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
