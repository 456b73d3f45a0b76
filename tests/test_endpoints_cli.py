"""`respond evaluate --patients --adjudications` writes events.csv and summary.csv;
`respond summarize DIR` recomputes them with other options; the endpoints preset section is validated."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from respond.cli import EXIT_SOME_FAILED, main
from respond.config import PRESET_DIR, load_criteria
from respond.errors import ConfigError
from respond.tables import EVENTS, SUMMARY

LESIONS = """patient_id,date,lesion_id,organ,longest_diameter_mm,short_axis_mm,n_slices
P1,2024-01-01,B1,brain,30,15,4
P1,2024-03-01,B1,brain,20,10,4
P1,2024-05-01,B1,brain,30,15,4
P2,2024-01-01,B1,brain,30,15,4
P2,2024-03-01,B1,brain,28,14,4
P2,2024-05-01,B1,brain,28,14,4
"""
PATIENTS = "patient_id,treatment_start,last_followup,death_date\nP1,2024-01-08,,\nP2,2024-01-08,,2024-06-15\n"


def _run(tmp_path, adjudications=None):
    (tmp_path / "lesions.csv").write_text(LESIONS)
    (tmp_path / "patients.csv").write_text(PATIENTS)
    args = ["evaluate", str(tmp_path / "lesions.csv"), "--patients", str(tmp_path / "patients.csv"),
            "--out", str(tmp_path / "out")]
    if adjudications is not None:
        (tmp_path / "adj.csv").write_text(adjudications)
        args += ["--adjudications", str(tmp_path / "adj.csv")]
    return CliRunner().invoke(main, args), tmp_path / "out"


def test_evaluate_writes_events_and_summary(tmp_path):
    result, out = _run(tmp_path, "patient_id,lesion_id,date,finding\nP1,B1,2024-05-01,radionecrosis\n")
    assert result.exit_code == 0, result.output
    events = pd.read_csv(out / "events.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert list(events.columns) == EVENTS.names and list(summary.columns) == SUMMARY.names
    ipfs = events[(events.endpoint == "ipfs") & (events.criteria == "rano-bm")].set_index("patient_id")
    # The growth on 2024-05-01 is adjudicated radionecrosis: since issue 13 it no longer makes that timepoint
    # PD (RANO-BM: a PD shown to be treatment effect is withdrawn), so iPFS is censored at that assessment
    # (was an event, pattern local).
    p1 = ipfs.loc["P1"]
    assert (p1.time_days, bool(p1.event), p1.censor_reason) == (114, False, "last_evaluable_assessment")
    assert (ipfs.loc["P2", "time_days"], ipfs.loc["P2", "pattern"]) == (159, "death")        # died 2024-06-15
    lc = events[(events.endpoint == "local_control") & (events.patient_id == "P1")]
    assert not lc.event.any()  # the growth at 2024-05-01 was adjudicated radionecrosis
    assert (out / "agreement.csv").is_file()
    iorr = summary[(summary.criteria == "rano-bm") & (summary.statistic == "iorr")]
    assert set(iorr.method) == {"clopper-pearson", "jeffreys"} and (iorr.n == 2).all()


def test_summarize_recomputes_with_other_options(tmp_path):
    result, out = _run(tmp_path)
    assert result.exit_code == 0, result.output
    other = tmp_path / "other"
    result = CliRunner().invoke(main, ["summarize", str(out), "--no-death-as-event", "--rate-times", "3",
                                       "--out", str(other)])
    assert result.exit_code == 0, result.output
    events = pd.read_csv(other / "events.csv")
    p2 = events[(events.endpoint == "ipfs") & (events.patient_id == "P2") & (events.criteria == "rano-bm")].iloc[0]
    assert (bool(p2.event), p2.time_days, p2.censor_reason) == (False, 114, "death_not_event")
    summary = pd.read_csv(other / "summary.csv")
    assert set(summary[summary.statistic == "ipfs_rate"].time_months) == {3.0}
    # The run's own outputs are untouched; the hash of the changed definitions is new.
    assert pd.read_csv(out / "events.csv").config_hash.iloc[0] != events.config_hash.iloc[0]


def test_summarize_refuses_a_changed_patients_table(tmp_path):
    _, out = _run(tmp_path)
    (tmp_path / "patients.csv").write_text(PATIENTS.replace("2024-06-15", "2024-06-16"))
    result = CliRunner().invoke(main, ["summarize", str(out)])
    assert result.exit_code == 2 and "changed since the run" in result.output


def test_bad_adjudication_row_fails_that_patient_only(tmp_path):
    result, out = _run(tmp_path, "patient_id,lesion_id,date,finding\nP1,B1,2024-05-01,scar\n")
    assert result.exit_code == EXIT_SOME_FAILED
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures.patient_id) == ["P1"] and "unknown finding 'scar'" in failures.message.iloc[0]
    assert set(pd.read_csv(out / "events.csv").patient_id) == {"P2"}


def _preset():
    return yaml.safe_load((PRESET_DIR / "rano-bm.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("key,value,match", [
    ("rate_times_months", [], "non-empty list of numbers"),
    ("rate_times_months", [6, "12"], "non-empty list of numbers"),
    ("rate_times_months", [6, 6], "must not repeat"),
    ("rate_times_months", [-1], "between"),
    ("treated_lesions", "all", "one of baseline, targets, column"),
    ("death_is_event", "yes", "true or false"),
    ("confidence_level", 95, "between"),
])
def test_endpoints_section_is_validated(tmp_path, key, value, match):
    data = _preset()
    data["endpoints"][key] = value
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=match):
        load_criteria(path)


def test_presets_state_the_endpoint_defaults():
    for preset in ("recist1.1", "rano-bm"):
        e = load_criteria(preset).endpoints
        assert e.death_is_event is True and e.rate_times_months == (6.0, 12.0)
        assert (e.local_failure_increase_pct, e.local_failure_absolute_mm) == (20.0, 5.0)
        assert e.local_failure_requires_confirmation is False and e.treated_lesions == "baseline"
