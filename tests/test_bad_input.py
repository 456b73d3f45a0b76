"""Bad input gets a clear error naming the file, row, column and value; one bad
patient never stops the others."""
from __future__ import annotations

import pandas as pd
import pytest

import respond
from respond.errors import InputTableError
from respond.io.lesion_table import read_lesion_table

GOOD = [
    "patient_id,date,lesion_id,organ,longest_diameter_mm,short_axis_mm,status",
    "OK,2024-01-01,L1,lung,30,,",
    "OK,2024-03-01,L1,lung,15,,",
]


def _csv(tmp_path, *bad_lines, header=GOOD[0]):
    path = tmp_path / "lesions.csv"
    path.write_text("\n".join([header, *GOOD[1:], *bad_lines]) + "\n")
    return path


@pytest.mark.parametrize("bad_line,code,match", [
    ("BAD,2024-13-01,L1,lung,30,,", "table.bad_date", "'2024-13-01' is not a calendar date"),
    ("BAD,2024-03,L1,lung,30,,", "table.partial_date", "partial date '2024-03'"),
    ("BAD,01/03/2024,L1,lung,30,,", "table.bad_date", "not an ISO date"),
    ("BAD,2024-01-01,L1,lung,-3,,", "table.negative_value", "negative"),
    ("BAD,2024-01-01,L1,lung,abc,,", "table.bad_number", "'abc' is not a number"),
    ("BAD,2024-01-01,L1,lung,30,,gone", "table.unknown_status", "unknown status 'gone'"),
    ("BAD,2024-01-01,N1,lymph_node,30,,", "table.node_without_short_axis", "lymph node without short axis"),
    ("BAD,2024-01-01,L1,lung,0,,present", "table.status_conflict", "status 'present' but longest diameter 0"),
    ("BAD,2024-01-01,L1,lung,10,12,", "table.short_axis_too_long", "short axis"),
])
def test_bad_value_fails_that_patient_only(tmp_path, bad_line, code, match):
    path = _csv(tmp_path, bad_line)
    result = respond.evaluate(path, criteria=["recist1.1"])
    assert list(result.failures.patient_id) == ["BAD"]
    failure = result.failures.iloc[0]
    assert failure.error_code == code and failure.stage == "read"
    assert match in failure.message
    assert "row 4" in failure.message and "lesions.csv" in failure.message
    assert set(result.best_response.patient_id) == {"OK"}


def test_duplicate_rows_name_both_rows(tmp_path):
    path = _csv(tmp_path, "BAD,2024-01-01,L1,lung,30,,", "BAD,2024-01-01,L1,lung,31,,")
    result = respond.evaluate(path, criteria=["recist1.1"])
    failure = result.failures.iloc[0]
    assert failure.error_code == "table.duplicate_row" and "rows 4, 5" in failure.message


def test_missing_column_stops_with_the_columns_found(tmp_path):
    path = tmp_path / "lesions.csv"
    path.write_text("patient_id,date,lesion,organ,longest_diameter_mm\nP,2024-01-01,L1,lung,30\n")
    with pytest.raises(InputTableError, match="lacks required column.*lesion_id.*columns found: patient_id, date, lesion") as err:
        read_lesion_table(path)
    assert err.value.code == "table.missing_column" and str(path) in str(err.value)


def test_blank_patient_id_stops(tmp_path):
    path = _csv(tmp_path, ",2024-01-01,L1,lung,30,,")
    with pytest.raises(InputTableError, match="row 4.*patient_id is blank"):
        read_lesion_table(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputTableError, match="not found"):
        read_lesion_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputTableError, match="empty"):
        read_lesion_table(tmp_path / "empty.csv")


def test_lesion_changing_organ_is_an_error():
    frame = pd.DataFrame([
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "L1", "organ": "lung", "longest_diameter_mm": 30},
        {"patient_id": "P", "date": "2024-02-01", "lesion_id": "L1", "organ": "liver", "longest_diameter_mm": 30}])
    result = respond.evaluate(frame, criteria=["recist1.1"])
    assert result.failures.iloc[0].error_code == "table.organ_changes"


def test_dataframe_rows_are_named_by_index_and_dates_may_be_timestamps():
    frame = pd.DataFrame([
        {"patient_id": "P", "date": pd.Timestamp("2024-01-01"), "lesion_id": "L1", "organ": "lung",
         "longest_diameter_mm": 30.0},
        {"patient_id": "P", "date": "2024-03-01", "lesion_id": "L1", "organ": "lung",
         "longest_diameter_mm": -1.0}], index=[10, 11])
    result = respond.evaluate(frame, criteria=["recist1.1"])
    assert "row 11" in result.failures.iloc[0].message


def test_bad_clinical_row_fails_that_patient(tmp_path):
    lesions = pd.DataFrame([
        {"patient_id": p, "date": d, "lesion_id": "B", "organ": "brain", "longest_diameter_mm": ld, "n_slices": 3}
        for p in ("P1", "P2") for d, ld in [("2024-01-01", 20), ("2024-03-01", 10)]])
    clinical = pd.DataFrame([{"patient_id": "P1", "date": "2024-01-01", "steroid_dose_mg": 2, "clinical_status": "fine"}])
    result = respond.evaluate(lesions, clinical=clinical, criteria=["rano-bm"])
    assert list(result.failures.patient_id) == ["P1"]
    assert "unknown clinical_status 'fine'" in result.failures.iloc[0].message
    assert list(result.best_response.patient_id) == ["P2"]


def test_reader_target_without_baseline_measurement_fails_the_patient():
    lesions = pd.DataFrame([
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "L1", "organ": "lung", "longest_diameter_mm": None,
         "status": "present", "role": "target"}])
    result = respond.evaluate(lesions, criteria=["recist1.1"])
    assert result.failures.iloc[0].error_code == "criteria.target_without_baseline"
    assert result.failures.iloc[0].stage == "evaluate"
