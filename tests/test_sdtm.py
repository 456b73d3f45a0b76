"""CDISC SDTM in and out: round trip, multiple evaluators, RS quality control, malformed data."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import respond
from respond.cli import main
from respond.pipeline.evaluate import evaluate_sdtm
from respond.errors import InputTableError
from respond.io.sdtm import export_sdtm, read_sdtm

from conftest import READER_DEMO as DEMO
CORE = ["patient_id", "criteria", "date", "target_sum_mm", "target_response", "non_target_response",
        "new_lesions", "overall_response"]




@pytest.mark.parametrize("criteria", ["recist1.1", "rano-bm"])
@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_round_trip_gives_the_same_responses(reader_demo, tmp_path, criteria, fmt):
    result, run_dir = reader_demo
    export_sdtm(run_dir, tmp_path, criteria=criteria, xpt=fmt == "xpt")
    back = evaluate_sdtm(tmp_path / f"tu.{fmt}", tmp_path / f"tr.{fmt}", tmp_path / f"rs.{fmt}",
                         clinical=DEMO / "clinical.csv", patients=DEMO / "patients.csv", criteria=[criteria])
    assert back.failures.empty
    mine = result.timepoints[result.timepoints.criteria == criteria][CORE].reset_index(drop=True)
    theirs = back.timepoints[CORE].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine.astype(str), theirs.astype(str))
    best_cols = ["patient_id", "best_overall_response", "progression_date"]
    pd.testing.assert_frame_equal(
        result.best_response[result.best_response.criteria == criteria][best_cols].reset_index(drop=True).astype(str),
        back.best_response[best_cols].reset_index(drop=True).astype(str))
    qc = back.extra["rs_comparison"]
    assert len(qc) > 0 and qc.agree.all()


def test_exported_terms_are_controlled(reader_demo, tmp_path):
    _, run_dir = reader_demo
    export_sdtm(run_dir, tmp_path)
    tu, tr, rs = (pd.read_csv(tmp_path / f"{d}.csv") for d in ("tu", "tr", "rs"))
    assert set(tu.TUSTRESC) <= {"TARGET", "NON-TARGET", "NEW"} and set(tu.DOMAIN) == {"TU"}
    assert set(tr.TRTESTCD) == {"LDIAM", "LPERP", "TUMSTATE"}
    assert set(tr[tr.TRTESTCD == "TUMSTATE"].TRSTRESC) <= {"PRESENT", "ABSENT", "EQUIVOCAL", "NOT EVALUABLE",
                                                           "UNEQUIVOCAL PROGRESSION", "TOO SMALL TO MEASURE"}
    assert "EQUIVOCAL" in set(tr.TRSTRESC)  # DEMO-03's equivocal new lesion
    assert set(rs.RSTESTCD) == {"OVRLRESP", "TRGRESP", "NTRGRESP", "BESTRSP"}
    best = rs[rs.RSTESTCD == "BESTRSP"].set_index("USUBJID").RSSTRESC
    assert best["DEMO-03"] == "PD" and best["DEMO-04"] == "PR"


TU = """STUDYID,DOMAIN,USUBJID,TULNKID,TULOC,TUSTRESC,TUEVAL,TUEVALID
S,TU,S-1,T01,BRAIN,TARGET,INDEPENDENT ASSESSOR,R1
S,TU,S-1,T01,BRAIN,TARGET,INDEPENDENT ASSESSOR,R2
S,TU,S-1,NT1,LYMPH NODE,NON-TARGET,INDEPENDENT ASSESSOR,R1
S,TU,S-1,NT1,LYMPH NODE,NON-TARGET,INDEPENDENT ASSESSOR,R2
"""
TR_HEAD = "STUDYID,DOMAIN,USUBJID,TRLNKID,TRTESTCD,TRSTRESC,TRSTRESN,TRSTRESU,TRDTC,VISITNUM,TREVAL,TREVALID\n"
TR_ROWS = """S,TR,S-1,T01,LDIAM,30,30,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R1
S,TR,S-1,NT1,TUMSTATE,PRESENT,,,2024-01-05,1,INDEPENDENT ASSESSOR,R1
S,TR,S-1,T01,LDIAM,2,2,cm,2024-03-05T09:30,2,INDEPENDENT ASSESSOR,R1
S,TR,S-1,NT1,TUMSTATE,PRESENT,,,2024-03-07,2,INDEPENDENT ASSESSOR,R1
S,TR,S-1,T01,LDIAM,30,30,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R2
S,TR,S-1,NT1,TUMSTATE,PRESENT,,,2024-01-05,1,INDEPENDENT ASSESSOR,R2
S,TR,S-1,T01,LDIAM,27,27,mm,2024-03-05,2,INDEPENDENT ASSESSOR,R2
S,TR,S-1,NT1,TUMSTATE,UNEQUIVOCAL PROGRESSION,,,2024-03-05,2,INDEPENDENT ASSESSOR,R2
S,TR,S-1,T01,SUMDIAM,30,30,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R2
"""
RS = """STUDYID,DOMAIN,USUBJID,RSTESTCD,RSCAT,RSSTRESC,VISITNUM,RSEVAL,RSEVALID
S,RS,S-1,OVRLRESP,RECIST 1.1,PR,2,INDEPENDENT ASSESSOR,R1
S,RS,S-1,OVRLRESP,RECIST 1.1,SD,2,INDEPENDENT ASSESSOR,R2
"""


def _files(tmp_path, tu=TU, tr=TR_HEAD + TR_ROWS, rs=RS):
    for name, text in (("tu", tu), ("tr", tr), ("rs", rs)):
        (tmp_path / f"{name}.csv").write_text(text)
    return tmp_path / "tu.csv", tmp_path / "tr.csv", tmp_path / "rs.csv"


def test_one_stream_per_evaluator_visit_dates_units_and_qc(tmp_path):
    result = evaluate_sdtm(*_files(tmp_path), criteria=["recist1.1"])
    tp = result.timepoints.astype({"date": str}).set_index(["patient_id", "date"])
    # A visit spread over days (TRDTC 2024-03-05 and 03-07) is one timepoint, its response dated at the
    # latest scan of the visit (issue 13 "Visits"; was dated at the earliest TRDTC).
    r1 = tp.loc[("S-1/INDEPENDENT ASSESSOR R1", "2024-03-07")]
    assert r1.target_sum_mm == 20.0 and r1.overall_response == "PR"  # 2 cm → 20 mm
    r2 = tp.loc[("S-1/INDEPENDENT ASSESSOR R2", "2024-03-05")]
    assert r2.non_target_response == "PD" and r2.overall_response == "PD"
    qc = result.extra["rs_comparison"].set_index("patient_id")
    assert bool(qc.loc["S-1/INDEPENDENT ASSESSOR R1", "agree"]) is True
    disagreement = qc.loc["S-1/INDEPENDENT ASSESSOR R2"]
    assert (disagreement.recorded_response, disagreement.respond_response, bool(disagreement.agree)) == ("SD", "PD", False)
    assert "non-target" in disagreement.respond_reason


def test_evaluator_option_keeps_one_stream(tmp_path):
    tu, tr, _ = _files(tmp_path)
    read = read_sdtm(tu, tr, evaluator="INDEPENDENT ASSESSOR R2")
    assert set(read.lesions.patient_id) == {"S-1"}


@pytest.mark.parametrize("bad_row,code,match", [
    ("S,TR,S-1,T01,VOLUME3D,1,1,mm,2024-05-05,3,INDEPENDENT ASSESSOR,R1", "sdtm.unknown_test", "unknown TRTESTCD 'VOLUME3D'"),
    ("S,TR,S-1,T99,LDIAM,10,10,mm,2024-05-05,3,INDEPENDENT ASSESSOR,R1", "sdtm.lesion_without_tu", "T99 is in TR but has no TU"),
    ("S,TR,S-1,T01,LDIAM,10,10,mm,2024-05,3,INDEPENDENT ASSESSOR,R1", "sdtm.partial_date", "partial date '2024-05'"),
    ("S,TR,S-1,NT1,TUMSTATE,SMALLER,,,2024-05-05,3,INDEPENDENT ASSESSOR,R1", "sdtm.unknown_term", "unknown TUMSTATE"),
])
def test_malformed_tr_fails_that_subject_with_file_and_row(tmp_path, bad_row, code, match):
    # S-2: reader R1's records only (merging R1 and R2 into one evaluator would now be refused as
    # conflicting records for one lesion and visit, issue 17).
    other = "".join(line + "\n" for line in TR_ROWS.splitlines() if line.endswith(",R1")).replace(
        "S-1", "S-2").replace(",R1", ",R9")
    tu = TU + TU.split("\n", 1)[1].replace("S-1", "S-2").replace(",R1", ",R9").replace(",R2", ",R9")
    result = evaluate_sdtm(*_files(tmp_path, tu=tu, tr=TR_HEAD + TR_ROWS + bad_row + "\n" + other), criteria=["recist1.1"])
    failure = result.failures.iloc[0]
    assert failure.patient_id == "S-1" and failure.error_code == code and match in failure.message
    assert "tr.csv" in failure.message and "row 11" in failure.message
    assert set(result.best_response.patient_id) == {"S-2"}


def test_missing_variables_stop_with_the_variables_found(tmp_path):
    tu, tr, _ = _files(tmp_path, tr="USUBJID,TRLNKID,TRTESTCD\nS-1,T01,LDIAM\n")
    with pytest.raises(InputTableError, match="TR lacks required variable.*TRSTRESC.*variables found: USUBJID"):
        read_sdtm(tu, tr)


def test_cli_sdtm_and_export(tmp_path):
    tu, tr, rs = _files(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", "--sdtm", str(tu), str(tr), str(rs), "--criteria", "recist1.1",
                               "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "1 of 2 visits agree" in res.output
    res = runner.invoke(main, ["export-sdtm", str(tmp_path / "out"), "--out", str(tmp_path / "sdtm")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sdtm" / "tr.csv").is_file()
    res = runner.invoke(main, ["evaluate", "--sdtm", str(tu), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "expected TU TR [RS]" in res.output


# --- Issue 17: no traceback, no silent wrong answer on malformed SDTM ---------------------------------

@pytest.mark.parametrize("tu,tr,evaluator,match", [
    (TU.split("\n", 1)[0] + "\n", TR_HEAD + TR_ROWS, None, "TU dataset has no records"),
    (TU, TR_HEAD, None, "TR dataset has no records"),
    (TU, TR_HEAD + "S,TR,S-1,T01,SUMDIAM,30,30,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R1\n", None,
     r"TR holds only derived results \(SUMDIAM\)"),
    (TU, TR_HEAD + TR_ROWS, "NOBODY", "no TR record of evaluator 'NOBODY'"),
])
def test_no_lesion_left_is_a_clear_error(tmp_path, tu, tr, evaluator, match):
    tu_path, tr_path, _ = _files(tmp_path, tu=tu, tr=tr)
    with pytest.raises(InputTableError, match=match) as info:
        evaluate_sdtm(tu_path, tr_path, evaluator=evaluator, criteria=["recist1.1"])
    assert info.value.code == "sdtm.no_lesions"


@pytest.mark.parametrize("extra,code,match", [
    ("S,TR,S-1,T01,LDIAM,31,31,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R1", "sdtm.conflicting_records",
     "conflicting LDIAM records at visit 1"),
    ("S,TR,S-1,,LDIAM,31,31,mm,2024-01-05,1,INDEPENDENT ASSESSOR,R1", "sdtm.missing_link", "blank TRLNKID"),
    ("S,TR,S-1,T01,LDIAM,NaN,NaN,mm,2024-05-05,3,INDEPENDENT ASSESSOR,R1", "sdtm.bad_number",
     "TRSTRESN 'NaN' is not a number"),
])
def test_conflicting_blank_link_and_nan_records_fail_the_subject(tmp_path, extra, code, match):
    result = evaluate_sdtm(*_files(tmp_path, tr=TR_HEAD + TR_ROWS + extra + "\n"), criteria=["recist1.1"])
    failure = result.failures.iloc[0]
    assert failure.error_code == code and match in failure.message and "row 11" in failure.message


def test_conflicting_tu_records_fail_the_subject(tmp_path):
    tu = TU + "S,TU,S-1,T01,LIVER,TARGET,INDEPENDENT ASSESSOR,R1\n"
    result = evaluate_sdtm(*_files(tmp_path, tu=tu), criteria=["recist1.1"])
    assert result.failures.error_code.iloc[0] == "sdtm.conflicting_records"


def test_visitnum_and_split_lesions_are_read(tmp_path):
    # T01 splits at visit 2 into T01.1 (12 mm) and T01.2 (8 mm): summed under T01 (RECIST 1.1 §4.3),
    # 30 → 20 mm = −33 %: PR, never new lesions. Each lesion keeps its TRDTC; VISITNUM groups them.
    tu = TU + ("S,TU,S-1,T01.1,BRAIN,TARGET,INDEPENDENT ASSESSOR,R1\n"
               "S,TU,S-1,T01.2,BRAIN,TARGET,INDEPENDENT ASSESSOR,R1\n")
    rows = [line for line in TR_ROWS.splitlines() if line.endswith(",R1") and "T01,LDIAM,2,2,cm" not in line]
    rows += ["S,TR,S-1,T01.1,LDIAM,12,12,mm,2024-03-05,2,INDEPENDENT ASSESSOR,R1",
             "S,TR,S-1,T01.2,LDIAM,8,8,mm,2024-03-05,2,INDEPENDENT ASSESSOR,R1"]
    tu_path, tr_path, _ = _files(tmp_path, tu=tu, tr=TR_HEAD + "\n".join(rows) + "\n")
    read = read_sdtm(tu_path, tr_path, evaluator="INDEPENDENT ASSESSOR R1")
    assert set(read.lesions[read.lesions.fragment_of == "T01"].lesion_id) == {"T01.1", "T01.2"}
    assert set(read.lesions.visit) == {"1", "2"}
    result = evaluate_sdtm(tu_path, tr_path, evaluator="INDEPENDENT ASSESSOR R1", criteria=["recist1.1"])
    row = result.timepoints.iloc[1]
    assert row.target_sum_mm == 20.0 and row.overall_response == "PR" and row.new_lesions == "no"



def test_visits_and_fragments_round_trip_through_sdtm(tmp_path):
    # Baseline CT (day 0) and MRI (day 3) are one visit; L1 splits at the follow-up into L1.1 + L1.2.
    lesions = pd.DataFrame([
        {"patient_id": "P", "date": "2024-01-01", "lesion_id": "L1", "organ": "liver", "longest_diameter_mm": 40,
         "visit": "SCREENING"},
        {"patient_id": "P", "date": "2024-01-04", "lesion_id": "B1", "organ": "brain", "longest_diameter_mm": 20,
         "short_axis_mm": 12, "n_slices": 3, "visit": "SCREENING"},
        {"patient_id": "P", "date": "2024-03-01", "lesion_id": "L1.1", "organ": "liver", "longest_diameter_mm": 15,
         "visit": "WEEK8", "fragment_of": "L1"},
        {"patient_id": "P", "date": "2024-03-01", "lesion_id": "L1.2", "organ": "liver", "longest_diameter_mm": 10,
         "visit": "WEEK8", "fragment_of": "L1"},
        {"patient_id": "P", "date": "2024-03-04", "lesion_id": "B1", "organ": "brain", "longest_diameter_mm": 12,
         "short_axis_mm": 8, "n_slices": 3, "visit": "WEEK8"},
    ])
    result = respond.evaluate(lesions, criteria=["recist1.1"])
    assert list(result.timepoints.overall_response.iloc[1:]) == ["PR"]  # 60 → 37 mm (−38 %)
    result.write(tmp_path / "run")
    export_sdtm(tmp_path / "run", tmp_path / "sdtm", criteria="recist1.1")
    tr = pd.read_csv(tmp_path / "sdtm" / "tr.csv")
    assert set(tr.VISITNUM) == {1, 2} and {"L1.1", "L1.2"} <= set(tr.TRLNKID)
    back = evaluate_sdtm(tmp_path / "sdtm" / "tu.csv", tmp_path / "sdtm" / "tr.csv", criteria=["recist1.1"])
    assert back.failures.empty
    cols = ["date", "target_sum_mm", "overall_response", "new_lesions"]
    pd.testing.assert_frame_equal(result.timepoints[cols].astype(str), back.timepoints[cols].astype(str))
