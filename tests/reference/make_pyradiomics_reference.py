"""Compute pyradiomics shape features on the real lesions, as respond's reference.

Run from the repository root, with pyradiomics installed in the environment
(it is not a dependency of respond)::

    python tests/reference/make_pyradiomics_reference.py

It reads the pyradiomics test cases in ``../shared/data/pyradiomics`` (next to
the repository) and writes ``tests/reference/pyradiomics_shape.csv``, one row
per feature value:

* lesions are the 26-connected components of label 1, found with SimpleITK's
  ``ConnectedComponent(fullyConnected=True)`` (an implementation independent of
  respond's), numbered in raster order; each component is masked on its own;
* 3D features (``Maximum3DDiameter``, ``VoxelVolume``, ``MeshVolume``) from
  ``radiomics.shape.RadiomicsShape`` on the component mask, ``slice`` blank;
* ``MeshVolume`` again on the component padded by 20 voxels on the low side
  (``MeshVolumePadded20``) and mirrored along x (``MeshVolumeFlippedX``): the
  same lesion, so a closed mesh gives the same volume. pyradiomics 3.0.1's
  classic marching-cubes table leaves holes at ambiguous faces, and where it
  does its ``MeshVolume`` shifts with the lesion's position; these two rows
  document that;
* the per-slice ``shape2D`` ``MaximumDiameter`` (``force2D=True``,
  ``force2Ddimension=0``) on every axial slice (index k) the component is on.

Each lesion is identified by its voxel count and its centroid in continuous
index coordinates (x, y, z as SimpleITK), so tests can match it whatever
numbering they use.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

import radiomics
from radiomics import shape, shape2D

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "pyradiomics"
OUT = Path(__file__).resolve().parent / "pyradiomics_shape.csv"
CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")


def component_masks(label_image: sitk.Image) -> list[sitk.Image]:
    """Binary masks (uint8, same grid) of the 26-connected components of label 1."""
    binary = sitk.Cast(label_image == 1, sitk.sitkUInt8)
    components = sitk.ConnectedComponent(binary, True)
    n = int(sitk.GetArrayViewFromImage(components).max())
    return [sitk.Cast(components == i, sitk.sitkUInt8) for i in range(1, n + 1)]


def shape3d(image: sitk.Image, mask: sitk.Image) -> dict[str, float]:
    """pyradiomics 3D shape features of the mask (label 1)."""
    features = shape.RadiomicsShape(image, mask, label=1)
    features.enableFeatureByName("Maximum3DDiameter")
    features.enableFeatureByName("VoxelVolume")
    features.enableFeatureByName("MeshVolume")
    values = features.execute()
    return {k: float(values[k]) for k in ("Maximum3DDiameter", "VoxelVolume", "MeshVolume")}


def slice_max_diameter(image: sitk.Image, mask: sitk.Image, k: int) -> float:
    """pyradiomics shape2D MaximumDiameter on axial slice k (force2D)."""
    features = shape2D.RadiomicsShape2D(
        image[:, :, k : k + 1], mask[:, :, k : k + 1], label=1, force2D=True, force2Ddimension=0
    )
    features.enableFeatureByName("MaximumDiameter")
    return float(features.execute()["MaximumDiameter"])


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data folder not found: {DATA}", file=sys.stderr)
        return 1
    radiomics.setVerbosity(logging.ERROR)
    rows = []
    for case in CASES:
        image = sitk.ReadImage(str(DATA / f"{case}_image.nrrd"))
        label = sitk.ReadImage(str(DATA / f"{case}_label.nrrd"))
        for number, mask in enumerate(component_masks(label), start=1):
            array = sitk.GetArrayViewFromImage(mask)
            zyx = np.argwhere(array > 0)
            ident = {
                "case": case,
                "lesion": number,
                "voxel_count": len(zyx),
                "centroid_i": zyx[:, 2].mean(),
                "centroid_j": zyx[:, 1].mean(),
                "centroid_k": zyx[:, 0].mean(),
            }
            for feature, value in shape3d(image, mask).items():
                rows.append({**ident, "slice": pd.NA, "feature": feature, "value": value})
            pad = [20, 20, 20]
            padded = shape3d(sitk.ConstantPad(image, pad, [0, 0, 0]), sitk.ConstantPad(mask, pad, [0, 0, 0]))
            rows.append({**ident, "slice": pd.NA, "feature": "MeshVolumePadded20", "value": padded["MeshVolume"]})
            flip = [True, False, False]
            flipped = shape3d(sitk.Flip(image, flip), sitk.Flip(mask, flip))
            rows.append({**ident, "slice": pd.NA, "feature": "MeshVolumeFlippedX", "value": flipped["MeshVolume"]})
            for k in np.unique(zyx[:, 0]):
                value = slice_max_diameter(image, mask, int(k))
                rows.append({**ident, "slice": int(k), "feature": "MaximumDiameter2D", "value": value})
    frame = pd.DataFrame(rows)
    frame["pyradiomics_version"] = radiomics.__version__
    frame.to_csv(OUT, index=False, float_format="%.10g")
    print(f"wrote {len(frame)} rows to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
