"""The patients table's clinical columns and the treatments table: a bad value fails its patient only,
naming the file, row, column and value."""
from __future__ import annotations


import pytest

from respond.errors import InputTableError
from respond.io.clinical_tables import read_outcome_patients, read_treatments_table

PATIENTS = """patient_id,treatment_start,last_followup,death_date,age_years,sex,kps,primary_site,primary_controlled,extracranial_metastases,systemic_status,cause_of_death
P1,2024-01-01,2024-06-01,,64,male,80,lung,yes,no,sd,
P2,2024-01-01,,2024-05-01,71,female,150,breast,no,yes,pd,cancer
P3,2024-01-01,,,55,x,70,lung,maybe,,,
P4,2024-01-01,,,55,female,70,,,,,other
"""


def test_clinical_columns_are_typed_and_bad_values_fail_their_patient(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text(PATIENTS)
    read = read_outcome_patients(path)
    assert list(read.frame["patient_id"]) == ["P1"]
    p1 = read.frame.iloc[0]
    assert p1["age_years"] == 64.0 and p1["kps"] == 80.0 and p1["sex"] == "male"
    assert p1["primary_controlled"] is True and p1["extracranial_metastases"] is False
    assert p1["systemic_status"] == "sd" and p1["cause_of_death"] is None
    problems = {(e.patient_id, e.column): e for e in read.failures}
    kps = problems[("P2", "kps")]
    assert kps.row == 3 and kps.value == "150" and str(path) in str(kps)
    assert problems[("P3", "sex")].row == 4 and problems[("P3", "sex")].value == "x"
    assert problems[("P3", "primary_controlled")].value == "maybe"
    assert problems[("P4", "cause_of_death")].code == "table.cause_without_death"


TREATMENTS = """patient_id,lesion_id,date,total_dose_gy,fractions,technique,alpha_beta_gy,isotope_half_life_days,repair_half_time_h
P1,L1,2024-01-10,20,1,srs,,,
P1,,2024-01-12,30,10,wbrt,2,,
P2,L1,2024-02-01,80,1,brachytherapy,,9.7,
P3,L1,2024-02-01,24,3,gamma,,,
P4,L1,2024-02-01,-5,3,hfsrt,,,
P5,L1,2024-02-01,24,,hfsrt,,,
"""


def test_treatments_table_validated(tmp_path):
    path = tmp_path / "treatments.csv"
    path.write_text(TREATMENTS)
    read = read_treatments_table(path)
    assert sorted(set(read.frame["patient_id"])) == ["P1"]
    wbrt = read.frame.iloc[1]
    assert wbrt["lesion_id"] is None and wbrt["alpha_beta_gy"] == 2.0 and wbrt["fractions"] == 10.0
    problems = {e.patient_id: e for e in read.failures}
    assert problems["P2"].column == "repair_half_time_h" and problems["P2"].row == 4
    assert problems["P3"].column == "technique" and problems["P3"].value == "gamma"
    assert problems["P4"].column == "total_dose_gy" and problems["P4"].value == "-5"
    assert problems["P5"].column == "fractions"


def test_treatments_missing_required_column_stops_the_read(tmp_path):
    path = tmp_path / "treatments.csv"
    path.write_text("patient_id,date,total_dose_gy\nP1,2024-01-01,20\n")
    with pytest.raises(InputTableError, match="technique"):
        read_treatments_table(path)
