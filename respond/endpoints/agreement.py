"""Agreement of best overall responses between two criteria (e.g. RECIST 1.1 vs RANO-BM).

For every pair of criteria, the patients assessed under both are compared:
a per-patient list (with, for each difference, what the criteria saw
differently), the cross-table, the observed agreement and Cohen's unweighted
kappa over the response categories::

    p_o = Σ n_kk / n,   p_e = Σ (n_k· / n)(n_·k / n),   κ = (p_o − p_e) / (1 − p_e)

κ is undefined (NaN) when p_e = 1 (both criteria give every patient the same
single category).
"""
from __future__ import annotations

import itertools
import math

import pandas as pd

from respond.config import Criteria
from respond.tables import AGREEMENT, records_by_patient

#: Order of categories in the cross-table.
CATEGORIES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")


def compare(best_response: pd.DataFrame, criteria: list[Criteria], *, targets: pd.DataFrame | None = None,
            timepoints: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``agreement`` table: one row per patient and pair of criteria assessed under both."""
    rows = []
    by = {c.id: {r["patient_id"]: r for r in best_response[best_response["criteria"] == c.id].to_dict("records")}
          for c in criteria}
    targets_by = records_by_patient(targets)
    timepoints_by = records_by_patient(timepoints)
    for a, b in itertools.combinations(criteria, 2):
        common = sorted(set(by[a.id]) & set(by[b.id]))
        for pid in common:
            ra, rb = by[a.id][pid], by[b.id][pid]
            agree = ra["best_overall_response"] == rb["best_overall_response"]
            reason = None if agree else _why(pid, a, b, ra, rb, targets_by.get(pid, [] if targets is not None else None),
                                             timepoints_by.get(pid, [] if timepoints is not None else None))
            rows.append({"patient_id": pid, "criteria_a": a.id, "criteria_b": b.id,
                         "response_a": ra["best_overall_response"], "response_b": rb["best_overall_response"],
                         "agree": bool(agree), "reason": reason})
    return pd.DataFrame(rows, columns=AGREEMENT.names)


def _lesions(targets: list[dict] | None, pid, cid, roles):
    """Sorted lesion ids of the patient's targets records with one of ``roles`` under ``cid``."""
    if not targets:
        return None
    return sorted(t["lesion_id"] for t in targets
                  if t["patient_id"] == pid and t["criteria"] == cid and t["role"] in roles)


def _first_pd(timepoints: list[dict] | None, pid, cid):
    """(date, causes) of the patient's first PD timepoint under ``cid``."""
    if not timepoints:
        return None
    sel = sorted((t for t in timepoints if t["patient_id"] == pid and t["criteria"] == cid
                  and t["overall_response"] == "PD"), key=lambda t: t["date"])
    return None if not sel else (sel[0]["date"], sel[0]["progression_causes"])


def _why(pid, a: Criteria, b: Criteria, ra, rb, targets, timepoints) -> str:
    parts = []
    ta, tb = _lesions(targets, pid, a.id, ("target",)), _lesions(targets, pid, b.id, ("target",))
    if ta is not None and ta != tb:
        parts.append(f"targets differ ({a.id}: {', '.join(ta) or 'none'}; {b.id}: {', '.join(tb) or 'none'})")
    all_roles = ("target", "non_target", "new")
    la, lb = _lesions(targets, pid, a.id, all_roles), _lesions(targets, pid, b.id, all_roles)
    if la is not None:
        only_a, only_b = sorted(set(la) - set(lb)), sorted(set(lb) - set(la))
        for cid, only in ((a.id, only_a), (b.id, only_b)):
            if only:
                parts.append(f"lesion(s) {', '.join(only)} assessed by {cid} only (scope)")
    pa, pb = _first_pd(timepoints, pid, a.id), _first_pd(timepoints, pid, b.id)
    if pa != pb:
        def text(p):
            return "none" if p is None else f"{p[0]} ({p[1]})"
        parts.append(f"first PD: {a.id} {text(pa)}, {b.id} {text(pb)}")
    for c, r, other in ((a, ra, rb), (b, rb, ra)):
        if (c.best_response.confirmation_required and other["best_overall_response"] in ("CR", "PR")
                and not _truthy(other.get("confirmed"))):
            parts.append(f"{c.id} requires a confirmed CR/PR; the other's {other['best_overall_response']} "
                         "is unconfirmed")
    parts.append(f"{a.id}: {ra['reason']}")
    parts.append(f"{b.id}: {rb['reason']}")
    return "; ".join(parts)


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else False


def crosstab(agreement: pd.DataFrame, criteria_a: str, criteria_b: str) -> pd.DataFrame:
    """Counts of best responses: rows ``criteria_a``, columns ``criteria_b`` (categories in response order)."""
    sel = agreement[(agreement["criteria_a"] == criteria_a) & (agreement["criteria_b"] == criteria_b)]
    present = set(sel["response_a"]) | set(sel["response_b"])
    cats = [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))
    table = pd.crosstab(pd.Categorical(sel["response_a"], categories=cats),
                        pd.Categorical(sel["response_b"], categories=cats), dropna=False)
    table.index.name, table.columns.name = criteria_a, criteria_b
    return table.astype(int)


def cohen_kappa(table: pd.DataFrame) -> tuple[float, float]:
    """(observed agreement, Cohen's kappa) of a square cross-table of counts."""
    n = float(table.to_numpy().sum())
    if n == 0:
        return math.nan, math.nan
    p_o = float(sum(table.iloc[i, i] for i in range(len(table)))) / n
    p_e = float((table.sum(axis=1).to_numpy() / n) @ (table.sum(axis=0).to_numpy() / n))
    kappa = math.nan if math.isclose(p_e, 1.0) else (p_o - p_e) / (1 - p_e)
    return p_o, kappa

