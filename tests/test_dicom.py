"""DICOM inputs: series folders and DICOM SEG masks measure exactly like the equivalent NIfTI.

Every DICOM file is written in tmp_path with pydicom/highdicom (respond.testing.dicom)
from the same phantom as the NIfTI it is compared with.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from respond.errors import GeometryMismatchError, ImageFileError, MaskValueError
from respond.io import dicom
from respond.io.geometry import Geometry
from respond.io.images import image_geometry, read_image
from respond.io.masks import load_pair, read_mask
from respond.measure import measure_mask
from respond.testing.dicom import write_dicom_seg, write_dicom_series
from respond.testing.phantoms import ellipsoid

sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)

#: Numeric measurement columns compared between DICOM and NIfTI.
MEASURES = ["longest_diameter_mm", "short_axis_mm", "diameter_3d_mm", "volume_mm3", "mesh_volume_mm3",
            "n_slices", "voxel_count", "centroid_x", "centroid_y", "centroid_z",
            "ld_p1_x", "ld_p1_y", "ld_p1_z", "ld_p2_x", "ld_p2_y", "ld_p2_z"]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """An ellipsoid lesion A and a box lesion B (31×31×13 grid, 0.8×0.8×2.5 mm), as NIfTI and arrays."""
    folder = tmp_path_factory.mktemp("phantom")
    p = ellipsoid((9.0, 6.0, 7.0), spacing=(0.8, 0.8, 2.5), center_mm=(-20.0, 10.0, 40.0))
    a = sitk.GetArrayFromImage(p.mask).astype(np.uint8)
    b = np.zeros_like(a)
    b[2:6, 3:9, 20:27] = 1
    k, j, i = np.indices(a.shape)
    intensity = (100 * a + 60 * b + (i + 2 * j + 3 * k) % 7).astype(np.int16)

    def image_of(array):
        image = sitk.GetImageFromArray(array)
        image.CopyInformation(p.mask)
        return image

    files = {}
    for name, array in (("image", intensity), ("a", a), ("b", b), ("labels", (a + 2 * b).astype(np.uint8))):
        files[name] = folder / f"{name}.nii.gz"
        sitk.WriteImage(image_of(array), str(files[name]))
    return {"mask": p.mask, "a": a, "b": b, "image": image_of(intensity), "files": files, "image_of": image_of}


def same_measurements(dicom_rows: pd.DataFrame, nifti_rows: pd.DataFrame, columns=MEASURES) -> None:
    """Equal up to the float32 rounding of NIfTI spacings and origins (about 1e-7 relative)."""
    assert len(dicom_rows) == len(nifti_rows)
    for column in columns:
        np.testing.assert_allclose(dicom_rows[column].astype(float).to_numpy(),
                                   nifti_rows[column].astype(float).to_numpy(), rtol=1e-6, atol=1e-4, err_msg=column)


def slice_z(phantom, k: int) -> float:
    return phantom["mask"].TransformIndexToPhysicalPoint((0, 0, k))[2]


# --------------------------------------------------------------------------- series


def test_axial_series_reads_and_measures_like_nifti(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "series")
    image = read_image(tmp_path / "series")
    nifti = read_image(phantom["files"]["image"])
    assert Geometry.from_image(image).differences(Geometry.from_image(nifti)) == []
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(nifti))
    assert image_geometry(tmp_path / "series").differences(Geometry.from_image(nifti)) == []
    by_dicom = measure_mask(phantom["files"]["a"], tmp_path / "series")
    by_nifti = measure_mask(phantom["files"]["a"], phantom["files"]["image"])
    same_measurements(by_dicom, by_nifti)
    assert by_dicom["longest_diameter_mm"].iloc[0] > 16


def test_slices_are_sorted_by_position_not_by_file_name(phantom, tmp_path):
    files = write_dicom_series(phantom["image"], tmp_path / "series")
    for n, f in enumerate(reversed(files)):  # file names now run against the slice order
        f.rename(f.with_name(f"z_{n:04d}.dcm"))
    image = read_image(tmp_path / "series")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(phantom["image"]))


def test_missing_slice_is_refused_with_its_position(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "series", omit_slices=(4,))
    with pytest.raises(ImageFileError) as info:
        read_image(tmp_path / "series")
    error = info.value
    assert error.code == "image.dicom_uneven_slices"
    assert f"missing at {slice_z(phantom, 4):.4g} mm" in str(error)
    assert "allow_uneven_slices" in str(error)
    with pytest.raises(ImageFileError, match="missing at"):
        measure_mask(phantom["files"]["a"], tmp_path / "series")


def test_missing_slice_allowed_places_slices_at_true_positions(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "series", omit_slices=(4,))
    image = read_image(tmp_path / "series", allow_uneven_slices=True)
    expected = sitk.GetArrayFromImage(phantom["image"])
    got = sitk.GetArrayFromImage(image)
    assert Geometry.from_image(image).differences(Geometry.from_image(phantom["image"])) == []
    acquired = [k for k in range(expected.shape[0]) if k != 4]
    np.testing.assert_array_equal(got[acquired], expected[acquired])
    np.testing.assert_array_equal(got[4], np.rint((expected[3].astype(float) + expected[5]) / 2))
    assert image.GetMetaData(dicom.INTERPOLATED_SLICES_KEY) == "4"
    # A mask drawn on the complete grid measures as on NIfTI.
    same_measurements(measure_mask(phantom["files"]["a"], tmp_path / "series", allow_uneven_slices=True),
                      measure_mask(phantom["files"]["a"], phantom["files"]["image"]))
    # A SEG drawn on the incomplete series: its frames sit at their true positions; slice 4 holds nothing.
    write_dicom_seg([phantom["image_of"](phantom["a"])], tmp_path / "series", tmp_path / "seg.dcm")
    rows = measure_mask(tmp_path / "seg.dcm", tmp_path / "series", allow_uneven_slices=True)
    nifti = measure_mask(phantom["files"]["a"], phantom["files"]["image"])
    assert int(rows["voxel_count"].iloc[0]) == int(nifti["voxel_count"].iloc[0]) - int(phantom["a"][4].sum())
    assert rows["longest_diameter_mm"].iloc[0] == pytest.approx(nifti["longest_diameter_mm"].iloc[0])
    assert rows["ld_p1_z"].iloc[0] == pytest.approx(nifti["ld_p1_z"].iloc[0])


def test_track_and_assess_take_the_uneven_slices_flag(phantom, tmp_path):
    import shutil

    import respond

    write_dicom_series(phantom["image"], tmp_path / "series", omit_slices=(4,))
    shutil.copy(phantom["files"]["a"], tmp_path / "a.nii.gz")
    manifest = pd.DataFrame([{"patient_id": "P", "date": "2024-01-15", "mask": "a.nii.gz", "image": "series",
                              "organ": "brain"}])
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    refused = respond.track(tmp_path / "manifest.csv")
    assert list(refused.failures.error_code) == ["image.dicom_uneven_slices"]
    tracked = respond.track(tmp_path / "manifest.csv", allow_uneven_slices=True)
    assert tracked.failures.empty
    same_measurements(tracked.lesions, measure_mask(phantom["files"]["a"], phantom["files"]["image"]))
    assessed = respond.assess(tmp_path / "manifest.csv", allow_uneven_slices=True, report=False, progress=False)
    assert assessed.n_failed == 0 and len(assessed.lesions) == 1


def test_irregular_spacing_is_refused_even_when_allowed(phantom, tmp_path):
    image = sitk.Image(phantom["image"])
    files = write_dicom_series(image, tmp_path / "series")
    import pydicom

    ds = pydicom.dcmread(files[-1])
    ds.ImagePositionPatient[2] = f"{float(ds.ImagePositionPatient[2]) + 1.0:.6f}"  # last gap 3.5 mm, not 2×2.5
    ds.save_as(files[-1])
    with pytest.raises(ImageFileError, match="uneven slice spacing"):
        read_image(tmp_path / "series")
    with pytest.raises(ImageFileError, match="not whole multiples"):
        read_image(tmp_path / "series", allow_uneven_slices=True)


def test_duplicated_slice_is_refused(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "series", duplicate_slices=(3,))
    for allow in (False, True):
        with pytest.raises(ImageFileError) as info:
            read_image(tmp_path / "series", allow_uneven_slices=allow)
        assert info.value.code == "image.dicom_duplicate_slice"
        assert f"at {slice_z(phantom, 3):.4g} mm" in str(info.value)


# --------------------------------------------------------------------------- SEG


@pytest.fixture()
def series(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "series")
    return tmp_path / "series"


def test_seg_with_two_segments_gives_two_lesions(phantom, series, tmp_path):
    seg = write_dicom_seg([phantom["image_of"](phantom["a"]), phantom["image_of"](phantom["b"])], series,
                          tmp_path / "seg.dcm", labels=["Lesion A", "Lesion B"], tracking_ids=["T-01", None])
    nifti = measure_mask(phantom["files"]["labels"], phantom["files"]["image"], lesions="labels")
    on_image = measure_mask(seg, series)
    assert list(on_image["lesion_id"]) == ["T-01", "Lesion B"]
    assert list(on_image["segment_label"]) == ["Lesion A", "Lesion B"]
    assert list(on_image["segment_number"]) == [1, 2]
    assert on_image["tracking_uid"].iloc[0] and pd.isna(on_image["tracking_uid"].iloc[1])
    same_measurements(on_image, nifti)
    assert list(on_image["touches_edge"]) == list(nifti["touches_edge"])
    # Without the image: the SEG's own grid (its frames' span) gives the same measurements.
    same_measurements(measure_mask(seg), nifti)
    # As a label image (no overlap): segment numbers as labels, on the image grid with load_pair.
    _, labels = load_pair(series, seg)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(labels), phantom["a"] + 2 * phantom["b"])
    own = read_mask(seg)  # the SEG's own grid: only the slices it has frames for
    assert own.GetSize()[:2] == labels.GetSize()[:2] and own.GetSize()[2] < labels.GetSize()[2]


def test_overlapping_segments_are_each_measured(phantom, series, tmp_path):
    b = np.zeros_like(phantom["a"])
    b[4:9, 12:20, 10:18] = 1  # overlaps the ellipsoid
    assert (b & phantom["a"]).any()
    seg = write_dicom_seg([phantom["image_of"](phantom["a"]), phantom["image_of"](b)], series, tmp_path / "seg.dcm")
    rows = measure_mask(seg, series)
    assert list(rows["lesion_id"]) == ["Lesion 1", "Lesion 2"]
    assert list(rows["voxel_count"]) == [int(phantom["a"].sum()), int(b.sum())]
    same_measurements(rows.iloc[[0]], measure_mask(phantom["files"]["a"], phantom["files"]["image"]))
    with pytest.raises(MaskValueError) as info:
        read_mask(seg)
    assert info.value.code == "mask.seg_overlap"


def test_fractional_seg_is_binarised_at_half_the_maximum(phantom, series, tmp_path):
    a = phantom["a"].astype(bool)
    ring = sitk.GetArrayFromImage(sitk.BinaryDilate(phantom["image_of"](a.astype(np.uint8)), [1, 1, 1])) & ~a
    fractions = np.where(a, 0.8, 0.0) + np.where(ring.astype(bool), 0.3, 0.0)
    image = sitk.GetImageFromArray(fractions.astype(np.float32))
    image.CopyInformation(phantom["mask"])
    seg = write_dicom_seg([image], series, tmp_path / "frac.dcm", fractional=True)
    assert dicom.read_seg(seg).segmentation_type == "FRACTIONAL"
    rows = measure_mask(seg, series)
    same_measurements(rows, measure_mask(phantom["files"]["a"], phantom["files"]["image"]))
    wider = measure_mask(seg, series, fractional_threshold=0.25)
    assert int(wider["voxel_count"].iloc[0]) == int(a.sum() + ring.astype(bool).sum())


def test_seg_off_the_image_grid_is_refused(phantom, series, tmp_path):
    seg = write_dicom_seg([phantom["image_of"](phantom["a"])], series, tmp_path / "seg.dcm")
    shifted = sitk.Image(phantom["image"])
    shifted.SetOrigin(np.add(shifted.GetOrigin(), (0.3, 0.0, 0.0)).tolist())
    sitk.WriteImage(shifted, str(tmp_path / "shifted.nii.gz"))
    with pytest.raises(GeometryMismatchError, match="between the image's voxels"):
        measure_mask(seg, tmp_path / "shifted.nii.gz")
    coarse = sitk.Image(phantom["image"])
    coarse.SetSpacing((0.8, 0.8, 5.0))
    sitk.WriteImage(coarse, str(tmp_path / "coarse.nii.gz"))
    with pytest.raises(GeometryMismatchError, match="spacing"):
        measure_mask(seg, tmp_path / "coarse.nii.gz")


def test_seg_given_as_image_is_refused(phantom, series, tmp_path):
    seg = write_dicom_seg([phantom["image_of"](phantom["a"])], series, tmp_path / "seg.dcm")
    with pytest.raises(ImageFileError) as info:
        read_image(seg)
    assert info.value.code == "image.dicom_seg_as_image"


def test_segment_lesion_ids_stay_unique():
    assert dicom.segment_lesion_ids([1, 2, 3], ["Tumor", "Tumor", ""], [None, None, None]) == [
        "Tumor #1", "Tumor #2", "3"]


# --------------------------------------------------------------------------- manifests and CLI


def test_manifest_date_from_seg_header(phantom, tmp_path):
    from respond.lesions import read_manifest, track

    rows = []
    baseline = phantom["image_of"](phantom["a"])
    follow_up = sitk.BinaryErode(baseline, [3, 3, 0])  # the lesion shrinks in-plane
    for n, (study, lesion) in enumerate((("20240115", baseline), ("20240312", follow_up))):
        write_dicom_series(phantom["image"], tmp_path / f"s{n}", study_date=study)
        write_dicom_seg([lesion], tmp_path / f"s{n}", tmp_path / f"seg{n}.dcm", tracking_ids=["L1"])
        rows.append({"patient_id": "P1", "date": "", "mask": f"seg{n}.dcm", "image": f"s{n}", "organ": "brain"})
    rows.append({"patient_id": "P2", "date": "", "mask": str(phantom["files"]["a"]), "image": "", "organ": "brain"})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    manifest = read_manifest(tmp_path / "manifest.csv", allow_outside=True)
    assert list(manifest.frame["date"]) == [dt.date(2024, 1, 15), dt.date(2024, 3, 12)]
    assert [(e.patient_id, e.code) for e in manifest.failures] == [("P2", "table.missing_date")]
    result = track(manifest, lesions="labels")
    lesions = result.lesions
    assert list(lesions["lesion_id"]) == ["L1", "L1"]
    assert list(lesions["date"]) == [dt.date(2024, 1, 15), dt.date(2024, 3, 12)]
    assert lesions["longest_diameter_mm"].iloc[1] < lesions["longest_diameter_mm"].iloc[0]


def test_study_date_attributes(phantom, tmp_path):
    write_dicom_series(phantom["image"], tmp_path / "s", study_date=None, series_date="20230405")
    assert dicom.study_date(tmp_path / "s") == (dt.date(2023, 4, 5), "SeriesDate")
    seg = write_dicom_seg([phantom["image_of"](phantom["a"])], tmp_path / "s", tmp_path / "seg.dcm")
    assert dicom.study_date(seg) == (None, None)  # a SEG's own SeriesDate dates the segmentation, not the scan


def test_cli_measure_seg_with_series(phantom, series, tmp_path):
    from respond.cli import main

    seg = write_dicom_seg([phantom["image_of"](phantom["a"]), phantom["image_of"](phantom["b"])], series,
                          tmp_path / "seg.dcm", labels=["A", "B"])
    out = tmp_path / "lesions.csv"
    result = CliRunner().invoke(main, ["measure", str(seg), "--image", str(series), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table["lesion_id"]) == ["A", "B"]
    nifti = measure_mask(phantom["files"]["labels"], phantom["files"]["image"], lesions="labels")
    same_measurements(table, nifti, ["longest_diameter_mm", "short_axis_mm", "volume_mm3"])
    write_dicom_series(phantom["image"], tmp_path / "gappy", omit_slices=(4,))
    result = CliRunner().invoke(main, ["measure", str(phantom["files"]["a"]), "--image", str(tmp_path / "gappy"),
                                       "--out", str(out)])
    assert result.exit_code == 2 and "missing at" in result.output
    result = CliRunner().invoke(main, ["measure", str(phantom["files"]["a"]), "--image", str(tmp_path / "gappy"),
                                       "--allow-uneven-slices", "--out", str(out)])
    assert result.exit_code == 0, result.output
