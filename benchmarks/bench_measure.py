"""Benchmark of `respond measure`: one command, ratios measured in the same run.

    python benchmarks/bench_measure.py [--repeats 3] [--quick]

1. A CT-sized mask (512×512×300, 0.7×0.7×1.0 mm) holding a sphere of ~1.8
   million voxels and six small lesions, written as .nii.gz and .nrrd.
   Reports the time to merely read the mask (SimpleITK.ReadImage), respond's
   checked read (header, truncation and value checks), and the full
   measurement, as ratios to the plain read; plus the time of the big sphere's
   measurement parts.
2. The real lesions in ../shared/data/pyradiomics (if present): respond's
   measurement of all lesions vs pyradiomics computing the same quantities
   (Maximum3DDiameter, VoxelVolume, MeshVolume per lesion and shape2D
   MaximumDiameter on every slice of each lesion), if pyradiomics is installed.

Timings are medians over --repeats runs (the machines are shared and noisy:
compare the ratios, not the seconds).
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from respond.io.geometry import Geometry  # noqa: E402
from respond.io.masks import read_mask  # noqa: E402
from respond.measure import measure_mask  # noqa: E402
from respond.measure.axial import axial_frame  # noqa: E402
from respond.measure.diameters import boundary_midpoints, farthest_pair_3d, mesh_volume_mm3  # noqa: E402
from respond.measure.instances import find_lesions  # noqa: E402
from respond.measure.lesion import measure_lesion  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pyradiomics"
SIZE_XYZ = (512, 512, 300)
SPACING = (0.7, 0.7, 1.0)


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def ct_sized_mask(size_xyz=SIZE_XYZ, spacing=SPACING, big_voxels: float = 1.8e6) -> sitk.Image:
    """A big sphere (``big_voxels`` voxels) and six small lesions (radius 2–9.5 mm) on a CT-sized grid."""
    nx, ny, nz = size_xyz
    array = np.zeros((nz, ny, nx), np.uint8)
    sx, sy, sz = spacing
    voxel = sx * sy * sz
    radius_mm = (big_voxels * voxel * 3 / (4 * np.pi)) ** (1 / 3)
    lesions = [((nx // 2, ny // 2, nz // 2), radius_mm)] + [
        ((nx * (1 + 2 * i) // 14, ny // 6, nz * (1 + i) // 8), 2.0 + 1.5 * i) for i in range(6)
    ]
    for (cx, cy, cz), r in lesions:
        hx, hy, hz = (int(np.ceil(r / s)) + 1 for s in spacing)
        z, y, x = np.ogrid[cz - hz : cz + hz + 1, cy - hy : cy + hy + 1, cx - hx : cx + hx + 1]
        inside = ((x - cx) * sx) ** 2 + ((y - cy) * sy) ** 2 + ((z - cz) * sz) ** 2 <= r**2
        array[cz - hz : cz + hz + 1, cy - hy : cy + hy + 1, cx - hx : cx + hx + 1] |= inside.astype(np.uint8)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def bench_ct(repeats: int, quick: bool) -> list[str]:
    size = (256, 256, 150) if quick else SIZE_XYZ
    spacing = tuple(s * 2 for s in SPACING) if quick else SPACING
    mask = ct_sized_mask(size, spacing, 1.8e6 / 8 if quick else 1.8e6)
    lines = [f"Grid {size[0]}×{size[1]}×{size[2]}, spacing {spacing} mm; "
             f"total lesion voxels {int(sitk.GetArrayViewFromImage(mask).sum()):,}", ""]
    lines += ["| file | read (SimpleITK) s | checked read s | measure s | measure / read |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".nii.gz", ".nrrd"):
            path = Path(tmp) / f"mask{suffix}"
            sitk.WriteImage(mask, str(path), useCompression=True)
            t_read, _ = median_time(lambda path=path: sitk.ReadImage(str(path)), repeats)
            t_checked, _ = median_time(lambda path=path: read_mask(path), repeats)
            t_measure, frame = median_time(lambda path=path: measure_mask(path), repeats)
            lines.append(f"| {suffix} | {t_read:.3f} | {t_checked:.3f} | {t_measure:.3f} | {t_measure / t_read:.2f} |")
    lines.append("")
    lines.append(f"{len(frame)} lesions; largest {int(frame['voxel_count'].max()):,} voxels, "
                 f"LD {frame['longest_diameter_mm'].max():.2f} mm")
    # Parts of the measurement of the big sphere.
    array = sitk.GetArrayFromImage(mask)
    geometry = Geometry.from_image(mask)
    t_inst, instances = median_time(lambda: find_lesions(array), repeats)
    sphere = max(instances, key=lambda i: i.voxel_count)
    spacing_kji = tuple(float(s) for s in geometry.spacing[::-1])
    t_points, points = median_time(lambda: boundary_midpoints(sphere.mask, spacing_kji), repeats)
    t_feret, _ = median_time(lambda: farthest_pair_3d(points), repeats)
    t_mesh, _ = median_time(lambda: mesh_volume_mm3(sphere.mask, spacing_kji), repeats)
    frame_ax = axial_frame(geometry)
    t_lesion, _ = median_time(lambda: measure_lesion(sphere, geometry, frame_ax), repeats)
    lines += ["", f"Big sphere ({sphere.voxel_count:,} voxels, {len(points):,} boundary points):", "",
              "| step | s |", "|---|---|",
              f"| connected components (whole mask, 7 lesions) | {t_inst:.3f} |",
              f"| boundary midpoints 3D | {t_points:.3f} |",
              f"| 3D Feret (hull + hull-vertex pairs) | {t_feret:.3f} |",
              f"| mesh volume (marching cubes) | {t_mesh:.3f} |",
              f"| whole lesion (all columns) | {t_lesion:.3f} |"]
    return lines


def pyradiomics_work(case: str) -> None:
    from radiomics import shape, shape2D

    image = sitk.ReadImage(str(DATA / f"{case}_image.nrrd"))
    label = sitk.ReadImage(str(DATA / f"{case}_label.nrrd"))
    components = sitk.ConnectedComponent(sitk.Cast(label == 1, sitk.sitkUInt8), True)
    for n in range(1, int(sitk.GetArrayViewFromImage(components).max()) + 1):
        mask = sitk.Cast(components == n, sitk.sitkUInt8)
        features = shape.RadiomicsShape(image, mask, label=1)
        for name in ("Maximum3DDiameter", "VoxelVolume", "MeshVolume"):
            features.enableFeatureByName(name)
        features.execute()
        for k in np.unique(np.nonzero(sitk.GetArrayViewFromImage(mask))[0]):
            f2 = shape2D.RadiomicsShape2D(image[:, :, int(k) : int(k) + 1], mask[:, :, int(k) : int(k) + 1],
                                          label=1, force2D=True, force2Ddimension=0)
            f2.enableFeatureByName("MaximumDiameter")
            f2.execute()


def bench_real(repeats: int) -> list[str]:
    if not DATA.is_dir():
        return ["(shared pyradiomics data not found: skipped)"]
    try:
        import radiomics

        radiomics.setVerbosity(logging.ERROR)
        have_pyradiomics = True
    except ImportError:
        have_pyradiomics = False
    lines = ["| case | lesions | respond s | pyradiomics s | pyradiomics / respond |", "|---|---|---|---|---|"]
    for case in ("brain1", "brain2", "breast1", "lung1", "lung2"):
        label = DATA / f"{case}_label.nrrd"
        t_respond, frame = median_time(lambda label=label: measure_mask(label, label=1), repeats)
        if have_pyradiomics:
            t_pyr, _ = median_time(lambda case=case: pyradiomics_work(case), repeats)
            lines.append(f"| {case} | {len(frame)} | {t_respond:.3f} | {t_pyr:.3f} | {t_pyr / t_respond:.1f} |")
        else:
            lines.append(f"| {case} | {len(frame)} | {t_respond:.3f} | (not installed) | |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a half-size grid, for a smoke test")
    args = parser.parse_args()
    print("## CT-sized mask\n")
    print("\n".join(bench_ct(args.repeats, args.quick)))
    print("\n## Real lesions (respond vs pyradiomics, both reading the label file)\n")
    print("\n".join(bench_real(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
