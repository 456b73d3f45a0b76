"""The straightforward measurement, kept as the reference the fast path is tested against.

:func:`find_lesions_reference` labels the whole box of non-zero voxels at once;
:func:`measure_lesion_reference` measures every axial slice exactly, searches
all pairs of 3D hull vertices with exact differences and builds the
marching-cubes mesh. They are slow on CT-sized masks and used only by tests
and benchmarks (``tests/test_measure_fast.py``): the fast functions in
:mod:`respond.measure.instances` and :mod:`respond.measure.lesion` must give
the same lesions and the same numbers.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist

from respond.io.geometry import Geometry
from respond.measure import lesion as _lesion
from respond.measure.axial import AxialFrame
from respond.measure.diameters import (
    FarthestPair,
    _planar_candidates,
    boundary_midpoints,
    mesh_volume_marching_cubes_mm3,
)
from respond.measure.instances import LesionInstance, nonzero_box, structuring_element


def find_lesions_reference(labels: np.ndarray, *, connectivity: int = 26) -> list[LesionInstance]:
    """Components of a binary mask by one labelling of the box of its non-zero voxels."""
    outer = nonzero_box(np.asarray(labels))
    if outer is None:
        return []
    crop = np.asarray(labels)[outer]
    value = int(crop[crop != 0].flat[0])
    numbered, _ = ndimage.label(crop != 0, structure=structuring_element(connectivity))
    out = []
    for n, box in enumerate(ndimage.find_objects(numbered), start=1):
        shifted = tuple(slice(s.start + o.start, s.stop + o.start) for s, o in zip(box, outer))
        out.append(LesionInstance(str(n), value, shifted, numbered[box] == n))  # type: ignore[arg-type]
    return out


def farthest_pair_3d_reference(points: np.ndarray) -> FarthestPair:
    """Farthest pair of 3D points: hull, then every pair of hull vertices by exact differences."""
    try:
        candidates = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        candidates = _planar_candidates(points)
    if len(candidates) == 1:
        return FarthestPair(0.0, candidates[0].copy(), candidates[0].copy())
    block = cdist(candidates, candidates, "sqeuclidean")
    r, c = np.unravel_index(int(np.argmax(block)), block.shape)
    return FarthestPair(float(np.sqrt(block[r, c])), candidates[r].copy(), candidates[c].copy())


def measure_lesion_reference(instance: LesionInstance, geometry: Geometry, frame: AxialFrame) -> dict[str, Any]:
    """:func:`respond.measure.lesion.measure_lesion` computed the slow way (every slice, full mesh)."""
    row = _lesion.measure_lesion(instance, geometry, frame, _reference=True)
    spacing_kji = tuple(float(s) for s in geometry.spacing[::-1])
    row["diameter_3d_mm"] = farthest_pair_3d_reference(boundary_midpoints(instance.mask, spacing_kji)).length_mm
    row["mesh_volume_mm3"] = mesh_volume_marching_cubes_mm3(instance.mask, spacing_kji)
    return row
