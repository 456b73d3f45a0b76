"""All measurements of one lesion, as one row of the lesion table.

Conventions (recorded in the row as ``measurement_convention = "mesh"``):

* diameters are between boundary-mesh vertices (IBSI/pyradiomics, see
  :mod:`respond.measure.diameters`);
* the longest diameter is measured in patient-axial slices (see
  :mod:`respond.measure.axial`) and is the largest per-slice 2D maximum
  diameter; ties (equal within ``TIE_ATOL_MM``) go to the slice with more
  lesion voxels, then to the lower slice index;
* the short axis is the longest chord perpendicular to the long axis in the
  same slice (:func:`~respond.measure.diameters.perpendicular_chord`);
* the 3D diameter, volumes and centroid are computed on the native grid (they
  do not depend on the plane of acquisition); ``volume_mm3`` is voxel count ×
  voxel volume exactly.
"""
from __future__ import annotations

from typing import Any, Final, Iterable

import numpy as np

from respond.io.geometry import Geometry
from respond.measure.axial import AxialFrame, AxialStack, axial_stack
from respond.measure.diameters import (
    FarthestPair,
    boundary_midpoints,
    farthest_pair_2d,
    diameter_3d,
    group_diameter_bounds,
    mesh_volume_mm3,
    padded_array,
    perpendicular_chord,
    row_extents,
    slice_hull_candidates,
)
from respond.measure.instances import LesionInstance

#: Name of the diameter convention written to ``measurement_convention``.
MESH_CONVENTION: Final = "mesh"

#: Per-slice longest diameters closer than this (mm) count as equal when
#: choosing the measured slice.
TIE_ATOL_MM: Final = 1e-9

#: RECIST 1.1 / RANO-BM minimum longest diameter of a measurable lesion, mm.
MEASURABLE_MM: Final = 10.0


def measure_lesion(
    instance: LesionInstance, geometry: Geometry, frame: AxialFrame, *, _reference: bool = False
) -> dict[str, Any]:
    """Measure one lesion; returns the measurement columns of its lesion-table row.

    ``_reference`` measures every slice exactly instead of the bounded search
    (for :mod:`respond.measure.reference`).
    """
    stack = axial_stack(instance, geometry, frame)
    extents = row_extents(stack.mask)
    slice_candidates = slice_hull_candidates(stack.mask, extents)
    ld_slice, ld, ld_points = _longest_axial_diameter(stack, slice_candidates, every_slice=_reference)
    short = _short_axis(stack.mask[ld_slice], stack.spacing_rc, ld_points)
    p1, p2 = _stack_to_physical(stack, ld_slice, ld_points.p1, ld_points.p2)
    s1, s2 = _stack_to_physical(stack, ld_slice, short.p1, short.p2)
    spacing_kji = tuple(float(s) for s in geometry.spacing[::-1])
    native = not frame.resample and (frame.slice_axis, frame.row_axis, frame.col_axis) == (2, 1, 0)
    shared = (slice_candidates, extents) if native else (None, None)  # the stack is the mask itself
    diameter_3d_mm = diameter_3d(instance.mask, spacing_kji, *shared)
    n_slices = int(np.count_nonzero(stack.mask.any(axis=(1, 2))))
    counts = _axis_counts(instance.mask)
    voxel_count = int(counts[0].sum())
    row: dict[str, Any] = {
        "lesion_id": instance.lesion_id,
        "label": instance.label,
        "longest_diameter_mm": ld,
        "short_axis_mm": short.length_mm,
        "n_slices": n_slices,
        "volume_mm3": voxel_count * geometry.voxel_volume_mm3,
        "voxel_count": voxel_count,
        "diameter_3d_mm": diameter_3d_mm,
        "mesh_volume_mm3": mesh_volume_mm3(instance.mask, spacing_kji),
        "ld_slice": stack.slice_offset + ld_slice,
    }
    row.update(_xyz("ld_p1", p1))
    row.update(_xyz("ld_p2", p2))
    row.update(_xyz("sa_p1", s1))
    row.update(_xyz("sa_p2", s2))
    row.update(_xyz("centroid", _centroid(instance, geometry, counts)))
    row.update(
        touches_edge=_touches_edge(instance, geometry),
        single_slice=n_slices == 1,
        below_10mm=bool(ld < MEASURABLE_MM),
        reformatted=frame.reformatted,
        obliquity_deg=frame.obliquity_deg,
        measurement_convention=MESH_CONVENTION,
    )
    return row


def slice_diameters(stack: AxialStack, slices: Iterable[int] | None = None) -> dict[int, FarthestPair]:
    """The 2D maximum diameter (mesh convention) of the axial slices of a stack.

    Keys are stack slice indices (every slice holding lesion voxels, or those
    of ``slices``); values hold the length (mm) and endpoints in the slice's
    in-plane frame (row mm, column mm). Equal to pyradiomics' ``shape2D``
    ``MaximumDiameter`` of the slice.
    """
    groups = _slice_points(stack)
    wanted = groups.keys() if slices is None else [s for s in slices if s in groups]
    return {s: farthest_pair_2d(groups[s]) for s in wanted}


def _slice_points(stack: AxialStack) -> dict[int, np.ndarray]:
    """Marching-squares vertices of every slice of the stack (in-plane mm), by stack slice index."""
    points = boundary_midpoints(stack.mask, (1.0, *stack.spacing_rc), axes=(1, 2))
    slice_of_point = np.rint(points[:, 0]).astype(int)
    order = np.argsort(slice_of_point, kind="stable")
    points, slice_of_point = points[order, 1:], slice_of_point[order]
    slices, starts = np.unique(slice_of_point, return_index=True)
    return dict(zip((int(s) for s in slices), np.split(points, starts[1:])))


def _longest_axial_diameter(stack: AxialStack, slice_candidates: np.ndarray | None = None, *,
                            every_slice: bool = False) -> tuple[int, float, FarthestPair]:
    """(slice in stack, longest diameter mm, endpoints in in-plane mm) over the axial slices.

    The slice is chosen among those whose diameter is within the tie tolerance
    of the longest one, by their exact diameters (the farthest pairs of their
    :func:`slice_hull_candidates`, screened by the directional bounds of
    :func:`group_diameter_bounds`); only the chosen slice gets the full search
    of :func:`slice_diameters`, for its endpoints. The choice is that of the
    search over every slice (``every_slice``). ``slice_candidates``: those of
    ``stack.mask``, when already computed.
    """
    if every_slice:
        lengths = {int(s): _slice_pair(stack, int(s)).length_mm for s in np.flatnonzero(stack.mask.any(axis=(1, 2)))}
    else:
        lengths = _longest_slices(stack, slice_hull_candidates(stack.mask) if slice_candidates is None
                                  else slice_candidates)
    best: tuple[float, int, int] | None = None
    for s, length in lengths.items():
        key = (length, int(np.count_nonzero(stack.mask[s])), -s)
        if best is None or _better(key, best):
            best = key
    assert best is not None, "a lesion has at least one voxel"
    chosen = -best[2]
    pair = _slice_pair(stack, chosen)
    return chosen, pair.length_mm, pair


def _slice_pair(stack: AxialStack, s: int) -> FarthestPair:
    """The 2D maximum diameter of stack slice ``s`` and its endpoints (in-plane mm), as :func:`slice_diameters`."""
    return farthest_pair_2d(boundary_midpoints(stack.mask[s : s + 1], (1.0, *stack.spacing_rc), axes=(1, 2))[:, 1:])


def _longest_slices(stack: AxialStack, candidates: np.ndarray) -> dict[int, float]:
    """2D maximum diameter (mm) of the slices within the tie tolerance of the longest, by increasing slice.

    ``candidates`` (k, j, i index units) hold every slice's hull vertices:
    the bounds screen the slices, the exact farthest pair of the candidates
    (differences, as :func:`farthest_pair_2d` computes them) decides.
    """
    candidates = candidates[np.argsort(candidates[:, 0], kind="stable")]
    starts = np.flatnonzero(np.diff(candidates[:, 0], prepend=-1.0))
    stops = np.append(starts[1:], len(candidates))
    points = candidates[:, 1:] * np.asarray(stack.spacing_rc)
    lower, upper = group_diameter_bounds(points, starts)
    exact = {int(candidates[starts[n], 0]): _largest_distance(points[starts[n] : stops[n]])
             for n in np.flatnonzero(upper >= lower.max() - TIE_ATOL_MM)}
    longest = max(exact.values())
    # Twice the tolerance: every slice that the choice among ties could reach (lengths within
    # the tolerance of one another, chained), never fewer than the search over every slice sees.
    return {s: length for s, length in sorted(exact.items()) if length >= longest - 2 * TIE_ATOL_MM}


def _largest_distance(points: np.ndarray) -> float:
    """Largest distance (mm) between two of a few 2D points (all pairs)."""
    dx = points[:, None, 0] - points[None, :, 0]
    dy = points[:, None, 1] - points[None, :, 1]
    return float(np.sqrt((dx * dx + dy * dy).max()))


def _better(key: tuple[float, int, int], incumbent: tuple[float, int, int]) -> bool:
    if abs(key[0] - incumbent[0]) > TIE_ATOL_MM:
        return key[0] > incumbent[0]
    return key[1:] > incumbent[1:]


def _short_axis(slice_mask: np.ndarray, spacing_rc: tuple[float, float], ld: FarthestPair) -> FarthestPair:
    """Longest chord perpendicular to the long axis on the LD slice (mm, in-plane frame)."""
    from skimage.measure import find_contours

    padded = padded_array(slice_mask.astype(np.float32))
    contours = [(c - 1.0) * np.asarray(spacing_rc) for c in find_contours(padded, 0.5)]
    return perpendicular_chord(contours, ld.p1, ld.p2)


def _stack_to_physical(stack: AxialStack, s: int, *points_rc_mm: np.ndarray) -> list[np.ndarray]:
    """In-plane mm points of stack slice ``s`` → LPS points (mm)."""
    spacing = np.asarray(stack.spacing_rc)
    src = np.array([[float(s), *(np.asarray(p) / spacing)] for p in points_rc_mm])
    return list(stack.to_physical(src))


def _centroid(instance: LesionInstance, geometry: Geometry,
              counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Mean of the lesion's voxel centres, LPS mm (``counts``: the mask's :func:`_axis_counts`)."""
    counts = _axis_counts(instance.mask) if counts is None else counts
    total = int(counts[0].sum())
    mean_kji = [float(np.dot(c, np.arange(len(c)))) / total for c in counts]
    kji = np.asarray(mean_kji) + instance.offset_kji
    return geometry.index_to_physical(kji[::-1])[0]


def _axis_counts(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxels of a 3D boolean mask in each plane of constant k, j and i (three int64 arrays).

    Summed as bytes in narrow integers (exact: each sum is below the type's
    limit) over the planes first, which numpy does fastest.
    """
    mask = np.ascontiguousarray(mask, dtype=bool)
    nk, nj, ni = mask.shape
    planes = mask.view(np.uint8).reshape(nk, nj * ni)
    per_k = np.add.reduce(planes, axis=1, dtype=np.int32 if nj * ni < 2**31 else np.int64)
    columns = np.add.reduce(mask.view(np.uint8), axis=0, dtype=np.uint16 if nk < 2**16 else np.int64)
    per_j = columns.sum(axis=1, dtype=np.int64)
    per_i = columns.sum(axis=0, dtype=np.int64)
    return per_k.astype(np.int64), per_j, per_i


def _touches_edge(instance: LesionInstance, geometry: Geometry) -> bool:
    """True when the lesion's box reaches the first or last voxel of any axis."""
    size_kji = geometry.size[::-1]
    return any(b.start == 0 or b.stop == n for b, n in zip(instance.bbox, size_kji))


def _xyz(prefix: str, point: np.ndarray) -> dict[str, float]:
    return {f"{prefix}_{axis}": float(v) for axis, v in zip("xyz", point)}
