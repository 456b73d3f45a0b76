"""The criteria's faster arithmetic against a straightforward exact reference (hypothesis).

Percentages for the tables and the trace come from one integer division
(:func:`pct_change_value`) and PR is decided by cross-multiplication; the
reference below decides every threshold on exact ``pct_change`` fractions, as
the criteria read: PD ≥ +20 % over the nadir and ≥ 5 mm (on the sum, or in one
lesion for RANO-BM), PR ≥ 30 % below the baseline sum.
"""
from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import respond
from respond.criteria.timepoint import Nadir, pct_change, pct_change_value, target_response

CRITERIA = {cid: respond.load_criteria(cid) for cid in ("recist1.1", "rano-bm")}

# Sizes as the lesion table gives them: mm rounded to 1e-6 mm, with whole and tenth mm (boundaries) often.
micro_mm = st.integers(min_value=0, max_value=150_000_000).map(lambda k: Fraction(k, 10**6))
tenth_mm = st.integers(min_value=0, max_value=1500).map(lambda k: Fraction(k, 10))
size = st.one_of(micro_mm, tenth_mm)
maybe_size = st.one_of(size, size, size, st.none())
positive = st.one_of(size.filter(lambda f: f > 0),
                    st.integers(min_value=1, max_value=10**6).map(lambda k: Fraction(k, 10**6)))


def _reference(values, *, node_ids, baseline_total, nadir, criteria):
    """Target response and the percentages its trace should show, from exact fractions only."""
    r = criteria.response
    evaluated = {k: v for k, v in values.items() if v is not None}
    total = sum(evaluated.values(), Fraction(0))
    increase = total - nadir.total
    from_nadir = pct_change(total, nadir.total)
    relative = increase > 0 and (from_nadir is None or from_nadir >= Fraction(str(r.progression_increase_pct)))
    absolute = Fraction(str(r.progression_absolute_mm))
    if r.progression_absolute_applies_to == "sum":
        absolute_ok = increase >= absolute
    else:
        grown = [v - nadir.values[k] for k, v in evaluated.items() if k in nadir.values]
        absolute_ok = bool(grown) and max(grown) >= absolute
    if relative and absolute_ok:
        return "PD", [from_nadir]
    if len(evaluated) < len(values):
        return "NE", []
    limit = Fraction(str(criteria.measurability.node_normal_below_short_axis_mm))
    if all(v < limit if k in node_ids else v == 0 for k, v in evaluated.items()):
        return "CR", []
    from_baseline = pct_change(total, baseline_total)
    if from_baseline is not None and -from_baseline >= Fraction(str(r.partial_response_decrease_pct)):
        return "PR", [from_baseline]
    return "SD", [from_baseline, from_nadir]


def _shown(p: Fraction | None) -> str:
    return "n/a" if p is None else f"{float(p):+.1f}%"


@settings(max_examples=300, deadline=None)
@given(size, positive)
def test_percentage_for_tables_equals_the_exact_fraction_rounded(value, reference):
    assert pct_change_value(value, reference) == float(pct_change(value, reference))


def test_percentage_of_a_zero_reference_is_none():
    assert pct_change_value(Fraction(5), Fraction(0)) is None


@pytest.mark.parametrize("criteria_id", sorted(CRITERIA))
@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_target_response_matches_the_exact_reference(criteria_id, data):
    criteria = CRITERIA[criteria_id]
    n = data.draw(st.integers(min_value=1, max_value=5))
    ids = [f"L{i}" for i in range(n)]
    baseline = {lid: data.draw(size) for lid in ids}
    nadir_values = {lid: data.draw(st.one_of(st.just(baseline[lid]), size)) for lid in ids}
    values = {lid: data.draw(maybe_size) for lid in ids}
    node_ids = set(data.draw(st.lists(st.sampled_from(ids), unique=True)))
    baseline_total = sum(baseline.values(), Fraction(0))
    nadir = Nadir(dt.date(2024, 1, 1), sum(nadir_values.values(), Fraction(0)), nadir_values)

    outcome = target_response(values, progression_flags=[], node_ids=node_ids, baseline_total=baseline_total,
                              nadir=nadir, criteria=criteria)
    expected, percentages = _reference(values, node_ids=node_ids, baseline_total=baseline_total, nadir=nadir,
                                       criteria=criteria)
    assert outcome.response == expected
    text = "; ".join(outcome.reasons)
    for p in percentages:
        assert f"({_shown(p)}" in text


@pytest.mark.parametrize(("baseline", "now", "expected"), [
    (Fraction(60), Fraction(42), "PR"),  # exactly −30 %: PR
    (Fraction(60), Fraction(42000001, 10**6), "SD"),  # a millionth of a mm above: not PR
])
def test_partial_response_boundary_is_exact(baseline, now, expected):
    criteria = CRITERIA["recist1.1"]
    nadir = Nadir(dt.date(2024, 1, 1), baseline, {"L0": baseline})
    outcome = target_response({"L0": now}, progression_flags=[], node_ids=set(), baseline_total=baseline,
                              nadir=nadir, criteria=criteria)
    assert outcome.response == expected
