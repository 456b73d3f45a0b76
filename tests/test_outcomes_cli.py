"""`respond evaluate --treatments` writes the outcome tables; `respond outcomes RUN_DIR` recomputes them."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import respond
from respond.cli import main
from respond.errors import EXIT_SOME_FAILED
from respond.tables import COX, DOSES, INDICES, OUTCOMES

LESIONS = """patient_id,date,lesion_id,organ,longest_diameter_mm,short_axis_mm,n_slices,volume_mm3
P1,2024-01-01,B1,brain,30,15,4,12000
P1,2024-03-01,B1,brain,20,10,4,5000
P1,2024-05-01,B1,brain,30,15,4,12000
P2,2024-01-01,B1,brain,30,15,4,11000
P2,2024-01-01,B2,brain,12,8,3,800
P2,2024-03-01,B1,brain,28,14,4,10000
P2,2024-03-01,B2,brain,12,8,3,800
P3,2024-01-01,B1,brain,15,10,3,2000
P3,2024-04-01,B1,brain,10,6,3,900
"""
PATIENTS = """patient_id,treatment_start,last_followup,death_date,age_years,sex,kps,primary_site,primary_controlled,extracranial_metastases,systemic_status,cause_of_death
P1,2024-01-08,2024-09-01,,58,male,90,lung,yes,no,sd,
P2,2024-01-08,,2024-06-15,67,female,60,breast,no,yes,pd,cancer
P3,2024-01-08,2025-01-10,,45,female,100,lung,yes,no,ned,
"""
TREATMENTS = """patient_id,lesion_id,date,total_dose_gy,fractions,technique,alpha_beta_gy,isotope_half_life_days,repair_half_time_h
P1,B1,2024-01-08,20,1,srs,,,
P2,,2024-01-08,30,10,wbrt,,,
P3,B1,2024-01-08,80,1,brachytherapy,,9.7,1.5
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    for name, text in (("lesions", LESIONS), ("patients", PATIENTS), ("treatments", TREATMENTS)):
        (tmp_path / f"{name}.csv").write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "lesions.csv"), "--patients",
                                       str(tmp_path / "patients.csv"), "--treatments",
                                       str(tmp_path / "treatments.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_evaluate_with_treatments_writes_the_outcome_tables(run_dir):
    for name, table in (("indices", INDICES), ("outcomes", OUTCOMES), ("cox", COX), ("doses", DOSES)):
        frame = pd.read_csv(run_dir / f"{name}.csv")
        assert list(frame.columns) == table.names
    indices = pd.read_csv(run_dir / "indices.csv", keep_default_na=False)
    p2 = indices[(indices.patient_id == "P2") & (indices["index"] == "gpa")].iloc[0]
    # P2: 67 y (0) + KPS 60 (0) + 2 CNS lesions (0.5) + extracranial metastases (0) = 0.5
    assert float(p2["score"]) == 0.5 and p2["class"] == "0-1" and "n_brain_lesions=2 (0.5)" in p2["inputs"]
    doses = pd.read_csv(run_dir / "doses.csv")
    totals = doses[doses.technique == "total"].set_index(["patient_id", "lesion_id"])["bed_gy"]
    assert totals[("P1", "B1")] == pytest.approx(60.0)
    assert totals[("P2", "B2")] == pytest.approx(39.0)
    assert totals[("P3", "B1")] == pytest.approx(84.0973, abs=1e-3)
    outcomes = pd.read_csv(run_dir / "outcomes.csv")
    os_median = outcomes[(outcomes.endpoint == "os") & (outcomes.statistic == "median") & outcomes.group_by.isna()]
    assert os_median["n"].iloc[0] == 3 and os_median["events"].iloc[0] == 1
    assert set(outcomes.endpoint) >= {"os", "css", "ipfs", "local_control"}


def test_outcomes_command_recomputes_with_other_covariates(run_dir, tmp_path):
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["outcomes", str(run_dir), "--out", str(again), "--covariates",
                                       "age_ge_60,kps_lt_70"])
    assert result.exit_code == 0, result.output
    cox = pd.read_csv(again / "cox.csv")
    patient = cox[cox.level == "patient"]
    assert set(patient.covariate) == {"age_ge_60", "kps_lt_70"}
    assert "overall survival: n=3" in result.output


def test_outcomes_command_lists_patients_with_bad_values(run_dir, tmp_path):
    bad = tmp_path / "bad_patients.csv"
    bad.write_text(PATIENTS.replace("58,male,90", "58,male,900"))
    result = CliRunner().invoke(main, ["outcomes", str(run_dir), "--out", str(tmp_path / "o"), "--patients",
                                       str(bad)])
    assert result.exit_code == EXIT_SOME_FAILED
    failures = pd.read_csv(tmp_path / "o" / "outcome_failures.csv")
    assert list(failures.patient_id) == ["P1"] and "900" in failures.message.iloc[0]


def test_python_api_on_an_evaluation(tmp_path):
    (tmp_path / "lesions.csv").write_text(LESIONS)
    (tmp_path / "patients.csv").write_text(PATIENTS)
    result = respond.evaluate(str(tmp_path / "lesions.csv"), patients=str(tmp_path / "patients.csv"))
    tables = respond.outcomes(result)
    assert len(tables.indices) == 15  # 3 patients x 5 indices
    rpa = tables.indices[tables.indices["index"] == "rpa"].set_index("patient_id")["class"]
    assert rpa.to_dict() == {"P1": "I", "P2": "III", "P3": "I"}


def test_outcomes_command_refuses_an_unknown_covariate(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["outcomes", str(run_dir), "--out", str(tmp_path / "x"), "--covariates",
                                       "age_ge_60,shoe_size"])
    assert result.exit_code == 2 and "shoe_size" in result.output
