"""Connected components (respond.measure.instances.label_components) equal scipy.ndimage.label's, numbering
included, on the arrays connected-components-3d 4.1 alone fails on and on random small arrays."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from respond.measure.instances import label_components, structuring_element


def _assert_as_scipy(array: np.ndarray, connectivity: int) -> None:
    numbered, count = label_components(array, connectivity)
    expected, expected_count = ndimage.label(array, structure=structuring_element(connectivity))
    assert count == expected_count
    assert np.array_equal(numbered, expected)


def _lattice(shape, step) -> np.ndarray:
    array = np.zeros(shape, bool)
    array[::step, ::step, ::step] = True
    return array


@pytest.mark.parametrize("array", [
    np.array([[[1, 0, 1]]], bool),  # two lesion voxels one gap apart in a one-row region
    np.array([[[1]], [[0]], [[1]]], bool),
    _lattice((3, 3, 3), 2),  # the eight corners of a box: as many components as runs
    _lattice((9, 9, 9), 2),
    np.indices((4, 5, 6)).sum(0) % 2 == 0,  # a checkerboard: one component (26) or many (6)
])
@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_the_arrays_the_library_alone_fails_on(array, connectivity, capfd):
    _assert_as_scipy(array, connectivity)
    assert "Connected Components Error" not in capfd.readouterr().out  # and nothing printed


def test_every_small_shape_and_random_arrays():
    rng = np.random.default_rng(0)
    arrays = [_lattice(shape, 2) for shape in itertools.product(range(1, 6), repeat=3)]
    arrays += [rng.random(tuple(rng.integers(1, 9, size=3))) < rng.random() for _ in range(1500)]
    for array in arrays:
        for connectivity in (6, 18, 26):
            _assert_as_scipy(array, connectivity)
