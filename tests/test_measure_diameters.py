"""Farthest pairs, hulls and chords against brute force and hand-computed cases."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from respond.measure.diameters import (
    boundary_midpoints,
    convex_hull_2d,
    farthest_pair_2d,
    farthest_pair_3d,
    mesh_volume_mm3,
    perpendicular_chord,
)


def brute_force_diameter(points: np.ndarray) -> float:
    return max(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(points, 2))


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 40), st.just(2)), elements=st.floats(-50, 50, width=32)))
def test_rotating_calipers_equals_brute_force(points):
    pair = farthest_pair_2d(points)
    assert pair.length_mm == pytest.approx(brute_force_diameter(points), rel=1e-12, abs=1e-12)
    assert float(np.linalg.norm(pair.p1 - pair.p2)) == pytest.approx(pair.length_mm, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 40), st.just(3)), elements=st.floats(-50, 50, width=32)))
def test_3d_hull_pairs_equal_brute_force(points):
    assert farthest_pair_3d(points).length_mm == pytest.approx(brute_force_diameter(points), rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))),
       st.tuples(*[st.sampled_from([0.5, 0.7, 1.0, 2.5])] * 3))
def test_3d_diameter_of_random_masks_equals_all_pairs_of_midpoints(mask, spacing):
    if not mask.any():
        return
    points = boundary_midpoints(mask, spacing)
    assert farthest_pair_3d(points).length_mm == pytest.approx(brute_force_diameter(points), rel=1e-12)


def test_rotating_calipers_on_regular_polygons_with_parallel_edges():
    for n in (4, 6, 8, 12):
        angles = 2 * np.pi * np.arange(n) / n
        square = np.c_[np.cos(angles), np.sin(angles)] * 5.0
        assert farthest_pair_2d(square).length_mm == pytest.approx(10.0, rel=1e-12)


def test_degenerate_point_sets_get_defined_answers():
    one = np.array([[1.0, 2.0]] * 3)
    assert farthest_pair_2d(one).length_mm == 0.0
    collinear = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0], [2.0, 2.0]])
    assert sorted(convex_hull_2d(collinear).tolist()) == [0, 2]
    assert farthest_pair_2d(collinear).length_mm == pytest.approx(3 * np.sqrt(2))
    planar = np.array([[0.0, 0.0, 1.0], [4.0, 0.0, 1.0], [0.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    assert farthest_pair_3d(planar).length_mm == pytest.approx(5.0)
    line3 = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0], [2.0, 4.0, 4.0]])
    assert farthest_pair_3d(line3).length_mm == pytest.approx(6.0)


def test_boundary_midpoints_of_one_voxel_are_its_face_centres():
    points = boundary_midpoints(np.ones((1, 1, 1), bool), (2.0, 1.0, 0.5))
    expected = {(-1.0, 0, 0), (1.0, 0, 0), (0, -0.5, 0), (0, 0.5, 0), (0, 0, -0.25), (0, 0, 0.25)}
    assert {tuple(float(v) for v in p) for p in points} == expected


def test_boundary_midpoints_in_plane_only():
    mask = np.zeros((3, 4, 4), bool)
    mask[1, 1:3, 1:3] = True
    points = boundary_midpoints(mask, (1.0, 1.0, 1.0), axes=(1, 2))
    assert set(points[:, 0]) == {1.0}  # no crossings between slices
    assert len(points) == 8


def test_perpendicular_chord_of_a_square_and_an_l_shape():
    square = [np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0], [0.0, 0.0]])]
    chord = perpendicular_chord(square, np.array([0.0, 0.0]), np.array([4.0, 0.0]))
    assert chord.length_mm == pytest.approx(2.0)
    # L-shape: long arm along x (length 6, height 1) with a leg up to y=4 at x in [0, 1].
    l_shape = [np.array([[0, 0], [6, 0], [6, 1], [1, 1], [1, 4], [0, 4], [0, 0]], float)]
    chord = perpendicular_chord(l_shape, np.array([0.0, 0.0]), np.array([6.0, 0.0]))
    assert chord.length_mm == pytest.approx(4.0)  # the leg, not the convex hull's slanted chord
    assert chord.p1[0] == pytest.approx(chord.p2[0])  # perpendicular to x


def test_perpendicular_chord_spans_a_notch_like_a_caliper():
    # U-shape opening up: a perpendicular line at x=2 crosses two walls; the chord spans both.
    u_shape = [np.array([[0, 0], [5, 0], [5, 3], [4, 3], [4, 1], [1, 1], [1, 3], [0, 3], [0, 0]], float)]
    chord = perpendicular_chord(u_shape, np.array([0.0, 0.0]), np.array([5.0, 0.0]))
    assert chord.length_mm == pytest.approx(3.0)


def test_mesh_volume_of_one_voxel_is_an_octahedron():
    assert mesh_volume_mm3(np.ones((1, 1, 1), bool), (2.0, 3.0, 0.5)) == pytest.approx(3.0 / 6.0)
