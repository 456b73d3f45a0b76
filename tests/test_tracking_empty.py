"""Empty masks are content (issue 12.4): a lesion-free baseline stays the baseline; an empty follow-up is
'everything disappeared'; both are said in warnings.csv, and the scans table keeps every scan."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

from respond import track
from respond.cli import main
from sphere_masks import write_mask


@pytest.fixture
def empty_baseline(tmp_path):
    rows = [{"patient_id": "P", "date": "2024-01-01", "mask": write_mask(tmp_path / "empty.nii.gz", []).name},
            {"patient_id": "P", "date": "2024-02-01", "mask": write_mask(tmp_path / "one.nii.gz", [(12, 12, 12)]).name},
            {"patient_id": "P", "date": "2024-03-01",
             "mask": write_mask(tmp_path / "two.nii.gz", [(13, 12, 12), (34, 34, 34)]).name}]
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).assign(organ="brain").to_csv(path, index=False)
    return path


def test_empty_baseline_is_a_lesion_free_baseline_and_later_lesions_are_new(empty_baseline, tmp_path):
    result = track(empty_baseline, out=tmp_path / "out")
    assert result.failures.empty
    # The baseline date stays in the outputs: the scans table says "imaged, nothing found".
    scans = result.scans.set_index("date")
    assert scans.lesion_count.to_dict() == {dt.date(2024, 1, 1): 0, dt.date(2024, 2, 1): 1, dt.date(2024, 3, 1): 2}
    assert set(scans.region) == {"brain"}
    assert result.registrations.baseline_date.unique().tolist() == [dt.date(2024, 1, 1)]  # never shifted
    status = result.matches.set_index(["date", "lesion_id"]).status.to_dict()
    assert status == {(dt.date(2024, 2, 1), "1"): "new", (dt.date(2024, 3, 1), "1"): "matched",
                      (dt.date(2024, 3, 1), "2"): "new"}
    warning = result.warnings.iloc[0]
    assert len(result.warnings) == 1 and warning.code == "empty_baseline_mask" and warning.patient_id == "P"
    assert "2024-01-01" in warning.message and "empty.nii.gz" in warning.message
    written = pd.read_csv(tmp_path / "out" / "warnings.csv")
    assert written.code.tolist() == ["empty_baseline_mask"]
    assert pd.read_csv(tmp_path / "out" / "scans.csv").lesion_count.tolist() == [0, 1, 2]


def test_empty_baseline_fail_fails_the_patient(empty_baseline):
    result = track(empty_baseline, empty_baseline="fail")
    failure = result.failures.iloc[0]
    assert failure.patient_id == "P" and failure.error_code == "mask.empty_baseline"
    assert "empty.nii.gz" in failure.message and "--empty-baseline assess" in failure.message
    assert result.lesions.empty
    with pytest.raises(ValueError, match="empty_baseline"):
        track(empty_baseline, empty_baseline="skip")


def test_empty_follow_up_is_everything_disappeared_with_a_warning(tmp_path):
    rows = [{"patient_id": "P", "date": "2024-01-01", "mask": write_mask(tmp_path / "a.nii.gz", [(12, 12, 12)]).name},
            {"patient_id": "P", "date": "2024-02-01", "mask": write_mask(tmp_path / "empty.nii.gz", []).name}]
    pd.DataFrame(rows).assign(organ="brain").to_csv(tmp_path / "m.csv", index=False)
    result = track(tmp_path / "m.csv")
    assert result.matches.status.tolist() == ["baseline", "disappeared"]
    assert result.warnings.code.tolist() == ["empty_followup_mask"]
    assert "2024-02-01" in result.warnings.message.iloc[0]
    assert result.scans.lesion_count.tolist() == [1, 0]


def test_cli_empty_baseline_option(empty_baseline, tmp_path):
    run = CliRunner().invoke(main, ["track", str(empty_baseline), "--out", str(tmp_path / "o1")])
    assert run.exit_code == 0, run.output
    assert "1 warning(s)" in run.output
    run = CliRunner().invoke(main, ["track", str(empty_baseline), "--out", str(tmp_path / "o2"),
                                    "--empty-baseline", "fail"])
    assert run.exit_code == 3
    assert pd.read_csv(tmp_path / "o2" / "failures.csv").error_code.tolist() == ["mask.empty_baseline"]


def test_assess_keeps_the_empty_baseline_and_its_warning(empty_baseline, tmp_path):
    result = respond_assess(empty_baseline, tmp_path / "run")
    scans = pd.read_csv(tmp_path / "run" / "scans.csv")
    assert list(scans.columns[:5]) == ["patient_id", "date", "visit", "region", "lesion_count"]
    assert scans.lesion_count.tolist() == [0, 1, 2] and scans.date.tolist()[0] == "2024-01-01"
    warnings = pd.read_csv(tmp_path / "run" / "warnings.csv")
    assert "empty_baseline_mask" in set(warnings.code)
    assert "empty_baseline_mask" in set(result.warnings.code)
    # The criteria assess from the lesion-free baseline: the lesion first seen later is new.
    recist = result.timepoints[result.timepoints.criteria == "recist1.1"]
    assert str(recist.date.iloc[0]) == "2024-01-01"
    assert recist.overall_response.iloc[1] == "PD" and recist.new_lesions.iloc[1] == "yes"


def respond_assess(manifest, out):
    from respond import assess

    return assess(manifest, out=out, report=False, progress=False)
