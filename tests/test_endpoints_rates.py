"""Binomial intervals and Kaplan–Meier figures against scipy, lifelines and hand computation."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

import respond
from conftest import row, table
from respond.endpoints.rates import clopper_pearson, jeffreys
from respond.endpoints.survival import DAYS_PER_MONTH, median_of, rate_at


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 1), (7, 23)])
def test_clopper_pearson_equals_scipy_exact(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    p = clopper_pearson(k, n)
    assert (p.estimate, p.ci_low, p.ci_high) == (k / n, pytest.approx(ci.low), pytest.approx(ci.high))


def test_clopper_pearson_zero_successes_closed_form():
    # 0 of 10: upper limit 1 - 0.025^(1/10) = 0.30850.
    assert clopper_pearson(0, 10).ci_high == pytest.approx(1 - 0.025 ** 0.1)
    assert clopper_pearson(0, 10).ci_high == pytest.approx(0.30850, abs=1e-5)


@pytest.mark.parametrize("k,n", [(3, 10), (7, 23), (1, 2)])
def test_jeffreys_equals_beta_quantiles(k, n):
    p = jeffreys(k, n)
    assert p.ci_low == pytest.approx(stats.beta.ppf(0.025, k + 0.5, n - k + 0.5))
    assert p.ci_high == pytest.approx(stats.beta.ppf(0.975, k + 0.5, n - k + 0.5))


def test_jeffreys_boundaries_and_empty_denominator():
    assert jeffreys(0, 10).ci_low == 0.0 and jeffreys(0, 10).ci_high == pytest.approx(stats.beta.ppf(0.975, 0.5, 10.5))
    assert jeffreys(10, 10).ci_high == 1.0
    assert all(math.isnan(v) for v in (jeffreys(0, 0).estimate, clopper_pearson(0, 0).ci_low))
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)


D0, D1, D2, D3 = "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01"


def _lesion(pid, lid, organ, lds):
    return [row(pid, d, lid, organ, ld, short_axis_mm=ld / 2, n_slices=4) for d, ld in zip([D0, D1, D2, D3], lds)]


def _cohort():
    """Five RECIST 1.1 patients: CR, PR, SD, PD, and one with non-target disease only."""
    return table(_lesion("CR", "L", "lung", [30, 0, 0]), _lesion("PR", "L", "lung", [30, 15, 15]),
                 _lesion("SD", "L", "lung", [30, 28, 28]), _lesion("PD", "L", "lung", [30, 40, 40]),
                 _lesion("NT", "S", "lung", [6, 6, 6]))


def _stat(summary, criteria, statistic, method=None, time=None):
    s = summary[(summary.criteria == criteria) & (summary.statistic == statistic)]
    if method:
        s = s[s.method == method]
    if time is not None:
        s = s[s.time_months == time]
    assert len(s) == 1, s
    return s.iloc[0]


def test_iorr_over_patients_with_measurable_disease():
    # Measurable: CR, PR, SD, PD (NT has no target): iORR 2/4, DCR 3/4, no PD 3/4.
    r = respond.evaluate(_cohort(), criteria=["recist1.1"])
    iorr = _stat(r.summary, "recist1.1", "iorr", "clopper-pearson")
    exact = stats.binomtest(2, 4).proportion_ci(method="exact")
    assert (iorr.n, iorr.events, iorr.estimate) == (4, 2, 0.5)
    assert (iorr.ci_low, iorr.ci_high) == (pytest.approx(exact.low), pytest.approx(exact.high))
    jef = _stat(r.summary, "recist1.1", "iorr", "jeffreys")
    assert (jef.ci_low, jef.ci_high) == (pytest.approx(stats.beta.ppf(0.025, 2.5, 2.5)),
                                         pytest.approx(stats.beta.ppf(0.975, 2.5, 2.5)))
    assert (_stat(r.summary, "recist1.1", "dcr", "clopper-pearson").events,
            _stat(r.summary, "recist1.1", "ilc_rate", "clopper-pearson").events) == (3, 3)
    assessed = respond.load_criteria({"extends": "recist1.1", "id": "all",
                                      "endpoints": {"response_population": "assessed"}})
    r2 = respond.evaluate(_cohort(), criteria=[assessed])
    assert _stat(r2.summary, "all", "iorr", "jeffreys").n == 5


def _events(times, observed, criteria="x", endpoint="ipfs"):
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(len(times))], "criteria": criteria,
                         "endpoint": endpoint, "time_days": times, "event": observed})


def test_km_on_a_tiny_cohort_matches_the_product_limit_by_hand():
    # Times 30, 60+, 90, 120, 150+ days. S = 4/5 after 30; 4/5 · 2/3 = 8/15 after 90;
    # 8/15 · 1/2 = 4/15 after 120. Median: first time S ≤ 0.5 → 120 days.
    fitter = respond.km(_events([30, 60, 90, 120, 150], [True, False, True, True, False]))
    assert rate_at(fitter, 29).estimate == 1.0
    assert rate_at(fitter, 30).estimate == pytest.approx(4 / 5)
    r100 = rate_at(fitter, 100)
    assert r100.estimate == pytest.approx(8 / 15) and r100.at_risk == 2
    assert rate_at(fitter, 140).estimate == pytest.approx(4 / 15)
    assert median_of(fitter).estimate == 120
    # Interval: Greenwood variance on the log(-log) scale, by hand.
    s = 8 / 15
    greenwood = 1 / (5 * 4) + 1 / (3 * 2)
    se = math.sqrt(greenwood) / abs(math.log(s))
    z = stats.norm.ppf(0.975)
    low, high = (math.exp(-math.exp(math.log(-math.log(s)) + k * z * se)) for k in (1, -1))
    assert (r100.ci_low, r100.ci_high) == (pytest.approx(low), pytest.approx(high))
    # After the last (censored) time the rate is not estimable.
    late = rate_at(fitter, 151)
    assert math.isnan(late.estimate) and late.note == "beyond the longest follow-up"


def test_km_median_not_reached_and_curve_at_zero():
    fitter = respond.km(_events([30, 60, 90], [True, False, False]))
    m = median_of(fitter)
    assert math.isinf(m.estimate) and m.note == "median not reached"
    everyone = respond.km(_events([30, 60], [True, True]))
    assert rate_at(everyone, 100).estimate == 0.0


def test_km_requires_one_criteria():
    events = pd.concat([_events([1, 2], [True, True], "a"), _events([1, 2], [True, True], "b")])
    with pytest.raises(ValueError, match="criteria must not be pooled"):
        respond.km(events)
    assert list(respond.km(events, criteria="b").durations) == [1, 2]
    months = respond.km(events, criteria="b", time_unit="months")
    assert months.durations[1] == pytest.approx(2 / DAYS_PER_MONTH)


def test_summary_rates_and_median_agree_with_lifelines_on_the_same_events():
    from lifelines import KaplanMeierFitter

    # Brain lesions: PD on various dates; two censored. RANO-BM.
    dates = ["2024-01-01", "2024-03-01", "2024-06-01", "2024-09-01", "2025-01-01", "2025-04-01"]
    lds = {"A": [30, 30, 40], "B": [30, 25, 25, 25, 40], "C": [30, 25, 25, 25, 25, 25],
           "D": [30, 30, 30, 45], "E": [30, 28, 28], "F": [30, 28, 28, 28, 28, 45]}
    rows = [row(p, d, "B1", "brain", ld, short_axis_mm=ld / 2, n_slices=4)
            for p, series in lds.items() for d, ld in zip(dates, series)]
    r = respond.evaluate(pd.DataFrame(rows), criteria=["rano-bm"])
    ev = r.events[r.events.endpoint == "ipfs"]
    kmf = KaplanMeierFitter().fit(ev.time_days.astype(float), ev.event.astype(bool))
    for months in (6, 12):
        got = _stat(r.summary, "rano-bm", "ipfs_rate", time=months)
        expected = float(kmf.survival_function_at_times(months * DAYS_PER_MONTH).iloc[0])
        assert got.estimate == pytest.approx(expected)
        assert got.at_risk == int((ev.time_days >= months * DAYS_PER_MONTH).sum())
    median = _stat(r.summary, "rano-bm", "ipfs_median")
    assert median.estimate == pytest.approx(kmf.median_survival_time_ / DAYS_PER_MONTH)
    # By hand: PD at day 152 (A), 244 (D), 366 (B), 456 (F); E censored at 152, C at 456.
    # 6 months (182.6 d): 5/6. 12 months (365.25 d): 5/6 · 3/4 = 5/8 (4 at risk at 244).
    # Median: 5/8 · 2/3 = 5/12 ≤ 0.5 at day 366 → 366 / 30.4375 months.
    assert _stat(r.summary, "rano-bm", "ipfs_rate", time=6).estimate == pytest.approx(5 / 6)
    assert _stat(r.summary, "rano-bm", "ipfs_rate", time=12).estimate == pytest.approx(5 / 8)
    assert _stat(r.summary, "rano-bm", "ipfs_rate", time=12).at_risk == 3
    assert median.estimate == pytest.approx(366 / 30.4375)
