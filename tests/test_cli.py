"""The `respond evaluate` command: outputs, provenance and exit codes."""
from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from respond.cli import EXIT_CANNOT_START, EXIT_SOME_FAILED, main
from respond.tables import BEST_RESPONSE, TARGETS, TIMEPOINTS

LESIONS = """patient_id,date,lesion_id,organ,longest_diameter_mm,short_axis_mm,n_slices
P1,2024-01-01,B1,brain,30,20,4
P1,2024-03-01,B1,brain,15,10,3
P1,2024-05-01,B1,brain,14,10,3
"""


def _invoke(tmp_path, lesions_text, *args):
    path = tmp_path / "lesions.csv"
    path.write_text(lesions_text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["evaluate", str(path), "--out", str(out), *args])
    return result, out


def test_writes_tables_with_defined_columns_and_provenance(tmp_path):
    result, out = _invoke(tmp_path, LESIONS)
    assert result.exit_code == 0, result.output
    assert "results written to" in result.output and "PR" in result.output
    for name, table in (("timepoints", TIMEPOINTS), ("best_response", BEST_RESPONSE), ("targets", TARGETS)):
        frame = pd.read_csv(out / f"{name}.csv")
        assert list(frame.columns) == table.names
    best = pd.read_csv(out / "best_response.csv")
    assert dict(zip(best.criteria, best.best_overall_response)) == {"recist1.1": "PR", "rano-bm": "PR"}
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in run["criteria"]] == ["recist1.1", "rano-bm"]
    assert run["criteria"][0]["sha256"].startswith(best.config_hash.iloc[0])
    assert run["inputs"]["lesions"].endswith(
        __import__("hashlib").sha256((tmp_path / "lesions.csv").read_bytes()).hexdigest())
    assert run["counts"]["patients_assessed"] == 1
    assert not list(out.glob("*.part"))


def test_some_patients_failed_exit_code(tmp_path):
    result, out = _invoke(tmp_path, LESIONS + "P2,2024-01,B1,brain,30,20,4\n")
    assert result.exit_code == EXIT_SOME_FAILED
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures.patient_id) == ["P2"] and "partial date" in failures.message.iloc[0]
    assert set(pd.read_csv(out / "best_response.csv").patient_id) == {"P1"}


def test_cannot_start_exit_code_with_clear_message(tmp_path):
    result, out = _invoke(tmp_path, "patient_id,date\nP1,2024-01-01\n")
    assert result.exit_code == EXIT_CANNOT_START
    assert "lacks required column" in result.output and not out.exists()


def test_criteria_selection_and_protocol_config(tmp_path):
    variant = tmp_path / "v.yaml"
    variant.write_text("extends: rano-bm\nid: rano-bm-no-confirmation\nbest_response:\n  confirmation_required: false\n")
    result, out = _invoke(tmp_path, LESIONS, "--criteria", "rano-bm", "--config", str(variant))
    assert result.exit_code == 0, result.output
    best = pd.read_csv(out / "best_response.csv")
    assert list(best.criteria) == ["rano-bm", "rano-bm-no-confirmation"]
    result, _ = _invoke(tmp_path, LESIONS, "--criteria", "who")
    assert result.exit_code == EXIT_CANNOT_START and "not found" in result.output
