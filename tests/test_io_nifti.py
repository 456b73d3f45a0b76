"""NIfTI transforms decided as nibabel and ITK decide them (issue 12.1), pinned on headers built here."""
from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from respond.errors import ImageFileError
from respond.io.images import qform_sform_disagreement_mm, read_image
from respond.io.masks import read_mask
from respond.io.nifti import QFORM_SFORM_VOXEL_FRACTION, read_nifti_header


def tilted_mask(angles_rad, spacing=(1.0, 1.0, 1.0), origin=(10.3, -20.7, 5.5)) -> sitk.Image:
    array = np.zeros((12, 20, 16), np.uint8)
    array[3:8, 5:14, 4:11] = 1
    image = sitk.GetImageFromArray(array)
    rotation = sitk.Euler3DTransform()
    rotation.SetRotation(*angles_rad)
    image.SetDirection(rotation.GetMatrix())
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


@pytest.mark.parametrize("degrees", [(0, 0, 0), (5, 0, 0), (0, 17, 0), (12, -23, 31), (44.9, 45.1, 0), (90, 0, 3)])
def test_simpleitk_round_trip_of_a_tilted_grid(tmp_path, degrees):
    original = tilted_mask([math.radians(d) for d in degrees], spacing=(0.9, 1.1, 2.5))
    path = tmp_path / "tilted.nii.gz"
    sitk.WriteImage(original, str(path))
    read = read_mask(path)
    assert np.allclose(read.GetOrigin(), original.GetOrigin(), atol=1e-4)
    assert np.allclose(read.GetDirection(), original.GetDirection(), atol=1e-6)
    assert np.allclose(read.GetSpacing(), original.GetSpacing(), atol=1e-6)
    assert np.array_equal(sitk.GetArrayViewFromImage(read), sitk.GetArrayViewFromImage(original))
    # SimpleITK writes both transforms; they agree to float32 rounding, which is recorded.
    assert 0 <= qform_sform_disagreement_mm(read) < 1e-3


def write_nifti(path, *, qform, sform, qcode=1, scode=1, zooms=(1.0, 1.0, 1.0)):
    data = np.zeros((10, 12, 8), np.uint8)
    data[2:5, 3:7, 2:4] = 1
    image = nib.Nifti1Image(data, None)
    image.header.set_zooms(zooms)
    image.set_qform(qform, code=qcode)
    image.set_sform(sform, code=scode)
    nib.save(image, str(path))
    return path


def oblique_affine(degrees=20.0, voxel=1.0) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    affine = np.eye(4)
    affine[:3, :3] = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) * voxel
    affine[:3, 3] = [-90.0, 110.0, -60.0]
    return affine


def test_rounding_of_0011_mm_on_1_mm_voxels_is_accepted_and_recorded(tmp_path):
    qform = oblique_affine()
    sform = qform.copy()
    sform[:3, 3] += [0.011, 0.0, 0.0]  # the largest rounding seen on real oblique brain MR
    path = write_nifti(tmp_path / "rounded.nii.gz", qform=qform, sform=sform)
    header = read_nifti_header(path)
    assert header.source == "sform"
    assert header.qform_sform_disagreement_mm == pytest.approx(0.011, abs=2e-4)
    image = read_image(path)
    # nibabel's rule: the sform (sform_code > 0) is used; LPS = diag(-1, -1, 1) · RAS.
    assert image.GetOrigin() == pytest.approx((90.0 - 0.011, -110.0, -60.0), abs=1e-4)
    assert qform_sform_disagreement_mm(image) == pytest.approx(0.011, abs=2e-4)


def test_qform_is_used_when_sform_code_is_zero(tmp_path):
    qform = oblique_affine()
    sform = qform.copy()
    sform[:3, 3] += 7.0  # ignored: sform_code 0
    path = write_nifti(tmp_path / "q.nii.gz", qform=qform, sform=sform, scode=0)
    header = read_nifti_header(path)
    assert header.source == "qform" and math.isnan(header.qform_sform_disagreement_mm)
    assert read_image(path).GetOrigin() == pytest.approx((90.0, -110.0, -60.0), abs=1e-4)


def test_a_2_mm_shift_is_refused_with_both_matrices(tmp_path):
    qform = oblique_affine()
    sform = qform.copy()
    sform[:3, 3] += [0.0, 2.0, 0.0]
    path = write_nifti(tmp_path / "shift.nii.gz", qform=qform, sform=sform)
    with pytest.raises(ImageFileError, match=r"disagree by up to 2 mm .*tolerance 0\.1 mm.*qform \[.*sform \[") as info:
        read_mask(path)
    assert info.value.code == "image.header"
    assert "0.939693 -0.34202 110;" in str(info.value)  # the qform's row ...
    assert "0.939693 -0.34202 112;" in str(info.value)  # ... and the sform's, shifted 2 mm


def test_just_under_the_tolerance_is_accepted_just_over_refused(tmp_path):
    qform = oblique_affine(voxel=2.0)
    tolerance = QFORM_SFORM_VOXEL_FRACTION * 2.0
    for shift, accepted in ((0.9 * tolerance, True), (1.1 * tolerance, False)):
        sform = qform.copy()
        sform[2, 3] += shift
        path = write_nifti(tmp_path / f"s{shift}.nii", qform=qform, sform=sform, zooms=(2.0, 2.0, 2.0))
        if accepted:
            assert read_nifti_header(path).qform_sform_disagreement_mm == pytest.approx(shift, abs=1e-4)
        else:
            with pytest.raises(ImageFileError, match="disagree by up to"):
                read_nifti_header(path)


def test_a_flipped_axis_is_refused(tmp_path):
    qform = np.eye(4)
    sform = np.diag([1.0, 1.0, -1.0, 1.0])
    sform[2, 3] = 7.0  # the last slice of the 8 maps to the same place: only the orientation differs at k=0 / k=7
    path = write_nifti(tmp_path / "flip.nii.gz", qform=qform, sform=sform)
    with pytest.raises(ImageFileError, match=r"differ in orientation .*qform \[.*sform \[") as info:
        read_mask(path)
    assert info.value.code == "image.header"


def test_a_permuted_axis_is_refused(tmp_path):
    qform = np.eye(4)
    sform = np.eye(4)[[1, 0, 2, 3]]
    path = write_nifti(tmp_path / "perm.nii", qform=qform, sform=sform)
    with pytest.raises(ImageFileError, match="differ in orientation"):
        read_mask(path)


def test_disagreement_reaches_the_lesion_rows(tmp_path):
    from respond.measure import measure_mask

    qform = oblique_affine()
    sform = qform.copy()
    sform[:3, 3] += [0.0, 0.0, 0.005]
    path = write_nifti(tmp_path / "m.nii.gz", qform=qform, sform=sform)
    image = tmp_path / "image.nii.gz"
    sitk.WriteImage(sitk.Cast(read_image(path), sitk.sitkInt16) * 100, str(image))
    for rows in (measure_mask(path), measure_mask(path, image), measure_mask(path, image, allow_resample_mask=True)):
        assert len(rows) == 1
        assert rows["qform_sform_disagreement_mm"].iloc[0] == pytest.approx(0.005, abs=2e-4)
    plain = tmp_path / "plain.nii.gz"
    sitk.WriteImage(sitk.Cast(read_mask(path), sitk.sitkUInt8), str(plain))
    assert pd.notna(measure_mask(plain)["qform_sform_disagreement_mm"].iloc[0])
