"""The Outcomes figures (respond.plots.forest, survival_plot) and the report section; the outcomes preset."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import respond.plots  # noqa: E402
from respond.errors import ConfigError  # noqa: E402
from respond.outcomes.settings import load_outcome_settings  # noqa: E402
from respond.report.outcomes import outcomes_section  # noqa: E402

COX = pd.DataFrame([
    {"endpoint": "os", "criteria": None, "model": "univariate", "level": "patient", "covariate": "kps_lt_70",
     "n": 40, "events": 20, "hr": 2.5, "ci_low": 1.2, "ci_high": 5.1, "p_value": 0.01, "note": "PH check p=0.4"},
    {"endpoint": "os", "criteria": None, "model": "univariate", "level": "patient", "covariate": "sex_male",
     "n": 40, "events": 20, "hr": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
     "note": "separation: no event when sex_male = 0; left out of the model"},
    {"endpoint": "ipfs", "criteria": "rano-bm", "model": "univariate", "level": "patient", "covariate": "age_ge_60",
     "n": 40, "events": 25, "hr": 0.8, "ci_low": 0.4, "ci_high": 1.6, "p_value": 0.5, "note": None},
])
COVARIATES = pd.DataFrame({
    "patient_id": [f"P{i}" for i in range(8)],
    "os_months": [3.0, 5.0, 8.0, 12.0, 14.0, 20.0, 24.0, 30.0],
    "os_event": [True, True, False, True, False, True, False, False],
    "css_event": [True, False, False, True, False, True, False, False],
    "rpa_class": ["III", "III", "II", "II", "II", "I", "I", None],
})


def test_forest_returns_a_figure_and_draws_into_a_given_axes():
    fig = respond.plots.forest(COX, endpoint="os")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    top_down = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert top_down == ["KPS < 70 (univa.)", "Male sex (univa.)"]  # the table's order, first row on top
    texts = [t.get_text() for t in ax.texts]
    assert "2.50 (1.20–5.10), p=0.01" in texts
    assert any(t.startswith("not estimable: separation") for t in texts)
    plt.close(fig)
    own, given = plt.subplots()
    assert respond.plots.forest(COX, endpoint="ipfs", criteria="rano-bm", ax=given) is own
    plt.close(own)


def test_survival_plot_by_class_titles_the_logrank_p():
    from lifelines.statistics import multivariate_logrank_test

    fig = respond.plots.survival_plot(COVARIATES, "os", "rpa_class")
    known = COVARIATES.dropna(subset=["rpa_class"])
    p = multivariate_logrank_test(known.os_months, known.rpa_class, known.os_event).p_value
    assert f"log-rank p = {p:.3g}" in fig.axes[0].get_title()
    plt.close(fig)


def test_report_section_from_a_run_folder(tmp_path):
    COX.to_csv(tmp_path / "cox.csv", index=False)
    COVARIATES.to_csv(tmp_path / "patient_covariates.csv", index=False)
    pd.DataFrame([{"endpoint": "os", "statistic": "median", "n": 8, "events": 4, "estimate": 20.0,
                   "ci_low": 8.0, "ci_high": math.inf}]).to_csv(tmp_path / "outcomes.csv", index=False)
    html = outcomes_section(tmp_path, figures=tmp_path / "figures")
    assert '<h2 id="outcomes">Outcomes</h2>' in html
    assert html.count("<img") == 3  # OS, OS by RPA class, forest
    assert "20 (8–not reached)" in html
    assert (tmp_path / "figures" / "forest_os.svg").is_file()
    assert outcomes_section(tmp_path / "nothing") == ""


def test_outcomes_preset_is_validated(tmp_path):
    settings = load_outcome_settings()
    assert settings.rate_times_months == (3.0, 6.0, 12.0, 24.0) and settings.alpha_beta_gy == 10.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: outcomes\nmodels:\n  univariate: [age_ge_61]\n")
    with pytest.raises(ConfigError, match="age_ge_61"):
        load_outcome_settings(bad)
    bad.write_text("extends: outcomes\ndose:\n  alpha_beta_gy: -1\n")
    with pytest.raises(ConfigError, match="alpha_beta_gy"):
        load_outcome_settings(bad)
    good = tmp_path / "good.yaml"
    good.write_text("extends: outcomes\ncovariates:\n  age_ge_60: 65\n")
    assert load_outcome_settings(good).age_cut_years == 65.0
