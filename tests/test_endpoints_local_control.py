"""Lesion-level local control: growth over the lesion's own nadir, reappearance,
confirmation on the next scan, adjudications. Worked by hand (RANO-BM preset:
20 % and 5 mm). Origin: the baseline scan D0 2024-01-01; D1 = day 60,
D2 = day 121, D3 = day 182.
"""
from __future__ import annotations

import pandas as pd
import pytest

import respond
from conftest import row, table
from respond.errors import InputTableError

D0, D1, D2, D3 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01"
DAY = {D1: 60.0, D2: 121.0, D3: 182.0}


def brain(pid, lid, lds, **extra):
    return [row(pid, d, lid, "brain", ld, short_axis_mm="" if ld is None else ld / 2, n_slices=4, **extra)
            for d, ld in zip([D0, D1, D2, D3], lds)]


CONFIRMED = {"extends": "rano-bm", "id": "rano-bm-confirmed", "endpoints": {"local_failure_requires_confirmation": True}}


def lc(result, criteria="rano-bm"):
    e = result.events
    sel = e[(e.criteria == criteria) & (e.endpoint == "local_control")]
    return {(r.patient_id, r.lesion_id): (r.time_days, r.event, str(r.event_date), r.censor_reason)
            for r in sel.itertuples()}


def test_growth_over_own_nadir_is_local_failure_below_the_rule_is_not():
    # A: nadir 10 at D1, 15 at D2: +5 mm, +50 %: failure on D2.
    # B: nadir 18 at D1, 21 at D2: +3 mm only: censored at its last assessment.
    # C: 20 → 24 at D1: +4 mm (20 %): no failure; 25 at D2 is +5 mm and +25 %: failure on D2.
    lesions = table(brain("P", "A", [20, 10, 15]), brain("P", "B", [20, 18, 21]), brain("P", "C", [20, 24, 25]))
    got = lc(respond.evaluate(lesions, criteria=["rano-bm"]))
    assert got == {("P", "A"): (121.0, True, D2, None),
                   ("P", "B"): (121.0, False, D2, "last_assessment"),
                   ("P", "C"): (121.0, True, D2, None)}


def test_reappearance_after_disappearing_is_local_failure():
    lesions = table(brain("P", "A", [20, 0, 3]), brain("P", "B", [20, 15, 15]))
    got = lc(respond.evaluate(lesions, criteria=["rano-bm"]))
    assert got[("P", "A")] == (121.0, True, D2, None)
    e = respond.evaluate(lesions, criteria=["rano-bm"]).events
    assert "reappeared" in e[e.lesion_id == "A"].reason.iloc[0]


def test_not_evaluated_scans_are_skipped_and_censoring_is_at_the_last_evaluation():
    lesions = table(brain("P", "A", [20, 18, None]))
    assert lc(respond.evaluate(lesions, criteria=["rano-bm"]))[("P", "A")] == (60.0, False, D1, "last_assessment")


def test_confirmation_required_dates_the_failure_at_the_first_scan():
    # A: 15 at D2 (failure) and 16 at D3 (still failing): confirmed, dated D2.
    # B: 15 at D2, back to 11 at D3: not confirmed, censored at D3.
    # C: first failing at D3, the last scan: awaits confirmation, censored at D3.
    lesions = table(brain("P", "A", [20, 10, 15, 16]), brain("P", "B", [20, 10, 15, 11]),
                    brain("P", "C", [20, 10, 10, 15]))
    plain = lc(respond.evaluate(lesions, criteria=["rano-bm"]))
    assert plain == {("P", "A"): (121.0, True, D2, None), ("P", "B"): (121.0, True, D2, None),
                     ("P", "C"): (182.0, True, D3, None)}
    confirmed = lc(respond.evaluate(lesions, criteria=[respond.load_criteria(CONFIRMED)]), "rano-bm-confirmed")
    assert confirmed == {("P", "A"): (121.0, True, D2, None),
                         ("P", "B"): (182.0, False, D3, "last_assessment"),
                         ("P", "C"): (182.0, False, D3, "pending_confirmation")}


def adjudications(*rows):
    return pd.DataFrame([{"patient_id": "P", "lesion_id": lid, "date": d, "finding": f} for lid, d, f in rows])


def test_adjudicated_radionecrosis_is_not_local_failure_for_its_growth_episode():
    # A grows at D2 and D3 (one episode); radionecrosis proven at D2: no failure, censored at D3.
    lesions = table(brain("P", "A", [20, 10, 15, 16]))
    r = respond.evaluate(lesions, criteria=["rano-bm"], adjudications=adjudications(("A", D2, "radionecrosis")))
    assert lc(r)[("P", "A")] == (182.0, False, D3, "last_assessment")
    assert "adjudicated radionecrosis" in r.events.reason.iloc[-1]
    # Without the adjudication it is a failure on D2.
    assert lc(respond.evaluate(lesions, criteria=["rano-bm"]))[("P", "A")] == (121.0, True, D2, None)


def test_growth_after_a_pseudoprogression_episode_ended_is_judged_afresh():
    # 10 → 16 at D1 (+6 mm, +60 %: adjudicated pseudoprogression), back to 10 at D2 (episode over),
    # 16 again at D3: a new episode, not adjudicated: failure on D3 (without the adjudication: D1).
    lesions = table(brain("P", "A", [10, 16, 10, 16]))
    r = respond.evaluate(lesions, criteria=["rano-bm"], adjudications=adjudications(("A", D1, "pseudoprogression")))
    assert lc(r)[("P", "A")] == (182.0, True, D3, None)


def test_adjudicated_tumor_is_a_local_failure_even_below_the_imaging_rule():
    lesions = table(brain("P", "A", [20, 22, 22]))
    r = respond.evaluate(lesions, criteria=["rano-bm"], adjudications=adjudications(("A", D1, "tumor")))
    assert lc(r)[("P", "A")] == (60.0, True, D1, None)


def test_tumor_adjudication_confirms_a_pending_failure_at_its_first_scan():
    lesions = table(brain("P", "A", [20, 10, 15, 15]))
    r = respond.evaluate(lesions, criteria=[respond.load_criteria(CONFIRMED)],
                         adjudications=adjudications(("A", D3, "tumor")))
    assert lc(r, "rano-bm-confirmed")[("P", "A")] == (121.0, True, D2, None)


def test_treated_lesions_targets_or_column():
    # A and B are targets (≥ 10 mm); S (6 mm) is a non-target: followed by default, not with 'targets'.
    lesions = table(brain("P", "A", [20, 20]), brain("P", "B", [30, 30]), brain("P", "S", [6, 6]))
    assert set(lc(respond.evaluate(lesions, criteria=["rano-bm"]))) == {("P", "A"), ("P", "B"), ("P", "S")}
    only_targets = respond.load_criteria({"extends": "rano-bm", "id": "t", "endpoints": {"treated_lesions": "targets"}})
    assert set(lc(respond.evaluate(lesions, criteria=[only_targets]), "t")) == {("P", "A"), ("P", "B")}
    column = respond.load_criteria({"extends": "rano-bm", "id": "c", "endpoints": {"treated_lesions": "column"}})
    lesions["treated"] = ["yes" if lid == "B" else "" for lid in lesions.lesion_id]
    assert set(lc(respond.evaluate(lesions, criteria=[column]), "c")) == {("P", "B")}
    lesions.loc[0, "treated"] = "maybe"
    r = respond.evaluate(lesions, criteria=[column])
    assert "'maybe' is not true/false" in r.failures.message.iloc[0] and r.events.empty


def test_explicit_treated_list_through_summarize():
    lesions = table(brain("P", "A", [20, 10, 15]), brain("P", "B", [20, 20, 20]))
    r = respond.evaluate(lesions, criteria=["rano-bm"])
    again = respond.summarize(r, treated=[("P", "B")])
    assert lc(again) == {("P", "B"): (121.0, False, D2, "last_assessment")}


def test_bad_adjudication_rows_name_file_row_and_value(tmp_path):
    lesions = table(brain("P", "A", [20, 10, 15]), brain("Q", "A", [20, 10, 15]))
    path = tmp_path / "adj.csv"
    path.write_text("patient_id,lesion_id,date,finding\n"
                    "P,A,2024-05-01,necrosis\n"       # unknown finding
                    "Q,A,2024-05-01,radionecrosis\n")
    r = respond.evaluate(lesions, criteria=["rano-bm"], adjudications=path)
    f = r.failures.iloc[0]
    assert f.patient_id == "P" and f.error_code == "table.unknown_value"
    assert "adj.csv" in f.message and "row 2" in f.message and "necrosis" in f.message
    # Q proceeds, with its adjudication applied.
    assert lc(r) == {("Q", "A"): (121.0, False, D2, "last_assessment")}


@pytest.mark.parametrize("text,match", [
    ("P,A,2024-04-01,tumor\n", "2024-04-01 is not a scan date of patient P"),
    ("P,Z,2024-05-01,tumor\n", "lesion Z is not in the lesion table"),
    ("P,A,2024-05-01,tumor\nP,A,2024-05-01,radionecrosis\n", "duplicate rows"),
    ("X,A,2024-05-01,tumor\n", "patient X is not in the lesion table"),
])
def test_adjudication_checks(tmp_path, text, match):
    from respond.io.adjudications import read_adjudications_table
    from respond.io.lesion_table import read_lesion_table

    path = tmp_path / "adj.csv"
    path.write_text("patient_id,lesion_id,date,finding\n" + text)
    read = read_adjudications_table(path, lesions=read_lesion_table(table(brain("P", "A", [20, 10, 15]))).frame)
    assert any(match in str(e) for e in read.failures), [str(e) for e in read.failures]


def test_adjudication_table_without_finding_column_cannot_start(tmp_path):
    path = tmp_path / "adj.csv"
    path.write_text("patient_id,lesion_id,date\nP,A,2024-05-01\n")
    with pytest.raises(InputTableError, match="lacks required column.*finding"):
        respond.evaluate(table(brain("P", "A", [20, 10])), adjudications=path)
