"""The validated grid of a 3D image, and the tolerances used to compare grids.

Geometry is in ITK's convention: index order (i, j, k) = (x, y, z) of the file
grid, physical coordinates in millimetres in the patient LPS frame, and
``physical = origin + direction @ (spacing * index)``. A :class:`Geometry` is
checked once, in its constructor (like highdicom's volume geometry), so code
that holds one never re-checks it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from respond.errors import GeometryError

#: Maximum deviation of ``D.T @ D`` from the identity (absolute, unitless) for
#: the direction cosines ``D`` of an image to count as orthonormal. Direction
#: cosines stored as float32 (NIfTI quaternions, some NRRD writers) are
#: orthonormal to about 1e-6; a deviation above 1e-4 means a sheared or scaled
#: grid whose distances cannot be measured with one spacing per axis.
ORTHONORMAL_ATOL: Final = 1e-4

#: Default tolerance, in mm, when comparing the origin and the spacing of an
#: image and its mask. Positions written as float32 (NIfTI) are exact to about
#: 1e-5 of their magnitude, i.e. about 5e-3 mm at 500 mm from the isocentre; 1e-3
#: mm is well below any voxel and catches every real off-by-a-slice mask.
GEOMETRY_ATOL_MM: Final = 1e-3

#: Default tolerance (absolute, unitless) when comparing the direction cosines
#: of an image and its mask. 1e-4 is about 0.006 degrees.
DIRECTION_ATOL: Final = 1e-4


def format_vector(values) -> str:
    """Numbers as ``(a, b, c)`` with 6 significant digits, for messages."""
    return "(" + ", ".join(f"{float(v):.6g}" for v in np.ravel(values)) + ")"


@dataclass(frozen=True)
class Geometry:
    """The validated grid of a 3D image: size, spacing (mm), origin (mm, LPS), direction.

    ``size``, ``spacing`` and ``origin`` are in ITK index order (x, y, z of the
    grid); ``direction`` is the 3×3 matrix of direction cosines, row-major as
    SimpleITK stores it, whose column ``a`` is the patient-space unit vector of
    index axis ``a``. The constructor refuses anything that is not a valid 3D
    grid: a size that is not three positive integers, a spacing that is not
    finite and positive, a non-finite origin, or direction cosines that are not
    orthonormal within ``ORTHONORMAL_ATOL`` (unless ``allow_non_orthonormal``).
    """

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    file: str | None = None
    allow_non_orthonormal: bool = False

    def __post_init__(self) -> None:
        problems = _geometry_problems(self)
        if problems:
            raise GeometryError(
                "invalid image geometry: " + "; ".join(problems),
                code="geometry.invalid",
                file=self.file,
                value={"size": self.size, "spacing": self.spacing, "origin": self.origin},
            )

    @classmethod
    def from_image(cls, image, *, file: str | None = None, allow_non_orthonormal: bool = False) -> "Geometry":
        """The geometry of a SimpleITK image (or of a reader after ``ReadImageInformation``)."""
        size = tuple(int(s) for s in image.GetSize())
        dimension = len(size)
        if dimension != 3:
            raise GeometryError(
                f"expected a 3D image, got {dimension}D with size {size}",
                code="geometry.dimension",
                file=file,
                value=size,
            )
        return cls(
            size=size,  # type: ignore[arg-type]
            spacing=tuple(float(s) for s in image.GetSpacing()),  # type: ignore[arg-type]
            origin=tuple(float(o) for o in image.GetOrigin()),  # type: ignore[arg-type]
            direction=tuple(float(d) for d in image.GetDirection()),
            file=file,
            allow_non_orthonormal=allow_non_orthonormal,
        )

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction cosines as a 3×3 array; column ``a`` is index axis ``a`` in LPS."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel, mm³."""
        return float(np.prod(self.spacing))

    def index_to_physical(self, index_xyz: np.ndarray) -> np.ndarray:
        """Continuous indices (N, 3) in (i, j, k) = (x, y, z) order → LPS points in mm (N, 3)."""
        index_xyz = np.atleast_2d(np.asarray(index_xyz, dtype=float))
        scaled = index_xyz * np.asarray(self.spacing)
        return np.asarray(self.origin) + scaled @ self.direction_matrix.T

    def differences(self, other: "Geometry", *, atol_mm: float = GEOMETRY_ATOL_MM,
                    direction_atol: float = DIRECTION_ATOL) -> list[str]:
        """Readable per-field differences beyond tolerance between two grids (empty when equal)."""
        found = []
        if self.size != other.size:
            found.append(f"size {self.size} vs {other.size}")
        for field in ("spacing", "origin"):
            a = np.asarray(getattr(self, field))
            b = np.asarray(getattr(other, field))
            diff = np.abs(a - b)
            if np.any(diff > atol_mm):
                found.append(
                    f"{field} {format_vector(a)} vs {format_vector(b)} (difference {format_vector(b - a)} mm, "
                    f"tolerance {atol_mm} mm)"
                )
        d = np.abs(self.direction_matrix - other.direction_matrix)
        if np.any(d > direction_atol):
            found.append(
                f"direction {format_vector(self.direction)} vs {format_vector(other.direction)} "
                f"(largest difference {d.max():.3g}, tolerance {direction_atol})"
            )
        return found


def _geometry_problems(g: Geometry) -> list[str]:
    """Every problem with a grid, as readable phrases."""
    problems = []
    if len(g.size) != 3 or any(int(s) < 1 for s in g.size):
        problems.append(f"size must be three positive integers, got {tuple(g.size)}")
    spacing = np.asarray(g.spacing, dtype=float)
    if spacing.shape != (3,) or not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        problems.append(f"spacing must be finite and positive, got {format_vector(spacing)} mm")
    origin = np.asarray(g.origin, dtype=float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        problems.append(f"origin must be finite, got {format_vector(origin)}")
    direction = np.asarray(g.direction, dtype=float)
    if direction.shape != (9,) or not np.all(np.isfinite(direction)):
        problems.append(f"direction must be 9 finite cosines, got {format_vector(direction)}")
    elif not g.allow_non_orthonormal:
        d = direction.reshape(3, 3)
        deviation = float(np.abs(d.T @ d - np.eye(3)).max())
        if deviation > ORTHONORMAL_ATOL:
            problems.append(
                f"direction cosines {format_vector(direction)} are not orthonormal "
                f"(|DᵀD − I| = {deviation:.3g} > ORTHONORMAL_ATOL = {ORTHONORMAL_ATOL})"
            )
    return problems


def obliquity_deg(geometry: Geometry) -> float:
    """Angle in degrees between the slice normal closest to patient z and patient z."""
    d = geometry.direction_matrix
    cos = float(np.abs(d[2, :]).max())
    return math.degrees(math.acos(min(1.0, cos)))


def nonzero_box(array: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box (slices) of the non-zero voxels of a 3D array, or None when there are none.

    Reduces axis by axis (``any`` over the other axes) so that no full-size
    temporary array is allocated.
    """
    k = np.flatnonzero(array.reshape(array.shape[0], -1).any(axis=1))
    if len(k) == 0:
        return None
    slab = array[k[0] : k[-1] + 1].any(axis=0)
    j = np.flatnonzero(slab.any(axis=1))
    i = np.flatnonzero(slab.any(axis=0))
    return (slice(int(k[0]), int(k[-1]) + 1), slice(int(j[0]), int(j[-1]) + 1), slice(int(i[0]), int(i[-1]) + 1))
