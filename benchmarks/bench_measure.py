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
import os
import statistics
import subprocess
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
from respond.measure import measure_mask, measure_scan  # noqa: E402
from respond.measure.axial import axial_frame  # noqa: E402
from respond.measure.reference import find_lesions_reference, measure_lesion_reference  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pyradiomics"
SIZE_XYZ = (512, 512, 300)
SPACING = (0.7, 0.7, 1.0)


def median_time(fn, repeats: int, clock=time.perf_counter) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls of ``fn`` by ``clock`` (wall; ``time.process_time`` for CPU), and its result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = clock()
        result = fn()
        times.append(clock() - t0)
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


def twenty_lesion_mask(size_xyz=SIZE_XYZ, spacing=SPACING, seed: int = 15) -> sitk.Image:
    """Twenty lesions (radius 3–25 mm, some flattened, two touching pairs) spread over a CT-sized grid."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = size_xyz
    sx, sy, sz = spacing
    array = np.zeros((nz, ny, nx), np.uint8)
    for n in range(20):
        r = float(rng.uniform(3.0, 25.0))
        squash = float(rng.uniform(0.6, 1.0))  # semi-axis along z = squash × r
        hx, hy, hz = (int(np.ceil(r / s)) + 1 for s in spacing)
        cx, cy, cz = (int(rng.integers(h + 1, n - h - 1)) for h, n in zip((hx, hy, hz), size_xyz))
        z, y, x = np.ogrid[cz - hz : cz + hz + 1, cy - hy : cy + hy + 1, cx - hx : cx + hx + 1]
        inside = ((x - cx) * sx / r) ** 2 + ((y - cy) * sy / r) ** 2 + ((z - cz) * sz / (squash * r)) ** 2 <= 1.0
        array[cz - hz : cz + hz + 1, cy - hy : cy + hy + 1, cx - hx : cx + hx + 1] |= inside.astype(np.uint8)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def reference_measure(path) -> int:
    """The slow reference path (one labelling of the whole box, every slice, full 3D hull, mesh built)."""
    mask = read_mask(path)
    geometry = Geometry.from_image(mask)
    frame = axial_frame(geometry)
    instances = find_lesions_reference(sitk.GetArrayViewFromImage(mask))
    return len([measure_lesion_reference(i, geometry, frame) for i in instances])


def interleaved(fns: dict, repeats: int, cpu: dict | None = None) -> dict[str, list[float]]:
    """Seconds of each function in every repeat, run in turn (so that load changes hit all alike).

    ``cpu``, when given, receives the CPU seconds of the same calls (everything here runs on one
    thread: on a shared machine CPU time moves far less with the load than wall time).
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.setdefault(name, []).append(time.process_time() - c0)
    return times


def peak_memory(path: Path) -> float:
    """Peak of numpy/Python allocations (tracemalloc) while measuring ``path`` in a fresh process, bytes.

    SimpleITK's own buffer (the decompressed mask, read once) is not traced: add 1× the mask for it.
    """
    code = (
        "import sys, tracemalloc\n"
        "from respond.measure import measure_mask\n"
        "tracemalloc.start()\n"
        "measure_mask(sys.argv[1])\n"
        "print(tracemalloc.get_traced_memory()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=REPO)
    return float(out.stdout.split()[-1])


def bench_ct(repeats: int, quick: bool, reference: bool) -> list[str]:
    size = (256, 256, 150) if quick else SIZE_XYZ
    spacing = tuple(s * 2 for s in SPACING) if quick else SPACING
    masks = {
        "20 lesions": twenty_lesion_mask(size, spacing),
        "1.8 M-voxel sphere + 6 small": ct_sized_mask(size, spacing, 1.8e6 / 8 if quick else 1.8e6),
    }
    lines = [f"Grid {size[0]}×{size[1]}×{size[2]}, spacing {spacing} mm; medians of {repeats} interleaved runs; "
             f"ratio = median over runs of (measure − read) / read; load average {os.getloadavg()[0]:.1f}", ""]
    head = ("| mask | file | read s | checked read s | measure s | (measure − read) / read | read CPU s | "
            "measure CPU s | ratio in CPU time |")
    head += " reference s | reference ratio | reference ratio in CPU time |" if reference else ""
    lines += [head, "|---" * (head.count("|") - 1) + "|"]
    memory = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, mask in masks.items():
            for suffix in (".nii.gz", ".nrrd"):
                path = Path(tmp) / f"mask{suffix}"
                sitk.WriteImage(mask, str(path), useCompression=True)
                fns = {"read": lambda p=path: sitk.ReadImage(str(p)), "checked": lambda p=path: read_mask(p),
                       "measure": lambda p=path: measure_mask(p)}
                if reference:
                    fns["reference"] = lambda p=path: reference_measure(p)
                cpu: dict[str, list[float]] = {}
                t = interleaved(fns, repeats, cpu)
                ratio = statistics.median((m - r) / r for m, r in zip(t["measure"], t["read"]))
                cpu_ratio = statistics.median((m - r) / r for m, r in zip(cpu["measure"], cpu["read"]))
                row = (f"| {name} | {suffix} | {statistics.median(t['read']):.3f} | "
                       f"{statistics.median(t['checked']):.3f} | {statistics.median(t['measure']):.3f} | {ratio:.2f} | "
                       f"{statistics.median(cpu['read']):.3f} | {statistics.median(cpu['measure']):.3f} | "
                       f"{cpu_ratio:.2f} |")
                if reference:
                    ref_ratio = statistics.median((m - r) / r for m, r in zip(t["reference"], t["read"]))
                    ref_cpu = statistics.median((m - r) / r for m, r in zip(cpu["reference"], cpu["read"]))
                    row += f" {statistics.median(t['reference']):.3f} | {ref_ratio:.2f} | {ref_cpu:.2f} |"
                lines.append(row)
                if suffix == ".nii.gz":
                    memory.append((name, peak_memory(path)))
    frame = measure_mask(masks["20 lesions"])
    lines += ["", f"20-lesion mask: {len(frame)} lesions, {int(frame['voxel_count'].sum()):,} voxels; "
              f"sphere mask: {len(measure_mask(masks['1.8 M-voxel sphere + 6 small']))} lesions", ""]
    decompressed = float(np.prod(size))  # uint8
    lines += ["| mask (.nii.gz) | peak numpy/Python allocation while measuring (× decompressed mask) | "
              "+ SimpleITK's mask buffer = peak (×) |", "|---|---|---|"]
    for name, traced in memory:
        lines.append(f"| {name} | {traced / decompressed:.2f} | {traced / decompressed + 1:.2f} |")
    return lines


#: The last recorded pyradiomics comparison (written by a run that had pyradiomics installed).
LAST_PYRADIOMICS = Path(__file__).resolve().parent / "pyradiomics_last.json"


def bench_pyradiomics_shape(repeats: int) -> list[str]:
    """respond vs pyradiomics' shape class (default settings, one call per lesion) on the 20-lesion mask."""
    import json

    try:
        import radiomics
        from radiomics import featureextractor
    except ImportError:
        if LAST_PYRADIOMICS.is_file():
            last = json.loads(LAST_PYRADIOMICS.read_text())
            return [f"pyradiomics not installed: last recorded figure ({last['date']}, load {last['load']:.1f}): "
                    f"pyradiomics {last['pyradiomics_s']:.1f} s ({last['pyradiomics_cpu_s']:.1f} s CPU), respond "
                    f"{last['respond_s']:.3f} s ({last['respond_cpu_s']:.3f} s CPU) on the same {last['lesions']} "
                    f"lesions: **{last['ratio']:.0f}×** wall, **{last['cpu_ratio']:.0f}×** CPU"]
        return ["pyradiomics not installed and no recorded figure"]
    radiomics.setVerbosity(logging.ERROR)
    mask = twenty_lesion_mask()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mask.nii.gz"
        sitk.WriteImage(mask, str(path), useCompression=True)
        cpu: dict[str, list[float]] = {}
        t_respond = statistics.median(interleaved({"m": lambda: measure_mask(path)}, repeats, cpu)["m"])
        c_respond = statistics.median(cpu["m"])
        scan = measure_scan(path)
        image = sitk.Cast(mask, sitk.sitkFloat32)  # pyradiomics needs an image; shape features ignore its values
        extractor = featureextractor.RadiomicsFeatureExtractor()  # default settings
        extractor.disableAllFeatures()
        extractor.enableFeatureClassByName("shape")
        t0, c0 = time.perf_counter(), time.process_time()
        for instance in scan.instances:
            one = np.zeros(sitk.GetArrayViewFromImage(mask).shape, np.uint8)
            one[instance.bbox][instance.mask] = 1
            lesion = sitk.GetImageFromArray(one)
            lesion.CopyInformation(mask)
            extractor.execute(image, lesion, label=1)
        t_pyr, c_pyr = time.perf_counter() - t0, time.process_time() - c0
    ratio, cpu_ratio = t_pyr / t_respond, c_pyr / c_respond
    record = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()[0],
              "pyradiomics": radiomics.__version__, "lesions": len(scan.instances),
              "pyradiomics_s": t_pyr, "respond_s": t_respond, "ratio": ratio,
              "pyradiomics_cpu_s": c_pyr, "respond_cpu_s": c_respond, "cpu_ratio": cpu_ratio}
    LAST_PYRADIOMICS.write_text(json.dumps(record, indent=1) + "\n")
    return [f"pyradiomics {radiomics.__version__} shape class, default settings, one call per lesion: "
            f"{t_pyr:.1f} s ({c_pyr:.1f} s CPU); respond (read + measure all {len(scan.instances)}): "
            f"{t_respond:.3f} s ({c_respond:.3f} s CPU): **{ratio:.0f}×** wall, **{cpu_ratio:.0f}×** CPU "
            f"(load {record['load']:.1f}; recorded in {LAST_PYRADIOMICS.name})"]


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
    parser.add_argument("--pyradiomics", action="store_true",
                        help="compare with pyradiomics' shape extraction on the 20-lesion mask (minutes; "
                             "prints the last recorded figure when pyradiomics is not installed)")
    parser.add_argument("--reference", action="store_true",
                        help="also time the slow reference path (the implementation before the fast one)")
    args = parser.parse_args()
    print("## CT-sized mask\n")
    print("\n".join(bench_ct(args.repeats, args.quick, args.reference)))
    if args.pyradiomics:
        print("\n## respond vs pyradiomics shape extraction, 20-lesion mask\n")
        print("\n".join(bench_pyradiomics_shape(args.repeats)))
    print("\n## Real lesions (respond vs pyradiomics, both reading the label file)\n")
    print("\n".join(bench_real(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
