"""Worked cases pinning every rule of the criteria engine.

Each test names the rule and its source; the numbers are worked by hand.
RECIST 1.1: Eisenhauer et al., Eur J Cancer 2009 (§ numbers below) and the
EORTC RECIST FAQ. RANO-BM: Lin et al., Lancet Oncol 2015.
"""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import best, roles, row, run, series, table, tp

D0, D1, D2, D3, D4 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-09-01"


# --- Target response thresholds (RECIST §4.3.1; RANO-BM table) ---------------------------

def test_exactly_minus_30_percent_is_partial_response():
    # 60 → 42 mm is exactly −30 %: PR, with no floating-point miss (0.7 * 60 != 42.0 in floats).
    r = run(table(series("P", "L1", "lung", [(D0, 35.1), (D1, 24.57)]),
                  series("P", "L2", "liver", [(D0, 24.9), (D1, 17.43)])), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 42.0 and row1.baseline_sum_mm == 60.0
    assert row1.pct_change_from_baseline == -30.0
    assert row1.target_response == "PR"


def test_just_under_30_percent_is_stable_disease():
    r = run(table(series("P", "L1", "lung", [(D0, 60), (D1, 42.01)])), ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).target_response == "SD"


def test_exactly_plus_20_percent_and_5_mm_is_progression():
    # 25 → 30 mm: +20 % and +5 mm exactly over the nadir (baseline): PD.
    r = run(table(series("P", "L1", "lung", [(D0, 12.1), (D1, 14.5)]),
                  series("P", "L2", "liver", [(D0, 12.9), (D1, 15.5)])), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 30.0 and row1.pct_change_from_nadir == 20.0
    assert row1.target_response == "PD" and row1.overall_response == "PD"
    assert row1.progression_causes == "target"


def test_plus_20_percent_but_under_5_mm_is_not_progression():
    # 20 → 24 mm: +20 % but only +4 mm: SD under RECIST 1.1 (§4.3.1 needs both).
    r = run(table(series("P", "L1", "lung", [(D0, 20), (D1, 24)])), ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).target_response == "SD"


def test_progression_is_against_the_nadir_and_checked_before_partial_response():
    # 100 → 50 (nadir) → 65: −35 % from baseline (PR level) but +30 % and +15 mm over the nadir: PD.
    r = run(table(series("P", "L1", "lung", [(D0, 100), (D1, 50), (D2, 65)])), ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["PR", "PD"]
    row2 = tp(r, "P", "recist1.1", D2)
    assert row2.nadir_sum_mm == 50.0 and row2.pct_change_from_nadir == 30.0


def test_timepoints_after_pr_are_continued_pr_best_response_keeps_pr():
    # 100 → 70 → 80: PR, then −20 % from baseline and +14.3 % from the nadir. Changed by issue 13
    # (fault 6): EORTC RECIST FAQ "Managing PR when TP measurements change slightly over time" —
    # once a PR has been assigned it continues until PD is met: PR, PR (was PR, SD).
    r = run(table(series("P", "L1", "lung", [(D0, 100), (D1, 70), (D2, 80)])), ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["PR", "PR"]
    assert "continued PR (+14.3% vs nadir 70 mm, PD not met)" in tp(r, "P", "recist1.1", D2).reason
    b = best(r, "P", "recist1.1")
    assert b.best_overall_response == "PR" and str(b.best_response_date) == D1
    # The ongoing PR 61 days later confirms it (FAQ: "an ongoing PR as the criteria for progression
    # have not been met"); was unconfirmed when D2 was called SD.
    assert b.confirmed is True and b.progression_date is None


def test_incomplete_timepoint_never_sets_the_nadir():
    # D1 has L2 not evaluated (NE), with L1 at 10; nadir stays at the baseline 60,
    # so D2 at 40+... compares with 60, not with a partial 10.
    r = run(table(series("P", "L1", "lung", [(D0, 30), (D1, 10), (D2, 14)]),
                  series("P", "L2", "liver", [(D0, 30), (D1, None), (D2, 14)])), ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).target_response == "NE"
    row2 = tp(r, "P", "recist1.1", D2)
    assert row2.nadir_sum_mm == 60.0 and row2.target_response == "PR"


# --- RECIST vs RANO-BM divergences ---------------------------------------------------------

def test_two_targets_per_organ_recist_five_rano_bm():
    lesions = table(*[series("P", f"L{i}", "brain", [(D0, ld)], short_axis_mm=ld / 2, n_slices=3)
                      for i, ld in enumerate([30, 25, 20, 15, 12, 11], start=1)])
    r = run(lesions)
    assert roles(r, "P", "recist1.1") == {"L1": "target", "L2": "target", "L3": "non_target",
                                           "L4": "non_target", "L5": "non_target", "L6": "non_target"}
    assert roles(r, "P", "rano-bm") == {"L1": "target", "L2": "target", "L3": "target",
                                         "L4": "target", "L5": "target", "L6": "non_target"}
    assert tp(r, "P", "recist1.1", D0).baseline_sum_mm == 55.0
    assert tp(r, "P", "rano-bm", D0).baseline_sum_mm == 102.0


def test_five_targets_in_total_recist():
    organs = ["lung", "lung", "liver", "liver", "adrenal", "bone"]
    lesions = table(*[series("P", f"L{i}", o, [(D0, 40 - i)]) for i, o in enumerate(organs)])
    r = run(lesions, ["recist1.1"])
    got = roles(r, "P", "recist1.1")
    assert sum(v == "target" for v in got.values()) == 5 and got["L5"] == "non_target"


def test_five_mm_rule_on_the_sum_for_recist_on_one_lesion_for_rano_bm():
    # Two targets 20 + 20 = 40 → 24 + 24 = 48: +20 % and +8 mm on the sum (RECIST PD),
    # but no single lesion grew 5 mm (RANO-BM: SD).
    lesions = table(series("P", "L1", "brain", [(D0, 20), (D1, 24)], short_axis_mm=10, n_slices=3),
                    series("P", "L2", "brain", [(D0, 20), (D1, 24)], short_axis_mm=10, n_slices=3))
    r = run(lesions)
    assert tp(r, "P", "recist1.1", D1).target_response == "PD"
    assert tp(r, "P", "rano-bm", D1).target_response == "SD"


def test_rano_bm_lesion_rule_compares_with_the_nadir_scan():
    # Nadir at D1 (L1 10, L2 20 = 30). D2: L1 16 (+6 mm over its nadir size), L2 20 → 36 = +20 %: PD.
    lesions = table(series("P", "L1", "brain", [(D0, 20), (D1, 10), (D2, 16)], short_axis_mm=8, n_slices=3),
                    series("P", "L2", "brain", [(D0, 25), (D1, 20), (D2, 20)], short_axis_mm=8, n_slices=3))
    r = run(lesions, ["rano-bm"])
    row2 = tp(r, "P", "rano-bm", D2)
    assert row2.nadir_sum_mm == 30.0 and row2.target_response == "PD"
    assert "lesion L1" in row2.reason


def test_rano_bm_measurability_slices_and_perpendicular():
    lesions = table(row("P", D0, "A", "brain", 20, short_axis_mm=12, n_slices=1),
                    row("P", D0, "B", "brain", 20, short_axis_mm=4, n_slices=3),
                    row("P", D0, "C", "brain", 20, short_axis_mm=5, n_slices=2))
    r = run(lesions)
    assert roles(r, "P", "rano-bm") == {"A": "non_target", "B": "non_target", "C": "target"}
    assert roles(r, "P", "recist1.1") == {"A": "target", "B": "target", "C": "non_target"}


def test_rano_bm_rows_only_for_patients_with_cns_lesions():
    lesions = table(series("LUNG", "L1", "lung", [(D0, 30), (D1, 20)]),
                    series("BRAIN", "B1", "brain", [(D0, 30), (D1, 20)], short_axis_mm=20, n_slices=4))
    r = run(lesions)
    assert set(r.best_response[r.best_response.criteria == "rano-bm"].patient_id) == {"BRAIN"}
    assert set(r.best_response[r.best_response.criteria == "recist1.1"].patient_id) == {"LUNG", "BRAIN"}


def test_rano_bm_ignores_extracranial_new_lesions():
    lesions = table(series("P", "B1", "brain", [(D0, 30), (D1, 30)], short_axis_mm=20, n_slices=4),
                    row("P", D1, "N1", "liver", 15))
    r = run(lesions)
    assert tp(r, "P", "recist1.1", D1).overall_response == "PD"
    assert tp(r, "P", "rano-bm", D1).overall_response == "SD"


# --- Lymph nodes (RECIST §3.1.1, §4.3.1) -------------------------------------------------

def test_node_roles_by_short_axis():
    lesions = table(row("P", D0, "N16", "lymph_node", 25, short_axis_mm=16),
                    row("P", D0, "N12", "lymph_node", 20, short_axis_mm=12),
                    row("P", D0, "N8", "Lymph node", 12, short_axis_mm=8))
    r = run(lesions, ["recist1.1"])
    assert roles(r, "P", "recist1.1") == {"N16": "target", "N12": "non_target", "N8": "excluded"}
    assert tp(r, "P", "recist1.1", D0).baseline_sum_mm == 16.0  # short axis, not longest diameter


def test_all_nodes_are_one_organ_for_the_per_organ_limit():
    lesions = table(*[row("P", D0, f"N{i}", "lymph_node", 30, short_axis_mm=sa)
                      for i, sa in enumerate([20, 18, 16])])
    r = run(lesions, ["recist1.1"])
    assert roles(r, "P", "recist1.1") == {"N0": "target", "N1": "target", "N2": "non_target"}


def test_node_complete_response_with_non_zero_sum():
    # Lung 15 → 0 and node 20 → 8 mm short axis: CR (nodes < 10 mm), sum stays 8 mm.
    lesions = table(series("P", "L1", "lung", [(D0, 15), (D1, 0)]),
                    series("P", "N1", "lymph_node", [(D0, 25), (D1, 10)], short_axis_mm=None),
                    )
    lesions.loc[lesions.lesion_id == "N1", "short_axis_mm"] = [20, 8]
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 8.0 and row1.target_response == "CR" and row1.overall_response == "CR"


def test_node_at_10_mm_is_not_complete_response():
    lesions = table(series("P", "N1", "lymph_node", [(D0, 25), (D1, 12)]))
    lesions["short_axis_mm"] = [20, 10]
    r = run(lesions, ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).target_response == "PR"


# --- Too small, missing, not evaluated (RECIST Appendix / FAQ; §4.3) --------------------------

def test_too_small_counts_5_mm_even_with_blank_diameter():
    lesions = table(row("P", D0, "L1", "lung", 20), row("P", D0, "L2", "liver", 20),
                    row("P", D1, "L1", "lung", 0), row("P", D1, "L2", "liver", None, status="too_small"))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_sum_mm == 5.0 and row1.target_response == "PR"  # not CR: it is still there


def test_target_not_evaluated_is_ne():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 28)]),
                    series("P", "L2", "liver", [(D0, 30), (D1, None)]))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_response == "NE" and row1.overall_response == "NE"
    assert pd.isna(row1.target_sum_mm) and "L2" in row1.reason


def test_missing_row_is_not_evaluated():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 28)]), row("P", D0, "L2", "liver", 30))
    r = run(lesions, ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).target_response == "NE"


def test_ne_unless_evaluated_targets_already_progress():
    # L2 not evaluated, but L1 alone (45) is ≥ 20 % and ≥ 5 mm over the nadir sum 30+... = 40.
    lesions = table(series("P", "L1", "lung", [(D0, 20), (D1, 49)]),
                    series("P", "L2", "liver", [(D0, 20), (D1, None)]))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_response == "PD" and "not evaluated" in row1.reason


def test_target_with_progression_status_is_pd():
    lesions = table(row("P", D0, "L1", "lung", 20), row("P", D1, "L1", "lung", None, status="progression"))
    r = run(lesions, ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).overall_response == "PD"


# --- Non-targets (RECIST §4.3.2, Table 2) ---------------------------------------------------

def test_non_target_only_patient():
    lesions = table(series("P", "S1", "lung", [(D0, 6), (D1, 5), (D2, 0)]))
    r = run(lesions, ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["NON-CR/NON-PD", "CR"]
    assert tp(r, "P", "recist1.1", D1).target_response is None


def test_non_target_unequivocal_progression_is_pd():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 20)]),
                    row("P", D0, "NT", "pleura", None, status="present"),
                    row("P", D1, "NT", "pleura", None, status="progression"))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.target_response == "PR" and row1.non_target_response == "PD" and row1.overall_response == "PD"
    assert row1.progression_causes == "non_target"


def test_targets_cr_with_non_target_present_is_pr():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 0)]),
                    series("P", "S1", "lung", [(D0, 6), (D1, 4)]))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert (row1.target_response, row1.non_target_response, row1.overall_response) == ("CR", "NON-CR/NON-PD", "PR")


# --- New lesions and reappearance (RECIST §4.3.2; RANO-BM footnote) ------------------------------

def test_unequivocal_new_lesion_is_pd():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 15)]), row("P", D1, "N", "liver", 8))
    r = run(lesions, ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.new_lesions == "yes" and row1.overall_response == "PD" and row1.target_response == "PR"
    assert row1.progression_causes == "new_lesion"
    assert str(best(r, "P", "recist1.1").progression_date) == D1


def test_confirmed_equivocal_new_lesion_is_back_dated():
    # D1 (day 60): an equivocal new lesion → SD, not PD. D2: confirmed → PD dated D1.
    # Best response: D1 is on the progression date, so it is not an SD → PD.
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 29), (D2, 29)]),
                    row("P", D1, "N", "liver", 4, equivocal=True), row("P", D2, "N", "liver", 9, equivocal=False))
    r = run(lesions, ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["SD", "PD"]
    assert tp(r, "P", "recist1.1", D1).new_lesions == "equivocal"
    b = best(r, "P", "recist1.1")
    assert str(b.progression_date) == D1 and b.best_overall_response == "PD"


def test_equivocal_new_lesion_that_resolves_is_never_pd():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 29), (D2, 29)]),
                    row("P", D1, "N", "liver", 4, equivocal=True), row("P", D2, "N", "liver", 0))
    r = run(lesions, ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["SD", "SD"]
    b = best(r, "P", "recist1.1")
    assert b.best_overall_response == "SD" and b.progression_date is None


def test_reappearance_after_cr_is_pd():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 0), (D2, 3)]))
    r = run(lesions, ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["CR", "PD"]
    assert "reappeared" in tp(r, "P", "recist1.1", D2).reason
    assert tp(r, "P", "recist1.1", D2).progression_causes == "reappearance"


def test_reappearance_without_cr_is_added_to_the_sum():
    # Not in CR (L2 remains): L1 back at 3 mm only adds to the sum.
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 0), (D2, 3)]),
                    series("P", "L2", "liver", [(D0, 30), (D1, 10), (D2, 10)]))
    r = run(lesions, ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["PR", "PR"]
    assert tp(r, "P", "recist1.1", D2).target_sum_mm == 13.0


# --- RANO-BM corticosteroids and clinical status --------------------------------------------------

def _brain(pid="P", lds=(30, 0)):
    return table(series(pid, "B1", "brain", list(zip([D0, D1, D2][:len(lds)], lds)),
                        short_axis_mm=None, n_slices=4))


def _clinical(*rows):
    return pd.DataFrame([{"patient_id": "P", "date": d, "steroid_dose_mg": dose, "clinical_status": s}
                         for d, dose, s in rows])


def test_rano_bm_cr_needs_no_steroids():
    clin = _clinical((D0, 4, "stable"), (D1, 2, "stable"))
    r = run(_brain(), ["rano-bm"], clinical=clin)
    row1 = tp(r, "P", "rano-bm", D1)
    assert row1.target_response == "CR" and row1.overall_response == "PR"
    assert "corticosteroids" in row1.reason and row1.imaging_only is False


def test_rano_bm_cr_off_steroids_and_stable():
    clin = _clinical((D0, 4, "stable"), (D1, 0, "improved"))
    r = run(_brain(), ["rano-bm"], clinical=clin)
    assert tp(r, "P", "rano-bm", D1).overall_response == "CR"


def test_rano_bm_steroid_increase_alone_gives_sd_not_pd():
    clin = _clinical((D0, 2, "stable"), (D1, 8, "stable"))
    r = run(_brain(lds=(30, 15)), ["rano-bm"], clinical=clin)
    row1 = tp(r, "P", "rano-bm", D1)
    assert row1.target_response == "PR" and row1.overall_response == "SD"
    assert "not PD" in row1.reason


def test_rano_bm_clinical_worsening_is_pd():
    clin = _clinical((D0, 2, "stable"), (D1, 2, "worse"))
    r = run(_brain(lds=(30, 15)), ["rano-bm"], clinical=clin)
    row1 = tp(r, "P", "rano-bm", D1)
    assert row1.overall_response == "PD" and "clinical" in row1.reason
    assert row1.progression_causes == "clinical"
    assert str(best(r, "P", "rano-bm").progression_date) == D1


def test_clinical_worsening_is_recorded_with_imaging_progression():
    clin = _clinical((D0, 2, "stable"), (D1, 2, "worse"))
    r = run(_brain(lds=(30, 40)), ["rano-bm"], clinical=clin)
    assert tp(r, "P", "rano-bm", D1).progression_causes == "target+clinical"


def test_rano_bm_without_clinical_data_is_imaging_only_recist_never():
    r = run(_brain(lds=(30, 15)))
    assert bool(tp(r, "P", "rano-bm", D1).imaging_only) is True
    assert tp(r, "P", "rano-bm", D1).overall_response == "PR"
    assert bool(tp(r, "P", "recist1.1", D1).imaging_only) is False


def test_clinical_record_matched_within_window():
    clin = _clinical(("2023-12-28", 0, "stable"), ("2024-03-05", 0, "stable"))  # 4 days from the scans
    r = run(_brain(), ["rano-bm"], clinical=clin)
    row1 = tp(r, "P", "rano-bm", D1)
    assert row1.overall_response == "CR" and bool(row1.imaging_only) is False


# --- Best overall response (RECIST §4.4, §4.6; RANO-BM) ---------------------------------------------

def test_rano_bm_requires_confirmation_recist_does_not():
    # PR at day 60, SD at day 121: unconfirmed → RANO-BM SD (≥ 42 days), RECIST PR.
    lesions = _brain(lds=(30, 15, 25))
    r = run(lesions)
    assert best(r, "P", "recist1.1").best_overall_response == "PR"
    b = best(r, "P", "rano-bm")
    assert b.best_overall_response == "SD" and str(b.best_response_date) == D1


def test_confirmation_interval_is_inclusive_28_days():
    lesions = table(series("P", "B1", "brain", [(D0, 30), ("2024-02-01", 15), ("2024-02-29", 15)],
                           n_slices=4))
    r = run(lesions, ["rano-bm"])
    b = best(r, "P", "rano-bm")
    assert b.best_overall_response == "PR" and b.confirmed is True


def test_confirmation_too_early_is_not_confirmed():
    lesions = table(series("P", "B1", "brain", [(D0, 30), ("2024-02-01", 15), ("2024-02-28", 15)],
                           n_slices=4))
    r = run(lesions, ["rano-bm"])
    assert best(r, "P", "rano-bm").best_overall_response == "SD"  # day 58 ≥ 42


def test_cr_confirmed_by_cr_pr_by_later_pr():
    lesions = _brain(lds=(30, 0, 0))
    r = run(lesions, ["rano-bm"])
    b = best(r, "P", "rano-bm")
    assert b.best_overall_response == "CR" and b.confirmed is True and str(b.best_response_date) == D1


def test_stable_disease_minimum_interval():
    # SD at day 41 then PD: best response PD; SD at day 42: SD.
    early = table(series("P", "L1", "lung", [(D0, 30), ("2024-02-11", 30), (D2, 40)]))
    on_time = table(series("P", "L1", "lung", [(D0, 30), ("2024-02-12", 30), (D2, 40)]))
    assert best(run(early, ["recist1.1"]), "P", "recist1.1").best_overall_response == "PD"
    assert best(run(on_time, ["recist1.1"]), "P", "recist1.1").best_overall_response == "SD"


def test_stable_disease_interval_from_treatment_start():
    lesions = table(series("P", "L1", "lung", [(D0, 30), ("2024-02-11", 30)]))
    patients = pd.DataFrame([{"patient_id": "P", "treatment_start": "2023-12-20"}])
    b = best(run(lesions, ["recist1.1"], patients=patients), "P", "recist1.1")
    assert b.best_overall_response == "SD"  # day 53 from treatment start
    b = best(run(lesions, ["recist1.1"]), "P", "recist1.1")
    assert b.best_overall_response == "NE"  # day 41 from baseline, no PD


def test_assessments_after_progression_are_ignored():
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 40), (D2, 10)]))
    b = best(run(lesions, ["recist1.1"]), "P", "recist1.1")
    assert b.best_overall_response == "PD" and str(b.progression_date) == D1


def test_non_target_only_best_response():
    lesions = table(series("P", "S1", "lung", [(D0, 6), (D1, 5)]))
    assert best(run(lesions, ["recist1.1"]), "P", "recist1.1").best_overall_response == "NON-CR/NON-PD"


# --- Reader roles -------------------------------------------------------------------------------------

def test_reader_roles_win_and_breaches_are_warned():
    lesions = table(*[series("P", f"B{i}", "brain", [(D0, 20 + i)], role="target", n_slices=3) for i in range(3)],
                    series("P", "S", "brain", [(D0, 50)], role="non_target", n_slices=3))
    r = run(lesions)
    assert roles(r, "P", "recist1.1") == {"B0": "target", "B1": "target", "B2": "target", "S": "non_target"}
    assert len(r.warnings[r.warnings.criteria == "recist1.1"]) == 1
    assert "more than 2 targets in brain" in r.warnings.message.iloc[0]
    assert len(r.warnings[r.warnings.criteria == "rano-bm"]) == 0


def test_per_criteria_role_column_overrides_role():
    lesions = table(row("P", D0, "A", "brain", 30, role="target", **{"role_rano-bm": "non_target"}, n_slices=3),
                    row("P", D0, "B", "brain", 20, role="target", n_slices=3))
    r = run(lesions)
    assert roles(r, "P", "recist1.1") == {"A": "target", "B": "target"}
    assert roles(r, "P", "rano-bm") == {"A": "non_target", "B": "target"}


def test_reader_target_that_is_not_measurable_is_kept_with_warning():
    lesions = table(row("P", D0, "A", "lung", 8, role="target"))
    r = run(lesions, ["recist1.1"])
    assert roles(r, "P", "recist1.1") == {"A": "target"}
    assert "not measurable" in r.warnings.message.iloc[0]


def test_config_hash_in_every_output_row():
    r = run(_brain(lds=(30, 15)))
    for frame in (r.timepoints, r.best_response, r.targets):
        assert set(frame.config_hash) == {c.short_hash for c in r.criteria}
