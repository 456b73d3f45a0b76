"""Clinical endpoints from the response tables: iPFS, local control, rates, agreement.

>>> result = respond.evaluate("lesions.csv", patients="patients.csv")   # doctest: +SKIP
>>> result.events, result.summary, result.agreement                     # doctest: +SKIP
>>> respond.km(result.events, "ipfs", "rano-bm").median_survival_time_   # doctest: +SKIP

Definitions (and the preset keys that change them) are in the modules:
:mod:`~respond.endpoints.events` (iPFS events, censoring, patterns),
:mod:`~respond.endpoints.local_control` (lesion-level local failure,
confirmation, adjudications), :mod:`~respond.endpoints.rates` (binomial
intervals), :mod:`~respond.endpoints.survival` (Kaplan–Meier through
lifelines), :mod:`~respond.endpoints.agreement` (cross-table and kappa).

Rates (:data:`respond.tables.SUMMARY`), per criteria:

- ``iorr``: best overall response CR or PR; ``dcr``: CR, PR, SD or
  NON-CR/NON-PD; ``ilc_rate``: no intracranial PD (no progression date) —
  each over the response population (``endpoints.response_population``:
  patients with ≥ 1 target lesion at baseline, or every assessed patient;
  NE counts as a non-response), with a Clopper–Pearson and a Jeffreys interval.
- ``ipfs_rate`` / ``local_control_rate`` at ``endpoints.rate_times_months``
  and ``ipfs_median`` / ``local_control_median`` (months), Kaplan–Meier.
- ``pattern_<pattern>``: share of iPFS events with that pattern.

A patient in ``failures`` is left out of every endpoint.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from respond.config import Criteria, load_criteria
from respond.endpoints.agreement import cohen_kappa, compare, crosstab
from respond.endpoints.events import PATTERNS, PatientDates, check_patient_dates, ipfs_event
from respond.endpoints.local_control import lesion_events, treated_from_column
from respond.endpoints.rates import proportion
from respond.endpoints.survival import DAYS_PER_MONTH, km, median_of, rate_at
from respond.errors import ConfigError, InputTableError, RespondError
from respond.io.lesion_table import as_date
from respond.io.writers import write_csv
from respond.tables import AGREEMENT, EVENTS, FAILURES, SUMMARY
from respond.tables import fast_records

__all__ = ["DAYS_PER_MONTH", "EndpointResult", "compute_endpoints", "km", "summarize", "crosstab"]


@dataclass
class EndpointResult:
    """Endpoint tables: ``events``, ``summary``, ``agreement`` and the patients that ``failures`` excluded."""

    events: pd.DataFrame
    summary: pd.DataFrame
    agreement: pd.DataFrame
    failures: pd.DataFrame
    criteria: list[Criteria] = field(default_factory=list)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write events.csv, summary.csv and agreement.csv into ``out_dir``."""
        out = Path(out_dir)
        return {name: write_csv(getattr(self, name), out / f"{name}.csv")
                for name in ("events", "summary", "agreement")}

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
    return {"patient_id": exc.patient_id, "stage": "endpoints", "error_code": exc.code, "message": str(exc)}


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
    :func:`~respond.endpoints.adjudications.read_adjudications_table`);
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
    explicit = _treated_pairs(treated)
    findings: dict[str, dict[tuple[str, dt.date], str]] = {}
    if adjudications is not None and not adjudications.empty:
        for rec in _clean(adjudications, ("date",)).to_dict("records"):
            findings.setdefault(rec["patient_id"], {})[(rec["lesion_id"], rec["date"])] = rec["finding"]

    failures: list[dict] = []
    bad: set[str] = set()
    last_scan = timepoints.groupby("patient_id")["date"].max().to_dict() if len(timepoints) else {}
    for pid in sorted(set(best_response["patient_id"])):
        try:
            check_patient_dates(pid, dates.get(pid, PatientDates()), last_scan.get(pid), sources.get("patients"))
        except RespondError as exc:
            failures.append(_failure(exc))
            bad.add(pid)

    rows: list[dict] = []
    # Tables are split into records per patient once: per-patient DataFrame filtering costs
    # milliseconds a patient (and filtering whole tables per patient is quadratic).
    lesion_groups = _records_by_patient(lesions)
    has_treated_column = "treated" in lesions.columns
    for c in criteria:
        best_c = best_response[best_response["criteria"] == c.id]
        tps_by = _records_by_patient(timepoints[timepoints["criteria"] == c.id])
        targets_by = _records_by_patient(targets[targets["criteria"] == c.id])
        for best in best_c.sort_values("patient_id").to_dict("records"):
            pid = best["patient_id"]
            if pid in bad:
                continue
            try:
                patient_dates = dates.get(pid, PatientDates())
                ipfs = ipfs_event(pid, c, tps_by[pid], best, patient_dates)
                origin = patient_dates.treatment_start or min(r["date"] for r in tps_by[pid])
                prows = [r for r in lesion_groups.get(pid, []) if c.in_scope(r["organ"])]
                if not has_treated_column and c.endpoints.treated_lesions == "column" and explicit is None:
                    treated_from_column(pid, lesions.iloc[0:0], sources.get("lesions"))  # raises: no column
                lesion_ids = _treated(pid, c, targets_by.get(pid, []), prows, explicit,
                                      sources.get("lesions"))
                lc = lesion_events(pid, c, prows, lesion_ids, origin, findings.get(pid, {}))
            except RespondError as exc:
                exc.patient_id = exc.patient_id or pid
                failures.append(_failure(exc))
                bad.add(pid)
                continue
            rows.append(ipfs)
            rows.extend(lc)
    rows = [r for r in rows if r["patient_id"] not in bad]
    events = _frame(rows, EVENTS.names)
    kept_best = best_response[~best_response["patient_id"].isin(bad)]
    agreement = compare(kept_best, criteria, targets=targets, timepoints=timepoints)
    summary = summary_table(events, kept_best, targets, agreement, criteria)
    return EndpointResult(events=events, summary=summary, agreement=agreement,
                          failures=_frame(failures, FAILURES.names), criteria=list(criteria))


def _treated_pairs(treated) -> set[tuple[str, str]] | None:
    if treated is None:
        return None
    if isinstance(treated, pd.DataFrame):
        return {(str(p), str(l)) for p, l in zip(treated["patient_id"], treated["lesion_id"])}
    return {(str(p), str(l)) for p, l in treated}


def _records_by_patient(frame: pd.DataFrame) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if frame is None or not len(frame):
        return out
    for rec in fast_records(frame):
        out.setdefault(rec["patient_id"], []).append(rec)
    return out


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


# --- recomputation from outputs -------------------------------------------------------------------

def summarize(
    source,
    *,
    rate_times_months: Iterable[float] | None = None,
    death_is_event: bool | None = None,
    local_failure_requires_confirmation: bool | None = None,
    confidence_level: float | None = None,
    lesions=None,
    patients=None,
    adjudications=None,
    treated: Iterable[tuple[str, str]] | pd.DataFrame | None = None,
) -> EndpointResult:
    """Recompute the endpoints of an earlier run with other options.

    ``source`` is an :class:`~respond.criteria.Evaluation` or the output folder
    of ``respond evaluate`` (timepoints.csv, best_response.csv, targets.csv,
    run.json). The lesion and patients tables are those of the run (their
    paths and SHA-256 in run.json; a changed file is refused) unless given.
    The keyword options override the presets' ``endpoints`` section for every
    criteria (the configuration hash in the outputs changes accordingly).
    """
    from respond.endpoints.adjudications import read_adjudications_table
    from respond.io.lesion_table import read_lesion_table, read_patients_table

    failures: list[RespondError] = []
    sources: dict[str, str] = {}
    if hasattr(source, "best_response") and hasattr(source, "criteria"):
        tables = {"timepoints": source.timepoints, "best_response": source.best_response,
                  "targets": source.targets}
        criteria = list(source.criteria)
        stored = {"lesions": source.lesions if len(source.lesions.columns) else None,
                  **(getattr(source, "endpoint_tables", None) or {})}
        inputs = {}
    else:
        folder = Path(source)
        tables, criteria, inputs = _read_outputs(folder)
        stored = {}
        if (folder / "lesions.csv").is_file():
            inputs["lesions"] = str(folder / "lesions.csv")
    node_organs = sorted({o for c in criteria for o in c.scope.node_organs})

    def table(name, given, reader, **kw):
        if given is not None:
            if isinstance(given, (str, Path)):
                sources[name] = str(given)
            read = reader(given, **kw)
            failures.extend(read.failures)
            return read.frame
        if name in stored and stored[name] is not None:
            return stored[name]
        if name in inputs:
            path = _input_path(inputs[name], name)
            sources[name] = str(path)
            read = reader(path, **kw)
            failures.extend(read.failures)
            return read.frame
        return None

    lesion_frame = table("lesions", lesions, read_lesion_table, node_organs=node_organs)
    if lesion_frame is None:
        raise InputTableError("the lesion table of the run is needed for local control; pass lesions=...",
                              code="table.not_found")
    patients_frame = table("patients", patients, read_patients_table)
    adj_frame = table("adjudications", adjudications, read_adjudications_table, lesions=lesion_frame)

    overrides = {k: v for k, v in {
        "rate_times_months": None if rate_times_months is None else list(rate_times_months),
        "death_is_event": death_is_event,
        "local_failure_requires_confirmation": local_failure_requires_confirmation,
        "confidence_level": confidence_level,
    }.items() if v is not None}
    if overrides:
        criteria = [_override(c, overrides) for c in criteria]
    failed = {e.patient_id for e in failures}
    best = tables["best_response"]
    result = compute_endpoints(
        criteria, lesions=lesion_frame, timepoints=tables["timepoints"],
        best_response=best[~best["patient_id"].isin(failed)], targets=tables["targets"],
        patients=patients_frame, adjudications=adj_frame, treated=treated, sources=sources)
    if failures:
        read_rows = pd.DataFrame([{**_failure(e), "stage": "read"} for e in failures], columns=FAILURES.names)
        result.failures = pd.concat([read_rows, result.failures], ignore_index=True)
    return result


def _override(c: Criteria, overrides: dict[str, Any]) -> Criteria:
    data = c.as_dict()
    data["endpoints"].update(overrides)
    new = load_criteria(data)
    return dataclasses.replace(new, origin=c.origin)


def _read_outputs(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Criteria], dict[str, str]]:
    if not folder.is_dir():
        raise InputTableError("output folder not found; give the --out folder of `respond evaluate`",
                              code="table.not_found", file=str(folder))
    tables = {}
    for name in ("timepoints", "best_response", "targets"):
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise InputTableError(f"{name}.csv not found in the output folder; run `respond evaluate` first",
                                  code="table.not_found", file=str(path))
        tables[name] = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
    for column in ("days_from_baseline",):
        tables["timepoints"][column] = tables["timepoints"][column].astype(float)
    run_path = folder / "run.json"
    if not run_path.is_file():
        raise InputTableError("run.json not found in the output folder", code="table.not_found", file=str(run_path))
    run = json.loads(run_path.read_text(encoding="utf-8"))
    criteria = []
    for entry in run.get("criteria", []):
        config = entry.get("config", {})
        if "endpoints" not in config:
            raise ConfigError(f"criteria {entry.get('id')} in run.json has no 'endpoints' section "
                              "(written by an older respond); run `respond evaluate` again",
                              code="config.missing_key", file=str(run_path))
        c = load_criteria(config)
        criteria.append(dataclasses.replace(c, origin=entry.get("origin", c.origin)))
    return tables, criteria, dict(run.get("inputs", {}))


def _input_path(entry: str, name: str) -> Path:
    """Path of an input recorded in run.json (``path sha256:hex``); refused when the file changed."""
    from respond.io.writers import file_sha256

    path_text, _, digest = entry.rpartition(" sha256:") if " sha256:" in entry else (entry, "", "")
    if not path_text:
        raise InputTableError(f"run.json names no file for the {name} table (it was a DataFrame); pass it",
                              code="table.not_found")
    path = Path(path_text)
    if not path.is_file():
        raise InputTableError(f"{name} table of the run not found; pass it explicitly",
                              code="table.not_found", file=str(path))
    if digest and file_sha256(path) != digest:
        raise InputTableError(f"{name} table changed since the run (SHA-256 differs); pass it explicitly "
                              "or run `respond evaluate` again", code="table.changed", file=str(path))
    return path
