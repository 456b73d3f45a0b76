"""Manifest and links validation, manual links on a series, and the `respond track` command."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from respond.cli import main
from respond.errors import InputTableError
from respond import track
from sphere_masks import write_mask
from respond.tracking import read_links, read_manifest
from respond.registration import RegistrationSettings
from respond.testing.series import default_series

sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)

#: Cheaper registration: these tests are about links, not registration accuracy.
FAST = RegistrationSettings(samples_per_level=8000, level_spacings_mm=(12.0, 6.0))


@pytest.fixture
def folder(tmp_path):
    write_mask(tmp_path / "a.nii.gz", [(12, 12, 12), (32, 30, 30)])
    write_mask(tmp_path / "b.nii.gz", [(13, 12, 12), (32, 31, 30)])
    write_mask(tmp_path / "c.nii.gz", [(12, 13, 12)])
    return tmp_path


def manifest(folder, rows, name="manifest.csv"):
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def row(pid, date, mask, **extra):
    return {"patient_id": pid, "date": date, "mask": mask, "organ": "brain", **extra}


# --------------------------------------------------------------------------- manifest


def test_scans_are_sorted_by_date_not_by_file_name(folder):
    # File names sort a, b, c; dates sort c, a, b.
    m = read_manifest(manifest(folder, [row("P", "2024-02-01", "a.nii.gz"), row("P", "2024-03-01", "b.nii.gz"),
                                        row("P", "2023-12-01", "c.nii.gz")]))
    scans = m.scans("P")
    assert [p.name for p in scans["mask"]] == ["c.nii.gz", "a.nii.gz", "b.nii.gz"]
    assert scans["date"].tolist() == [dt.date(2023, 12, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]


@pytest.mark.parametrize("date, code", [("2024-02-30", "table.bad_date"), ("2024-02", "table.partial_date"),
                                        ("01/02/2024", "table.bad_date"), ("", "table.missing_date")])
def test_bad_dates_fail_the_patient_naming_file_row_and_value(folder, date, code):
    path = manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", date, "b.nii.gz"),
                             row("Q", "2024-01-01", "a.nii.gz")])
    m = read_manifest(path)
    assert m.patients == ["Q"]
    (error,) = m.failures
    assert error.code == code and error.row == 3 and error.file == str(path)
    assert str(path) in str(error) and "row 3" in str(error)


def test_duplicate_dates_fail_the_patient(folder):
    m = read_manifest(manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", "2024-01-01", "b.nii.gz")]))
    assert m.patients == [] and m.failures[0].code == "table.duplicate_row"
    assert "rows 2, 3" in str(m.failures[0])


def test_missing_file_is_named(folder):
    m = read_manifest(manifest(folder, [row("P", "2024-01-01", "nothere.nii.gz")]))
    (error,) = m.failures
    assert error.code == "manifest.file_not_found" and error.value == "nothere.nii.gz" and error.column == "mask"
    assert "nothere.nii.gz" in str(error)


def test_missing_column_raises(folder):
    path = folder / "m.csv"
    pd.DataFrame([{"patient_id": "P", "date": "2024-01-01"}]).to_csv(path, index=False)
    with pytest.raises(InputTableError, match="mask") as info:
        read_manifest(path)
    assert info.value.code == "table.missing_column" and info.value.file == str(path)


def test_missing_manifest_raises(tmp_path):
    with pytest.raises(InputTableError) as info:
        read_manifest(tmp_path / "none.csv")
    assert info.value.code == "table.not_found"


def test_paths_escaping_the_manifest_folder_are_refused_unless_allowed(tmp_path):
    outside = write_mask(tmp_path / "outside.nii.gz", [(12, 12, 12)])
    inner = tmp_path / "study"
    inner.mkdir()
    path = manifest(inner, [row("P", "2024-01-01", "../outside.nii.gz"), row("Q", "2024-01-01", str(outside))])
    m = read_manifest(path)
    assert m.patients == [] and {e.code for e in m.failures} == {"manifest.path_outside"}
    assert "../outside.nii.gz" in str(m.failures[0])
    allowed = read_manifest(path, allow_outside=True)
    assert allowed.patients == ["P", "Q"] and not allowed.failures


def test_organ_comes_from_the_row_or_the_default(folder):
    rows = [{"patient_id": "P", "date": "2024-01-01", "mask": "a.nii.gz"}]
    m = read_manifest(manifest(folder, rows))
    assert m.failures[0].code == "manifest.missing_organ"
    m = read_manifest(manifest(folder, rows), organ="Brain")
    assert m.scans("P")["organ"].tolist() == ["brain"]


def test_a_failed_manifest_row_goes_to_failures_and_the_rest_is_tracked(folder):
    path = manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", "2024-02-01", "b.nii.gz"),
                             row("Q", "2024-13-01", "a.nii.gz")])
    result = track(path)
    assert set(result.lesions.patient_id) == {"P"}
    failure = result.failures.iloc[0]
    assert failure.patient_id == "Q" and failure.stage == "manifest" and "2024-13-01" in failure.message


# --------------------------------------------------------------------------- tracking without images


def test_masks_only_series_is_matched_and_the_fallback_is_reported(folder):
    result = track(manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", "2024-02-01", "b.nii.gz"),
                                     row("P", "2024-03-01", "c.nii.gz")]))
    assert result.failures.empty
    reg = result.registrations.set_index("date")
    assert reg.loc[dt.date(2024, 2, 1), "method"] == "masks"
    assert "images absent" in reg.loc[dt.date(2024, 2, 1), "notes"]
    assert "translation only" in reg.loc[dt.date(2024, 2, 1), "notes"]  # two lesions do not fix a rotation
    assert reg.loc[dt.date(2024, 2, 1), "transform_type"] == "translation"
    # The lone lesion left at the last scan is not pulled onto the vanished one 20 mm away.
    status = result.matches.set_index(["date", "lesion_id"]).status
    assert status[(dt.date(2024, 2, 1), "1")] == "matched" and status[(dt.date(2024, 2, 1), "2")] == "matched"
    assert status[(dt.date(2024, 3, 1), "2")] == "disappeared"
    zero = result.lesions[(result.lesions.date == dt.date(2024, 3, 1)) & (result.lesions.lesion_id == "2")]
    assert zero.longest_diameter_mm.tolist() == [0.0] and zero.status.tolist() == ["absent"]


def test_empty_follow_up_mask_means_everything_disappeared(folder):
    empty = sitk.Image([24, 24, 24], sitk.sitkUInt8)
    empty.SetSpacing((2.0,) * 3)
    sitk.WriteImage(empty, str(folder / "empty.nii.gz"))
    result = track(manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", "2024-02-01", "empty.nii.gz")]))
    follow = result.lesions[result.lesions.date == dt.date(2024, 2, 1)]
    assert follow.longest_diameter_mm.tolist() == [0.0, 0.0]
    assert result.registrations.method.tolist() == ["baseline", "none"]


# --------------------------------------------------------------------------- links


def test_links_table_is_validated(tmp_path):
    path = tmp_path / "links.csv"
    pd.DataFrame([{"patient_id": "P", "date": "2024-01-01", "source_label": "1", "lesion_id": "1"},
                  {"patient_id": "P", "date": "2024-01-01", "source_label": "1", "lesion_id": "2"}]).to_csv(path, index=False)
    with pytest.raises(InputTableError, match="linked to lesion 1") as info:
        read_links(path)
    assert info.value.code == "links.conflict" and info.value.row == 3
    pd.DataFrame([{"patient_id": "P", "date": "2024-01", "source_label": "1", "lesion_id": "1"}]).to_csv(path, index=False)
    with pytest.raises(InputTableError) as info:
        read_links(path)
    assert info.value.code == "table.partial_date"
    pd.DataFrame([{"patient_id": "P", "date": "2024-01-01", "source_label": "1", "lesion_id": "1",
                   "action": "maybe"}]).to_csv(path, index=False)
    with pytest.raises(InputTableError, match="maybe"):
        read_links(path)


def test_link_to_a_missing_component_fails_the_patient(folder):
    path = manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("P", "2024-02-01", "b.nii.gz")])
    links = pd.DataFrame([{"patient_id": "P", "date": "2024-02-01", "source_label": "9", "lesion_id": "1"}])
    result = track(path, links=links)
    failure = result.failures.iloc[0]
    assert failure.stage == "track" and failure.error_code == "links.unknown_scan" and "no component 9" in failure.message


@pytest.fixture(scope="module")
def two_scans(tmp_path_factory):
    series = default_series(spacing_mm=3.0, anatomy_spacing_mm=2.0)
    folder = tmp_path_factory.mktemp("links")
    frame = pd.read_csv(series.write(folder))
    keep = [series.scans[0].date.isoformat(), series.scans[1].date.isoformat()]
    frame[frame.date.isin(keep)].to_csv(folder / "two.csv", index=False)
    return folder / "two.csv", series


def test_manual_links_override_the_matcher(two_scans, tmp_path):
    path, series = two_scans
    auto = track(path, settings=FAST)
    follow = series.scans[1].date
    matched = auto.matches[(auto.matches.date == follow) & (auto.matches.status == "matched")]
    label, lesion = matched.iloc[0].source_label, matched.iloc[0].lesion_id
    links = tmp_path / "links.csv"
    pd.DataFrame([
        # The reader says this component is not that lesion …
        {"patient_id": "P1", "date": follow.isoformat(), "source_label": label, "lesion_id": lesion, "action": "unlink"},
        # … and names the new lesion of the follow-up.
        {"patient_id": "P1", "date": follow.isoformat(),
         "source_label": auto.matches[(auto.matches.date == follow) & (auto.matches.status == "new")].iloc[0].source_label,
         "lesion_id": "F-reader", "action": "link"},
    ]).to_csv(links, index=False)
    result = track(path, links=links, settings=FAST)
    status = result.matches[result.matches.date == follow].set_index("lesion_id").status
    assert status[lesion] == "disappeared"
    assert status["F-reader"] == "new"
    relabelled = result.matches[(result.matches.date == follow) & (result.matches.source_label == label)]
    assert relabelled.lesion_id.iloc[0] not in (lesion, "F-reader") and relabelled.status.iloc[0] == "new"


# --------------------------------------------------------------------------- CLI


def test_cli_tracks_and_writes_the_tables(folder):
    path = manifest(folder, [row("P", "2024-02-01", "b.nii.gz"), row("P", "2024-01-01", "a.nii.gz")])
    out = folder / "out"
    run = CliRunner().invoke(main, ["track", str(path), "--out", str(out), "--threads", "1"])
    assert run.exit_code == 0, run.output
    lesions = pd.read_csv(out / "lesions.csv")
    assert lesions.date.tolist() == ["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]
    assert (out / "matches.csv").is_file() and (out / "registrations.csv").is_file()


def test_cli_exit_codes(folder):
    bad = folder / "bad.csv"
    pd.DataFrame([{"patient_id": "P", "date": "2024-01-01"}]).to_csv(bad, index=False)
    run = CliRunner().invoke(main, ["track", str(bad), "--out", str(folder / "o1")])
    assert run.exit_code == 2 and "mask" in run.output
    partly = manifest(folder, [row("P", "2024-01-01", "a.nii.gz"), row("Q", "2024-01-01", "missing.nii.gz")])
    run = CliRunner().invoke(main, ["track", str(partly), "--out", str(folder / "o2")])
    assert run.exit_code == 3
    assert "missing.nii.gz" in pd.read_csv(folder / "o2" / "failures.csv").message.iloc[0]
    run = CliRunner().invoke(main, ["track", str(partly), "--out", str(folder / "o3"), "--match-margin-mm", "-2"])
    assert run.exit_code == 2
