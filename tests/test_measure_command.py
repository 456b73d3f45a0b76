"""`respond measure` (the click command), measure_mask options, instancing and the CSV it writes."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from respond.errors import MaskValueError
from respond.measure import EXTRA_COLUMNS, measure_mask, write_lesion_csv
from respond.measure.command import CONNECTIVITY_CHOICES, measure_command
from respond.measure.instances import CONNECTIVITIES, find_lesions
from respond.tables import LESIONS


def two_lesion_mask(values=(1, 1)) -> sitk.Image:
    """Two boxes far apart: 5×4×3 voxels (value[0]) and 2×2×1 voxels (value[1]); spacing 0.7×0.7×3 mm."""
    array = np.zeros((10, 30, 30), np.uint8)
    array[2:5, 3:7, 3:8] = values[0]
    array[7, 20:22, 20:22] = values[1]
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.7, 0.7, 3.0))
    image.SetOrigin((-10.0, 5.0, 100.0))
    return image


def run(args):
    result = CliRunner().invoke(measure_command, args, catch_exceptions=False)
    return result


def test_cli_writes_the_lesion_table_for_evaluate(tmp_path):
    mask = tmp_path / "mask.nii.gz"
    sitk.WriteImage(two_lesion_mask(), str(mask))
    out = tmp_path / "out" / "lesions.csv"
    result = run([str(mask), "--organ", "lung", "--patient-id", "P1", "--date", "2024-03-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"lesion_id": str})
    assert list(table.columns[: len(LESIONS.names)]) == LESIONS.names
    assert table["patient_id"].tolist() == ["P1", "P1"]
    assert table["date"].tolist() == ["2024-03-01", "2024-03-01"]
    assert table["status"].tolist() == ["present", "present"]
    assert table["organ"].tolist() == ["lung", "lung"]
    assert table["lesion_id"].tolist() == ["1", "2"]
    # 5 × 4 voxels of 0.7 mm (stored by NIfTI as float32): mesh LD between opposite x faces = √((5s)² + (3s)²).
    s = float(np.float32(0.7))
    assert table["longest_diameter_mm"].iloc[0] == pytest.approx(np.hypot(5 * s, 3 * s), rel=1e-12)
    assert table["n_slices"].tolist() == [3, 1]
    assert table["volume_mm3"].iloc[1] == pytest.approx(4 * s * s * 3.0, rel=1e-12)
    assert table["single_slice"].tolist() == [False, True]
    assert table["below_10mm"].tolist() == [True, True]
    assert table["measurement_convention"].tolist() == ["mesh", "mesh"]
    assert not list(out.parent.glob(".*tmp"))  # atomic write leaves no temporary file


def test_empty_mask_gives_header_only(tmp_path):
    mask = tmp_path / "empty.nrrd"
    sitk.WriteImage(sitk.Image([8, 8, 4], sitk.sitkUInt8), str(mask))
    out = tmp_path / "lesions.csv"
    assert run([str(mask), "--out", str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].split(",")[: len(LESIONS.names)] == LESIONS.names


def test_cli_labels_mode_and_label_ids(tmp_path):
    mask = tmp_path / "labels.mha"
    sitk.WriteImage(two_lesion_mask(values=(7, 3)), str(mask))
    out = tmp_path / "lesions.csv"
    assert run([str(mask), "--lesions", "labels", "--out", str(out)]).exit_code == 0
    table = pd.read_csv(out, dtype={"lesion_id": str})
    assert table["lesion_id"].tolist() == ["3", "7"]
    assert table["voxel_count"].tolist() == [4, 60]


def test_cli_refuses_multilabel_mask_in_components_mode(tmp_path):
    mask = tmp_path / "labels.nrrd"
    sitk.WriteImage(two_lesion_mask(values=(7, 3)), str(mask))
    result = CliRunner().invoke(measure_command, [str(mask), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "labels 3, 7" in result.output and "labels.nrrd" in result.output
    assert not (tmp_path / "x.csv").exists()
    # Choosing one label measures its components.
    result = run([str(mask), "--label", "7", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 0
    assert pd.read_csv(tmp_path / "x.csv")["label"].tolist() == [7]


def test_cli_geometry_mismatch_exits_2_with_the_field(tmp_path):
    mask = two_lesion_mask()
    image = sitk.Cast(two_lesion_mask(), sitk.sitkInt16)
    image.SetOrigin((-10.0, 5.0, 97.0))
    sitk.WriteImage(mask, str(tmp_path / "mask.nrrd"))
    sitk.WriteImage(image, str(tmp_path / "image.nrrd"))
    args = [str(tmp_path / "mask.nrrd"), "--image", str(tmp_path / "image.nrrd"), "--out", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(measure_command, args)
    assert result.exit_code == 2 and "origin" in result.output
    assert run(args + ["--allow-resample-mask"]).exit_code == 0


def test_cli_rejects_bad_date(tmp_path):
    result = CliRunner().invoke(measure_command, ["m.nii", "--date", "2024-13-01", "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "ISO date" in result.output


def test_connectivity_choices_match_the_implementation():
    assert tuple(int(c) for c in CONNECTIVITY_CHOICES) == CONNECTIVITIES


def test_connectivity_decides_what_is_one_lesion():
    array = np.zeros((3, 3, 3), np.uint8)
    array[0, 0, 0] = array[1, 1, 1] = 1  # corner neighbours
    array[2, 2, 1] = 1  # edge neighbour of (1, 1, 1)
    assert len(find_lesions(array, connectivity=26)) == 1
    assert len(find_lesions(array, connectivity=18)) == 2
    assert len(find_lesions(array, connectivity=6)) == 3
    with pytest.raises(ValueError, match="connectivity"):
        find_lesions(array, connectivity=8)


def test_labels_mode_keeps_separate_pieces_of_one_label_together():
    array = np.zeros((5, 9, 9), np.uint8)
    array[1, 1:3, 1:3] = 4
    array[3, 6:8, 6:8] = 4
    (lesion,) = find_lesions(array, lesions="labels")
    assert lesion.lesion_id == "4" and lesion.voxel_count == 8


def test_measure_mask_frame_types_and_extra_columns():
    frame = measure_mask(two_lesion_mask(), organ="brain", patient_id="P9", date="2024-01-02")
    assert frame["date"].tolist() == [dt.date(2024, 1, 2)] * 2
    assert frame["n_slices"].dtype == np.int64 and frame["touches_edge"].dtype == bool
    assert list(frame.columns[len(LESIONS.names):][: len(EXTRA_COLUMNS)]) == [
        c for c in EXTRA_COLUMNS if c not in LESIONS.names
    ]


def test_touches_edge_flag():
    array = np.zeros((4, 6, 6), np.uint8)
    array[1:3, 0:2, 2:4] = 1
    frame = measure_mask(sitk.GetImageFromArray(array))
    assert bool(frame["touches_edge"].iloc[0])
    array = np.roll(array, 2, axis=1)
    assert not bool(measure_mask(sitk.GetImageFromArray(array))["touches_edge"].iloc[0])


def test_float_mask_needs_opt_in():
    mask = sitk.Cast(two_lesion_mask(), sitk.sitkFloat32)
    with pytest.raises(MaskValueError, match="allow_float_mask"):
        measure_mask(mask)
    assert len(measure_mask(mask, allow_float_mask=True)) == 2


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    out = tmp_path / "lesions.csv"
    out.write_text("old\n")
    frame = measure_mask(two_lesion_mask())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_lesion_csv(frame, out)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lesions.csv"]


def test_nonzero_box():
    from respond.measure.instances import nonzero_box

    array = np.zeros((4, 5, 6), np.uint8)
    assert nonzero_box(array) is None
    array[1, 2, 3] = array[2, 4, 0] = 9
    assert nonzero_box(array) == (slice(1, 3), slice(2, 5), slice(0, 4))
    assert find_lesions(array, connectivity=26)[0].bbox == (slice(1, 2), slice(2, 3), slice(3, 4))


def test_measure_is_a_subcommand_of_respond():
    from respond.cli import main

    result = CliRunner().invoke(main, ["measure", "--help"])
    assert result.exit_code == 0 and "--lesions [components|labels]" in result.output


def test_measured_tables_feed_evaluate(tmp_path):
    """Two scans measured by `respond measure` → RECIST 1.1 partial response from `evaluate`."""
    from respond.pipeline.evaluate import evaluate
    from respond.testing.phantoms import sphere

    tables = []
    for date, radius in (("2024-01-10", 10.0), ("2024-03-10", 6.0)):
        mask = tmp_path / f"{date}.nrrd"
        sitk.WriteImage(sphere(radius, spacing=(0.8, 0.8, 2.0)).mask, str(mask))
        out = tmp_path / f"{date}.csv"
        args = [str(mask), "--organ", "lung", "--patient-id", "P1", "--date", date, "--out", str(out)]
        assert run(args).exit_code == 0
        tables.append(pd.read_csv(out))
    lesions = tmp_path / "lesions.csv"
    pd.concat(tables).to_csv(lesions, index=False)
    result = evaluate(lesions, criteria="recist1.1")
    assert len(result.failures) == 0
    follow_up = result.timepoints[result.timepoints["date"].astype(str) == "2024-03-10"].iloc[0]
    # LD 2r within a voxel: ≈ 20 mm → ≈ 12 mm, a fall of about 40 % (≥ 30 %): PR.
    assert follow_up["pct_change_from_baseline"] == pytest.approx(-40.0, abs=5.0)
    assert follow_up["overall_response"] == "PR"
