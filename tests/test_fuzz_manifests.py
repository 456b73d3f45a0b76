"""Property-based bad-input suite: mutated scan manifests through `respond track` (labels mode).

Row and column order are neutral (the same lesions table); damaged
structure, over-long paths and repeated mask files are never silent or
fatal for the whole run; random damage ends without a traceback or hang.
"""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz_settings, run_cli, sorted_table
from respond.cli import main

HEADER = ["patient_id", "date", "mask", "organ"]
SCANS = [("P1", "2024-01-01", 6), ("P1", "2024-03-01", 4), ("P2", "2024-01-10", 5), ("P2", "2024-03-10", 7)]
_counter = itertools.count()


@pytest.fixture(scope="module")
def masks(tmp_path_factory):
    """One small labelled mask per scan (label 1: a box whose width changes with the scan)."""
    folder = tmp_path_factory.mktemp("masks")
    for pid, date, width in SCANS:
        array = np.zeros((6, 24, 24), np.uint8)
        array[2:4, 4:4 + width, 4:10] = 1
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((2.0, 2.0, 3.0))
        sitk.WriteImage(image, str(folder / f"{pid}_{date}.nii.gz"))
    return folder


def _rows(masks) -> list[list[str]]:
    return [list(HEADER)] + [[pid, date, str(masks / f"{pid}_{date}.nii.gz"), "lung"] for pid, date, _ in SCANS]


def _track(masks, rows: list[list[str]] | str):
    folder = masks.parent / f"run{next(_counter)}"
    folder.mkdir()
    text = rows if isinstance(rows, str) else "\n".join(",".join(r) for r in rows) + "\n"
    manifest = folder / "manifest.csv"
    manifest.write_text(text, encoding="utf-8", errors="surrogateescape")
    out = folder / "out"
    return run_cli(main, ["track", manifest, "--out", out, "--lesions", "labels", "--allow-outside-paths"], out)


def _lesions(outcome) -> list[tuple]:
    return sorted_table(outcome.table("lesions"))


@fuzz_settings(6)
@given(seed=st.integers(0, 999), columns=st.booleans())
def test_row_and_column_order_keep_the_lesions(masks, seed, columns):
    base = _track(masks, _rows(masks))
    assert base.exit_code == 0, base.output
    rows = _rows(masks)
    rnd = random.Random(seed)
    body = rows[1:]
    rnd.shuffle(body)
    order = list(range(len(HEADER)))
    if columns:
        rnd.shuffle(order)
    mutated = _track(masks, [[r[i] for i in order] for r in [rows[0], *body]])
    assert mutated.exit_code == 0 and _lesions(mutated) == _lesions(base)


def _damage(rows: list[list[str]], kind: str, rnd: random.Random) -> list[list[str]]:
    rows = [list(r) for r in rows]
    target = rnd.randrange(1, len(rows))
    if kind == "drop_cell":
        del rows[target][rnd.randrange(len(HEADER))]
    elif kind == "duplicate_column":
        rows[0][rnd.choice([1, 2, 3])] = "patient_id"
    elif kind == "nan_marker":
        rows[target][rnd.choice([0, 1])] = rnd.choice(["NaN", "NA", "null"])  # organ: see the marker test below
    elif kind == "missing_file":
        rows[target][2] = rows[target][2].replace(".nii.gz", "-missing.nii.gz")
    return rows


@fuzz_settings(8)
@given(kind=st.sampled_from(["drop_cell", "duplicate_column", "nan_marker", "missing_file"]),
       seed=st.integers(0, 999))
def test_damaged_manifests_are_never_silent(masks, kind, seed):
    outcome = _track(masks, _damage(_rows(masks), kind, random.Random(seed)))
    assert not outcome.silent, (kind, outcome.output)


def test_overlong_mask_name_fails_only_its_patient(masks):
    rows = _rows(masks)
    rows[1][2] = str(masks / ("x" * 300 + ".nii.gz"))
    outcome = _track(masks, rows)
    assert outcome.exit_code == 3 and set(outcome.failures["patient_id"]) == {"P1"}


@pytest.mark.parametrize("where", ["two_dates", "two_patients"])
def test_the_same_mask_for_two_scans_is_never_silent(masks, where):
    rows = _rows(masks)
    source = 1
    target = 2 if where == "two_dates" else 3
    rows[target][2] = rows[source][2]
    assert not _track(masks, rows).silent


@pytest.mark.parametrize("marker", ["NA", "null", "None"])
def test_missing_value_marker_as_organ_is_never_silent(masks, marker):
    rows = _rows(masks)
    rows[3][3] = marker
    assert not _track(masks, rows).silent


@fuzz_settings(20)
@given(edits=st.lists(st.tuples(st.integers(0, 2000), st.text(max_size=3), st.integers(0, 3)), min_size=1,
                      max_size=4))
def test_random_damage_never_ends_in_a_traceback(masks, edits):
    text = "\n".join(",".join(r) for r in _rows(masks)) + "\n"
    for position, replacement, length in edits:
        at = position % (len(text) + 1)
        text = text[:at] + replacement + text[at + length:]
    _track(masks, text)
