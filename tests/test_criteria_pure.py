"""respond.criteria is a pure rule engine: DataFrames and Criteria in, tables out (issue 11).

The criteria never read or write a file: these tests evaluate DataFrames with
every way of opening or writing a file patched to fail.
"""
from __future__ import annotations

import builtins
import io
import subprocess
import sys
from pathlib import Path

import pytest

import respond
from respond.config import load_criteria
from respond.criteria import apply_criteria
from respond.io.lesion_table import read_lesion_table

from conftest import series, table

D0, D1, D2 = "2024-01-01", "2024-03-01", "2024-05-01"


def _lesions():
    return table(series("P", "L1", "lung", [(D0, 100), (D1, 60), (D2, 55)]),
                 series("P", "B1", "brain", [(D0, 20), (D1, 12), (D2, 10)], short_axis_mm=8, n_slices=3))


def test_criteria_on_dataframes_with_file_io_patched_to_fail(monkeypatch):
    recist, rano = load_criteria("recist1.1"), load_criteria("rano-bm")
    frame = read_lesion_table(_lesions()).frame
    import respond.endpoints  # noqa: F401 - imported before the patch (imports may read files)

    def refuse(*args, **kwargs):
        raise AssertionError(f"file I/O attempted: {args[:1]}")

    for target, name in ((builtins, "open"), (io, "open"), (Path, "open"), (Path, "write_text"),
                         (Path, "write_bytes"), (Path, "read_text"), (Path, "read_bytes")):
        monkeypatch.setattr(target, name, refuse)
    tables = apply_criteria(frame, [recist, rano])
    # RECIST: 120 → 72 mm (−40 %) PR → 65 mm PR; RANO-BM: brain 20 → 12 (−40 %) PR → 10 PR.
    got = {(r.criteria, str(r.date)): r.overall_response for r in tables.timepoints.itertuples()}
    assert got[("recist1.1", D1)] == "PR" and got[("recist1.1", D2)] == "PR"
    assert got[("rano-bm", D1)] == "PR" and got[("rano-bm", D2)] == "PR"
    assert set(tables.best_response["criteria"]) == {"recist1.1", "rano-bm"}
    # The whole evaluate() on a DataFrame touches no file either (until .write()).
    result = respond.evaluate(_lesions(), criteria=[recist])
    assert list(result.timepoints["overall_response"].iloc[1:]) == ["PR", "PR"]


def test_criteria_package_imports_no_io_or_pipeline():
    code = ("import sys, respond.criteria; "
            "print(sorted(m for m in sys.modules if m.startswith(('respond.io', 'respond.pipeline', "
            "'respond.endpoints', 'respond.measure', 'respond.lesions', 'respond.report'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
