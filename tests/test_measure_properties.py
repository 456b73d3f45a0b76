"""Invariants of measure_mask on random masks and grids (hypothesis): defined values, never a crash."""
from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from respond.measure import measure_mask
from respond.testing.phantoms import AXIAL, SAGITTAL, oblique_direction

spacings = st.tuples(*[st.sampled_from([0.5, 0.78125, 1.0, 2.5, 5.0])] * 3)
directions = st.one_of(
    st.just(AXIAL), st.just(SAGITTAL),
    st.builds(oblique_direction, st.floats(1.0, 89.0), st.floats(0.0, 360.0)),
)


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)), elements=st.integers(0, 1)),
       spacings, directions)
def test_invariants_on_random_masks(array, spacing, direction):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    frame = measure_mask(image, connectivity=6)
    assert len(frame) == len(frame["lesion_id"].unique())
    assert frame["voxel_count"].sum() == int(array.sum())
    for row in frame.itertuples():
        assert row.volume_mm3 == row.voxel_count * math.prod(spacing)
        assert 0 < row.short_axis_mm
        assert row.short_axis_mm <= row.longest_diameter_mm + 1e-9
        ld_length = math.dist((row.ld_p1_x, row.ld_p1_y, row.ld_p1_z), (row.ld_p2_x, row.ld_p2_y, row.ld_p2_z))
        assert ld_length == pytest.approx(row.longest_diameter_mm, rel=1e-9)
        assert row.ld_p1_z == pytest.approx(row.ld_p2_z, abs=1e-9)  # an axial measurement
        if not row.reformatted or direction == SAGITTAL:
            # Native or exactly permuted slices: the LD vertices are a subset of the 3D mesh vertices.
            assert row.longest_diameter_mm <= row.diameter_3d_mm + 1e-9
        assert row.n_slices >= 1 and row.single_slice == (row.n_slices == 1)
        assert row.mesh_volume_mm3 > 0
        assert row.below_10mm == (row.longest_diameter_mm < 10.0)


def test_single_voxel_on_an_oblique_grid_is_measured_not_lost():
    array = np.zeros((5, 5, 5), np.uint8)
    array[2, 2, 2] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.5, 5.0))
    image.SetDirection(oblique_direction(30.0, 20.0))
    row = measure_mask(image).iloc[0]
    assert row["reformatted"] and row["n_slices"] >= 1
    assert row["longest_diameter_mm"] > 0 and row["voxel_count"] == 1
