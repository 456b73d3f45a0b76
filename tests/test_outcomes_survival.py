"""Survival, Cox and competing-risk outputs equal lifelines called directly on the same data;
reverse-KM follow-up and OS/CSS times by hand."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import median_survival_times

import respond
from respond.outcomes.competing import JITTER_SEED, competing_frame, incidence_rows
from respond.outcomes.cox import fit_cox
from respond.outcomes.covariates import imaging_covariates
from respond.outcomes.settings import load_outcome_settings
from respond.outcomes.survival import DAYS_PER_MONTH, followup_row, grouped_rows, km_rows, patient_times

SETTINGS = load_outcome_settings()


def cohort(n: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.random(n) < 0.5
    time = rng.exponential(np.where(group, 8.0, 16.0))
    censor = rng.uniform(2, 30, n)
    return pd.DataFrame({"time_months": np.minimum(time, censor), "event": time <= censor, "flag": group,
                         "x": rng.normal(size=n), "patient_id": [f"P{i // 2}" for i in range(n)]})


def test_reverse_km_follow_up_by_hand():
    # times 2, 4, 6, 8, 10 months; events at 2 and 6. Reverse KM (censoring is the event):
    # t=4: 3/4 = 0.75; t=6: an event, i.e. censored here; t=8: 0.75 · 1/2 = 0.375 ≤ 0.5 → median 8 months.
    row = followup_row([2, 4, 6, 8, 10], [True, False, True, False, False], SETTINGS, endpoint="os")
    assert row["estimate"] == 8.0 and row["statistic"] == "median_followup"
    assert row["n"] == 5 and row["events"] == 2


def test_km_rows_equal_lifelines():
    data = cohort()
    rows = {(r["statistic"], r.get("time_months")): r
            for r in km_rows(data["time_months"], data["event"], SETTINGS, endpoint="os")}
    kmf = KaplanMeierFitter(alpha=0.05).fit(data["time_months"], data["event"])
    assert rows[("median", None)]["estimate"] == pytest.approx(kmf.median_survival_time_)
    band = median_survival_times(kmf.confidence_interval_survival_function_)
    assert rows[("median", None)]["ci_low"] == pytest.approx(band.iloc[0, 0])
    for t in (3.0, 6.0, 12.0, 24.0):
        row = rows[("rate", t)]
        assert row["estimate"] == pytest.approx(float(kmf.survival_function_at_times(t).iloc[0]))
        assert row["at_risk"] == int((data["time_months"] >= t).sum())
        ci = kmf.confidence_interval_survival_function_
        idx = ci.index.searchsorted(t, side="right") - 1
        assert row["ci_low"] == pytest.approx(ci.iloc[idx, 0])


def test_logrank_equals_lifelines():
    data = cohort()
    rows = grouped_rows(data[["time_months", "event", "flag"]], "flag", SETTINGS, endpoint="os",
                        order=["true", "false"])
    test = logrank_test(data.loc[data.flag, "time_months"], data.loc[~data.flag, "time_months"],
                        data.loc[data.flag, "event"], data.loc[~data.flag, "event"])
    logrank = [r for r in rows if r["statistic"] == "logrank"][0]
    assert logrank["p_value"] == pytest.approx(test.p_value)
    assert [r["group"] for r in rows if r["statistic"] == "median"] == ["true", "false"]
    three = data.assign(g=np.where(data.x < -0.5, "a", np.where(data.x < 0.5, "b", "c")))
    rows3 = grouped_rows(three[["time_months", "event", "g"]], "g", SETTINGS, endpoint="os")
    multi = multivariate_logrank_test(three["time_months"], three["g"], three["event"])
    assert rows3[-1]["p_value"] == pytest.approx(multi.p_value)


def test_cox_univariate_and_multivariate_equal_lifelines():
    data = cohort()
    row = fit_cox(data, ["flag"], endpoint="os", criteria=None, model="univariate", level="patient",
                  confidence_level=0.95, ph_alpha=0.05)[0]
    cph = CoxPHFitter().fit(data[["time_months", "event", "flag"]].astype(float), "time_months", "event")
    s = cph.summary.loc["flag"]
    assert row["hr"] == pytest.approx(s["exp(coef)"])
    assert row["ci_low"] == pytest.approx(s["exp(coef) lower 95%"])
    assert row["ci_high"] == pytest.approx(s["exp(coef) upper 95%"])
    assert row["p_value"] == pytest.approx(s["p"])
    assert row["n"] == 40 and row["events"] == int(data.event.sum())
    assert "PH" in row["note"]
    multi = fit_cox(data, ["flag", "x"], endpoint="os", criteria=None, model="multivariate", level="patient",
                    confidence_level=0.95, ph_alpha=0.05)
    cph2 = CoxPHFitter().fit(data[["time_months", "event", "flag", "x"]].astype(float), "time_months", "event")
    assert [r["hr"] for r in multi] == pytest.approx(list(cph2.summary["exp(coef)"]))


def test_lesion_level_cox_is_clustered_like_lifelines():
    data = cohort()
    row = fit_cox(data, ["x"], endpoint="local_control", criteria="rano-bm", model="univariate", level="lesion",
                  confidence_level=0.95, ph_alpha=0.05)[0]
    cph = CoxPHFitter().fit(data[["time_months", "event", "x", "patient_id"]].assign(event=data.event.astype(int)),
                            "time_months", "event", cluster_col="patient_id")
    s = cph.summary.loc["x"]
    assert row["hr"] == pytest.approx(s["exp(coef)"])
    assert row["ci_low"] == pytest.approx(s["exp(coef) lower 95%"])
    assert row["p_value"] == pytest.approx(s["p"])
    assert "robust" in row["note"]


def test_separating_and_constant_covariates_get_a_note_not_a_crash():
    data = cohort()
    data["sep"] = data["event"]  # every event has sep = 1: separation
    data["const"] = True
    rows = fit_cox(data, ["sep", "const", "x"], endpoint="os", criteria=None, model="multivariate",
                   level="patient", confidence_level=0.95, ph_alpha=0.05)
    by = {r["covariate"]: r for r in rows}
    assert "separation" in by["sep"]["note"] and "hr" not in by["sep"]
    assert "no variation" in by["const"]["note"]
    assert by["x"]["hr"] > 0  # the rest of the model is fitted


def test_aalen_johansen_equals_lifelines():
    events = pd.DataFrame({
        "patient_id": ["A", "A", "B", "C", "D", "E", "F"],
        "lesion_id": ["L1", "L2", "L1", "L1", "L1", "L1", "L1"],
        "time_days": [100.0, 200.0, 150.0, 300.0, 400.0, 250.0, 500.0],
        "event": [True, False, False, True, False, False, True],
        "event_date": ["2024-04-10", "2024-07-19", "2024-05-30", "2024-10-27", "2025-02-04", "2024-09-07",
                       "2025-05-15"],
    })
    deaths = {"A": dt.date(2024, 9, 1), "D": dt.date(2025, 3, 6)}  # D dies 30 days after its last scan
    frame = competing_frame(events, deaths)
    assert list(frame["status"]) == [1, 2, 0, 1, 2, 0, 1]
    assert frame["time_months"].iloc[4] == pytest.approx(430.0 / DAYS_PER_MONTH)
    assert frame["time_months"].iloc[1] == pytest.approx((200.0 + 44) / DAYS_PER_MONTH)
    rows = incidence_rows(frame, SETTINGS, criteria="rano-bm")
    ajf = AalenJohansenFitter(seed=JITTER_SEED, calculate_variance=True).fit(
        frame["time_months"], frame["status"], event_of_interest=1)
    cdf = ajf.cumulative_density_.iloc[:, 0]
    for row in rows:
        if row["time_months"] > frame["time_months"].max():
            assert math.isnan(row["estimate"])
            continue
        idx = cdf.index.searchsorted(row["time_months"], side="right") - 1
        assert row["estimate"] == pytest.approx(cdf.iloc[idx] if idx >= 0 else 0.0)


def test_patient_times_os_and_css_by_hand():
    patients = pd.DataFrame([
        {"patient_id": "A", "treatment_start": dt.date(2024, 1, 1), "death_date": dt.date(2024, 7, 1),
         "last_followup": None, "cause_of_death": "cancer"},
        {"patient_id": "B", "treatment_start": dt.date(2024, 1, 1), "death_date": dt.date(2024, 4, 1),
         "last_followup": None, "cause_of_death": "other"},
        {"patient_id": "C", "treatment_start": dt.date(2024, 1, 1), "death_date": None,
         "last_followup": dt.date(2025, 1, 1), "cause_of_death": None},
        {"patient_id": "D", "treatment_start": None, "death_date": None, "last_followup": dt.date(2025, 1, 1),
         "cause_of_death": None},
    ])
    times = patient_times(patients, SETTINGS).set_index("patient_id")
    assert times.loc["A", "time_months"] == pytest.approx(182 / DAYS_PER_MONTH)
    assert times.loc["A", "os_event"] and times.loc["A", "css_event"]
    assert times.loc["B", "os_event"] and not times.loc["B", "css_event"]  # other cause: censored at death
    assert times.loc["C", "time_months"] == pytest.approx(366 / DAYS_PER_MONTH) and not times.loc["C", "os_event"]
    assert math.isnan(times.loc["D", "time_months"]) and times.loc["D", "note"] == "no treatment_start"


def test_imaging_covariates_at_baseline():
    lesions = pd.DataFrame([
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "L1", "organ": "brain", "longest_diameter_mm": 20,
         "volume_mm3": 4000.0},
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "L2", "organ": "brain", "longest_diameter_mm": 12,
         "volume_mm3": 900.0},
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "X1", "organ": "lung", "longest_diameter_mm": 30,
         "volume_mm3": 9000.0},
        {"patient_id": "P", "date": "2024-03-01", "lesion_id": "L3", "organ": "brain", "longest_diameter_mm": 8,
         "volume_mm3": 200.0},
    ])
    row = imaging_covariates(lesions).iloc[0]
    assert row["n_brain_lesions"] == 2
    assert row["total_brain_volume_cm3"] == pytest.approx(4.9)
    assert row["largest_lesion_cm3"] == pytest.approx(4.0)


def test_public_call_returns_every_table_and_bad_values_exclude_the_patient():
    patients = pd.DataFrame([
        {"patient_id": "A", "treatment_start": "2024-01-01", "death_date": "2024-07-01", "age_years": "70",
         "kps": "60", "sex": "male", "extracranial_metastases": "yes"},
        {"patient_id": "B", "treatment_start": "2024-01-01", "last_followup": "2025-01-01", "age_years": "50",
         "kps": "90", "sex": "robot", "extracranial_metastases": "no"},
    ])
    result = respond.outcomes({"patients": patients})
    assert set(result.tables) >= {"indices", "outcomes", "cox", "doses", "cumulative_incidence"}
    assert list(result.failures["patient_id"]) == ["B"] and "robot" in result.failures["message"].iloc[0]
    rpa = result.indices[(result.indices["patient_id"] == "A") & (result.indices["index"] == "rpa")].iloc[0]
    assert rpa["class"] == "III"
    gpa = result.indices[(result.indices["index"] == "gpa")].iloc[0]
    assert gpa["missing"] == "n_brain_lesions"


def test_css_is_not_computed_without_any_cause_of_death():
    patients = pd.DataFrame([
        {"patient_id": "A", "treatment_start": "2024-01-01", "death_date": "2024-07-01"},
        {"patient_id": "B", "treatment_start": "2024-01-01", "last_followup": "2025-01-01"},
    ])
    outcomes = respond.outcomes({"patients": patients}).outcomes
    css = outcomes[outcomes.endpoint == "css"]
    assert len(css) == 1 and "cause_of_death" in css["note"].iloc[0]
    assert (outcomes.endpoint == "os").sum() > 1


def test_suspicious_inputs_are_warned():
    patients = pd.DataFrame([{"patient_id": "A", "treatment_start": "2024-01-01", "kps": "75"},
                             {"patient_id": "B", "treatment_start": "2024-01-01", "kps": "80"}])
    lesions = pd.DataFrame([{"patient_id": "A", "date": "2024-01-01", "lesion_id": "L1", "organ": "brain",
                             "longest_diameter_mm": 12.0, "volume_mm3": 500.0}])
    treatments = pd.DataFrame([{"patient_id": "A", "lesion_id": "L9", "date": "2024-01-02", "total_dose_gy": 20,
                                "fractions": 1, "technique": "srs"}])
    warnings = respond.outcomes({"patients": patients, "lesions": lesions, "treatments": treatments}).warnings
    assert sorted(zip(warnings.patient_id, warnings.code)) == [
        ("A", "kps_not_tens"), ("A", "treated_lesion_unknown"), ("B", "no_baseline_lesions")]
