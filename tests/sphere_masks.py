"""Small NIfTI masks of spheres for the tracking tests (no test here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk


def write_mask(path: Path, centres, radius: float = 4.0, size: int = 24, spacing: float = 2.0) -> Path:
    """A binary mask of ``size``³ voxels of ``spacing`` mm with spheres of ``radius`` mm at ``centres`` (mm, LPS;
    grid origin at 0); no centre gives an empty mask. Returns ``path``."""
    k, j, i = np.meshgrid(*(np.arange(size) * spacing,) * 3, indexing="ij")
    array = np.zeros((size, size, size), np.uint8)
    for x, y, z in centres:
        array[(i - x) ** 2 + (j - y) ** 2 + (k - z) ** 2 <= radius**2] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((spacing,) * 3)
    sitk.WriteImage(image, str(path))
    return path
