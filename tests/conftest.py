"""Shared test helpers: compact builders of lesion and clinical tables."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import respond

#: The reader-measured demo cohort (fixtures/make_demo.py).
READER_DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
#: Real images next to the project (pyradiomics test cases); tests skip when absent.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pyradiomics"


def row(pid, date, lid, organ, ld, **extra):
    """One lesion-table row; ``ld`` may be None (blank = not evaluated)."""
    return {"patient_id": pid, "date": date, "lesion_id": lid, "organ": organ,
            "longest_diameter_mm": "" if ld is None else ld, **extra}


def series(pid, lid, organ, dates_and_ld, **extra):
    """Rows of one lesion over several dates: ``[(date, ld), ...]``."""
    return [row(pid, d, lid, organ, ld, **extra) for d, ld in dates_and_ld]


def table(*groups) -> pd.DataFrame:
    """A lesion table from rows and lists of rows."""
    rows = []
    for g in groups:
        rows.extend(g if isinstance(g, list) else [g])
    return pd.DataFrame(rows)


def run(lesions, criteria=("recist1.1", "rano-bm"), **kw):
    return respond.evaluate(lesions, criteria=list(criteria), **kw)


def tp(result, pid, criteria, date=None):
    """Timepoint rows of one patient under one criteria (one row when ``date`` is given)."""
    t = result.timepoints
    sel = t[(t.patient_id == pid) & (t.criteria == criteria)]
    if date is None:
        return sel.reset_index(drop=True)
    rows = sel[sel.date.astype(str) == date]
    assert len(rows) == 1, f"no single timepoint {pid} {criteria} {date}"
    return rows.iloc[0]


def best(result, pid, criteria):
    b = result.best_response
    rows = b[(b.patient_id == pid) & (b.criteria == criteria)]
    assert len(rows) == 1
    return rows.iloc[0]


def roles(result, pid, criteria):
    t = result.targets
    sel = t[(t.patient_id == pid) & (t.criteria == criteria)]
    return dict(zip(sel.lesion_id, sel.role))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("shared pyradiomics data not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def reader_demo(tmp_path_factory):
    """The reader demo evaluated once: (Evaluation, output folder with its tables)."""
    out = tmp_path_factory.mktemp("reader-demo")
    result = respond.evaluate(READER_DEMO / "lesions.csv", clinical=READER_DEMO / "clinical.csv",
                              patients=READER_DEMO / "patients.csv")
    result.write(out)
    return result, out
