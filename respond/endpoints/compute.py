"""Endpoints of every assessed patient under every criteria: events, rates, agreement (pure: DataFrames in and out)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from respond.config import Criteria
from respond.endpoints.agreement import cohen_kappa, compare, crosstab
from respond.endpoints.events import PATTERNS, PatientDates, check_patient_dates, ipfs_event
from respond.endpoints.local_control import lesion_events, treated_from_column
from respond.endpoints.rates import proportion
from respond.endpoints.survival import DAYS_PER_MONTH, km, median_of, rate_at
from respond.errors import InputTableError, RespondError, failure_row
from respond.results import EndpointTables
from respond.tables import EVENTS, FAILURES, SUMMARY, as_date, records_by_patient


class EndpointResult(EndpointTables):
    """Endpoint tables: ``events``, ``summary``, ``agreement`` and the patients that ``failures`` excluded."""

    def crosstab(self, criteria_a: str | None = None, criteria_b: str | None = None) -> pd.DataFrame:
        """Cross-table of best responses of two criteria (the first pair by default)."""
        if criteria_a is None or criteria_b is None:
            if self.agreement.empty:
                raise ValueError("no patient was assessed under two criteria")
            first = self.agreement.iloc[0]
            criteria_a, criteria_b = first["criteria_a"], first["criteria_b"]
        return crosstab(self.agreement, criteria_a, criteria_b)


# --- inputs -------------------------------------------------------------------------------------

def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    typed = as_date(value)
    if typed is not None:
        return typed
    text = str(value).strip()
    return dt.date.fromisoformat(text) if text and text.lower() != "nan" else None


def _clean(frame: pd.DataFrame, date_columns: Iterable[str] = ()) -> pd.DataFrame:
    out = frame.copy().astype(object)
    out = out.where(out.notna(), None)
    for column in date_columns:
        if column in out.columns:
            out[column] = out[column].map(_date)
    return out


def _patient_dates(patients: pd.DataFrame | None) -> dict[str, PatientDates]:
    if patients is None or patients.empty:
        return {}
    frame = _clean(patients, ("treatment_start", "last_followup", "death_date"))
    return {rec["patient_id"]: PatientDates(rec.get("treatment_start"), rec.get("last_followup"),
                                            rec.get("death_date"))
            for rec in frame.to_dict("records")}


def _failure(exc: RespondError) -> dict:
    return failure_row(exc, stage="endpoints")


# --- computation --------------------------------------------------------------------------------

def compute_endpoints(
    criteria: list[Criteria],
    *,
    lesions: pd.DataFrame,
    timepoints: pd.DataFrame,
    best_response: pd.DataFrame,
    targets: pd.DataFrame,
    patients: pd.DataFrame | None = None,
    adjudications: pd.DataFrame | None = None,
    treated: Iterable[tuple[str, str]] | pd.DataFrame | None = None,
    sources: dict[str, str] | None = None,
) -> EndpointResult:
    """Endpoints of every assessed patient under every criteria.

    ``lesions``, ``patients`` and ``adjudications`` are validated tables
    (:func:`respond.io.lesion_table.read_lesion_table`,
    :func:`~respond.io.lesion_table.read_patients_table`,
    :func:`~respond.io.adjudications.read_adjudications_table`);
    ``timepoints``, ``best_response`` and ``targets`` the criteria engine's
    outputs. ``treated`` — (patient_id, lesion_id) pairs or a frame with
    those columns — overrides ``endpoints.treated_lesions``.
    """
    sources = sources or {}
    lesions = _clean(lesions, ("date",))
    timepoints = _clean(timepoints, ("date",))
    best_response = _clean(best_response, ("progression_date", "best_response_date"))
    targets = _clean(targets)
    dates = _patient_dates(patients)
    failures: list[dict] = []
    bad = _check_dates(best_response, timepoints, dates, sources.get("patients"), failures)
    rows: list[dict] = []
    context = _Context(lesions=lesions, lesion_records=records_by_patient(lesions), dates=dates, explicit=_treated_pairs(treated),
                       findings=_findings(adjudications), source=sources.get("lesions"))
    for c in criteria:
        _criteria_events(c, timepoints, best_response, targets, context, rows, failures, bad)
    rows = [r for r in rows if r["patient_id"] not in bad]
    events = _frame(rows, EVENTS.names)
    kept_best = best_response[~best_response["patient_id"].isin(bad)]
    agreement = compare(kept_best, criteria, targets=targets, timepoints=timepoints)
    summary = summary_table(events, kept_best, targets, agreement, criteria)
    return EndpointResult(events=events, summary=summary, agreement=agreement,
                          failures=_frame(failures, FAILURES.names), criteria=list(criteria))


@dataclass(frozen=True)
class _Context:
    """What every criteria's events need: lesions, patient dates, treated lesions, adjudicated findings."""

    lesions: pd.DataFrame
    lesion_records: dict[str, list[dict]]
    dates: dict[str, PatientDates]
    explicit: set[tuple[str, str]] | None
    findings: dict[str, dict[tuple[str, dt.date], str]]
    source: str | None


def _findings(adjudications: pd.DataFrame | None) -> dict[str, dict[tuple[str, dt.date], str]]:
    """Adjudicated findings by patient, keyed by (lesion_id, date)."""
    findings: dict[str, dict[tuple[str, dt.date], str]] = {}
    if adjudications is not None and not adjudications.empty:
        for rec in _clean(adjudications, ("date",)).to_dict("records"):
            findings.setdefault(rec["patient_id"], {})[(rec["lesion_id"], rec["date"])] = rec["finding"]
    return findings


def _check_dates(best_response: pd.DataFrame, timepoints: pd.DataFrame, dates: dict[str, PatientDates],
                 source: str | None, failures: list[dict]) -> set[str]:
    """Patients whose treatment, follow-up or death dates contradict their scans (a failures row each)."""
    bad: set[str] = set()
    last_scan = timepoints.groupby("patient_id")["date"].max().to_dict() if len(timepoints) else {}
    for pid in sorted(set(best_response["patient_id"])):
        try:
            check_patient_dates(pid, dates.get(pid, PatientDates()), last_scan.get(pid), source)
        except RespondError as exc:
            failures.append(_failure(exc))
            bad.add(pid)
    return bad


def _criteria_events(c: Criteria, timepoints: pd.DataFrame, best_response: pd.DataFrame, targets: pd.DataFrame,
                     context: _Context, rows: list[dict], failures: list[dict], bad: set[str]) -> None:
    """iPFS and local-control events of every patient under one criteria (a failing patient joins ``bad``).

    Tables are split into records per patient once: per-patient DataFrame filtering costs
    milliseconds a patient (and filtering whole tables per patient is quadratic).
    """
    lesions = context.lesions
    lesion_groups = context.lesion_records
    has_treated_column = "treated" in lesions.columns
    tps_by = records_by_patient(timepoints[timepoints["criteria"] == c.id])
    targets_by = records_by_patient(targets[targets["criteria"] == c.id])
    best_c = best_response[best_response["criteria"] == c.id]
    for best in best_c.sort_values("patient_id").to_dict("records"):
        pid = best["patient_id"]
        if pid in bad:
            continue
        try:
            patient_dates = context.dates.get(pid, PatientDates())
            ipfs = ipfs_event(pid, c, tps_by[pid], best, patient_dates)
            origin = patient_dates.treatment_start or min(r["date"] for r in tps_by[pid])
            prows = [r for r in lesion_groups.get(pid, []) if c.in_scope(r["organ"])]
            if not has_treated_column and c.endpoints.treated_lesions == "column" and context.explicit is None:
                treated_from_column(pid, lesions.iloc[0:0], context.source)  # raises: no column
            lesion_ids = _treated(pid, c, targets_by.get(pid, []), prows, context.explicit, context.source)
            lc = lesion_events(pid, c, prows, lesion_ids, origin, context.findings.get(pid, {}))
        except RespondError as exc:
            exc.patient_id = exc.patient_id or pid
            failures.append(_failure(exc))
            bad.add(pid)
            continue
        rows.append(ipfs)
        rows.extend(lc)


def _treated_pairs(treated) -> set[tuple[str, str]] | None:
    if treated is None:
        return None
    if isinstance(treated, pd.DataFrame):
        return {(str(p), str(l)) for p, l in zip(treated["patient_id"], treated["lesion_id"])}
    return {(str(p), str(l)) for p, l in treated}


def _treated(pid: str, c: Criteria, targets: list[dict], rows: list[dict],
             explicit: set[tuple[str, str]] | None, source: str | None) -> list[str]:
    """Treated lesion ids of one patient under one criteria, in the order of the targets table.

    ``targets`` and ``rows`` are the patient's targets rows and in-scope lesion rows (records).
    """
    baseline = [t["lesion_id"] for t in targets if t["role"] in ("target", "non_target")]
    mode = c.endpoints.treated_lesions
    if explicit is not None:
        chosen = {l for p, l in explicit if p == pid}
        where = "the treated list"
    elif mode == "baseline":
        return baseline
    elif mode == "targets":
        return [t["lesion_id"] for t in targets if t["role"] == "target"]
    else:
        chosen = treated_from_column(pid, rows, source)
        where = "the 'treated' column"
    in_scope = {r["lesion_id"] for r in rows}
    wrong = sorted(l for l in chosen if l in in_scope and l not in baseline)
    if wrong:
        raise InputTableError(
            f"lesion(s) {', '.join(wrong)} marked treated in {where} but not present at baseline under "
            f"{c.id}; local control follows lesions present at baseline",
            code="table.treated_not_baseline", file=source, patient_id=pid, column="treated")
    return [lid for lid in baseline if lid in chosen]


def _frame(rows: list[dict], columns: list[str], integers: Iterable[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.astype(object).where(frame.notna(), None)
    for column in integers:
        frame[column] = pd.Series([None if v is None else int(v) for v in frame[column]], index=frame.index,
                                  dtype=object)
    return frame


# --- summary ------------------------------------------------------------------------------------

def summary_table(events: pd.DataFrame, best_response: pd.DataFrame, targets: pd.DataFrame,
                  agreement: pd.DataFrame, criteria: list[Criteria]) -> pd.DataFrame:
    """The ``summary`` table (see :data:`respond.tables.SUMMARY`) from the endpoint tables."""
    rows: list[dict] = []
    for c in criteria:
        level = c.endpoints.confidence_level
        base = {"criteria": c.id, "config_hash": c.short_hash}
        best_c = best_response[best_response["criteria"] == c.id]
        if c.endpoints.response_population == "measurable":
            t = targets[(targets["criteria"] == c.id) & (targets["role"] == "target")]
            best_c = best_c[best_c["patient_id"].isin(set(t["patient_id"]))]
        responses = list(best_c["best_overall_response"])
        n = len(responses)
        counts = {
            "iorr": sum(r in ("CR", "PR") for r in responses),
            "dcr": sum(r in ("CR", "PR", "SD", "NON-CR/NON-PD") for r in responses),
            "ilc_rate": sum(p is None for p in best_c["progression_date"]),
        }
        for statistic, k in counts.items():
            for p in proportion(k, n, level):
                rows.append({**base, "statistic": statistic, "method": p.method, "n": n, "events": k,
                             "estimate": p.estimate, "ci_low": p.ci_low, "ci_high": p.ci_high,
                             "unit": "proportion"})
        ev_c = events[events["criteria"] == c.id]
        for endpoint, unit_n in (("ipfs", "patients"), ("local_control", "lesions")):
            sel = ev_c[ev_c["endpoint"] == endpoint]
            if sel.empty:
                continue
            fitter = km(sel, endpoint, c.id, level=level)
            n_e, k_e = len(sel), int(sel["event"].astype(bool).sum())
            for months in c.endpoints.rate_times_months:
                r = rate_at(fitter, months * DAYS_PER_MONTH)
                rows.append({**base, "statistic": f"{endpoint}_rate", "method": "kaplan-meier",
                             "time_months": months, "n": n_e, "events": k_e, "at_risk": r.at_risk,
                             "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                             "unit": "proportion", "note": r.note})
            m = median_of(fitter)
            rows.append({**base, "statistic": f"{endpoint}_median", "method": "kaplan-meier", "n": n_e,
                         "events": k_e, "estimate": m.estimate / DAYS_PER_MONTH,
                         "ci_low": m.ci_low / DAYS_PER_MONTH, "ci_high": m.ci_high / DAYS_PER_MONTH,
                         "unit": "months", "note": m.note})
        ipfs_events = ev_c[(ev_c["endpoint"] == "ipfs") & ev_c["event"].astype(bool)]
        n_ev = len(ipfs_events)
        for pattern in PATTERNS:
            k = int((ipfs_events["pattern"] == pattern).sum())
            rows.append({**base, "statistic": f"pattern_{pattern}", "method": "count", "n": n_ev, "events": k,
                         "estimate": k / n_ev if n_ev else math.nan, "unit": "proportion"})
    if not agreement.empty:
        for (a, b), sel in agreement.groupby(["criteria_a", "criteria_b"], sort=False):
            p_o, kappa = cohen_kappa(crosstab(sel, a, b))
            base = {"criteria": f"{a} vs {b}", "n": len(sel)}
            rows.append({**base, "statistic": "observed_agreement", "method": "count",
                         "events": int(sel["agree"].astype(bool).sum()), "estimate": p_o, "unit": "proportion"})
            rows.append({**base, "statistic": "kappa", "method": "cohen", "estimate": kappa, "unit": "kappa",
                         "note": "undefined: a single category" if math.isnan(kappa) else None})
    return _frame(rows, SUMMARY.names, integers=("n", "events", "at_risk"))
