"""Registration time per scan pair on a 256×256×180 MR-like volume (1 mm), default settings.

Generates an MR-like head (respond.testing.series) with lesions, a follow-up
after a known rigid motion (rotation about three axes, up to 10°, shift up to
20 mm; one pair acquired sagittally), registers each follow-up to the baseline
with the default settings and reports, per pair: wall time, the error of the
recovered transform at the lesions (mm), and — measured in the same run, as a
yardstick for this machine's speed — the time to merely read the two images
from NIfTI.

    .venv/bin/python benchmarks/bench_registration.py [--threads 2] [--repeat 1] [--affine]
"""
from __future__ import annotations

import argparse
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
    parser.add_argument("--threads", type=int, default=2, help="SimpleITK threads (default 2)")
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
                times, errors, result = [], [], None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    result = register_to_baseline(base.image, scan.image, transform=kind,
                                                  settings=RegistrationSettings())
                    times.append(time.perf_counter() - t0)
                    errors.append(transform_error_mm(result.transform, scan.transform, points).max())
                assert result is not None
                direction = "sagittal" if scan.image.GetDirection() != base.image.GetDirection() else "axial"
                rows.append((n, direction, kind, float(np.median(times)), float(np.max(errors)), read_s,
                             result.iterations, result.plausible))
    print(f"{'pair':>4} {'grid':>8} {'kind':>6} {'seconds':>8} {'err_mm':>7} {'read_s':>7} {'ratio':>6} "
          f"{'iters':>5} plausible")
    for n, direction, kind, seconds, error, read_s, iterations, plausible in rows:
        print(f"{n:>4} {direction:>8} {kind:>6} {seconds:>8.2f} {error:>7.2f} {read_s:>7.2f} "
              f"{seconds / read_s:>6.1f} {iterations:>5} {plausible}")
    rigid = [r[3] for r in rows if r[2] == "rigid"]
    print(f"rigid: median {np.median(rigid):.2f} s per pair, max {np.max(rigid):.2f} s (target < 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
