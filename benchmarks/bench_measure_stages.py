"""Where the measurement's time goes: CPU seconds of each step on the CT-sized masks of bench_measure.

    python benchmarks/bench_measure_stages.py [20|sphere]

Medians of 5 calls of each step over all lesions of the mask, in CPU seconds (single-threaded work:
on a shared machine CPU time moves far less with the load than wall time).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_measure import ct_sized_mask, median_time, twenty_lesion_mask  # noqa: E402

from respond.io.geometry import Geometry  # noqa: E402
from respond.io.masks import read_mask  # noqa: E402
from respond.measure import lesion, measure_mask  # noqa: E402
from respond.measure.axial import axial_frame, axial_stack  # noqa: E402
from respond.measure.diameters import diameter_3d, mesh_volume_mm3, row_extents, slice_hull_candidates  # noqa: E402
from respond.measure.instances import find_lesions  # noqa: E402
from respond.measure.table import lesion_frame  # noqa: E402


def cpu(fn, repeats: int = 5):
    """Median CPU seconds of ``repeats`` calls of ``fn``, and its result."""
    return median_time(fn, repeats, clock=time.process_time)


def main(which: str) -> None:
    mask = twenty_lesion_mask() if which == "20" else ct_sized_mask()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mask.nii.gz")
        sitk.WriteImage(mask, path, useCompression=True)
        t_read, _ = cpu(lambda: sitk.ReadImage(path))
        t_checked, image = cpu(lambda: read_mask(path))
        array = sitk.GetArrayViewFromImage(image)
        geometry = Geometry.from_image(image)
        frame = axial_frame(geometry)
        spacing = tuple(float(s) for s in geometry.spacing[::-1])
        t_find, instances = cpu(lambda: find_lesions(array))
        stacks = [axial_stack(i, geometry, frame) for i in instances]
        extents = [row_extents(stack.mask) for stack in stacks]
        candidates = [slice_hull_candidates(st.mask, e) for st, e in zip(stacks, extents)]
        longest = [lesion._longest_axial_diameter(st, c) for st, c in zip(stacks, candidates)]
        steps = {  # each over all lesions, from the previous steps' results
            "axial stacks": lambda n: axial_stack(instances[n], geometry, frame),
            "row extents": lambda n: row_extents(stacks[n].mask),
            "slice hull candidates": lambda n: slice_hull_candidates(stacks[n].mask, extents[n]),
            "longest axial diameters": lambda n: lesion._longest_axial_diameter(stacks[n], candidates[n]),
            "short axes": lambda n: lesion._short_axis(stacks[n].mask[longest[n][0]], stacks[n].spacing_rc,
                                                       longest[n][2]),
            "3D diameters": lambda n: diameter_3d(instances[n].mask, spacing, candidates[n], extents[n]),
            "mesh volumes": lambda n: mesh_volume_mm3(instances[n].mask, spacing),
            "centroids": lambda n: lesion._centroid(instances[n], geometry),
            "whole lesions (all columns)": lambda n: lesion.measure_lesion(instances[n], geometry, frame),
        }
        print(f"| step ({len(instances)} lesions) | CPU s |\n|---|---|")
        print(f"| plain read | {t_read:.3f} |\n| checked read | {t_checked:.3f} |\n| lesions | {t_find:.3f} |")
        for name, step in steps.items():
            print(f"| {name} | {cpu(lambda step=step: [step(n) for n in range(len(instances))])[0]:.3f} |")
        rows = [lesion.measure_lesion(i, geometry, frame) for i in instances]
        print(f"| lesion table | {cpu(lambda: lesion_frame(rows))[0]:.3f} |")
        t_all, _ = cpu(lambda: measure_mask(path))
        print(f"| measure_mask in all | {t_all:.3f} |  (measure − read) / read = {(t_all - t_read) / t_read:.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "20")
