"""Property-based bad-input suite: mutated criteria presets.

Every mutation ends in a valid :class:`Criteria` or a ConfigError with a code,
within the watchdog; a value that is accepted is used exactly as written (no
silent coercion); a variant that changes a shipped preset's rules under its
id is refused; damaged YAML text never ends in a traceback.
"""
from __future__ import annotations

import math

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import call_api, fuzz_settings, run_cli
from respond.cli import main
from respond.config import PRESET_DIR, Criteria, load_criteria
from respond.errors import ConfigError

BASE = yaml.safe_load((PRESET_DIR / "recist1.1.yaml").read_text(encoding="utf-8"))
SETTINGS = [(section, key) for section, values in BASE.items() if isinstance(values, dict) for key in values]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=12)


def _write(tmp_path, text: str | bytes, name: str = "variant.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _numeric_equal(given, used) -> bool:
    if isinstance(given, list):
        return isinstance(used, list) and sorted(given) == sorted(used)
    if isinstance(given, (int, float)) and not isinstance(given, bool):
        return isinstance(used, (int, float)) and math.isclose(given, used)
    return given == used


@fuzz_settings(60)
@given(setting=st.sampled_from(SETTINGS), value=values)
def test_any_value_is_used_exactly_or_refused(tmp_path, setting, value):
    section, key = setting
    variant = {"extends": "recist1.1", "id": "variant", section: {key: value}}
    result = call_api(load_criteria, _write(tmp_path, yaml.safe_dump(variant)), expected=(ConfigError,))
    if isinstance(result, Criteria):
        used = result.as_dict()[section][key]
        assert _numeric_equal(value, used) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)), (value, used)


@fuzz_settings(25)
@given(setting=st.sampled_from(SETTINGS), value=values,
       spelled=st.sampled_from(["recist1.1", "RECIST1.1", "Recist1.1"]))
def test_a_changed_variant_may_not_keep_the_shipped_id(tmp_path, setting, value, spelled):
    section, key = setting
    variant = {"extends": "recist1.1", "id": spelled, section: {key: value}}
    result = call_api(load_criteria, _write(tmp_path, yaml.safe_dump(variant)), expected=(ConfigError,))
    if isinstance(result, Criteria):  # accepted only when the rules are the shipped ones
        assert result.as_dict()[section] == load_criteria("recist1.1").as_dict()[section]


@fuzz_settings(60)
@given(edits=st.lists(st.tuples(st.integers(0, 5000), st.binary(max_size=4), st.integers(0, 4)),
                      min_size=1, max_size=8))
def test_damaged_yaml_text_never_ends_in_a_traceback(tmp_path, edits):
    data = bytearray((PRESET_DIR / "rano-bm.yaml").read_bytes())
    for position, replacement, length in edits:
        at = position % (len(data) + 1)
        data[at:at + length] = replacement
    call_api(load_criteria, _write(tmp_path, bytes(data)), expected=(ConfigError,))


yaml_fragments = st.sampled_from([
    "&a [1, 2]", "*a", "!!python/object:os.system 'x'", "[" * 60 + "]" * 60, "{1: 2}", "? [a]\n: b",
    "<<: *a", "!!binary aGVsbG8=", ".inf", ".nan", "0x1F", "1_000", "2024-01-01", "~", "'", "\t", "é",
])


@fuzz_settings(40)
@given(setting=st.sampled_from(SETTINGS), fragment=yaml_fragments, repeat=st.booleans())
def test_yaml_features_in_a_setting(tmp_path, setting, fragment, repeat):
    section, key = setting
    text = f"extends: recist1.1\nid: variant\n{section}:\n  {key}: {fragment}\n"
    if repeat:
        text += f"  {key}: {fragment}\n"
    result = call_api(load_criteria, _write(tmp_path, text), expected=(ConfigError,))
    if repeat:
        assert isinstance(result, ConfigError)


@fuzz_settings(8)
@given(fragment=yaml_fragments)
def test_cli_config_errors_exit_2(tmp_path, fragment):
    lesions = tmp_path / "lesions.csv"
    lesions.write_text("patient_id,date,lesion_id,organ,longest_diameter_mm\nP1,2024-01-01,L1,lung,30\n"
                       "P1,2024-03-01,L1,lung,20\n")
    config = _write(tmp_path, f"extends: recist1.1\nid: variant\nresponse:\n  progression_increase_pct: {fragment}\n")
    outcome = run_cli(main, ["evaluate", lesions, "--config", config, "--out", tmp_path / "out"], tmp_path / "out")
    assert outcome.exit_code in (0, 2)
