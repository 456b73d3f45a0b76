"""Patient-axial slices of a lesion, whatever the acquisition plane.

RECIST 1.1 and RANO-BM measure in the patient-axial plane. Three cases:

* **axial acquisition** — one index axis of the grid (normally k) is parallel
  to patient z within ``AXIAL_TOLERANCE_DEG``: its slices are axial and are
  measured as they are.
* **non-axial but axis-aligned** (a sagittal or coronal acquisition) — another
  index axis is parallel to patient z: the axial slices are planes of that
  axis, obtained by reordering the array axes. This reformat is exact (no
  resampling); the output records ``reformatted=True``.
* **oblique** (tilted slices, oblique MR) — no index axis is parallel to
  patient z: the lesion is resampled onto an axial grid (identity direction)
  by nearest neighbour, label-safe; in-plane spacing is the finest spacing of
  the acquisition, slice spacing that of the acquisition axis closest to z.
  Nearest-neighbour resampling can change a diameter by up to about one
  voxel; the output records ``reformatted=True`` and the obliquity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Final

import numpy as np
import SimpleITK as sitk

from respond.io.geometry import Geometry
from respond.measure.instances import LesionInstance

#: Largest angle, in degrees, between a grid's slice normal and patient z for
#: its slices to be measured as axial without resampling. Measuring in a plane
#: tilted by θ changes in-plane lengths of a lesion's cross-section by a factor
#: between 1 and 1/cos θ (< 4e-5 relative at 0.5°), far below a voxel.
AXIAL_TOLERANCE_DEG: Final = 0.5


@dataclass(frozen=True)
class AxialFrame:
    """How the patient-axial planes sit in a grid.

    ``slice_axis``, ``row_axis``, ``col_axis`` are ITK index axes (0=i, 1=j,
    2=k) of the native grid when ``resample`` is false; when it is true they
    refer to ``grid``, the axial reformat grid, and are (2, 1, 0).
    """

    slice_axis: int
    row_axis: int
    col_axis: int
    obliquity_deg: float
    resample: bool
    reformatted: bool
    grid: Geometry | None = None


@dataclass(frozen=True)
class AxialStack:
    """A lesion's axial slices: ``mask[s, r, c]`` with in-plane spacing (mm).

    ``slice_offset`` is the slice index of ``s = 0`` in the measured grid
    (native grid or axial reformat grid); ``to_physical`` maps continuous stack
    coordinates (N, 3) in (s, r, c) order to LPS points in mm.
    """

    mask: np.ndarray
    spacing_rc: tuple[float, float]
    slice_offset: int
    to_physical: Callable[[np.ndarray], np.ndarray]


def axial_frame(geometry: Geometry, *, tolerance_deg: float = AXIAL_TOLERANCE_DEG) -> AxialFrame:
    """Find the axial planes of ``geometry``'s grid, or the reformat grid they need."""
    d = geometry.direction_matrix
    slice_axis = int(np.argmax(np.abs(d[2, :])))
    obliquity = math.degrees(math.acos(min(1.0, float(abs(d[2, slice_axis])))))
    if obliquity <= tolerance_deg:
        row_axis, col_axis = (a for a in (2, 1, 0) if a != slice_axis)
        return AxialFrame(slice_axis, row_axis, col_axis, obliquity, False, slice_axis != 2)
    return AxialFrame(2, 1, 0, obliquity, True, True, axial_reformat_grid(geometry, slice_axis))


def axial_reformat_grid(geometry: Geometry, slice_axis: int) -> Geometry:
    """The axial grid (identity direction) covering ``geometry``'s voxel centres.

    Spacing: the finest native spacing in-plane; the spacing of native axis
    ``slice_axis`` (the one closest to patient z) between slices.
    """
    finest = float(min(geometry.spacing))
    spacing = np.array([finest, finest, float(geometry.spacing[slice_axis])])
    corners = _corner_indices(np.zeros(3), np.asarray(geometry.size, float) - 1.0)
    points = geometry.index_to_physical(corners)
    lo, hi = points.min(axis=0), points.max(axis=0)
    size = np.floor((hi - lo) / spacing + 1e-9).astype(int) + 1
    return Geometry(
        size=tuple(int(s) for s in size),  # type: ignore[arg-type]
        spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
        origin=tuple(float(o) for o in lo),  # type: ignore[arg-type]
        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    )


def _corner_indices(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 8 corners (8, 3) of the index box [lo, hi]."""
    grid = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1).T
    return grid.astype(float)


def axial_stack(instance: LesionInstance, geometry: Geometry, frame: AxialFrame) -> AxialStack:
    """The lesion's mask on axial slices, in the frame chosen by :func:`axial_frame`."""
    if frame.resample:
        return _resampled_stack(instance, geometry, frame)
    offset_xyz = instance.offset_kji[::-1].astype(float)
    axes = (frame.slice_axis, frame.row_axis, frame.col_axis)
    stack = np.ascontiguousarray(instance.mask.transpose(2, 1, 0).transpose(axes))

    def to_physical(src: np.ndarray) -> np.ndarray:
        src = np.atleast_2d(np.asarray(src, float))
        index = np.empty_like(src)
        for position, axis in enumerate(axes):
            index[:, axis] = src[:, position] + offset_xyz[axis]
        return geometry.index_to_physical(index)

    spacing_rc = (float(geometry.spacing[frame.row_axis]), float(geometry.spacing[frame.col_axis]))
    return AxialStack(stack, spacing_rc, int(offset_xyz[frame.slice_axis]), to_physical)


def _resampled_stack(instance: LesionInstance, geometry: Geometry, frame: AxialFrame) -> AxialStack:
    """Nearest-neighbour resampling of the lesion crop onto the axial reformat grid."""
    grid = frame.grid
    assert grid is not None
    offset_xyz = instance.offset_kji[::-1].astype(float)
    shape_xyz = np.asarray(instance.mask.shape[::-1], float)
    corners = geometry.index_to_physical(_corner_indices(offset_xyz - 0.5, offset_xyz + shape_xyz - 0.5))
    grid_index = (corners - np.asarray(grid.origin)) / np.asarray(grid.spacing)
    lo = np.floor(grid_index.min(axis=0)).astype(int) - 1
    hi = np.ceil(grid_index.max(axis=0)).astype(int) + 1
    sub_origin = np.asarray(grid.origin) + lo * np.asarray(grid.spacing)
    sub = Geometry(
        size=tuple(int(s) for s in hi - lo + 1),  # type: ignore[arg-type]
        spacing=grid.spacing,
        origin=tuple(float(o) for o in sub_origin),  # type: ignore[arg-type]
        direction=grid.direction,
    )
    crop = sitk.GetImageFromArray(instance.mask.astype(np.uint8))
    crop.SetSpacing(geometry.spacing)
    crop.SetDirection(geometry.direction)
    crop.SetOrigin(tuple(float(v) for v in geometry.index_to_physical(offset_xyz)[0]))
    resampled = sitk.Resample(
        crop, list(sub.size), sitk.Transform(), sitk.sitkNearestNeighbor,
        sub.origin, sub.spacing, sub.direction, 0, sitk.sitkUInt8,
    )
    stack = sitk.GetArrayFromImage(resampled).astype(bool)  # (k, j, i) = (s, r, c)
    if not stack.any():
        # A lesion smaller than the reformat grid can fall between its voxel centres: mark the
        # reformat voxels nearest to the lesion's own voxel centres instead (never an empty lesion).
        centres = geometry.index_to_physical(np.argwhere(instance.mask)[:, ::-1] + offset_xyz)
        nearest = np.rint((centres - np.asarray(sub.origin)) / np.asarray(sub.spacing)).astype(int)
        stack[nearest[:, 2], nearest[:, 1], nearest[:, 0]] = True

    def to_physical(src: np.ndarray) -> np.ndarray:
        src = np.atleast_2d(np.asarray(src, float))
        return sub.index_to_physical(src[:, ::-1])

    spacing_rc = (float(sub.spacing[1]), float(sub.spacing[0]))
    return AxialStack(stack, spacing_rc, int(lo[2]), to_physical)
