"""Worked cases for what the lesion table can say (issue 13): visits, scans, fragments, merges, organs,
slice thickness, previously treated lesions, adjudications, baseline and treatment start."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import best, roles, row, run, series, table, tp

D0, D1, D2, D3 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01"


# --- Visits ------------------------------------------------------------------------------------------

def _spread_visits(with_visit: bool):
    # Chest CT on day 0 and brain MRI on day 3 are one baseline assessment; the same at follow-up.
    extra = (lambda v: {"visit": v}) if with_visit else (lambda v: {})
    return table(row("P", "2024-01-01", "L1", "lung", 40, **extra("BASELINE")),
                 row("P", "2024-01-04", "B1", "brain", 20, short_axis_mm=15, n_slices=3, **extra("BASELINE")),
                 row("P", "2024-03-01", "L1", "lung", 40, **extra("WEEK8")),
                 row("P", "2024-03-05", "B1", "brain", 12, short_axis_mm=8, n_slices=3, **extra("WEEK8")))


def test_visit_column_makes_scans_days_apart_one_timepoint():
    r = run(_spread_visits(True), ["recist1.1"])
    t = tp(r, "P", "recist1.1")
    # Response dated at the latest scan of the visit; baseline sum 60, follow-up 52 mm: SD, no new lesion.
    assert [str(d) for d in t.date] == ["2024-01-04", "2024-03-05"] and list(t.visit) == ["BASELINE", "WEEK8"]
    assert t.target_sum_mm.iloc[0] == 60.0 and t.overall_response.iloc[1] == "SD"
    assert t.new_lesions.iloc[1] == "no"


def test_without_visit_the_brain_scan_three_days_later_is_a_follow_up():
    r = run(_spread_visits(False), ["recist1.1"])
    assert tp(r, "P", "recist1.1", "2024-01-04").overall_response == "PD"  # the pitfall the column solves


def test_grouping_window_from_the_preset():
    import respond
    grouped = respond.load_criteria({"extends": "recist1.1", "id": "recist-w7", "visits": {"grouping_window_days": 7}})
    r = respond.evaluate(_spread_visits(False), criteria=[grouped])
    assert list(tp(r, "P", "recist-w7").overall_response[1:]) == ["SD"]


def test_progression_dated_at_the_earliest_scan_of_the_visit_showing_it():
    lesions = table(row("P", "2024-01-01", "L1", "lung", 40, visit="V0"),
                    row("P", "2024-01-01", "B1", "brain", 20, short_axis_mm=15, n_slices=3, visit="V0"),
                    row("P", "2024-03-01", "L1", "lung", 40, visit="V1"),
                    row("P", "2024-03-01", "L9", "liver", 15, visit="V1"),
                    row("P", "2024-03-05", "B1", "brain", 20, short_axis_mm=15, n_slices=3, visit="V1"))
    r = run(lesions, ["recist1.1"])
    assert str(tp(r, "P", "recist1.1").date.iloc[1]) == "2024-03-05"
    assert str(best(r, "P", "recist1.1").progression_date) == "2024-03-01"


# --- Scans: what was imaged when -----------------------------------------------------------------------

def test_region_not_imaged_is_not_evaluated_not_disappeared():
    lesions = table(row("P", D0, "L1", "lung", 30), row("P", D0, "B1", "brain", 20, short_axis_mm=10),
                    row("P", D1, "L1", "lung", 30))
    scans = pd.DataFrame([{"patient_id": "P", "date": D0, "region": "whole_body"},
                          {"patient_id": "P", "date": D1, "region": "chest"}])
    r = run(lesions, ["recist1.1"], scans=scans)
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_response == "NE" and "B1: region not imaged at this visit" in row1.reason


def test_region_imaged_with_nothing_found_makes_lesions_absent():
    lesions = table(row("P", D0, "B1", "brain", 20, short_axis_mm=10, n_slices=3))
    scans = pd.DataFrame([{"patient_id": "P", "date": D0, "region": "brain", "lesion_count": 1},
                          {"patient_id": "P", "date": D1, "region": "brain", "lesion_count": 0}])
    r = run(lesions, ["recist1.1"], scans=scans)
    assert tp(r, "P", "recist1.1", D1).target_response == "CR"


def test_empty_baseline_scan_keeps_a_lesion_free_baseline():
    # Brain imaged at D0 with nothing found; a lesion at D1 is new: PD (never a shifted baseline).
    lesions = table(row("P", D1, "B1", "brain", 12, short_axis_mm=8, n_slices=3))
    scans = pd.DataFrame([{"patient_id": "P", "date": D0, "region": "brain", "lesion_count": 0},
                          {"patient_id": "P", "date": D1, "region": "brain", "lesion_count": 1}])
    r = run(lesions, ["rano-bm"], scans=scans)
    t = tp(r, "P", "rano-bm")
    assert str(t.date.iloc[0]) == D0 and t.overall_response.iloc[1] == "PD"


def test_bad_scans_region_fails_the_patient():
    lesions = table(row("P", D0, "L1", "lung", 30), row("Q", D0, "L1", "lung", 30))
    scans = pd.DataFrame([{"patient_id": "P", "date": D0, "region": "thorax"},
                          {"patient_id": "Q", "date": D0, "region": "chest"}])
    r = run(lesions, ["recist1.1"], scans=scans)
    assert list(r.failures.patient_id) == ["P"] and "thorax" in r.failures.message.iloc[0]


# --- Fragments and merges (RECIST 1.1 §4.3 notes) -----------------------------------------------------------

def test_fragments_are_summed_under_the_parent_never_new():
    # L1 40 mm splits into L1.1 (15) and L1.2 (10): 25 mm (−37.5 %): PR, no new lesion.
    r = run(table(row("P", D0, "L1", "liver", 40),
                  row("P", D1, "L1.1", "liver", 15, fragment_of="L1"),
                  row("P", D1, "L1.2", "liver", 10, fragment_of="L1")), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 25.0 and row1.overall_response == "PR" and row1.new_lesions == "no"


def test_merged_lesion_at_0_mm_is_not_disappeared():
    # L1 20 and L2 20 coalesce: L2 carries 45 mm, L1 reads 0 mm merged into L2: sum 45 (+12.5 %): SD, not CR/PR.
    r = run(table(series("P", "L1", "liver", [(D0, 20)]), series("P", "L2", "liver", [(D0, 20), (D1, 45)]),
                  row("P", D1, "L1", "liver", 0, merged_into="L2")), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 45.0 and row1.target_response == "SD"


def test_fragment_with_its_parent_at_the_same_date_is_refused():
    r = run(table(row("P", D0, "L1", "liver", 40), row("P", D1, "L1", "liver", 20),
                  row("P", D1, "L1.1", "liver", 15, fragment_of="L1")), ["recist1.1"])
    assert list(r.failures.error_code) == ["table.bad_fragment"]


# --- Organs as RECIST counts them (§3.3.1; FAQ "Two target lesions") -------------------------------------------

def test_paired_organs_count_as_one_organ():
    lesions = table(row("P", D0, "A", "left lung", 40), row("P", D0, "B", "right lung", 35),
                    row("P", D0, "C", "Left Lung", 30), row("P", D0, "D", "liver", 20))
    got = roles(run(lesions, ["recist1.1"]), "P", "recist1.1")
    assert got == {"A": "target", "B": "target", "C": "non_target", "D": "target"}


def test_every_nodal_location_is_a_node_measured_by_short_axis():
    lesions = table(row("P", D0, "N1", "mediastinal lymph node", 30, short_axis_mm=18),
                    row("P", D0, "N2", "axillary node", 25, short_axis_mm=16),
                    row("P", D0, "N3", "inguinal lymph node", 25, short_axis_mm=17))
    r = run(lesions, ["recist1.1"])
    t = r.targets[r.targets.criteria == "recist1.1"]
    # All nodes are one organ: two targets (18 and 17 mm short axis), sum 35.
    assert sorted(t[t.role == "target"].lesion_id) == ["N1", "N3"]
    assert tp(r, "P", "recist1.1").target_sum_mm.iloc[0] == 35.0


def test_unknown_organ_is_warned_with_its_name():
    r = run(table(row("P", D0, "X", "lunng", 30)), ["recist1.1"])
    w = r.warnings[r.warnings.code == "unknown_organ"]
    assert len(w) == 1 and "lunng" in w.message.iloc[0]


# --- Measurability by slice thickness (RECIST 1.1 §3.1.1; RANO-BM) -------------------------------------------

def test_thick_slices_need_twice_the_thickness():
    lesions = table(row("P", D0, "A", "liver", 12, slice_thickness_mm=8),
                    row("P", D0, "B", "liver", 16, slice_thickness_mm=8),
                    row("P", D0, "C", "lung", 12, slice_thickness_mm=5))
    got = roles(run(lesions, ["recist1.1"]), "P", "recist1.1")
    assert got == {"A": "non_target", "B": "target", "C": "target"}


# --- Previously treated lesions (RANO-BM; RECIST 1.1 §3.1.2) -------------------------------------------------------

def test_previously_treated_lesion_is_not_a_target_unless_chosen():
    lesions = table(row("P", D0, "B1", "brain", 20, short_axis_mm=10, n_slices=3, previously_treated=True),
                    row("P", D0, "B2", "brain", 15, short_axis_mm=10, n_slices=3, previously_treated=False))
    got = roles(run(lesions, ["rano-bm"]), "P", "rano-bm")
    assert got == {"B1": "non_target", "B2": "target"}


# --- Adjudications on timepoints (RANO-BM: PD later shown to be treatment effect) --------------------------------

def test_radionecrosis_growth_does_not_make_the_timepoint_pd():
    lesions = table(series("P", "B1", "brain", [(D0, 20), (D1, 30)], short_axis_mm=10, n_slices=3))
    adjudications = pd.DataFrame([{"patient_id": "P", "lesion_id": "B1", "date": D1, "finding": "radionecrosis"}])
    r = run(lesions, ["recist1.1"], adjudications=adjudications)
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.overall_response == "SD" and row1.overall_response_unadjudicated == "PD"
    assert "adjudicated radionecrosis" in row1.reason
    plain = tp(run(lesions, ["recist1.1"]), "P", "recist1.1", D1)
    assert plain.overall_response == "PD" and plain.overall_response_unadjudicated == "PD"


# --- Baseline and treatment start (RECIST 1.1 §3.2) -----------------------------------------------------------------

def test_baseline_is_the_last_scan_on_or_before_treatment_start():
    lesions = table(series("P", "L1", "lung", [("2023-11-01", 50), (D0, 40), (D1, 20)]))
    patients = pd.DataFrame([{"patient_id": "P", "treatment_start": "2024-01-05"}])
    r = run(lesions, ["recist1.1"], patients=patients)
    t = tp(r, "P", "recist1.1")
    assert str(t.date.iloc[0]) == D0 and t.overall_response.iloc[1] == "PR"  # −50 % vs 40 mm
    assert "scan_before_baseline" in set(r.warnings.code)


def test_treatment_start_long_after_baseline_is_warned():
    lesions = table(series("P", "L1", "lung", [(D0, 40), (D2, 20)]))
    patients = pd.DataFrame([{"patient_id": "P", "treatment_start": "2024-02-15"}])
    r = run(lesions, ["recist1.1"], patients=patients)
    assert list(r.warnings.code) == ["baseline_before_treatment"]


@pytest.mark.parametrize("column,value,code", [
    ("slice_thickness_mm", "-1", "table.negative_value"),
    ("previously_treated", "maybe", "table.bad_boolean"),
    ("merged_into", "L1", "table.bad_merge"),
])
def test_new_columns_are_validated(column, value, code):
    lesions = table(row("P", D0, "L1", "lung", 30, **{column: value}), row("Q", D0, "L1", "lung", 30))
    r = run(lesions, ["recist1.1"])
    assert list(r.failures.patient_id) == ["P"] and r.failures.error_code.iloc[0] == code


def test_target_merged_into_a_non_target_carries_the_coalesced_measurement():
    # Target L1 30 mm and non-target L2 8 mm coalesce: L2 reads 35 mm, L1 0 mm merged into L2. The
    # coalesced lesion is measured (RECIST 1.1 §4.3): the sum is 35 mm (+16.7 %): SD — not a target CR (PR).
    r = run(table(row("P", D0, "L1", "liver", 30), row("P", D0, "L2", "liver", 8),
                  row("P", D1, "L1", "liver", 0, merged_into="L2"), row("P", D1, "L2", "liver", 35)), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 35.0 and row1.overall_response == "SD"
