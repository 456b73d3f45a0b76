"""Malformed input classes of the bad-input campaign, each pinned by a small input built here.

Every case ends in a RespondError with a code (exit 2), a per-patient failure,
or a warning; never a traceback, a hang or a silent change of the answer.
"""
from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

import respond
from respond.cli import main
from respond.config import PRESET_DIR, load_criteria
from respond.errors import ConfigError, InputTableError, RespondError
from respond.io.lesion_table import likely_column, read_clinical_table, read_lesion_table
from respond.io.paths import PathError, check_output_dir
from respond.io.writers import atomic_write, write_csv

HEADER = "patient_id,date,lesion_id,organ,longest_diameter_mm,status"
ROWS = ["P1,2024-01-01,L1,lung,30,", "P1,2024-03-01,L1,lung,20,", "P2,2024-01-01,L1,lung,40,",
        "P2,2024-03-01,L1,lung,50,"]
LONG = "x" * 300


def _table(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "lesions.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def _invoke(args: list[str]):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_refused(result, code: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"[{code}]" in result.output, result.output


# -- paths: names over 255 bytes, --out below a file, missing parents -------------------------------------

def test_overlong_table_name_is_refused(tmp_path):
    _assert_refused(_invoke(["evaluate", tmp_path / f"{LONG}.csv", "--out", tmp_path / "out"]), "path.too_long")


def test_overlong_out_folder_is_refused_before_computing(tmp_path):
    lesions = _table(tmp_path, ROWS)
    _assert_refused(_invoke(["evaluate", lesions, "--out", tmp_path / LONG]), "path.too_long")


def test_overlong_config_name_is_refused(tmp_path):
    lesions = _table(tmp_path, ROWS)
    _assert_refused(_invoke(["evaluate", lesions, "--config", tmp_path / f"{LONG}.yaml", "--out", tmp_path / "o"]),
                    "path.too_long")


def test_out_below_a_regular_file_is_refused_and_nothing_written(tmp_path):
    lesions = _table(tmp_path, ROWS)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    _assert_refused(_invoke(["evaluate", lesions, "--out", blocker / "run"]), "output.not_a_folder")
    result = _invoke(["evaluate", lesions, "--out", blocker])  # click refuses it itself
    assert result.exit_code == 2 and "is a file" in result.output
    assert blocker.read_text() == "x"


def test_out_with_missing_parent_creates_nothing(tmp_path):
    lesions = _table(tmp_path, ROWS)
    _assert_refused(_invoke(["evaluate", lesions, "--out", tmp_path / "missing" / "run"]), "output.missing_parent")
    assert not (tmp_path / "missing").exists()
    result = _invoke(["evaluate", lesions, "--criteria", "recist1.1", "--out", tmp_path / "run"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "best_response.csv").is_file()


def _mask_file(tmp_path: Path) -> Path:
    array = np.zeros((6, 20, 20), np.uint8)
    array[2:4, 5:12, 5:10] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((1.0, 1.0, 2.0))
    path = tmp_path / "mask.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


def test_measure_out_creates_only_the_final_folder(tmp_path):
    mask = _mask_file(tmp_path)
    _assert_refused(_invoke(["measure", mask, "--out", tmp_path / "no" / "dir" / "x.csv"]), "output.missing_parent")
    assert not (tmp_path / "no").exists()
    result = _invoke(["measure", mask, "--out", tmp_path / "new" / "x.csv"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "new" / "x.csv")) == 1


def test_measure_overlong_mask_name_and_out_below_file(tmp_path):
    mask = _mask_file(tmp_path)
    _assert_refused(_invoke(["measure", tmp_path / f"{LONG}.nii.gz", "--out", tmp_path / "x.csv"]), "path.too_long")
    _assert_refused(_invoke(["measure", mask, "--out", mask / "x.csv"]), "output.not_a_folder")


def test_check_output_dir_accepts_an_existing_folder_and_a_new_leaf(tmp_path):
    assert check_output_dir(tmp_path) == tmp_path
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"
    with pytest.raises(PathError) as err:
        check_output_dir(tmp_path / "a" / "b")
    assert err.value.code == "output.missing_parent"


# -- one atomic writer: modes follow the umask ---------------------------------------------------------

_MODES_SCRIPT = textwrap.dedent("""
    import os, sys
    import pandas as pd
    import SimpleITK as sitk
    from respond.io.writers import atomic_write, write_csv, write_json
    from respond.measure import write_lesion_csv
    os.umask(int(sys.argv[2], 8))
    out = sys.argv[1]
    write_csv(pd.DataFrame({"a": [1]}), os.path.join(out, "t.csv"))
    write_json({"a": 1}, os.path.join(out, "run.json"))
    write_lesion_csv(pd.DataFrame({"patient_id": ["P"]}), os.path.join(out, "sub", "lesions.csv"))
    atomic_write(os.path.join(out, "r.tfm"), lambda tmp: sitk.WriteTransform(sitk.Euler3DTransform(), str(tmp)))
""")


@pytest.mark.parametrize("umask,expected", [("022", 0o644), ("027", 0o640)])
def test_written_files_follow_the_umask(tmp_path, umask, expected):
    subprocess.run([sys.executable, "-c", _MODES_SCRIPT, str(tmp_path), umask], check=True)
    for name in ("t.csv", "run.json", "sub/lesions.csv", "r.tfm"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
    assert (tmp_path / "r.tfm").read_text().startswith("#Insight Transform File")
    assert not [p for p in tmp_path.rglob(".*")], "no temporary file left behind"


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


# -- presets ---------------------------------------------------------------------------------------------

def _preset(tmp_path: Path, text: str, name: str = "variant.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _config_error(source) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_criteria(source)
    return err.value


def test_preset_not_utf8(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"id: caf\xe9\nextends: recist1.1\n")
    assert _config_error(path).code == "config.encoding"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_inf_nan_for_an_integer_setting(tmp_path, value):
    path = _preset(tmp_path, f"extends: recist1.1\nid: v\ntargets:\n  max_total: {value}\n")
    err = _config_error(path)
    assert err.code == "config.bad_value" and "targets.max_total" in str(err)


@pytest.mark.parametrize("key", ["1", "null", "true", "[a, b]"])
def test_non_text_yaml_keys(tmp_path, key):
    path = _preset(tmp_path, f"extends: recist1.1\nid: v\nresponse:\n  {key}: 3\n")
    assert _config_error(path).code == "config.bad_key"


def test_non_text_keys_in_a_mapping():
    assert _config_error({1: "x", "id": "v"}).code == "config.bad_key"


def test_thousand_nested_brackets(tmp_path):
    path = _preset(tmp_path, "id: v\nname: " + "[" * 1000 + "]" * 1000 + "\n")
    assert _config_error(path).code == "config.too_deep"


def test_alias_bomb_is_refused_without_expanding(tmp_path):
    lines = ['a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    path = _preset(tmp_path, "\n".join(lines) + "\nendpoints:\n  rate_times_months: *a11\n")
    err = _config_error(path)
    assert err.code == "config.yaml_alias" and len(str(err)) < 500


def test_repeated_key(tmp_path):
    path = _preset(tmp_path, "extends: recist1.1\nid: v\nresponse:\n  progression_increase_pct: 20\n"
                             "  progression_increase_pct: 25\n")
    err = _config_error(path)
    assert err.code == "config.duplicate_key" and "progression_increase_pct" in str(err) and "line 4" in str(err)


@pytest.mark.parametrize("preset_id", ["recist1.1", "RECIST1.1", "rano-bm"])
def test_variant_may_not_keep_a_shipped_id(tmp_path, preset_id):
    path = _preset(tmp_path, f"extends: recist1.1\nid: {preset_id}\nresponse:\n  progression_increase_pct: 25\n")
    assert _config_error(path).code == "config.reserved_id"


def test_shipped_id_with_the_same_rules_is_accepted(tmp_path):
    text = (PRESET_DIR / "recist1.1.yaml").read_text(encoding="utf-8")
    criteria = load_criteria(_preset(tmp_path, text, "copy.yaml"))
    assert criteria.sha256 == load_criteria("recist1.1").sha256


def test_bad_value_message_is_capped(tmp_path):
    path = _preset(tmp_path, "extends: recist1.1\nid: v\ntargets:\n  max_total: [" + ", ".join(["1"] * 5000) + "]\n")
    err = _config_error(path)
    assert err.code == "config.bad_value" and len(str(err)) < 600


# -- tables: structure ---------------------------------------------------------------------------------------

def _read_error(path) -> InputTableError:
    with pytest.raises(InputTableError) as err:
        read_lesion_table(path)
    return err.value


def test_short_row_is_refused_not_shifted(tmp_path):
    path = _table(tmp_path, [*ROWS[:3], "P2,2024-03-01,L1,50,"])  # organ missing: 50 would become the organ
    err = _read_error(path)
    assert err.code == "table.short_row" and err.row == 5


def test_long_row_is_refused(tmp_path):
    path = _table(tmp_path, [*ROWS[:3], "P2,2024-03-01,L1,lung,5,0,present"])  # "5,0" meant 5.0
    assert _read_error(path).code == "table.long_row"


def test_trailing_empty_cells_are_tolerated(tmp_path):
    path = _table(tmp_path, [r + ",," for r in ROWS], header=HEADER + ",,")
    assert len(read_lesion_table(path).frame) == 4


def test_duplicated_column_is_refused(tmp_path):
    path = _table(tmp_path, [r + ",99" for r in ROWS], header=HEADER + ",longest_diameter_mm")
    err = _read_error(path)
    assert err.code == "table.duplicate_column" and "longest_diameter_mm" in str(err)


@pytest.mark.parametrize("text", ["1_0", "0x10", "1e", "١٠", "10 mm"])
def test_numbers_are_plain_decimals(tmp_path, text):
    path = _table(tmp_path, [*ROWS[:3], f"P2,2024-03-01,L1,lung,{text},"])
    read = read_lesion_table(path)
    assert read.failed_patients == {"P2"}
    assert read.failures[0].code == "table.bad_number"


@pytest.mark.parametrize("line,column", [("P2,2024-03-01,L1,lung,50,NaN", "status"),
                                         ("P2,2024-03-01,None,lung,50,", "lesion_id"),
                                         ("P2,2024-03-01,L1,null,50,", "organ"),
                                         ("P2,2024-03-01,L1,lung,NA,", "longest_diameter_mm")])
def test_literal_nan_is_refused(tmp_path, line, column):
    read = read_lesion_table(_table(tmp_path, [*ROWS[:3], line]))
    assert read.failed_patients == {"P2"} and read.failures[0].column == column


def test_nan_patient_id_is_refused(tmp_path):
    assert _read_error(_table(tmp_path, [*ROWS, "NaN,2024-01-01,L1,lung,30,"])).code == "table.missing_patient"


# -- tables: misspelt and unknown columns ----------------------------------------------------------------------

@pytest.mark.parametrize("column,intended", [("Status", "status"), ("statuss", "status"), ("slices", "n_slices"),
                                             ("Short Axis mm", "short_axis_mm"), ("volume_mm", "volume_mm3")])
def test_misspelt_column_is_an_error_naming_the_intended_one(tmp_path, column, intended):
    path = _table(tmp_path, [r + ",1" for r in ROWS], header=HEADER + f",{column}")
    result = _invoke(["evaluate", path, "--out", tmp_path / "out"])
    _assert_refused(result, "table.misspelt_column")
    assert f"'{intended}'" in result.output


def test_role_column_naming_no_criteria(tmp_path):
    path = _table(tmp_path, [r + ",target" for r in ROWS], header=HEADER + ",role_recist11")
    result = _invoke(["evaluate", path, "--out", tmp_path / "out"])
    _assert_refused(result, "table.misspelt_column")
    assert "role_recist1.1" in result.output


def test_unknown_column_is_a_warning(tmp_path):
    path = _table(tmp_path, [r + ",x" for r in ROWS], header=HEADER + ",reader_comment")
    result = respond.evaluate(path, criteria=["recist1.1"])
    warned = result.warnings[result.warnings["code"] == "unknown_column"]
    assert len(warned) == 1 and "reader_comment" in warned["message"].iloc[0]


def test_likely_column():
    known = ["status", "n_slices", "organ", "date"]
    assert likely_column("STATUS", known) == "status"
    assert likely_column("organs", known) == "organ"
    assert likely_column("comment", known) is None
    assert likely_column("site", known) is None


# -- tables that share no patient ids -------------------------------------------------------------------------------

def test_clinical_table_sharing_no_patient_is_refused(tmp_path):
    lesions = _table(tmp_path, ROWS)
    clinical = _table(tmp_path, ["p1,2024-01-01,4,stable", "p2,2024-01-01,4,stable"],
                      header="patient_id,date,steroid_dose_mg,clinical_status", name="clinical.csv")
    result = _invoke(["evaluate", lesions, "--clinical", clinical, "--out", tmp_path / "out"])
    _assert_refused(result, "table.no_matching_patients")
    assert "case" in result.output


def test_patients_table_with_some_stray_ids_warns(tmp_path):
    lesions = _table(tmp_path, ROWS)
    patients = _table(tmp_path, ["P1,2023-12-01,,", "p2,2023-12-01,,"],
                      header="patient_id,treatment_start,last_followup,death_date", name="patients.csv")
    result = respond.evaluate(lesions, patients=patients, criteria=["recist1.1"])
    warned = result.warnings[result.warnings["code"] == "unknown_patient"]
    assert len(warned) == 1 and "p2" in warned["message"].iloc[0]


def test_clinical_reader_refuses_literal_nan_status(tmp_path):
    path = _table(tmp_path, ["P1,2024-01-01,4,NaN"], header="patient_id,date,steroid_dose_mg,clinical_status")
    read = read_clinical_table(path)
    assert read.failed_patients == {"P1"} and read.failures[0].code == "table.literal_missing"



@pytest.mark.parametrize("args", [
    ["evaluate", "--sdtm", "{L}.csv", "tr.csv", "--out", "o"],
    ["evaluate", "{good}", "--clinical", "{L}.csv", "--out", "o"],
    ["evaluate", "{good}", "--patients", "{L}.csv", "--out", "o"],
    ["evaluate", "{good}", "--adjudications", "{L}.csv", "--out", "o"],
    ["track", "{L}.csv", "--out", "o"],
    ["assess", "{L}.csv", "--out", "o"],
    ["track", "{good}", "--out", "{L}"],
    ["assess", "{good}", "--out", "{L}"],
    ["export-sdtm", ".", "--out", "{L}"],
])
def test_overlong_names_on_every_command(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    good = _table(tmp_path, ROWS)
    result = _invoke([a.format(L=LONG, good=good) for a in args])
    _assert_refused(result, "path.too_long")


def test_sdtm_bookkeeping_columns_raise_no_unknown_column_warning(tmp_path):
    tu = tmp_path / "tu.csv"
    tr = tmp_path / "tr.csv"
    tu.write_text("STUDYID,DOMAIN,USUBJID,TULNKID,TULOC,TUSTRESC\nS,TU,S-1,T01,LUNG,TARGET\n")
    tr.write_text("STUDYID,DOMAIN,USUBJID,TRLNKID,TRTESTCD,TRSTRESC,TRSTRESN,TRSTRESU,TRDTC,VISITNUM\n"
                  "S,TR,S-1,T01,LDIAM,30,30,mm,2024-01-05,1\nS,TR,S-1,T01,LDIAM,20,20,mm,2024-03-05,2\n")
    result = respond.evaluate_sdtm(tu, tr, criteria=["recist1.1"])
    assert "unknown_column" not in set(result.warnings["code"])
    assert result.best_response["best_overall_response"].tolist() == ["PR"]


def test_summarize_refuses_a_patients_table_sharing_no_patient(tmp_path):
    lesions = _table(tmp_path, ROWS)
    assert _invoke(["evaluate", lesions, "--criteria", "recist1.1", "--out", tmp_path / "run"]).exit_code == 0
    patients = _table(tmp_path, ["p1,2023-12-01,,", "p2,2023-12-01,,"],
                      header="patient_id,treatment_start,last_followup,death_date", name="patients.csv")
    _assert_refused(_invoke(["summarize", tmp_path / "run", "--patients", patients]), "table.no_matching_patients")
