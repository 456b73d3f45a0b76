"""Manifest and links inputs that used to crash or pass silently (issue 17, manifest items)."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from respond import track
from respond.cli import main
from respond.errors import InputTableError
from respond.tracking import read_manifest


def write_mask(path, centre=(12, 12, 12), radius=4.0, size=24, spacing=2.0):
    k, j, i = np.meshgrid(*(np.arange(size) * spacing,) * 3, indexing="ij")
    x, y, z = centre
    array = ((i - x) ** 2 + (j - y) ** 2 + (k - z) ** 2 <= radius**2).astype(np.uint8)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((spacing,) * 3)
    sitk.WriteImage(image, str(path))
    return path.name


def rows(*items):
    return [{"patient_id": pid, "date": date, "mask": mask, "organ": "brain"} for pid, date, mask in items]


def test_a_name_over_255_characters_fails_that_patient_only(tmp_path):
    write_mask(tmp_path / "a.nii.gz")
    write_mask(tmp_path / "b.nii.gz", (13, 12, 12))
    long_name = "x" * 300 + ".nii.gz"
    path = tmp_path / "m.csv"
    pd.DataFrame(rows(("P", "2024-01-01", "a.nii.gz"), ("P", "2024-02-01", "b.nii.gz"),
                      ("Q", "2024-01-01", long_name))).to_csv(path, index=False)
    manifest = read_manifest(path)
    assert manifest.patients == ["P"]
    error = manifest.failures[0]
    assert error.code == "manifest.bad_path" and error.patient_id == "Q" and error.row == 4
    assert "File name too long" in error.message and "255" in error.message
    result = track(path)
    assert set(result.lesions.patient_id) == {"P"}
    assert result.failures.error_code.tolist() == ["manifest.bad_path"]
    run = CliRunner().invoke(main, ["track", str(path), "--out", str(tmp_path / "out")])
    assert run.exit_code == 3 and "Traceback" not in run.output


def test_the_same_mask_content_for_two_dates_or_two_patients_is_warned(tmp_path):
    write_mask(tmp_path / "a.nii.gz")
    shutil.copy(tmp_path / "a.nii.gz", tmp_path / "a_copy.nii.gz")  # same bytes, another name
    write_mask(tmp_path / "b.nii.gz", (13, 12, 12))
    write_mask(tmp_path / "c.nii.gz", (14, 12, 12))
    path = tmp_path / "m.csv"
    pd.DataFrame(rows(("P", "2024-01-01", "a.nii.gz"), ("P", "2024-02-01", "a_copy.nii.gz"),
                      ("Q", "2024-01-01", "b.nii.gz"), ("R", "2024-01-01", "c.nii.gz"),
                      ("R", "2024-02-01", "b.nii.gz"))).to_csv(path, index=False)
    result = track(path)
    assert result.failures.empty
    warned = result.warnings[result.warnings.code == "duplicate_mask_file"]
    assert sorted(warned.patient_id) == ["P", "P", "Q", "R"]
    p_first = warned[warned.patient_id == "P"].message.iloc[0]
    assert "2024-01-01" in p_first and "patient P 2024-02-01 (row 3)" in p_first
    q = warned[warned.patient_id == "Q"].message.iloc[0]
    assert "patient R 2024-02-01 (row 6)" in q
    # Distinct masks: no warning.
    pd.DataFrame(rows(("P", "2024-01-01", "a.nii.gz"), ("P", "2024-02-01", "b.nii.gz"))).to_csv(path, index=False)
    assert track(path).warnings.empty


def test_assess_warns_the_same_mask_content_too(tmp_path):
    from respond import assess

    write_mask(tmp_path / "a.nii.gz")
    shutil.copy(tmp_path / "a.nii.gz", tmp_path / "a_copy.nii.gz")
    path = tmp_path / "m.csv"
    pd.DataFrame(rows(("P", "2024-01-01", "a.nii.gz"), ("P", "2024-02-01", "a_copy.nii.gz"))).to_csv(path, index=False)
    result = assess(path, out=tmp_path / "run", report=False, progress=False)
    assert (result.warnings.code == "duplicate_mask_file").sum() == 2
    assert "duplicate_mask_file" in set(pd.read_csv(tmp_path / "run" / "warnings.csv").code)


def test_a_links_row_for_an_unknown_patient_is_an_error_naming_the_row(tmp_path):
    write_mask(tmp_path / "a.nii.gz")
    path = tmp_path / "m.csv"
    pd.DataFrame(rows(("P", "2024-01-01", "a.nii.gz"))).to_csv(path, index=False)
    links = tmp_path / "links.csv"
    pd.DataFrame([{"patient_id": "P", "date": "2024-01-01", "source_label": "1", "lesion_id": "1"},
                  {"patient_id": "p", "date": "2024-01-01", "source_label": "1", "lesion_id": "1"}]).to_csv(links,
                                                                                                      index=False)
    with pytest.raises(InputTableError, match="row 3") as info:
        track(path, links=links)
    assert info.value.code == "links.unknown_patient" and info.value.patient_id == "p"
    run = CliRunner().invoke(main, ["track", str(path), "--out", str(tmp_path / "out"), "--links", str(links)])
    assert run.exit_code == 2 and "links.unknown_patient" in run.output and "row 3" in run.output
