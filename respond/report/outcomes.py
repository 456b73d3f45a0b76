"""The report's *Outcomes* section: cohort characteristics, OS, survival by index class, Cox forest plots.

Built from the outcome tables of a run folder or result (``characteristics``,
``patient_covariates``, ``outcomes``, ``cox``, ``doses``, ``cumulative_incidence``);
empty when the run has none.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pandas as pd

from respond.report import outcome_plots
from respond.report.fragments import _stem, _table, figure_html
from respond.report.plots import load_tables
from respond.report.precision import format_statistic
from respond.tables import CHARACTERISTICS, COX, CUMULATIVE_INCIDENCE, DOSES, OUTCOMES, PATIENT_COVARIATES

_DEFINITIONS: Final = {"characteristics": CHARACTERISTICS, "patient_covariates": PATIENT_COVARIATES,
                       "outcomes": OUTCOMES, "cox": COX, "doses": DOSES, "cumulative_incidence": CUMULATIVE_INCIDENCE}

#: Outcome tables the section reads.
OUTCOME_TABLE_NAMES: Final = ("characteristics", "patient_covariates", "outcomes", "cox", "doses",
                              "cumulative_incidence", "indices")
#: Index class columns drawn as survival curves.
CLASS_COLUMNS: Final = ("rpa_class", "gpa_class", "sir_class", "bsbm_class", "ggs_class")


def _endpoint(endpoint: Any, criteria: Any) -> str:
    """``ipfs (rano-bm)``, or ``os`` for the endpoints without criteria."""
    return str(endpoint) if pd.isna(criteria) or criteria == "" else f"{endpoint} ({criteria})"


def _estimates_table(outcomes: pd.DataFrame) -> str:
    """Whole-cohort medians, rates and follow-up per endpoint (criteria), as in a paper's text."""
    rows = outcomes[outcomes["group_by"].isna() & outcomes["statistic"].isin(("median", "rate", "median_followup"))]
    if rows.empty:
        return ""
    shown = rows.assign(
        endpoint=[_endpoint(e, c) for e, c in zip(rows["endpoint"], rows["criteria"])],
        time=[format_statistic(t) for t in rows["time_months"]],
        value=[(f"{format_statistic(e)} ({format_statistic(lo)}–{format_statistic(hi)})" if not pd.isna(e) else "")
               for e, lo, hi in zip(rows["estimate"], rows["ci_low"], rows["ci_high"])])
    return _table(shown, ["endpoint", "statistic", "time", "n", "events", "at_risk", "value", "note"],
                  classes={"value": "num", "n": "num", "events": "num", "at_risk": "num"})


def _logrank_table(outcomes: pd.DataFrame) -> str:
    rows = outcomes[outcomes["statistic"] == "logrank"]
    if rows.empty:
        return ""
    shown = rows.assign(p=[format_statistic(p) for p in rows["p_value"]],
                        endpoint=[_endpoint(e, c) for e, c in zip(rows["endpoint"], rows["criteria"])])
    return _table(shown, ["endpoint", "group_by", "n", "events", "p", "note"])


def _cox_table(cox: pd.DataFrame) -> str:
    shown = cox.assign(
        endpoint=[_endpoint(e, c) for e, c in zip(cox["endpoint"], cox["criteria"])],
        HR=[f"{format_statistic(h)} ({format_statistic(lo)}–{format_statistic(hi)})" if not pd.isna(h) else ""
            for h, lo, hi in zip(cox["hr"], cox["ci_low"], cox["ci_high"])],
        p=[format_statistic(p) for p in cox["p_value"]])
    return _table(shown, ["endpoint", "model", "level", "covariate", "n", "events", "HR", "p", "note"],
                  classes={"note": "reason"})


def _figures(t: dict[str, pd.DataFrame], figures: Path | None) -> list[str]:
    parts = []
    covariates = t.get("patient_covariates")
    if covariates is not None and pd.to_numeric(covariates["os_months"], errors="coerce").notna().any():
        parts.append(figure_html(outcome_plots.survival_plot(covariates, "os"),
                                 "Kaplan-Meier plot of overall survival", save_as=_stem(figures, "os")))
        for column in CLASS_COLUMNS:
            if column in covariates.columns and covariates[column].map(lambda v: not pd.isna(v) and v != "").any():
                parts.append(figure_html(outcome_plots.survival_plot(covariates, "os", column),
                                         f"overall survival by {column}", save_as=_stem(figures, f"os_{column}")))
    cox = t.get("cox")
    if cox is not None and len(cox) and (cox["endpoint"] == "os").any():
        parts.append(figure_html(outcome_plots.forest(cox, endpoint="os"), "forest plot of the Cox models of OS",
                                 save_as=_stem(figures, "forest_os")))
    return parts


def outcomes_section(source: Any, figures: Path | None = None) -> str:
    """The *Outcomes* section as HTML ('' when the run has no outcome tables)."""
    t = {name: _DEFINITIONS[name].conform(frame) if name in _DEFINITIONS else frame
         for name, frame in load_tables(source, OUTCOME_TABLE_NAMES).items()}
    if "outcomes" not in t and "characteristics" not in t:
        return ""
    parts = ['<h2 id="outcomes">Outcomes</h2>',
             '<p class="meta">Definitions and sources: README, section Outcomes. Times in months (30.4375 days).</p>']
    characteristics = t.get("characteristics")
    if characteristics is not None and len(characteristics):
        parts += ["<h3>Cohort characteristics</h3>",
                  _table(characteristics, ["characteristic", "level", "summary", "missing"])]
    parts += _figures(t, figures)
    outcomes = t.get("outcomes")
    if outcomes is not None and len(outcomes):
        parts += ["<h3>Survival, local control and follow-up</h3>", _estimates_table(outcomes),
                  "<h3>Log-rank tests</h3>", _logrank_table(outcomes)]
    incidence = t.get("cumulative_incidence")
    if incidence is not None and len(incidence):
        parts += ["<h3>Cumulative incidence of local failure (death competing)</h3>",
                  _table(incidence.assign(estimate=[format_statistic(v) for v in incidence["estimate"]],
                                          ci_low=[format_statistic(v) for v in incidence["ci_low"]],
                                          ci_high=[format_statistic(v) for v in incidence["ci_high"]]),
                         ["criteria", "time_months", "n", "estimate", "ci_low", "ci_high", "note"])]
    cox = t.get("cox")
    if cox is not None and len(cox):
        parts += ["<h3>Cox models</h3>", _cox_table(cox)]
    doses = t.get("doses")
    if doses is not None and len(doses):
        parts += ["<h3>Doses (BED, EQD2)</h3>",
                  _table(doses, ["patient_id", "lesion_id", "date", "technique", "total_dose_gy", "fractions",
                                 "alpha_beta_gy", "bed_gy", "eqd2_gy", "note"])]
    return "\n".join(p for p in parts if p)
