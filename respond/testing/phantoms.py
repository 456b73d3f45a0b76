"""Analytic phantoms: label masks with known true measurements.

Users can validate an installation with them, and respond's tests use them.
Every phantom is a SimpleITK ``UInt8`` mask (lesion = 1) with the requested
spacing (mm) and direction cosines; shapes are defined in patient space (LPS,
mm) and a voxel is in the lesion when its centre is inside the shape, so the
same shape can be sampled on axial, sagittal or oblique grids.

* :func:`sphere` and :func:`ellipsoid` carry continuous truths (2r, semi-axes,
  4/3·π·abc) and the bounds that voxelisation allows; see :class:`Phantom`.
* :func:`box` is defined in voxels and carries **exact** mesh-convention truths
  (IBSI/pyradiomics marching squares/cubes with vertices on edge midpoints).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import SimpleITK as sitk

Vector = Sequence[float]

#: Identity direction cosines (an axial grid in LPS).
AXIAL: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

#: Direction of a sagittal acquisition: index i runs along patient y (A→P),
#: j along −z (S→I), k (slices) along x (R→L).
SAGITTAL: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


def oblique_direction(tilt_deg: float, azimuth_deg: float = 0.0) -> tuple[float, ...]:
    """Direction cosines of a grid tilted by ``tilt_deg`` about the x axis, then rotated about z.

    The slice normal makes an angle of ``tilt_deg`` with patient z.
    """
    t, a = math.radians(tilt_deg), math.radians(azimuth_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    return tuple(float(v) for v in (rz @ rx).ravel())


@dataclass(frozen=True)
class Phantom:
    """A phantom mask and its true values.

    ``truth`` maps measurement names (``longest_diameter_mm``,
    ``short_axis_mm``, ``diameter_3d_mm``, ``volume_mm3``, ``mesh_volume_mm3``
    …) to true values: continuous-shape values for spheres and ellipsoids,
    exact mesh-convention values for boxes. ``center_mm`` is the shape's centre
    (LPS, mm).
    """

    mask: sitk.Image
    kind: str
    center_mm: tuple[float, float, float]
    truth: dict[str, float] = field(default_factory=dict)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing, mm."""
        return tuple(self.mask.GetSpacing())  # type: ignore[return-value]

    @property
    def voxel_count(self) -> int:
        """Number of lesion voxels."""
        return int(np.count_nonzero(sitk.GetArrayViewFromImage(self.mask)))


def _grid(extent_mm: np.ndarray, spacing: Vector, direction: Vector, center: Vector, margin: int) -> sitk.Image:
    """An empty UInt8 image whose voxel centres include ``center`` and cover a ball of radius ``extent_mm``."""
    spacing = np.asarray(spacing, float)
    d = np.asarray(direction, float).reshape(3, 3)
    half = np.ceil(extent_mm / spacing).astype(int) + margin
    size = 2 * half + 1
    origin = np.asarray(center, float) - d @ (half * spacing)
    image = sitk.Image([int(s) for s in size], sitk.sitkUInt8)
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(v) for v in d.ravel()])
    image.SetOrigin([float(v) for v in origin])
    return image


def voxel_centres(image: sitk.Image, dtype: type = np.float64) -> np.ndarray:
    """LPS centres (k, j, i, 3) of every voxel of ``image``, mm (``float32`` halves the memory of big grids)."""
    size = image.GetSize()
    k, j, i = np.meshgrid(*(np.arange(n, dtype=dtype) for n in size[::-1]), indexing="ij")
    index = np.stack([i, j, k], axis=-1) * np.asarray(image.GetSpacing(), dtype)
    d = np.asarray(image.GetDirection(), dtype).reshape(3, 3)
    return np.asarray(image.GetOrigin(), dtype) + index @ d.T


def _fill(image: sitk.Image, inside: np.ndarray) -> sitk.Image:
    mask = sitk.GetImageFromArray(inside.astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def ellipsoid(
    semi_axes_mm: Vector,
    *,
    spacing: Vector = (1.0, 1.0, 1.0),
    direction: Vector = AXIAL,
    center_mm: Vector = (0.0, 0.0, 0.0),
    margin_voxels: int = 2,
) -> Phantom:
    """An ellipsoid with semi-axes (a, b, c) mm along patient x, y, z.

    ``center_mm`` is placed on a voxel centre. Truths (continuous shape):
    ``longest_diameter_mm`` = 2·max(a, b) (axial), ``short_axis_mm`` =
    2·min(a, b), ``diameter_3d_mm`` = 2·max(a, b, c), ``volume_mm3`` =
    4/3·π·abc.
    """
    axes = np.asarray(semi_axes_mm, float)
    if axes.shape != (3,) or np.any(axes <= 0):
        raise ValueError(f"semi-axes must be three positive lengths, got {tuple(semi_axes_mm)}")
    image = _grid(np.full(3, axes.max()), spacing, direction, center_mm, margin_voxels)
    rel = (voxel_centres(image) - np.asarray(center_mm, float)) / axes
    mask = _fill(image, (rel**2).sum(axis=-1) <= 1.0)
    a, b, c = axes
    truth = {
        "longest_diameter_mm": 2 * max(a, b),
        "short_axis_mm": 2 * min(a, b),
        "diameter_3d_mm": 2 * max(a, b, c),
        "volume_mm3": 4.0 / 3.0 * math.pi * a * b * c,
    }
    return Phantom(mask, "ellipsoid", tuple(float(v) for v in center_mm), truth)  # type: ignore[arg-type]


def sphere(
    radius_mm: float,
    *,
    spacing: Vector = (1.0, 1.0, 1.0),
    direction: Vector = AXIAL,
    center_mm: Vector = (0.0, 0.0, 0.0),
    margin_voxels: int = 2,
) -> Phantom:
    """A sphere of radius ``radius_mm`` centred on a voxel centre (see :func:`ellipsoid`)."""
    p = ellipsoid((radius_mm,) * 3, spacing=spacing, direction=direction, center_mm=center_mm,
                  margin_voxels=margin_voxels)
    return Phantom(p.mask, "sphere", p.center_mm, p.truth)


def box(
    shape_voxels: Sequence[int],
    *,
    spacing: Vector = (1.0, 1.0, 1.0),
    direction: Vector = AXIAL,
    margin_voxels: int = 2,
) -> Phantom:
    """A box of (nx, ny, nz) voxels along the grid axes, with exact mesh-convention truths.

    Truths are exact for the marching squares/cubes mesh with vertices on edge
    midpoints (the IBSI convention), derived in closed form:

    * mesh vertices lie on the box faces ``index = −½`` or ``n − ½`` with the
      other coordinates on voxel centres; the farthest pair takes, for a pair
      of face axes (a, b), extent ``n_e`` along e = a = b, ``n_e − ½`` along a
      face axis when a ≠ b, and ``n_e − 1`` along the others — maximised over
      (a, b). ``longest_diameter_mm`` uses the in-plane axes (x, y) of an
      axial grid, ``diameter_3d_mm`` all three;
    * ``mesh_volume_mm3`` sums the inside part of every marching cube: 1 for
      interior cubes, ½ on faces, ⅛ along edges, 1/48 at corners:
      ``v·[(nx−1)(ny−1)(nz−1) + Σ(n_a−1)(n_b−1) + Σ(n_a−1)/2 + 1/6]``;
    * ``volume_mm3`` = nx·ny·nz·v, with v the voxel volume.

    The in-plane truths refer to the grid's own slices (axial when ``direction``
    is axial).
    """
    n = np.asarray(shape_voxels, int)
    if n.shape != (3,) or np.any(n < 1):
        raise ValueError(f"box shape must be three positive voxel counts, got {tuple(shape_voxels)}")
    s = np.asarray(spacing, float)
    size = n + 2 * margin_voxels
    image = sitk.Image([int(v) for v in size], sitk.sitkUInt8)
    image.SetSpacing([float(v) for v in s])
    image.SetDirection([float(v) for v in direction])
    array = np.zeros(size[::-1], np.uint8)
    m = margin_voxels
    array[m : m + n[2], m : m + n[1], m : m + n[0]] = 1
    mask = sitk.GetImageFromArray(array)
    mask.CopyInformation(image)
    centre_index = m + (n - 1) / 2.0
    centre = mask.TransformContinuousIndexToPhysicalPoint([float(v) for v in centre_index])
    v = float(np.prod(s))
    nx, ny, nz = n - 1
    truth = {
        "longest_diameter_mm": _box_mesh_diameter(n[:2], s[:2]),
        "diameter_3d_mm": _box_mesh_diameter(n, s),
        "volume_mm3": float(np.prod(n)) * v,
        "mesh_volume_mm3": v * (nx * ny * nz + nx * ny + ny * nz + nx * nz + (nx + ny + nz) / 2.0 + 1.0 / 6.0),
        "n_slices": float(n[2]),
    }
    if n[1] == 1 and _row_long_axis_is_x(int(n[0]), s[0], s[1]):
        # A one-voxel-wide row measured along x: every perpendicular chord is one voxel (sy).
        truth["short_axis_mm"] = float(s[1])
    return Phantom(mask, "box", tuple(float(c) for c in centre), truth)  # type: ignore[arg-type]


def _row_long_axis_is_x(nx: int, sx: float, sy: float) -> bool:
    """True when the mesh LD of a 1-voxel-wide row of nx voxels runs exactly along x."""
    along_x = (nx * sx) ** 2
    between_y_faces = ((nx - 1) * sx) ** 2 + sy**2
    mixed = ((nx - 0.5) * sx) ** 2 + (0.5 * sy) ** 2
    return along_x > max(between_y_faces, mixed)


def _box_mesh_diameter(n: np.ndarray, s: np.ndarray) -> float:
    """Farthest pair of the midpoint mesh vertices of a box of n voxels with spacing s (mm)."""
    best = 0.0
    for a, b in itertools.combinations_with_replacement(range(len(n)), 2):
        extent = n - 1.0
        if a == b:
            extent[a] = n[a]
        else:
            extent[a] = n[a] - 0.5
            extent[b] = n[b] - 0.5
        best = max(best, float(np.sqrt(np.sum((extent * s) ** 2))))
    return best
