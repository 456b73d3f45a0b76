"""measure_scan (the measure stage's entry point) and the measure options' refusals.

Huge label values, absent or background labels, NaN tolerances, and the
edge flag of a DICOM SEG read without its image.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from respond.errors import ConfigError, MaskValueError, RespondError
from respond.measure import MeasureOptions, ScanMeasurement, measure_mask, measure_scan
from respond.measure.command import measure_command
from respond.measure.instances import find_lesions


def labelled(values, dtype) -> np.ndarray:
    """Two boxes holding the given label values, in a 6×12×12 array of ``dtype``."""
    array = np.zeros((6, 12, 12), dtype)
    array[1:3, 1:4, 1:5] = values[0]
    array[4, 8:10, 8:11] = values[1]
    return array


def image_of(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.8, 0.8, 2.0))
    return image


def test_measure_scan_returns_instances_and_rows_in_the_same_order():
    scan = measure_scan(image_of(labelled((1, 1), np.uint8)), patient_id="P1", date="2024-01-05")
    assert isinstance(scan, ScanMeasurement)
    assert [i.lesion_id for i in scan.instances] == list(scan.rows["lesion_id"]) == ["1", "2"]
    assert [i.voxel_count for i in scan.instances] == list(scan.rows["voxel_count"]) == [24, 6]
    assert scan.rows["patient_id"].tolist() == ["P1", "P1"]
    assert scan.geometry.size == (12, 12, 6)
    assert scan.edge_known
    # measure_mask is the rows of measure_scan.
    pd.testing.assert_frame_equal(measure_mask(image_of(labelled((1, 1), np.uint8))),
                                  measure_scan(image_of(labelled((1, 1), np.uint8))).rows)


def test_options_travel_as_one_frozen_value():
    options = MeasureOptions(lesions="labels")
    scan = measure_scan(image_of(labelled((3, 7), np.uint8)), options=options)
    assert list(scan.rows["lesion_id"]) == ["3", "7"]
    assert list(measure_scan(image_of(labelled((3, 7), np.uint8)), options=options, label=7).rows["lesion_id"]) == ["7"]
    with pytest.raises(AttributeError):
        options.label = 3  # type: ignore[misc]


@pytest.mark.parametrize("dtype,values", [
    (np.uint32, (4_000_000_000, 7)),
    (np.int64, (2**40, 2**40 + 1)),
    (np.uint64, (2**63 + 5, 3)),
])
def test_huge_label_values_cost_no_slot_per_value(dtype, values):
    array = labelled(values, dtype)
    tracemalloc.start()
    instances = find_lesions(array, lesions="labels")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000  # one slot per value would be gigabytes (4e9 labels × 8 bytes)
    assert [i.lesion_id for i in instances] == [str(v) for v in sorted(values)]
    assert [i.label for i in instances] == sorted(values)
    by_value = {i.label: i.voxel_count for i in instances}
    assert by_value[values[0]] == 24 and by_value[values[1]] == 6


def test_huge_label_value_keeps_its_exact_value_in_the_table():
    array = labelled((2**63 + 5, 3), np.uint64)
    rows = measure_scan(array_image := image_of(array), lesions="labels").rows
    assert array_image.GetPixelID() == sitk.sitkUInt64
    assert list(rows["lesion_id"]) == ["3", str(2**63 + 5)]
    assert [int(v) for v in rows["label"]] == [3, 2**63 + 5]
    assert list(rows["voxel_count"]) == [6, 24]


@pytest.mark.parametrize("label", [5, -1, 10**20])
def test_absent_label_is_refused_with_the_values_present(label):
    with pytest.raises(MaskValueError) as info:
        measure_mask(image_of(labelled((1, 2), np.uint8)), lesions="labels", label=label)
    assert info.value.code == "mask.label_absent"
    assert "holds 1, 2" in str(info.value)


def test_absent_label_in_an_empty_mask_is_an_empty_table():
    # An empty mask is content (everything disappeared), whatever label was asked for.
    assert measure_mask(image_of(np.zeros((4, 5, 6), np.uint8)), label=1).empty


def test_label_zero_is_refused():
    with pytest.raises(ConfigError, match="background"):
        measure_mask(image_of(labelled((1, 2), np.uint8)), label=0)
    with pytest.raises(MaskValueError, match="background"):
        find_lesions(labelled((1, 2), np.uint8), label=0)


@pytest.mark.parametrize("atol", [float("nan"), float("inf"), -1.0])
def test_non_finite_or_negative_geometry_tolerance_is_refused(atol):
    with pytest.raises(ConfigError, match="finite"):
        measure_mask(image_of(labelled((1, 1), np.uint8)), geometry_atol=atol)


@pytest.mark.parametrize("args,needle", [
    (["--geometry-atol", "nan"], "finite"),
    (["--label", "0"], "background"),
    (["--label", "9"], "holds 1, 2"),
    (["--label", "-1"], "holds 1, 2"),
    (["--label", str(10**20)], "holds 1, 2"),
])
def test_cli_refuses_bad_measure_options(tmp_path, args, needle):
    mask = tmp_path / "mask.nii.gz"
    sitk.WriteImage(image_of(labelled((1, 2), np.uint8)), str(mask))
    result = CliRunner().invoke(measure_command, [str(mask), "--lesions", "labels", "--out",
                                                  str(tmp_path / "out.csv"), *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not (tmp_path / "out.csv").exists()


def test_errors_are_respond_errors():
    assert issubclass(ConfigError, RespondError) and issubclass(MaskValueError, RespondError)


def test_seg_without_its_image_has_unknown_edge(tmp_path):
    from respond.testing.dicom import write_dicom_seg, write_dicom_series

    array = np.zeros((8, 20, 20), np.int16)
    image = image_of(array)
    lesion = np.zeros((8, 20, 20), np.uint8)
    lesion[3:5, 6:10, 6:11] = 1  # well inside the image, at the SEG frames' edge
    series = tmp_path / "series"
    write_dicom_series(image, series)
    mask = sitk.GetImageFromArray(lesion)
    mask.CopyInformation(image)
    seg = write_dicom_seg([mask], series, tmp_path / "seg.dcm", labels=["A"])
    alone = measure_scan(seg)
    assert not alone.edge_known
    assert alone.rows["touches_edge"].isna().all()
    assert str(alone.rows["touches_edge"].dtype) == "boolean"
    with_image = measure_scan(seg, series)
    assert with_image.edge_known
    assert with_image.rows["touches_edge"].tolist() == [False]
    # The blank survives the CSV.
    out = tmp_path / "lesions.csv"
    result = CliRunner().invoke(measure_command, [str(seg), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["touches_edge"].isna().all()
