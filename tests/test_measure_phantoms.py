"""respond's measurements on analytic phantoms, with exact or justified one-sided tolerances.

Bounds used below (r = radius, s = spacing):

* mesh vertices lie halfway between an inside voxel centre (|p| ≤ r) and an
  outside one, so every vertex is within s/2 (along a grid axis) of an inside
  centre: |vertex| ≤ r + s_max/2 and any diameter ≤ 2r + s_max;
* on the slice through the centre (phantoms are centred on a voxel centre),
  along a grid axis the outermost vertex is > r − s/2 from the centre, so the
  in-plane diameter ≥ 2r − s_inplane;
* voxel union ⊇ ball(r − d) and ⊆ ball(r + d), d = half the voxel diagonal, so
  4/3·π(r−d)³ ≤ volume ≤ 4/3·π(r+d)³.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from respond.measure import measure_mask
from respond.testing import phantoms as P

#: Float rounding allowance (mm) on bounds that real values can reach exactly.
ROUNDING = 1e-9

ANISOTROPIC = [(1.0, 1.0, 1.0), (0.8, 0.8, 2.0), (0.5, 0.7, 3.0), (0.78125, 0.78125, 6.5)]


def measure_one(phantom: P.Phantom) -> dict:
    frame = measure_mask(phantom.mask)
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


@pytest.mark.parametrize("spacing", ANISOTROPIC)
@pytest.mark.parametrize("radius", [3.0, 10.0, 21.3])
def test_sphere_axial_diameter_is_2r_within_a_voxel(radius, spacing):
    row = measure_one(P.sphere(radius, spacing=spacing))
    s_in = max(spacing[:2])
    assert 2 * radius - s_in - ROUNDING <= row["longest_diameter_mm"] <= 2 * radius + s_in + ROUNDING
    assert 2 * radius - s_in - ROUNDING <= row["short_axis_mm"] <= row["longest_diameter_mm"] + ROUNDING
    assert 2 * radius - min(spacing) - ROUNDING <= row["diameter_3d_mm"] <= 2 * radius + max(spacing) + ROUNDING
    assert row["reformatted"] is False or not row["reformatted"]


@pytest.mark.parametrize("spacing", ANISOTROPIC)
def test_volume_is_voxel_count_times_voxel_volume_exactly(spacing):
    phantom = P.sphere(9.0, spacing=spacing)
    row = measure_one(phantom)
    count = int(np.count_nonzero(sitk.GetArrayViewFromImage(phantom.mask)))
    assert row["voxel_count"] == count
    assert row["volume_mm3"] == count * math.prod(spacing)
    d = 0.5 * math.dist((0, 0, 0), spacing)
    assert 4 / 3 * math.pi * (9.0 - d) ** 3 <= row["volume_mm3"] <= 4 / 3 * math.pi * (9.0 + d) ** 3
    assert row["mesh_volume_mm3"] < row["volume_mm3"]  # the mesh cuts every convex corner


@pytest.mark.parametrize("spacing", ANISOTROPIC)
def test_ellipsoid_axes(spacing):
    a, b, c = 14.0, 8.0, 6.0
    row = measure_one(P.ellipsoid((a, b, c), spacing=spacing))
    sx, sy, _ = spacing
    assert 2 * a - sx - ROUNDING <= row["longest_diameter_mm"] <= 2 * a + max(sx, sy) + ROUNDING
    # Short axis: the chord through the centre along y is ≥ 2b − sy; any perpendicular chord
    # of the voxelised ellipse is ≤ 2b + the in-plane voxel diagonal.
    assert 2 * b - sy - ROUNDING <= row["short_axis_mm"] <= 2 * b + math.hypot(sx, sy) + ROUNDING
    assert 2 * a - sx - ROUNDING <= row["diameter_3d_mm"] <= 2 * a + max(spacing) + ROUNDING
    assert row["n_slices"] == 2 * math.floor(c / spacing[2]) + 1


@pytest.mark.parametrize("shape", [(7, 4, 3), (1, 1, 1), (6, 1, 1), (12, 12, 5), (3, 9, 2)])
@pytest.mark.parametrize("spacing", ANISOTROPIC)
def test_box_measurements_are_exact_in_the_mesh_convention(shape, spacing):
    phantom = P.box(shape, spacing=spacing)
    row = measure_one(phantom)
    for name in ("longest_diameter_mm", "diameter_3d_mm", "volume_mm3", "mesh_volume_mm3", "n_slices"):
        assert row[name] == pytest.approx(phantom.truth[name], rel=1e-12), name
    if "short_axis_mm" in phantom.truth:
        assert row["short_axis_mm"] == pytest.approx(phantom.truth["short_axis_mm"], rel=1e-12)
    assert row["single_slice"] == (shape[2] == 1)
    assert row["below_10mm"] == (phantom.truth["longest_diameter_mm"] < 10.0)


def test_box_truth_formulas_by_hand():
    # 2 × 1 × 1 voxels of 1 mm: in-plane vertices (−.5,0) (1.5,0) (0,±.5) (1,±.5) → LD 2;
    # 3D adds (0,0,±.5), (1,0,±.5) → still 2. Mesh volume: 2 corner-ish cubes... = 1/6 + 1/2.
    truth = P.box((2, 1, 1)).truth
    assert truth["longest_diameter_mm"] == 2.0
    assert truth["diameter_3d_mm"] == 2.0
    assert truth["mesh_volume_mm3"] == pytest.approx(1 / 6 + 1 / 2)


def test_single_voxel_lesion_has_defined_values_and_flags():
    row = measure_one(P.box((1, 1, 1), spacing=(0.7, 0.9, 2.5)))
    assert row["longest_diameter_mm"] == pytest.approx(0.9)
    assert row["short_axis_mm"] == pytest.approx(0.7)
    assert row["diameter_3d_mm"] == pytest.approx(2.5)
    assert row["single_slice"] and row["below_10mm"] and row["n_slices"] == 1


def test_ld_endpoints_are_in_patient_space_and_measure_the_ld():
    phantom = P.ellipsoid((12.0, 5.0, 4.0), spacing=(0.5, 0.5, 2.0), center_mm=(10.0, -20.0, 30.0))
    row = measure_one(phantom)
    p1 = np.array([row["ld_p1_x"], row["ld_p1_y"], row["ld_p1_z"]])
    p2 = np.array([row["ld_p2_x"], row["ld_p2_y"], row["ld_p2_z"]])
    assert np.linalg.norm(p1 - p2) == pytest.approx(row["longest_diameter_mm"], rel=1e-12)
    assert p1[2] == p2[2] == pytest.approx(30.0)  # the central axial slice
    assert sorted([p1[0], p2[0]]) == pytest.approx([-2.25, 22.25])  # x = 10 ± (12 + 0.25)
    s1 = np.array([row["sa_p1_x"], row["sa_p1_y"], row["sa_p1_z"]])
    s2 = np.array([row["sa_p2_x"], row["sa_p2_y"], row["sa_p2_z"]])
    assert np.dot(s2 - s1, p2 - p1) == pytest.approx(0.0, abs=1e-9)
    assert [row["centroid_x"], row["centroid_y"], row["centroid_z"]] == pytest.approx([10.0, -20.0, 30.0])


def as_sagittal(phantom: P.Phantom) -> sitk.Image:
    """The same voxels as an axial phantom, stored as a sagittal acquisition (exact permutation)."""
    axial = phantom.mask
    array = sitk.GetArrayFromImage(axial)  # (z, y, x)
    # Sagittal grid: i → +y, j → −z, k (slices) → +x; numpy order (k, j, i) = (x, −z, y).
    sagittal = np.ascontiguousarray(array.transpose(2, 0, 1)[:, ::-1, :])
    image = sitk.GetImageFromArray(sagittal)
    sx, sy, sz = axial.GetSpacing()
    image.SetSpacing((sy, sz, sx))
    image.SetDirection(P.SAGITTAL)
    nz = axial.GetSize()[2]
    top = axial.TransformIndexToPhysicalPoint((0, 0, nz - 1))
    image.SetOrigin(top)
    return image


def test_sagittal_acquisition_is_measured_on_an_exact_axial_reformat():
    phantom = P.ellipsoid((11.0, 6.0, 9.0), spacing=(0.6, 0.7, 1.5), center_mm=(3.0, 4.0, 5.0))
    sagittal = as_sagittal(phantom)
    # Same voxels in patient space:
    a = sitk.GetArrayViewFromImage(phantom.mask)
    idx = np.argwhere(sitk.GetArrayViewFromImage(sagittal))[0][::-1]
    point = sagittal.TransformIndexToPhysicalPoint([int(v) for v in idx])
    assert a[tuple(phantom.mask.TransformPhysicalPointToIndex(point)[::-1])] == 1
    axial_row = measure_one(phantom)
    sag = measure_mask(sagittal).iloc[0]
    assert bool(sag["reformatted"]) and not bool(axial_row["reformatted"])
    # Endpoints: the ellipse has several farthest pairs of equal length (mirror images), so only
    # their slice height is compared; lengths and everything else must be identical.
    for name in ("longest_diameter_mm", "short_axis_mm", "diameter_3d_mm", "volume_mm3", "n_slices",
                 "ld_p1_z", "ld_p2_z", "centroid_x", "centroid_y", "centroid_z"):
        assert sag[name] == pytest.approx(axial_row[name], rel=1e-9, abs=1e-9), name
    assert sag["mesh_volume_mm3"] == pytest.approx(axial_row["mesh_volume_mm3"], rel=1e-9)


@pytest.mark.parametrize("tilt,azimuth", [(20.0, 0.0), (35.0, 40.0), (90.0, 15.0)])
def test_oblique_acquisition_is_measured_on_an_axial_reformat(tilt, azimuth):
    r, spacing = 10.0, (0.8, 0.8, 2.0)
    phantom = P.sphere(r, spacing=spacing, direction=P.oblique_direction(tilt, azimuth))
    row = measure_one(phantom)
    assert row["reformatted"]
    assert row["obliquity_deg"] == pytest.approx(min(tilt, 90.0 - tilt) if tilt > 45 else tilt, abs=1e-6)
    # Nearest-neighbour reformat: a reformat voxel is inside iff its nearest native centre is, so
    # inside reformat centres lie within r + d_native of the centre (d = half the native voxel
    # diagonal); mesh vertices add half a reformat voxel (in-plane spacing m = 0.8).
    d_native, m, slice_spacing = 0.5 * math.dist((0, 0, 0), spacing), min(spacing), spacing[2]
    upper = 2 * (r + d_native + m / 2)
    # The measured slice may miss the centre by half a reformat slice; centres within r − d_native
    # are inside, and the outermost vertex is at most m/2 short of the circle's outermost centre.
    lower = 2 * (math.sqrt((r - d_native) ** 2 - (slice_spacing / 2) ** 2) - m)
    assert lower <= row["longest_diameter_mm"] <= upper
    # Rotation-invariant quantities are computed on the native grid: exact against the axial phantom
    # only for the voxel count, bounded otherwise.
    assert 2 * r - max(spacing) <= row["diameter_3d_mm"] <= 2 * r + max(spacing)


def test_small_oblique_tilt_within_tolerance_is_not_resampled():
    phantom = P.box((5, 4, 3), spacing=(1.0, 1.0, 1.0), direction=P.oblique_direction(0.3))
    row = measure_one(phantom)
    assert not row["reformatted"]
    assert row["obliquity_deg"] == pytest.approx(0.3)
    assert row["longest_diameter_mm"] == pytest.approx(phantom.truth["longest_diameter_mm"], rel=1e-12)


def test_phantom_validation():
    with pytest.raises(ValueError, match="semi-axes"):
        P.ellipsoid((1.0, -2.0, 3.0))
    with pytest.raises(ValueError, match="box shape"):
        P.box((0, 1, 1))
