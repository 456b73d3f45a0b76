"""Property-based bad-input suite: mutated CDISC SDTM TU/TR datasets through `respond evaluate --sdtm`.

Row order is neutral (the same answer); conflicting or incomplete records
must never be silent; arbitrary damage ends without a traceback or hang.
"""
from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz_settings, run_cli, sorted_table
from respond.cli import main

TU_HEAD = "STUDYID,DOMAIN,USUBJID,TULNKID,TULOC,TUSTRESC,TUEVAL,TUEVALID"
TR_HEAD = "STUDYID,DOMAIN,USUBJID,TRLNKID,TRTESTCD,TRSTRESC,TRSTRESN,TRSTRESU,TRDTC,VISITNUM,TREVAL,TREVALID"
_counter = itertools.count()


@st.composite
def sdtm(draw) -> tuple[list[str], list[str]]:
    """Valid TU and TR rows (no header): 1-2 subjects, 1-2 target lesions, one non-target, 2-3 visits."""
    tu, tr = [], []
    for s in range(draw(st.integers(1, 2))):
        subject = f"S-{s + 1}"
        targets = [f"T0{i + 1}" for i in range(draw(st.integers(1, 2)))]
        for lesion in targets:
            tu.append(f"S,TU,{subject},{lesion},LUNG,TARGET,INDEPENDENT ASSESSOR,R1")
        tu.append(f"S,TU,{subject},NT1,LIVER,NON-TARGET,INDEPENDENT ASSESSOR,R1")
        for visit in range(1, draw(st.integers(2, 3)) + 1):
            date = f"2024-{2 * visit - 1:02d}-05"
            for lesion in targets:
                ld = draw(st.integers(12 if visit == 1 else 0, 60))
                tr.append(f"S,TR,{subject},{lesion},LDIAM,{ld},{ld},mm,{date},{visit},INDEPENDENT ASSESSOR,R1")
            tr.append(f"S,TR,{subject},NT1,TUMSTATE,PRESENT,,,{date},{visit},INDEPENDENT ASSESSOR,R1")
    return tu, tr


def _run(tmp_path, tu: list[str] | str, tr: list[str] | str, *extra):
    folder = tmp_path / f"ex{next(_counter)}"
    folder.mkdir()
    for name, rows, head in (("tu", tu, TU_HEAD), ("tr", tr, TR_HEAD)):
        text = rows if isinstance(rows, str) else "\n".join([head, *rows]) + "\n"
        (folder / f"{name}.csv").write_text(text, encoding="utf-8", errors="surrogateescape")
    out = folder / "out"
    return run_cli(main, ["evaluate", "--sdtm", folder / "tu.csv", folder / "tr.csv", *extra, "--out", out], out)


@fuzz_settings(10)
@given(data=sdtm(), seed=st.integers(0, 99))
def test_row_order_keeps_the_answer(tmp_path, data, seed):
    tu, tr = data
    base = _run(tmp_path, tu, tr)
    assert base.exit_code == 0, base.output
    rnd = random.Random(seed)
    tu2, tr2 = list(tu), list(tr)
    rnd.shuffle(tu2)
    rnd.shuffle(tr2)
    mutated = _run(tmp_path, tu2, tr2)
    assert sorted_table(mutated.table("best_response")) == sorted_table(base.table("best_response"))


def _conflict(tr: list[str], rnd: random.Random) -> list[str]:
    rows = [r for r in tr if ",LDIAM," in r]
    row = rnd.choice(rows).split(",")
    row[5] = row[6] = str(int(row[6]) + 7)
    return [*tr, ",".join(row)]


def _blank_link(tr: list[str], rnd: random.Random) -> list[str]:
    i = rnd.choice([i for i, r in enumerate(tr) if ",LDIAM," in r])
    cells = tr[i].split(",")
    cells[3] = ""
    return tr[:i] + [",".join(cells)] + tr[i + 1:]


def _nan_followup(tr: list[str], rnd: random.Random) -> list[str]:
    i = rnd.choice([i for i, r in enumerate(tr) if ",LDIAM," in r and not r.endswith(",1,INDEPENDENT ASSESSOR,R1")])
    cells = tr[i].split(",")
    cells[5] = cells[6] = rnd.choice(["NaN", "nan", "NA"])
    return tr[:i] + [",".join(cells)] + tr[i + 1:]


@fuzz_settings(15)
@given(data=sdtm(), kind=st.sampled_from(["conflict", "blank_link", "nan_followup"]), seed=st.integers(0, 99))
def test_conflicting_or_incomplete_records_are_never_silent(tmp_path, data, kind, seed):
    tu, tr = data
    mutate = {"conflict": _conflict, "blank_link": _blank_link, "nan_followup": _nan_followup}[kind]
    outcome = _run(tmp_path, tu, mutate(tr, random.Random(seed)))
    assert not outcome.silent, (kind, outcome.output)


@pytest.mark.parametrize("case", ["tu_header_only", "tr_header_only", "tr_sums_only", "evaluator_nobody"])
def test_no_lesion_rows_left_is_an_error_not_a_traceback(tmp_path, case):
    tu = ["S,TU,S-1,T01,LUNG,TARGET,INDEPENDENT ASSESSOR,R1"]
    tr = ["S,TR,S-1,T01,LDIAM,30,30,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R1",
          "S,TR,S-1,T01,LDIAM,20,20,mm,2024-03-05,2,INDEPENDENT ASSESSOR,R1"]
    extra = []
    if case == "tu_header_only":
        tu = []
    elif case == "tr_header_only":
        tr = []
    elif case == "tr_sums_only":
        tr = [r.replace("LDIAM", "SUMDIAM") for r in tr]
    else:
        extra = ["--evaluator", "NOBODY"]
    outcome = _run(tmp_path, tu, tr, *extra)
    assert outcome.exit_code in (2, 3)


@fuzz_settings(30)
@given(data=sdtm(), edits=st.lists(st.tuples(st.booleans(), st.integers(0, 10_000), st.text(max_size=3),
                                             st.integers(0, 3)), min_size=1, max_size=5))
def test_random_damage_never_ends_in_a_traceback(tmp_path, data, edits):
    tu, tr = ("\n".join([TU_HEAD, *data[0]]) + "\n", "\n".join([TR_HEAD, *data[1]]) + "\n")
    for in_tr, position, replacement, length in edits:
        text = tr if in_tr else tu
        at = position % (len(text) + 1)
        text = text[:at] + replacement + text[at + length:]
        tr, tu = (text, tu) if in_tr else (tr, text)
    _run(tmp_path, tu, tr)
