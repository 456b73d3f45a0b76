"""The fast measurement against the slow reference path (respond.measure.reference).

Every lesion found and every number measured must be those of the
straightforward computation: one labelling of the whole mask, every axial
slice searched exactly, all pairs of 3D hull vertices, the marching-cubes mesh
built. Checked on random masks, analytic phantoms on axial, sagittal and
oblique grids, and the real lesions of ../shared/data/pyradiomics (skipped
when absent).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from respond.io.geometry import Geometry
from respond.io.masks import read_mask
from respond.measure.axial import axial_frame
from respond.measure.diameters import (
    boundary_midpoints,
    diameter_3d,
    hull_candidates_3d,
    mesh_volume_marching_cubes_mm3,
    mesh_volume_mm3,
)
from respond.measure.instances import BLOCK_VOXELS, find_lesions
from respond.measure.lesion import measure_lesion
from respond.measure.reference import (
    farthest_pair_3d_reference,
    find_lesions_reference,
    measure_lesion_reference,
)
from respond.testing.phantoms import SAGITTAL, box, ellipsoid, oblique_direction, sphere

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pyradiomics"

#: Same numbers as the reference path: lengths and positions to 1e-9 mm, volumes to 1e-12 relative.
ATOL_MM = 1e-9


def random_blobs(rng: np.random.Generator, shape: tuple[int, int, int], density: float, smooth: float) -> np.ndarray:
    """A random mask of blobs: smoothed noise above a threshold."""
    noise = ndimage.gaussian_filter(rng.random(shape), smooth) if smooth else rng.random(shape)
    return noise > np.quantile(noise, 1.0 - density)


def assert_same_rows(fast: dict, slow: dict) -> None:
    assert fast.keys() == slow.keys()
    for key, expected in slow.items():
        got = fast[key]
        if isinstance(expected, float):
            tolerance = 1e-12 * abs(expected) if key.endswith("_mm3") else ATOL_MM
            assert abs(got - expected) <= tolerance, (key, got, expected)
        else:
            assert got == expected, (key, got, expected)


@pytest.mark.parametrize("seed", range(8))
def test_mesh_volume_table_equals_marching_cubes(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 12, 3))
    mask = random_blobs(rng, shape, float(rng.uniform(0.1, 0.9)), float(rng.choice([0.0, 1.0])))
    spacing = tuple(float(s) for s in rng.choice([0.43, 0.7, 1.0, 3.3], 3))
    assert mesh_volume_mm3(mask, spacing) == pytest.approx(mesh_volume_marching_cubes_mm3(mask, spacing), rel=1e-12)


def test_mesh_volume_of_every_single_cube_configuration():
    # Each of the 256 corner configurations alone (a 2×2×2 mask), against the mesh actually built.
    for config in range(1, 256):
        bits = [(config >> b) & 1 for b in range(8)]
        mask = np.array(bits, bool).reshape(2, 2, 2)  # bit 4*dk + 2*dj + di
        assert mesh_volume_mm3(mask, (1.0, 1.0, 1.0)) == pytest.approx(
            mesh_volume_marching_cubes_mm3(mask, (1.0, 1.0, 1.0)), rel=1e-12, abs=1e-12), config


@pytest.mark.parametrize("seed", range(12))
def test_diameter_3d_equals_all_hull_pairs(seed):
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(n) for n in rng.integers(1, 25, 3))
    mask = random_blobs(rng, shape, float(rng.uniform(0.02, 0.6)), float(rng.choice([0.0, 1.5, 3.0])))
    if not mask.any():
        mask[0, 0, 0] = True
    spacing = tuple(float(s) for s in rng.choice([0.5, 0.7, 1.0, 2.5, 5.0], 3))
    reference = farthest_pair_3d_reference(boundary_midpoints(mask, spacing)).length_mm
    assert abs(diameter_3d(mask, spacing) - reference) <= ATOL_MM


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1, 7), (1, 5, 1), (4, 1, 1), (1, 6, 6), (5, 1, 4), (3, 3, 1)])
def test_diameter_3d_of_flat_and_thin_masks(shape):
    mask = np.ones(shape, bool)
    spacing = (2.0, 0.7, 1.3)
    reference = farthest_pair_3d_reference(boundary_midpoints(mask, spacing)).length_mm
    assert abs(diameter_3d(mask, spacing) - reference) <= ATOL_MM


def test_hull_candidates_hold_every_hull_vertex():
    from scipy.spatial import ConvexHull

    rng = np.random.default_rng(7)
    mask = random_blobs(rng, (14, 17, 15), 0.3, 2.0)
    points = boundary_midpoints(mask, (1.0, 1.0, 1.0))
    vertices = {tuple(p) for p in points[ConvexHull(points).vertices]}
    candidates = {tuple(p) for p in hull_candidates_3d(mask)}
    assert vertices <= candidates
    assert candidates <= {tuple(p) for p in points}
    assert len(candidates) < len(points)  # it is a reduction


@pytest.mark.parametrize("seed", range(6))
def test_find_lesions_equals_one_labelling(seed):
    rng = np.random.default_rng(200 + seed)
    # Shapes that are not multiples of the block size, lesions across block borders and touching blocks.
    shape = tuple(int(n) for n in rng.integers(BLOCK_VOXELS + 1, 5 * BLOCK_VOXELS, 3))
    mask = random_blobs(rng, shape, float(rng.uniform(0.01, 0.2)), float(rng.choice([0.0, 1.0, 2.0])))
    labels = mask.astype(np.uint8) * 3
    for connectivity in (6, 18, 26):
        fast = find_lesions(labels, connectivity=connectivity)
        slow = find_lesions_reference(labels, connectivity=connectivity)
        assert [(i.lesion_id, i.label, i.bbox) for i in fast] == [(i.lesion_id, i.label, i.bbox) for i in slow]
        assert all(np.array_equal(a.mask, b.mask) for a, b in zip(fast, slow))


def test_find_lesions_keeps_far_apart_voxels_separate_and_near_ones_joined():
    labels = np.zeros((40, 40, 40), np.uint8)
    labels[0, 0, 0] = labels[39, 39, 39] = 1  # opposite corners: two lesions
    labels[7, 7, 7] = labels[8, 8, 8] = 1  # diagonal neighbours across a block corner: one lesion
    fast = find_lesions(labels)
    assert [i.voxel_count for i in fast] == [1, 2, 1]
    assert [(i.lesion_id, i.bbox) for i in fast] == [(i.lesion_id, i.bbox) for i in find_lesions_reference(labels)]


def _phantoms():
    yield "sphere", sphere(7.3, spacing=(0.7, 0.7, 1.0)).mask
    yield "ellipsoid", ellipsoid((9.0, 5.0, 4.0), spacing=(0.8, 0.8, 2.5)).mask
    yield "sagittal ellipsoid", ellipsoid((6.0, 9.0, 5.0), spacing=(1.0, 0.9, 0.9), direction=SAGITTAL).mask
    yield "oblique sphere", sphere(6.0, spacing=(1.0, 1.0, 1.0), direction=oblique_direction(20.0, 30.0)).mask
    yield "box", box((7, 4, 3), spacing=(0.5, 0.5, 2.0)).mask
    yield "single voxel", box((1, 1, 1)).mask
    rng = np.random.default_rng(5)
    blobs = sitk.GetImageFromArray(random_blobs(rng, (20, 40, 40), 0.15, 1.5).astype(np.uint8))
    blobs.SetSpacing((0.6, 0.6, 1.5))
    yield "random blobs", blobs


@pytest.mark.parametrize("name,mask", list(_phantoms()), ids=[n for n, _ in _phantoms()])
def test_measure_lesion_equals_reference_on_phantoms(name, mask):
    check_image(mask)


def check_image(mask: sitk.Image, label: int | None = None) -> None:
    geometry = Geometry.from_image(mask)
    frame = axial_frame(geometry)
    array = sitk.GetArrayViewFromImage(mask)
    instances = find_lesions(array, label=label)
    binary = (array == label) if label is not None else array
    assert [i.bbox for i in instances] == [i.bbox for i in find_lesions_reference(binary)]
    assert instances
    for instance in instances:
        assert_same_rows(measure_lesion(instance, geometry, frame), measure_lesion_reference(instance, geometry, frame))


@pytest.mark.shared_data
@pytest.mark.parametrize("case", ["brain1", "brain2", "breast1", "lung1", "lung2"])
def test_measure_lesion_equals_reference_on_real_lesions(case):
    path = DATA / f"{case}_label.nrrd"
    if not path.is_file():
        pytest.skip(f"shared data {path.name} not found next to the repository")
    check_image(read_mask(path), label=1)
