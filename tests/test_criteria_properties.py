"""Invariants of the criteria engine, checked on generated cases (hypothesis)."""
from __future__ import annotations

from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import respond
from respond.tables import RESPONSES

DATES = ["2024-01-01", "2024-02-26", "2024-04-22", "2024-06-17", "2024-08-12"]
ORGANS = ["brain", "lung", "liver", "lymph_node"]

# A lesion: organ and a baseline diameter in tenths of a mm.
lesion = st.tuples(st.sampled_from(ORGANS), st.integers(min_value=30, max_value=600))
shrink = st.lists(st.integers(min_value=0, max_value=100), min_size=4, max_size=4)  # % kept per step


def _frame(lesions, factors, *, grow=False):
    rows = []
    for i, ((organ, base), steps) in enumerate(zip(lesions, factors)):
        size = Fraction(base, 10)
        for d, date in enumerate(DATES):
            if d:
                pct = Fraction(steps[d - 1], 100)
                size = size * (1 + pct) if grow else size * pct
            ld = round(float(size), 1)
            row = {"patient_id": "P", "date": date, "lesion_id": f"L{i}", "organ": organ,
                   "longest_diameter_mm": ld, "n_slices": 3, "short_axis_mm": round(ld * 0.6, 1)}
            rows.append(row)
    return pd.DataFrame(rows)


@settings(max_examples=80, deadline=None)
@given(st.lists(lesion, min_size=1, max_size=7), st.data())
def test_shrinking_every_lesion_never_yields_progression(lesions, data):
    factors = [data.draw(shrink) for _ in lesions]
    result = respond.evaluate(_frame(lesions, factors))
    assert result.failures.empty
    assert "PD" not in set(result.timepoints.overall_response.dropna())
    assert set(result.best_response.best_overall_response) <= set(RESPONSES) - {"PD"}
    assert result.best_response.progression_date.isna().all()


@settings(max_examples=60, deadline=None)
@given(st.lists(lesion, min_size=1, max_size=5), st.data())
def test_growing_every_lesion_never_yields_a_response(lesions, data):
    factors = [data.draw(st.lists(st.integers(0, 60), min_size=4, max_size=4)) for _ in lesions]
    result = respond.evaluate(_frame(lesions, factors, grow=True))
    assert not {"CR", "PR"} & set(result.timepoints.overall_response.dropna())


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100, max_value=3000))
def test_thresholds_are_exact_at_every_size(base_tenths):
    # Baseline b and follow-up exactly 0.7 b (in tenths of a mm when divisible): always PR.
    if base_tenths % 10:
        base_tenths -= base_tenths % 10
    base = base_tenths / 10
    frame = pd.DataFrame([
        {"patient_id": "P", "date": DATES[0], "lesion_id": "L", "organ": "lung", "longest_diameter_mm": base},
        {"patient_id": "P", "date": DATES[1], "lesion_id": "L", "organ": "lung",
         "longest_diameter_mm": round(base * 0.7, 6)}])
    result = respond.evaluate(frame, criteria=["recist1.1"])
    assert list(result.timepoints.target_response.dropna()) == ["PR"]
