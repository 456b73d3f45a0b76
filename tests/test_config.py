"""Criteria presets: every threshold present, unknown keys and bad values refused."""
from __future__ import annotations

import pytest
import yaml

from respond.config import PRESET_DIR, load_criteria, preset_path
from respond.errors import ConfigError


def test_presets_carry_source_and_the_published_thresholds():
    recist = load_criteria("recist1.1")
    assert "Eisenhauer" in recist.source and recist.version == "1.1"
    assert (recist.targets.max_total, recist.targets.max_per_organ) == (5, 2)
    assert recist.measurability.min_longest_diameter_mm == 10
    assert recist.measurability.node_target_min_short_axis_mm == 15
    assert recist.measurability.node_normal_below_short_axis_mm == 10
    assert recist.response.progression_absolute_applies_to == "sum"
    assert recist.response.too_small_default_mm == 5
    assert recist.best_response.confirmation_required is False
    rano = load_criteria("rano-bm")
    assert "Lin" in rano.source and rano.scope.organs == ("brain",)
    assert (rano.targets.max_total, rano.targets.max_per_organ) == (5, None)
    assert (rano.measurability.min_perpendicular_mm, rano.measurability.min_slices) == (5, 2)
    assert rano.response.progression_absolute_applies_to == "lesion"
    assert rano.best_response.confirmation_required is True
    assert rano.best_response.confirmation_min_interval_days == 28
    assert rano.clinical.use_corticosteroids and rano.clinical.use_clinical_status


def _write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _preset(preset_id="recist1.1"):
    return yaml.safe_load((PRESET_DIR / f"{preset_id}.yaml").read_text(encoding="utf-8"))


def test_unknown_top_level_key_is_an_error(tmp_path):
    data = _preset() | {"tresholds": {}}
    with pytest.raises(ConfigError, match="unknown key.*tresholds") as err:
        load_criteria(_write(tmp_path, data))
    assert err.value.code == "config.unknown_key" and "c.yaml" in str(err.value)


def test_unknown_section_key_is_an_error(tmp_path):
    data = _preset()
    data["response"]["pd_increase"] = 20
    with pytest.raises(ConfigError, match="response.pd_increase"):
        load_criteria(_write(tmp_path, data))


@pytest.mark.parametrize("section,key,value,match", [
    ("response", "progression_increase_pct", -5, "between"),
    ("targets", "max_total", 2.5, "whole number"),
    ("response", "progression_absolute_applies_to", "median", "one of sum, lesion"),
    ("best_response", "confirmation_required", "yes", "true or false"),
    ("measurability", "min_longest_diameter_mm", "ten", "must be a number"),
    ("scope", "organs", [], "non-empty list"),
])
def test_out_of_range_or_wrong_type_is_an_error(tmp_path, section, key, value, match):
    data = _preset()
    data[section][key] = value
    with pytest.raises(ConfigError, match=match):
        load_criteria(_write(tmp_path, data))


def test_missing_key_is_an_error(tmp_path):
    data = _preset()
    del data["best_response"]["stable_disease_min_interval_days"]
    with pytest.raises(ConfigError, match="stable_disease_min_interval_days' is missing"):
        load_criteria(_write(tmp_path, data))


def test_inconsistent_limits_are_an_error(tmp_path):
    data = _preset()
    data["targets"]["max_per_organ"] = 6
    with pytest.raises(ConfigError, match="max_per_organ"):
        load_criteria(_write(tmp_path, data))


def test_extends_overrides_a_few_keys_and_changes_the_hash(tmp_path):
    path = _write(tmp_path, {"extends": "recist1.1", "id": "recist1.1-confirmed",
                             "best_response": {"confirmation_required": True}})
    variant = load_criteria(path)
    base = load_criteria("recist1.1")
    assert variant.best_response.confirmation_required is True
    assert variant.targets == base.targets and variant.id == "recist1.1-confirmed"
    assert variant.sha256 != base.sha256


def test_hash_ignores_formatting(tmp_path):
    text = (PRESET_DIR / "rano-bm.yaml").read_text(encoding="utf-8")
    reformatted = yaml.safe_dump(yaml.safe_load(text), default_flow_style=True)
    (tmp_path / "r.yaml").write_text("# a comment\n" + reformatted)
    assert load_criteria(tmp_path / "r.yaml").sha256 == load_criteria("rano-bm").sha256


def test_unknown_preset_and_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_criteria("recist1.2")
    with pytest.raises(ConfigError, match="not found"):
        load_criteria({"extends": "recist2", "id": "x"})
    with pytest.raises(ConfigError, match="unknown criteria 'recist2'"):
        preset_path("recist2")


def test_protocol_variant_changes_the_result(tmp_path):
    import pandas as pd

    import respond
    lesions = pd.DataFrame([
        {"patient_id": "P", "date": d, "lesion_id": "L1", "organ": "lung", "longest_diameter_mm": ld}
        for d, ld in [("2024-01-01", 30), ("2024-03-01", 15), ("2024-05-01", 25)]])
    variant = _write(tmp_path, {"extends": "recist1.1", "id": "recist1.1-confirmed",
                                "best_response": {"confirmation_required": True}})
    r = respond.evaluate(lesions, criteria=["recist1.1"], config=[variant])
    got = dict(zip(r.best_response.criteria, r.best_response.best_overall_response))
    assert got == {"recist1.1": "PR", "recist1.1-confirmed": "SD"}
