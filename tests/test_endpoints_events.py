"""iPFS events: dates, censoring and progression patterns, worked by hand.

Dates: baseline D0 2024-01-01, treatment start 2024-01-08 (the time origin),
follow-up D1 2024-03-01 (day 53 from treatment start), D2 2024-05-01 (day 114),
D3 2024-07-01 (day 175).
"""
from __future__ import annotations

import pandas as pd
import pytest

import respond
from conftest import row, table

D0, D1, D2, D3 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01"
START = "2024-01-08"


def brain(pid, lid, lds, **extra):
    """A measurable brain lesion over D0, D1, ... (None = not evaluated)."""
    return [row(pid, d, lid, "brain", ld, short_axis_mm="" if ld is None else ld / 2, n_slices=4, **extra)
            for d, ld in zip([D0, D1, D2, D3], lds)]


def patients(*rows):
    return pd.DataFrame([{"patient_id": pid, "treatment_start": START, **extra} for pid, extra in rows])


def ipfs(result, pid, criteria="rano-bm"):
    e = result.events
    sel = e[(e.patient_id == pid) & (e.criteria == criteria) & (e.endpoint == "ipfs")]
    assert len(sel) == 1
    return sel.iloc[0]


def test_target_progression_is_a_local_event_dated_from_treatment_start():
    # Nadir 20 mm at D1, 30 mm at D2: +50 % and +10 mm: PD on D2, day 114.
    r = respond.evaluate(table(brain("P", "B1", [30, 20, 30])), patients=patients(("P", {})))
    for criteria in ("recist1.1", "rano-bm"):
        e = ipfs(r, "P", criteria)
        assert (e.time_days, e.event, str(e.event_date), e.pattern) == (114.0, True, D2, "local")
        assert e.censor_reason is None and "treatment start" in e.reason


def test_origin_is_the_baseline_scan_without_treatment_start():
    r = respond.evaluate(table(brain("P", "B1", [30, 20, 30])), criteria=["rano-bm"])
    assert ipfs(r, "P").time_days == 121.0  # 2024-01-01 → 2024-05-01


def test_confirmed_equivocal_new_lesion_is_back_dated_and_distant():
    # N is equivocal at D1 and unequivocal at D2: PD dated D1 (day 53), a new lesion only: distant.
    lesions = table(brain("P", "B1", [30, 29, 29]),
                    row("P", D1, "N", "brain", 4, equivocal=True, n_slices=2),
                    row("P", D2, "N", "brain", 9, equivocal=False, n_slices=2))
    r = respond.evaluate(lesions, patients=patients(("P", {})))
    for criteria in ("recist1.1", "rano-bm"):
        e = ipfs(r, "P", criteria)
        assert (e.time_days, e.event, str(e.event_date), e.pattern) == (53.0, True, D1, "distant")
        assert "back-dated" in e.reason


def test_target_growth_and_new_lesion_at_the_same_scan_is_local_plus_distant():
    lesions = table(brain("P", "B1", [30, 20, 30]), row("P", D2, "N", "brain", 8, n_slices=2))
    r = respond.evaluate(lesions, criteria=["rano-bm"])
    assert ipfs(r, "P").pattern == "local+distant"


def test_reappearance_after_complete_response_is_local():
    r = respond.evaluate(table(brain("P", "B1", [30, 0, 4])), criteria=["recist1.1"])
    e = ipfs(r, "P", "recist1.1")
    assert (str(e.event_date), e.pattern) == (D2, "local")


def test_non_target_progression_pattern():
    lesions = table(brain("P", "B1", [30, 25, 25]),
                    row("P", D0, "S", "brain", 6, n_slices=2),
                    row("P", D1, "S", "brain", None, status="progression"))
    r = respond.evaluate(lesions, criteria=["rano-bm"])
    e = ipfs(r, "P")
    assert (str(e.event_date), e.pattern) == (D1, "non_target")


def test_clinical_progression_pattern():
    clinical = pd.DataFrame([{"patient_id": "P", "date": D0, "steroid_dose_mg": 0, "clinical_status": "stable"},
                             {"patient_id": "P", "date": D1, "steroid_dose_mg": 0, "clinical_status": "worse"}])
    r = respond.evaluate(table(brain("P", "B1", [30, 25])), criteria=["rano-bm"], clinical=clinical)
    e = ipfs(r, "P")
    assert (str(e.event_date), e.pattern) == (D1, "clinical")


def test_death_without_progression_is_an_event_by_default():
    r = respond.evaluate(table(brain("P", "B1", [30, 30, 30])), criteria=["rano-bm"],
                         patients=patients(("P", {"death_date": "2024-06-15"})))
    e = ipfs(r, "P")
    assert (e.time_days, e.event, str(e.event_date), e.pattern) == (159.0, True, "2024-06-15", "death")


def test_intracranial_pd_only_variant_censors_death_at_the_last_assessment():
    variant = respond.load_criteria({"extends": "rano-bm", "id": "rano-bm-pd-only",
                                     "endpoints": {"death_is_event": False}})
    r = respond.evaluate(table(brain("P", "B1", [30, 30, 30])), criteria=[variant],
                         patients=patients(("P", {"death_date": "2024-06-15"})))
    e = ipfs(r, "P", "rano-bm-pd-only")
    assert (e.time_days, e.event, str(e.event_date)) == (114.0, False, D2)
    assert e.censor_reason == "death_not_event"


def test_progression_before_death_is_the_event():
    r = respond.evaluate(table(brain("P", "B1", [30, 20, 30])), criteria=["rano-bm"],
                         patients=patients(("P", {"death_date": "2024-06-15"})))
    e = ipfs(r, "P")
    assert (str(e.event_date), e.pattern) == (D2, "local")


def test_lost_to_follow_up_is_censored_at_the_last_evaluable_assessment():
    # D2 not evaluated (NE): censored at D1, day 53, not at D2.
    r = respond.evaluate(table(brain("P", "B1", [30, 28, None])), criteria=["rano-bm"],
                         patients=patients(("P", {})))
    e = ipfs(r, "P")
    assert (e.time_days, e.event, str(e.event_date), e.censor_reason) == (
        53.0, False, D1, "last_evaluable_assessment")


def test_later_last_followup_extends_censoring_earlier_does_not():
    r = respond.evaluate(table(brain("P", "B1", [30, 28, 28]), brain("Q", "B1", [30, 28, 28])),
                         criteria=["rano-bm"],
                         patients=patients(("P", {"last_followup": "2024-09-01"}),
                                           ("Q", {"last_followup": "2024-04-01"})))
    p, q = ipfs(r, "P"), ipfs(r, "Q")
    assert (p.time_days, str(p.event_date), p.censor_reason) == (237.0, "2024-09-01", "last_followup")
    assert (q.time_days, str(q.event_date), q.censor_reason) == (114.0, D2, "last_evaluable_assessment")


def test_no_follow_up_is_censored_at_time_zero():
    r = respond.evaluate(table(brain("P", "B1", [30])), criteria=["rano-bm"], patients=patients(("P", {})))
    e = ipfs(r, "P")
    assert (e.time_days, e.event, str(e.event_date), e.censor_reason) == (0.0, False, START,
                                                                          "no_evaluable_followup")


def test_impossible_dates_exclude_that_patient_only():
    # Q died before its last scan: a failure naming the patient and the dates; P is still assessed.
    r = respond.evaluate(table(brain("P", "B1", [30, 20, 30]), brain("Q", "B1", [30, 28, 28])),
                         criteria=["rano-bm"],
                         patients=patients(("P", {}), ("Q", {"death_date": "2024-04-01"})))
    assert set(r.events.patient_id) == {"P"}
    f = r.failures[r.failures.patient_id == "Q"].iloc[0]
    assert f.stage == "endpoints" and f.error_code == "table.date_order"
    assert "death_date 2024-04-01 is before the scan of 2024-05-01" in f.message


@pytest.mark.parametrize("extra,match", [
    ({"death_date": "2024-01-02"}, "death_date 2024-01-02 is before treatment_start"),
    ({"last_followup": "2024-01-02"}, "last_followup 2024-01-02 is before treatment_start"),
    ({"last_followup": "2024-09-01", "death_date": "2024-08-01"}, "last_followup 2024-09-01 is after death_date"),
])
def test_date_order_checks(extra, match):
    r = respond.evaluate(table(brain("P", "B1", [30, 20])), criteria=["rano-bm"], patients=patients(("P", extra)))
    assert r.events.empty
    assert match in r.failures.message.iloc[0]
