"""Property-based bad-input suite: mutated lesion, clinical and patients tables through `respond evaluate`.

Neutral mutations (row order, column order, CRLF, a byte-order mark, spaces,
quotes, blank lines) must give the same answer as the original table.
Meaning-changing mutations (a dropped cell, a duplicated column, ``1_0``, a
``NaN`` marker, a misspelt column, ids that match no patient, an unknown
column) must never be silent. Random byte damage must end without a
traceback or hang.
"""
from __future__ import annotations

import datetime as dt
import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz_settings, run_cli, sorted_table
from respond.cli import main

HEADER = ["patient_id", "date", "lesion_id", "organ", "longest_diameter_mm", "short_axis_mm", "n_slices",
          "volume_mm3", "status"]
ORGANS = ("lung", "liver", "brain")
_counter = itertools.count()


@st.composite
def lesion_tables(draw) -> list[list[str]]:
    """A valid lesion table as rows of text cells (header first): 1-3 patients, 1-3 lesions, 2-3 dates."""
    rows = [list(HEADER)]
    for p in range(draw(st.integers(1, 3))):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 300)))
        dates = [start + dt.timedelta(days=56 * i) for i in range(draw(st.integers(2, 3)))]
        for lesion in range(draw(st.integers(1, 3))):
            organ = draw(st.sampled_from(ORGANS))
            for i, date in enumerate(dates):
                ld = draw(st.integers(12, 80) if i == 0 else st.integers(0, 120))
                tenth = draw(st.integers(0, 9))
                value = f"{ld}.{tenth}" if ld else "0"
                short = f"{ld // 2}" if ld else ""
                slices = str(draw(st.integers(2, 12))) if ld else ""
                volume = f"{ld ** 3 // 3}" if ld else ""
                rows.append([f"P{p + 1}", date.isoformat(), f"L{lesion + 1}", organ, value, short, slices,
                             volume, ""])
    return rows


def _text(rows: list[list[str]], newline: str = "\n") -> str:
    return newline.join(",".join(r) for r in rows) + newline


def _evaluate(tmp_path, text: str, *extra) -> object:
    folder = tmp_path / f"ex{next(_counter)}"
    folder.mkdir()
    lesions = folder / "lesions.csv"
    lesions.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    out = folder / "out"
    args = ["evaluate", lesions, "--out", out, *[a(folder) if callable(a) else a for a in extra]]
    return run_cli(main, args, out)


def _answer(outcome) -> tuple:
    return (sorted_table(outcome.table("best_response")), sorted_table(outcome.table("timepoints")),
            sorted_table(outcome.warnings))


# -- neutral mutations: the same answer ------------------------------------------------------------------------

def _neutral(rows: list[list[str]], kind: str, rnd: random.Random) -> str:
    header, body = rows[0], [list(r) for r in rows[1:]]
    if kind == "shuffle_rows":
        rnd.shuffle(body)
    elif kind == "permute_columns":
        order = list(range(len(header)))
        rnd.shuffle(order)
        header = [header[i] for i in order]
        body = [[r[i] for i in order] for r in body]
    elif kind == "crlf":
        return _text([header, *body], "\r\n")
    elif kind == "bom":
        return "\ufeff" + _text([header, *body])
    elif kind == "spaces":
        body = [[f" {c} " if c and rnd.random() < 0.5 else c for c in r] for r in body]
    elif kind == "quotes":
        body = [[f'"{c}"' if rnd.random() < 0.5 else c for c in r] for r in body]
    elif kind == "blank_lines":
        text = _text([header, *body])
        lines = text.split("\n")
        lines.insert(rnd.randint(1, len(lines) - 1), "")
        return "\n".join(lines)
    return _text([header, *body])


@fuzz_settings(12)
@given(rows=lesion_tables(), kind=st.sampled_from(
    ["shuffle_rows", "permute_columns", "crlf", "bom", "spaces", "quotes", "blank_lines"]), seed=st.integers(0, 99))
def test_neutral_mutations_keep_the_answer(tmp_path, rows, kind, seed):
    base = _evaluate(tmp_path, _text(rows))
    assert base.exit_code == 0, base.output
    mutated = _evaluate(tmp_path, _neutral(rows, kind, random.Random(seed)))
    assert mutated.exit_code == 0, (kind, mutated.output)
    assert _answer(mutated) == _answer(base), kind


# -- meaning-changing mutations: never silent ------------------------------------------------------------------

def _damage(rows: list[list[str]], kind: str, rnd: random.Random) -> str:
    header, body = list(rows[0]), [list(r) for r in rows[1:]]
    target = rnd.randrange(len(body))
    if kind == "drop_cell":
        del body[target][rnd.randrange(len(header))]
    elif kind == "extra_cell":
        body[target].insert(rnd.randrange(len(header)), "7")
    elif kind == "duplicate_column":
        i, j = rnd.sample(range(len(header)), 2)
        header[j] = header[i]
    elif kind == "underscore":
        col = header.index(rnd.choice(["longest_diameter_mm", "n_slices", "volume_mm3"]))
        digits = [r for r in body if len(r[col].split(".")[0]) >= 2]
        row = digits[0] if digits else body[target]
        row[col] = (row[col][0] + "_" + row[col][1:]) if len(row[col]) >= 2 else "1_0"
    elif kind == "nan_marker":
        col = rnd.choice(["status", "longest_diameter_mm", "lesion_id", "organ", "n_slices"])
        body[target][header.index(col)] = rnd.choice(["NaN", "nan", "NA", "null", "None", "#N/A"])
    elif kind == "misspelt_column":
        col = header.index(rnd.choice(["status", "n_slices", "short_axis_mm", "volume_mm3"]))
        name = header[col]
        header[col] = rnd.choice([n for n in (name.upper(), name.capitalize(), name + "s", name[:-1],
                                              name.replace("_", " ")) if n != name])
    elif kind == "bogus_role_column":
        header.append(rnd.choice(["role_recist11", "role_RANO_BM", "role_recist1", "role_rano"]))
        for r in body:
            r.append("target")
    elif kind == "unknown_column":
        header.append(rnd.choice(["comment", "reader", "site_name", "x"]))
        for r in body:
            r.append("q")
    return _text([header, *body])


@fuzz_settings(25)
@given(rows=lesion_tables(), kind=st.sampled_from(
    ["drop_cell", "extra_cell", "duplicate_column", "underscore", "nan_marker", "misspelt_column",
     "bogus_role_column", "unknown_column"]), seed=st.integers(0, 999))
def test_meaning_changing_mutations_are_never_silent(tmp_path, rows, kind, seed):
    outcome = _evaluate(tmp_path, _damage(rows, kind, random.Random(seed)))
    assert not outcome.silent, (kind, outcome.output)


@st.composite
def clinical_and_patients(draw, rows):
    ids = sorted({r[0] for r in rows[1:]})
    fold = draw(st.sampled_from(["lower", "prefix", "some_lower", "none"]))

    def rename(pid: str, i: int) -> str:
        if fold == "lower" or (fold == "some_lower" and i == 0):
            return pid.lower()
        return "X" + pid if fold == "prefix" else pid

    clinical = ["patient_id,date,steroid_dose_mg,clinical_status"]
    patients = ["patient_id,treatment_start,last_followup,death_date"]
    for i, pid in enumerate(ids):
        first = min(r[1] for r in rows[1:] if r[0] == pid)
        clinical.append(f"{rename(pid, i)},{first},4,stable")
        patients.append(f"{rename(pid, i)},{first},,")
    return fold, "\n".join(clinical) + "\n", "\n".join(patients) + "\n"


@fuzz_settings(10)
@given(data=st.data(), rows=lesion_tables(), which=st.sampled_from(["--clinical", "--patients"]))
def test_tables_sharing_no_patient_ids_are_never_silent(tmp_path, data, rows, which):
    fold, clinical, patients = data.draw(clinical_and_patients(rows))
    text = clinical if which == "--clinical" else patients

    def side_table(folder):
        path = folder / "side.csv"
        path.write_text(text)
        return path

    outcome = _evaluate(tmp_path, _text(rows), which, side_table)
    if fold == "none":
        assert outcome.exit_code == 0, outcome.output
    elif fold == "some_lower" and len({r[0] for r in rows[1:]}) > 1:
        assert outcome.exit_code == 0 and "unknown_patient" in set(outcome.warnings["code"]), outcome.output
    else:
        assert outcome.exit_code == 2 and "[table.no_matching_patients]" in outcome.output, outcome.output


# -- random damage: no traceback, no hang ----------------------------------------------------------------------

@fuzz_settings(30)
@given(rows=lesion_tables(), edits=st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=0, max_size=3),
                                                      st.integers(0, 3)), min_size=1, max_size=6))
def test_random_byte_damage_never_ends_in_a_traceback(tmp_path, rows, edits):
    data = bytearray(_text(rows).encode())
    for position, replacement, length in edits:
        at = position % (len(data) + 1)
        data[at:at + length] = replacement
    _evaluate(tmp_path, bytes(data))


@fuzz_settings(20)
@given(cells=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=10), min_size=1, max_size=6),
       keep_header=st.booleans())
def test_arbitrary_cells_never_end_in_a_traceback(tmp_path, cells, keep_header):
    import csv
    import io

    handle = io.StringIO()
    writer = csv.writer(handle)
    if keep_header:
        writer.writerow(HEADER)
    writer.writerows(cells)
    _evaluate(tmp_path, handle.getvalue())
