"""Agreement of best responses between RECIST 1.1 and RANO-BM: cross-table, kappa, reasons."""
from __future__ import annotations

import pandas as pd
import pytest

import respond
from conftest import row, table
from respond.config import load_criteria
from respond.endpoints.agreement import cohen_kappa, compare, crosstab

PAIRS = [("PR", "PR")] * 3 + [("SD", "SD")] * 3 + [("PR", "SD")] * 2 + [("PD", "PD"), ("SD", "PD")]


def _best():
    rows = []
    for i, (a, b) in enumerate(PAIRS):
        rows.append({"patient_id": f"P{i}", "criteria": "recist1.1", "best_overall_response": a, "reason": "r"})
        rows.append({"patient_id": f"P{i}", "criteria": "rano-bm", "best_overall_response": b, "reason": "b"})
    return pd.DataFrame(rows)


def test_cross_table_and_kappa_worked_by_hand():
    # Rows RECIST: PR 5 (3 PR, 2 SD), SD 4 (3 SD, 1 PD), PD 1. Columns RANO-BM: PR 3, SD 5, PD 2.
    # p_o = 7/10; p_e = (5·3 + 4·5 + 1·2)/100 = 0.37; kappa = 0.33 / 0.63 = 0.5238.
    agreement = compare(_best(), [load_criteria("recist1.1"), load_criteria("rano-bm")])
    table_ = crosstab(agreement, "recist1.1", "rano-bm")
    assert list(table_.index) == ["PR", "SD", "PD"] and list(table_.columns) == ["PR", "SD", "PD"]
    assert table_.to_numpy().tolist() == [[3, 2, 0], [0, 3, 1], [0, 0, 1]]
    p_o, kappa = cohen_kappa(table_)
    assert p_o == pytest.approx(0.7) and kappa == pytest.approx(0.33 / 0.63)
    assert sorted(agreement[~agreement.agree].patient_id) == ["P6", "P7", "P9"]


def test_kappa_undefined_with_a_single_category():
    import math
    p_o, kappa = cohen_kappa(pd.DataFrame([[4]]))
    assert p_o == 1.0 and math.isnan(kappa)


D0, D1, D2 = "2024-01-01", "2024-03-01", "2024-05-01"


def test_evaluate_lists_differences_with_their_reason():
    # U: PR at D1 then SD: RECIST PR, RANO-BM needs confirmation: SD.
    # X: a new liver lesion: RECIST PD, RANO-BM (brain only) SD.
    # S: stable in both.
    brain = dict(n_slices=4)
    lesions = table([row("U", d, "B1", "brain", ld, short_axis_mm=ld / 2, **brain) for d, ld in [(D0, 30), (D1, 15), (D2, 25)]],
                    [row("X", d, "B1", "brain", 30, short_axis_mm=15, **brain) for d in (D0, D1, D2)],
                    row("X", D1, "H1", "liver", 15),
                    [row("S", d, "B1", "brain", 30, short_axis_mm=15, **brain) for d in (D0, D1, D2)])
    r = respond.evaluate(lesions)
    a = r.agreement.set_index("patient_id")
    assert (a.loc["U", "response_a"], a.loc["U", "response_b"]) == ("PR", "SD")
    assert "rano-bm requires a confirmed CR/PR" in a.loc["U", "reason"]
    assert (a.loc["X", "response_a"], a.loc["X", "response_b"]) == ("PD", "SD")
    assert "H1 assessed by recist1.1 only" in a.loc["X", "reason"]
    assert bool(a.loc["S", "agree"]) and a.loc["S", "reason"] is None
    kappa = r.summary[r.summary.statistic == "kappa"].iloc[0]
    # Rows RECIST PR 1, PD 1, SD 1; columns RANO-BM SD 3: p_o = 1/3, p_e = 1/3 → kappa 0.
    assert kappa.criteria == "recist1.1 vs rano-bm" and kappa.n == 3 and kappa.estimate == pytest.approx(0.0)
