"""One consistent command line (issue 16.8-16.12): option names, aliases, errors, interruption, run.json paths,
criteria ids, the console summary, the manifest's bad date, track's warning and short result reprs."""
from __future__ import annotations

import json
import os
import sys
import warnings

import pandas as pd
import pytest
from click.testing import CliRunner

import respond
from respond.cli import main
from respond.config import load_criteria
from respond.errors import EXIT_CANNOT_START, EXIT_INTERRUPTED
from respond.tracking.manifest import read_manifest
from respond.pipeline.console import best_response_lines
from respond.results import Assessment

LESIONS = """patient_id,date,lesion_id,organ,longest_diameter_mm
P1,2024-01-01,B1,brain,30
P1,2024-03-01,B1,brain,20
P1,2024-05-01,B1,brain,30
"""
PATIENTS = "patient_id,treatment_start\nP1,2023-12-20\n"


def _options(command: str) -> set[str]:
    return {opt for param in main.commands[command].params if not getattr(param, "hidden", False)
            for opt in param.opts}


def test_imaging_options_have_one_name_on_every_command():
    allow = {c: {o for o in _options(c) if o.startswith("--allow-")} for c in ("measure", "track", "assess")}
    assert allow["track"] == allow["assess"]
    assert allow["measure"] <= allow["track"]
    assert {"--allow-float-mask", "--allow-outside-paths"} <= allow["assess"]
    assert "--allow-outside" not in allow["assess"]  # the older spelling is a hidden alias only
    assert "--allow-outside " not in CliRunner().invoke(main, ["assess", "--help"]).output


@pytest.mark.parametrize("flag", ["--allow-outside", "--allow-outside-paths"])
def test_assess_passes_both_spellings_as_allow_outside_paths(tmp_path, monkeypatch, flag):
    seen = {}

    def fake_assess(manifest, **kw):
        seen.update(kw)
        raise KeyboardInterrupt  # stop there; the interruption is tested below

    monkeypatch.setattr("respond.pipeline.assess", fake_assess)
    result = CliRunner().invoke(main, ["assess", "m.csv", "--out", str(tmp_path), flag, "--allow-float-mask"])
    assert seen["allow_outside_paths"] is True and seen["allow_float_mask"] is True
    assert result.exit_code == EXIT_INTERRUPTED


def test_python_api_accepts_the_older_keyword_and_the_option_groups():
    from respond.pipeline.options import BatchOptions, ImagingOptions, split_keywords

    imaging, batch, reading = split_keywords({"allow_outside": True, "workers": 2, "allow_float_mask": True},
                                             imaging=ImagingOptions(transform="affine"), batch=None, manifest=None)
    assert reading.allow_outside_paths and batch == BatchOptions(workers=2)
    assert imaging == ImagingOptions(transform="affine", allow_float_mask=True)
    with pytest.raises(TypeError, match="allow_everything"):
        split_keywords({"allow_everything": True}, imaging=None, batch=None, manifest=None)
    with pytest.raises(ValueError, match="lesions"):
        ImagingOptions(lesions="blobs")


def test_ctrl_c_exits_130_and_says_resume_continues_it(tmp_path, monkeypatch):
    def interrupted(manifest, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("respond.pipeline.assess", interrupted)
    result = CliRunner().invoke(main, ["assess", "m.csv", "--out", str(tmp_path)])
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert result.output.strip().splitlines()[-1] == "interrupted; --resume continues it"
    assert "Traceback" not in result.output


def test_missing_dask_is_a_one_line_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import raises ImportError
    (tmp_path / "m.csv").write_text("patient_id,date,mask\n")
    result = CliRunner().invoke(main, ["assess", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o"),
                                       "--executor", "dask"])
    assert result.exit_code == EXIT_CANNOT_START == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'respond[distributed]'" in lines[0] and "Traceback" not in lines[0]


def test_symlink_refusal_says_where_it_resolves_and_never_echoes_the_target(tmp_path):
    secret = tmp_path / "elsewhere" / "secret.nii.gz"
    secret.parent.mkdir()
    secret.write_bytes(b"SECRET-CONTENT-0123456789")
    study = tmp_path / "study"
    study.mkdir()
    (study / "link.nii.gz").symlink_to(secret)
    (study / "m.csv").write_text("patient_id,date,mask,organ\nP1,2024-01-01,link.nii.gz,brain\n")
    failures = read_manifest(study / "m.csv").failures
    message = str(failures[0])
    assert failures[0].code == "manifest.path_outside"
    assert "symbolic link" in message and str(secret.resolve()) in message and "--allow-outside-paths" in message
    assert "SECRET" not in message


def test_run_json_inputs_work_from_any_folder(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "lesions.csv").write_text(LESIONS)
    (data / "patients.csv").write_text(PATIENTS)
    monkeypatch.chdir(data)
    first = CliRunner().invoke(main, ["evaluate", "lesions.csv", "--patients", "patients.csv", "--out", "../run"])
    assert first.exit_code == 0, first.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    again = CliRunner().invoke(main, ["summarize", str(tmp_path / "run"), "--rate-times", "3"])
    assert again.exit_code == 0, again.output
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert os.path.isabs(info["inputs"]["patients"].split(" sha256:")[0])


def test_criteria_ids_are_case_insensitive(tmp_path):
    assert load_criteria("RECIST1.1").id == "recist1.1" and load_criteria(" RANO-BM ").id == "rano-bm"
    (tmp_path / "lesions.csv").write_text(LESIONS)
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "lesions.csv"), "--criteria", "RECIST1.1",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "out" / "best_response.csv")["criteria"]) == {"recist1.1"}


def test_console_summary_shows_the_progression_date_next_to_the_best_response(tmp_path):
    (tmp_path / "lesions.csv").write_text(LESIONS)
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "lesions.csv"), "--criteria", "recist1.1",
                                       "--out", str(tmp_path / "out")])
    # 30 -> 20 (PR, -33 %) -> 30 (+50 % from the nadir: PD on 2024-05-01); PR unconfirmed -> best SD
    line = [x for x in result.output.splitlines() if x.startswith("P1")][0]
    assert "(progression 2024-05-01)" in line
    best = pd.DataFrame({"patient_id": ["A", "A", "B"], "criteria": ["recist1.1", "rano-bm", "recist1.1"],
                         "best_overall_response": ["PD", "SD", "PR"],
                         "progression_date": ["2024-03-01", None, None]})
    lines = {line.split()[0]: line for line in best_response_lines(best)[1:]}
    assert "PD (progression 2024-03-01)" in lines["A"] and lines["B"].split() == ["B", "PR"]


def test_a_bad_manifest_date_is_reported_once_with_the_manifest_row(tmp_path):
    for name in ("a.nii.gz", "b.nii.gz"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "m.csv").write_text("patient_id,date,mask,organ,steroid_dose_mg,clinical_status\n"
                                    "P1,2024-01-01,a.nii.gz,brain,4,stable\n"
                                    "P1,2024-13-45,b.nii.gz,brain,0,improved\n")
    result = respond.assess(tmp_path / "m.csv", report=False, progress=False)
    failures = result.failures
    assert len(failures) == 1
    assert failures.iloc[0]["error_code"] == "table.bad_date" and "row 3" in failures.iloc[0]["message"]
    assert "m.csv" in failures.iloc[0]["message"]


def test_track_that_produced_only_failures_warns(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"not an image")
    (tmp_path / "m.csv").write_text("patient_id,date,mask,organ\nP1,2024-01-01,a.nii.gz,brain\n")
    with pytest.warns(UserWarning, match="no patient was tracked: 1 patient"):
        result = respond.track(tmp_path / "m.csv")
    assert len(result.failures) == 1
    assert repr(result).startswith("<TrackResult: 0 patient(s) assessed, 1 failed; rows: lesions=0")


def test_results_list_their_tables_and_repr_briefly(reader_demo):
    evaluation, _ = reader_demo
    text = repr(evaluation)
    assert "\n" not in text and len(text) < 300 and text.startswith("<Evaluation: ")
    assert f"{evaluation.best_response['patient_id'].nunique()} patient(s) assessed" in text
    assessment = Assessment()
    assert {"lesions", "best_response", "registrations", "failures"} <= set(dir(assessment))
    assert repr(assessment) == ("<Assessment: 0 patient(s) assessed, 0 failed; rows: lesions=0, timepoints=0, "
                                "best_response=0, targets=0, matches=0, registrations=0, failures=0, scans=0>")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "best_response" in dir(evaluation)
