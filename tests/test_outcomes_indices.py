"""Prognostic indices: hand-worked points at the boundary values of every component.

Sources (see respond/outcomes/indices.py): Gaspar 1997 (RPA), Sperduto 2008 (GPA),
Weltman 2000 (SIR), Lorenzoni 2004 (BS-BM), Golden 2008 (GGS).
"""
from __future__ import annotations

import pytest

from respond.outcomes.indices import bsbm, ggs, gpa, rpa, sir
from respond.outcomes.settings import load_outcome_settings

GROUPS = load_outcome_settings().groupings

#: A patient with the best value of every component.
BEST = {"age_years": 45.0, "kps": 100.0, "primary_controlled": True, "extracranial_metastases": False,
        "systemic_status": "ned", "n_brain_lesions": 1, "largest_lesion_cm3": 1.0}


def points(result, name: str) -> float:
    return {n: p for n, _, p in result.components}[name]


# --- GPA (Sperduto 2008) ----------------------------------------------------------------------------

@pytest.mark.parametrize("age, expected", [(49.99, 1.0), (50.0, 0.5), (59.9, 0.5), (60.0, 0.0), (85.0, 0.0)])
def test_gpa_age(age, expected):
    assert points(gpa({**BEST, "age_years": age}, GROUPS["gpa"]), "age_years") == expected


@pytest.mark.parametrize("kps, expected", [(60, 0.0), (69, 0.0), (70, 0.5), (80, 0.5), (89, 0.5), (90, 1.0),
                                           (100, 1.0)])
def test_gpa_kps(kps, expected):
    assert points(gpa({**BEST, "kps": float(kps)}, GROUPS["gpa"]), "kps") == expected


@pytest.mark.parametrize("n, expected", [(1, 1.0), (2, 0.5), (3, 0.5), (4, 0.0), (12, 0.0)])
def test_gpa_number_of_metastases(n, expected):
    assert points(gpa({**BEST, "n_brain_lesions": n}, GROUPS["gpa"]), "n_brain_lesions") == expected


def test_gpa_extracranial_and_totals():
    best = gpa(BEST, GROUPS["gpa"])
    assert best.score == 4.0 and best.klass == "3-4" and best.missing == ()
    worst = gpa({**BEST, "age_years": 70.0, "kps": 60.0, "n_brain_lesions": 5, "extracranial_metastases": True},
                GROUPS["gpa"])
    assert worst.score == 0.0 and worst.klass == "0-1"
    # 55 y (0.5) + KPS 80 (0.5) + 2 lesions (0.5) + no ECM (1) = 2.5 → group 1.5-2.5
    middle = gpa({**BEST, "age_years": 55.0, "kps": 80.0, "n_brain_lesions": 2}, GROUPS["gpa"])
    assert middle.score == 2.5 and middle.klass == "1.5-2.5"
    assert middle.inputs_text == ("age_years=55 (0.5); kps=80 (0.5); n_brain_lesions=2 (0.5); "
                                  "extracranial_metastases=no (1)")


def test_gpa_missing_input_is_named_and_gives_no_score():
    result = gpa({**BEST, "kps": None}, GROUPS["gpa"])
    assert result.score is None and result.klass is None and result.missing == ("kps",)


def test_no_brain_lesion_at_baseline_counts_as_missing():
    result = gpa({**BEST, "n_brain_lesions": 0}, GROUPS["gpa"])
    assert result.missing == ("n_brain_lesions",)


# --- SIR (Weltman 2000) -----------------------------------------------------------------------------

@pytest.mark.parametrize("age, expected", [(50.0, 2.0), (50.9, 2.0), (51.0, 1.0), (59.0, 1.0), (60.0, 0.0)])
def test_sir_age(age, expected):
    assert points(sir({**BEST, "age_years": age}, GROUPS["sir"]), "age_years") == expected


@pytest.mark.parametrize("kps, expected", [(40, 0.0), (50, 0.0), (60, 1.0), (70, 1.0), (80, 2.0), (100, 2.0)])
def test_sir_kps(kps, expected):
    assert points(sir({**BEST, "kps": float(kps)}, GROUPS["sir"]), "kps") == expected


@pytest.mark.parametrize("status, expected", [("pd", 0.0), ("pr", 1.0), ("sd", 1.0), ("cr", 2.0), ("ned", 2.0)])
def test_sir_systemic_status(status, expected):
    assert points(sir({**BEST, "systemic_status": status}, GROUPS["sir"]), "systemic_status") == expected


@pytest.mark.parametrize("n, expected", [(1, 2.0), (2, 1.0), (3, 0.0), (7, 0.0)])
def test_sir_number_of_lesions(n, expected):
    assert points(sir({**BEST, "n_brain_lesions": n}, GROUPS["sir"]), "n_brain_lesions") == expected


@pytest.mark.parametrize("cm3, expected", [(4.99, 2.0), (5.0, 1.0), (13.0, 1.0), (13.01, 0.0)])
def test_sir_largest_lesion_volume(cm3, expected):
    assert points(sir({**BEST, "largest_lesion_cm3": cm3}, GROUPS["sir"]), "largest_lesion_cm3") == expected


def test_sir_totals_and_groups():
    assert sir(BEST, GROUPS["sir"]).score == 10.0 and sir(BEST, GROUPS["sir"]).klass == "8-10"
    # 55 y (1) + KPS 70 (1) + SD (1) + 2 lesions (1) + 6 cm³ (1) = 5 → 4-7
    mid = sir({**BEST, "age_years": 55.0, "kps": 70.0, "systemic_status": "sd", "n_brain_lesions": 2,
               "largest_lesion_cm3": 6.0}, GROUPS["sir"])
    assert mid.score == 5.0 and mid.klass == "4-7"
    low = sir({**BEST, "age_years": 65.0, "kps": 50.0, "systemic_status": "pd", "n_brain_lesions": 3,
               "largest_lesion_cm3": 3.0}, GROUPS["sir"])
    assert low.score == 2.0 and low.klass == "0-3"


# --- BS-BM (Lorenzoni 2004) -------------------------------------------------------------------------

@pytest.mark.parametrize("kps, expected", [(50, 0.0), (70, 0.0), (79, 0.0), (80, 1.0), (100, 1.0)])
def test_bsbm_kps(kps, expected):
    assert points(bsbm({**BEST, "kps": float(kps)}, GROUPS["bsbm"]), "kps") == expected


def test_bsbm_primary_and_extracranial():
    assert bsbm(BEST, GROUPS["bsbm"]).score == 3.0
    assert bsbm({**BEST, "primary_controlled": False}, GROUPS["bsbm"]).score == 2.0
    result = bsbm({**BEST, "primary_controlled": False, "extracranial_metastases": True}, GROUPS["bsbm"])
    assert result.score == 1.0 and result.klass == "1"


# --- GGS (Golden 2008) ------------------------------------------------------------------------------

@pytest.mark.parametrize("age, expected", [(64.9, 0.0), (65.0, 1.0)])
def test_ggs_age(age, expected):
    assert points(ggs({**BEST, "age_years": age}, GROUPS["ggs"]), "age_years") == expected


@pytest.mark.parametrize("kps, expected", [(60, 1.0), (69, 1.0), (70, 0.0)])
def test_ggs_kps(kps, expected):
    assert points(ggs({**BEST, "kps": float(kps)}, GROUPS["ggs"]), "kps") == expected


def test_ggs_total():
    assert ggs(BEST, GROUPS["ggs"]).score == 0.0
    worst = ggs({**BEST, "age_years": 70.0, "kps": 60.0, "extracranial_metastases": True}, GROUPS["ggs"])
    assert worst.score == 3.0 and worst.klass == "3"


# --- RPA (Gaspar 1997) ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, expected", [
    ({}, "I"),
    ({"kps": 70.0}, "I"),                       # KPS ≥ 70 is class I territory
    ({"kps": 69.0}, "III"),                     # KPS < 70: class III whatever else
    ({"age_years": 64.9}, "I"),
    ({"age_years": 65.0}, "II"),
    ({"primary_controlled": False}, "II"),
    ({"extracranial_metastases": True}, "II"),
    ({"kps": 60.0, "age_years": 80.0}, "III"),
])
def test_rpa_classes(change, expected):
    assert rpa({**BEST, **change}, GROUPS["rpa"]).klass == expected


def test_rpa_class_decided_by_known_inputs_despite_missing_ones():
    assert rpa({"kps": 60.0}, GROUPS["rpa"]).klass == "III"
    assert rpa({"kps": 90.0, "age_years": 70.0}, GROUPS["rpa"]).klass == "II"
    undecided = rpa({"kps": 90.0, "age_years": 50.0}, GROUPS["rpa"])
    assert undecided.klass is None
    assert undecided.missing == ("primary_controlled", "extracranial_metastases")
    assert rpa({"age_years": 50.0}, GROUPS["rpa"]).klass is None
