"""Worked cases for the six rule faults of issue 13 and the lesion-table columns it adds.

Each case is worked by hand from the source it cites: RECIST 1.1 (Eisenhauer
et al., Eur J Cancer 2009, § numbers), the EORTC RECIST Working Group FAQ
(recist.eortc.org, question titles in quotes) and RANO-BM (Lin et al.,
Lancet Oncol 2015).
"""
from __future__ import annotations

import pandas as pd

import respond
from conftest import best, roles, row, run, series, table, tp

D0, D1, D2, D3, D4 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-09-01"


def _criteria(base: str, **sections) -> respond.Criteria:
    return respond.load_criteria({"extends": base, "id": f"{base}-variant", **sections})


# --- Fault 1: a node too small to measure is below 10 mm (RECIST §4.3.2; FAQ "Abnormal lymph node") ----

def test_too_small_target_node_after_cr_is_not_reappearance():
    # Lung 20 → 0 → 0 and node 20 → 8 → too small (5 mm by §4.3.2, "as well" for nodes):
    # D1 CR (node < 10 mm); D2 the node is 5 mm < 10 mm: still CR, not "reappeared".
    r = run(table(series("P", "L1", "lung", [(D0, 20), (D1, 0), (D2, 0)]),
                  row("P", D0, "N1", "lymph_node", 25, short_axis_mm=20),
                  row("P", D1, "N1", "lymph_node", 10, short_axis_mm=8),
                  row("P", D2, "N1", "lymph_node", None, status="too_small")), ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["CR", "CR"]
    assert tp(r, "P", "recist1.1", D2).target_sum_mm == 5.0


def test_non_target_node_too_small_with_targets_gone_is_cr():
    # Target lung 20 → 0; non-target node 12 mm short axis → too small (5 mm < 10 mm): CR (was PR).
    r = run(table(series("P", "L1", "lung", [(D0, 20), (D1, 0)]),
                  row("P", D0, "N1", "lymph_node", 15, short_axis_mm=12),
                  row("P", D1, "N1", "lymph_node", None, status="too_small")), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.non_target_response == "CR" and row1.overall_response == "CR"


# --- Fault 2: a non-target node back at 10-15 mm after a CR (FAQ "Abnormal lymph node") ---------

def _node_back():
    return table(series("P", "L1", "lung", [(D0, 20), (D1, 0), (D2, 0)]),
                 row("P", D0, "N1", "lymph_node", 15, short_axis_mm=12),
                 row("P", D1, "N1", "lymph_node", 8, short_axis_mm=6),
                 row("P", D2, "N1", "lymph_node", 14, short_axis_mm=11))


def test_non_target_node_back_at_11_mm_after_cr_is_not_pd():
    # D1 CR; D2 the non-target node reads 11 mm: present (NON-CR/NON-PD) but not unequivocal
    # progression — "a node is only considered to have reappeared if ... has unequivocally
    # progressed (Non Target lesion)": targets CR + non-targets NON-CR/NON-PD = PR (Table 1).
    r = run(_node_back(), ["recist1.1"])
    row2 = tp(r, "P", "recist1.1", D2)
    assert row2.non_target_response == "NON-CR/NON-PD" and row2.overall_response == "PR"
    assert best(r, "P", "recist1.1").progression_date is None


def test_preset_option_keeps_the_older_reading():
    older = _criteria("recist1.1", response={"non_target_node_reappearance": "pathological"})
    r = respond.evaluate(_node_back(), criteria=[older])
    row2 = tp(r, "P", older.id, D2)
    assert row2.overall_response == "PD" and row2.progression_causes == "reappearance"


def test_non_target_node_unequivocally_progressed_after_cr_is_pd():
    lesions = _node_back()
    lesions.loc[lesions.index[-1], "status"] = "progression"
    r = run(lesions, ["recist1.1"])
    assert tp(r, "P", "recist1.1", D2).overall_response == "PD"


# --- Fault 3: a node normal at baseline that grows (FAQ "New lymph node lesions") -----------------

def test_normal_node_reaching_17_mm_is_an_unequivocal_new_lesion():
    # Node 8 mm short axis at baseline (normal, not recorded as disease) → 17 mm (≥ 15 mm): new lesion, PD.
    r = run(table(series("P", "L1", "lung", [(D0, 30), (D1, 30)]),
                  row("P", D0, "N1", "lymph_node", 10, short_axis_mm=8),
                  row("P", D1, "N1", "lymph_node", 20, short_axis_mm=17)), ["recist1.1"])
    row1 = tp(r, "P", "recist1.1", D1)
    assert row1.new_lesions == "yes" and row1.overall_response == "PD"
    assert roles(r, "P", "recist1.1")["N1"] == "new"


def test_normal_node_at_12_mm_is_equivocal_then_confirmed_and_back_dated():
    # 8 → 12 mm (10–15: equivocal, "evaluate at the next assessment") → 13 mm at D2: confirmed,
    # PD dated D1 (the first scan showing it), so D1 is not counted as SD.
    r = run(table(series("P", "L1", "lung", [(D0, 30), (D1, 30), (D2, 30)]),
                  row("P", D0, "N1", "lymph_node", 10, short_axis_mm=8),
                  row("P", D1, "N1", "lymph_node", 14, short_axis_mm=12),
                  row("P", D2, "N1", "lymph_node", 15, short_axis_mm=13)), ["recist1.1"])
    assert tp(r, "P", "recist1.1", D1).new_lesions == "equivocal"
    assert tp(r, "P", "recist1.1", D1).overall_response == "SD"
    row2 = tp(r, "P", "recist1.1", D2)
    assert row2.overall_response == "PD" and "PD dated 2024-03-01" in row2.reason
    assert str(best(r, "P", "recist1.1").progression_date) == D1


def test_normal_node_at_12_mm_that_shrinks_back_is_never_pd():
    r = run(table(series("P", "L1", "lung", [(D0, 30), (D1, 30), (D2, 30)]),
                  row("P", D0, "N1", "lymph_node", 10, short_axis_mm=8),
                  row("P", D1, "N1", "lymph_node", 14, short_axis_mm=12),
                  row("P", D2, "N1", "lymph_node", 10, short_axis_mm=8)), ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["SD", "SD"]
    assert best(r, "P", "recist1.1").progression_date is None


# --- Fault 4: RANO-BM, non-target-only disease with a steroid increase (RECIST Table 2) ----------------

def test_rano_bm_non_target_only_with_steroid_increase_is_non_cr_non_pd():
    # One 6 mm brain lesion (non-measurable: < 10 mm) → 0 mm (imaging CR) with dexamethasone 2 → 8 mg/day.
    # The increase forbids CR; non-target-only disease is never SD: NON-CR/NON-PD.
    lesions = table(series("P", "B1", "brain", [(D0, 6), (D1, 0)], n_slices=2))
    clinical = pd.DataFrame([{"patient_id": "P", "date": d, "steroid_dose_mg": dose, "clinical_status": "stable"}
                             for d, dose in ((D0, 2), (D1, 8))])
    r = run(lesions, ["rano-bm"], clinical=clinical)
    row1 = tp(r, "P", "rano-bm", D1)
    assert row1.non_target_response == "CR" and row1.overall_response == "NON-CR/NON-PD"


# --- Fault 5: the RANO-BM baseline is the patient's baseline (Lin 2015: new = not on prior scans) -------

def test_first_brain_metastasis_after_baseline_is_new_and_pd():
    # Lung target only at D0; brain lesion first seen at D1: new CNS lesion → RANO-BM PD (was its baseline).
    r = run(table(series("P", "L1", "lung", [(D0, 30), (D1, 30)]),
                  row("P", D1, "B1", "brain", 12, short_axis_mm=8, n_slices=3)), ["rano-bm"])
    t = tp(r, "P", "rano-bm")
    assert str(t.date.iloc[0]) == D0 and t.overall_response.iloc[1] == "PD"
    assert t.progression_causes.iloc[1] == "new_lesion"


def test_brain_not_imaged_at_baseline_starts_rano_bm_at_first_brain_scan_with_warning():
    scans = pd.DataFrame([{"patient_id": "P", "date": D0, "region": "chest"},
                          {"patient_id": "P", "date": D1, "region": "brain"},
                          {"patient_id": "P", "date": D1, "region": "chest"},
                          {"patient_id": "P", "date": D2, "region": "brain"}])
    lesions = table(series("P", "L1", "lung", [(D0, 30), (D1, 30)]),
                    series("P", "B1", "brain", [(D1, 20), (D2, 12)], short_axis_mm=8, n_slices=3))
    r = run(lesions, ["rano-bm"], scans=scans)
    t = tp(r, "P", "rano-bm")
    assert [str(d) for d in t.date] == [D1, D2] and t.overall_response.iloc[1] == "PR"
    w = r.warnings[r.warnings.criteria == "rano-bm"]
    assert list(w.code) == ["scope_not_imaged_at_baseline"]


# --- Fault 6: continued PR (FAQ "Managing PR when TP measurements change slightly over time") ------------

def test_faq_table_100_70_70_80_80_80_is_pr_at_every_follow_up():
    dates = [D0, D1, D2, D3, D4, "2024-11-01"]
    r = run(table(series("P", "L1", "lung", list(zip(dates, [100, 70, 70, 80, 80, 80])))), ["recist1.1"])
    assert list(tp(r, "P", "recist1.1").overall_response[1:]) == ["PR"] * 5


def test_strict_per_timepoint_reading_is_a_preset_option():
    strict = _criteria("recist1.1", response={"after_partial_response": "per_timepoint"})
    dates = [D0, D1, D2, D3]
    r = respond.evaluate(table(series("P", "L1", "lung", list(zip(dates, [100, 70, 80, 70])))), criteria=[strict])
    assert list(tp(r, "P", strict.id).overall_response[1:]) == ["PR", "SD", "PR"]


def test_rano_bm_pr_then_minus_28_6_percent_is_continued_pr_and_confirms():
    # RANO-BM: 42 → 28 mm at day 56 (−33.3 %, PR) → 30 mm at day 84 (−28.6 % vs baseline, +7.1 % vs
    # nadir): continued PR, and this ongoing PR 28 days later confirms the PR (was SD, unconfirmed).
    base = pd.Timestamp(D0)
    dates = [str((base + pd.Timedelta(days=d)).date()) for d in (0, 56, 84)]
    lesions = table(series("P", "B1", "brain", list(zip(dates, [42, 28, 30])), short_axis_mm=20, n_slices=4))
    clinical = pd.DataFrame([{"patient_id": "P", "date": d, "steroid_dose_mg": 0, "clinical_status": "stable"}
                             for d in dates])
    r = run(lesions, ["rano-bm"], clinical=clinical)
    assert list(tp(r, "P", "rano-bm").overall_response[1:]) == ["PR", "PR"]
    assert "continued PR (+7.1% vs nadir 28 mm, PD not met)" in tp(r, "P", "rano-bm", dates[2]).reason
    b = best(r, "P", "rano-bm")
    assert b.best_overall_response == "PR" and b.confirmed is True


def test_strict_reading_intervening_sd_breaks_confirmation():
    # Per timepoint with confirmation required: PR (D1), SD (D2), PR (D3): the D3 PR does not confirm D1
    # (an intervening SD), and D3 has no later confirmation: best response SD.
    strict = _criteria("recist1.1", response={"after_partial_response": "per_timepoint"},
                       best_response={"confirmation_required": True})
    r = respond.evaluate(table(series("P", "L1", "lung", [(D0, 100), (D1, 70), (D2, 80), (D3, 70)])),
                         criteria=[strict])
    assert best(r, "P", strict.id).best_overall_response == "SD"
    continued = _criteria("recist1.1", best_response={"confirmation_required": True})
    r = respond.evaluate(table(series("P", "L1", "lung", [(D0, 100), (D1, 70), (D2, 80), (D3, 70)])),
                         criteria=[continued])
    b = best(r, "P", continued.id)
    assert b.best_overall_response == "PR" and b.confirmed is True
