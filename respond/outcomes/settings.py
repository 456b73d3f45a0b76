"""The outcomes preset (``configs/outcomes.yaml``) → a validated, frozen :class:`OutcomeSettings`.

Unknown keys, wrong types and out-of-range values are :class:`~respond.errors.ConfigError`
naming the file and the key. A user file may ``extends: outcomes`` (or a path) and
override keys section by section, like the criteria presets.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Mapping

import yaml

from respond.config import PRESET_DIR
from respond.errors import ConfigError

#: The shipped preset.
OUTCOMES_PRESET: Final = PRESET_DIR / "outcomes.yaml"
#: Endpoints respond.outcomes knows.
ENDPOINTS: Final = ("os", "css", "ipfs", "local_control")
#: Dichotomised patient covariates (column names of ``patient_covariates``).
PATIENT_COVARIATES: Final = ("sex_male", "age_ge_60", "kps_lt_70", "extracranial_metastases",
                             "multiple_brain_metastases", "lung_primary", "gtv_ge_10cm3")
#: Numeric lesion covariates of the lesion-level local-control models.
LESION_COVARIATES: Final = ("bed_gy", "lesion_volume_cm3")
#: Prognostic indices, in report order.
INDEX_NAMES: Final = ("rpa", "gpa", "sir", "bsbm", "ggs")

_TOP: Final = {"id", "name", "version", "source", "rate_times_months", "confidence_level", "endpoints",
               "css_unknown_cause", "covariates", "models", "groupings", "dose", "extends"}
_COVARIATE_KEYS: Final = {"age_ge_60", "kps_lt_70", "gtv_ge_10cm3", "multiple_brain_metastases", "lung_sites"}
_MODEL_KEYS: Final = {"univariate", "multivariate", "lesion", "ph_alpha"}


@dataclass(frozen=True)
class OutcomeSettings:
    """Every choice of the study outcomes, with the preset's values by default."""

    rate_times_months: tuple[float, ...]
    confidence_level: float
    endpoints: tuple[str, ...]
    css_unknown_cause: str
    age_cut_years: float
    kps_cut: float
    gtv_cut_cm3: float
    multiple_cut: int
    lung_sites: tuple[str, ...]
    univariate: tuple[str, ...]
    multivariate: tuple[str, ...]
    lesion_models: tuple[str, ...]
    ph_alpha: float
    groupings: Mapping[str, tuple[tuple[str, tuple], ...]]
    alpha_beta_gy: float
    origin: str = "<memory>"

    @property
    def short_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the settings (without ``origin``)."""
        data = {k: v for k, v in self.__dict__.items() if k != "origin"}
        canon = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    def with_covariates(self, univariate: tuple[str, ...] | None = None,
                        multivariate: tuple[str, ...] | None = None) -> "OutcomeSettings":
        """A copy with other covariate lists (each name checked)."""
        data = dict(self.__dict__)
        if univariate is not None:
            data["univariate"] = _covariate_list(list(univariate), "models.univariate", self.origin)
        if multivariate is not None:
            data["multivariate"] = _covariate_list(list(multivariate), "models.multivariate", self.origin)
        return OutcomeSettings(**data)


def _fail(message: str, key: str, origin: str, value: Any = None) -> ConfigError:
    return ConfigError(f"{key}: {message}", code="config.invalid", file=origin, column=key, value=value)


def _number(data: Mapping, key: str, origin: str, lo: float, hi: float, path: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"must be a number, got {value!r}", path, origin, value)
    if not lo <= value <= hi:
        raise _fail(f"must be between {lo:g} and {hi:g}, got {value!r}", path, origin, value)
    return float(value)


def _covariate_list(values: Any, key: str, origin: str) -> tuple[str, ...]:
    known = PATIENT_COVARIATES if key != "models.lesion" else LESION_COVARIATES
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _fail(f"must be a list of covariate names, got {values!r}", key, origin, values)
    unknown = [v for v in values if v not in known]
    if unknown:
        raise _fail(f"unknown covariate(s) {', '.join(unknown)}; known: {', '.join(known)}", key, origin, unknown)
    return tuple(values)


def _unknown(data: Mapping, allowed: set, prefix: str, origin: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise _fail(f"unknown key(s) {', '.join(extra)}", prefix + extra[0], origin, extra[0])


def _groupings(data: Any, origin: str) -> dict[str, tuple[tuple[str, tuple], ...]]:
    if not isinstance(data, Mapping) or set(data) != set(INDEX_NAMES):
        raise _fail(f"must map each of {', '.join(INDEX_NAMES)} to its groups", "groupings", origin, data)
    out = {}
    for index, groups in data.items():
        if not isinstance(groups, Mapping) or not groups:
            raise _fail("must map group labels to lists of scores", f"groupings.{index}", origin, groups)
        seen: set = set()
        parsed = []
        for label, members in groups.items():
            if not isinstance(members, list) or not members:
                raise _fail("must be a list of scores", f"groupings.{index}.{label}", origin, members)
            members = tuple(str(m) if index == "rpa" else float(m) for m in members)
            if seen & set(members):
                raise _fail(f"a score is in two groups ({sorted(seen & set(members))})",
                            f"groupings.{index}.{label}", origin, members)
            seen |= set(members)
            parsed.append((str(label), members))
        out[index] = tuple(parsed)
    return out


def _merge(base: dict, override: Mapping) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict) and key != "groupings":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError("outcomes configuration not found; check the path", code="config.not_found",
                          file=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({exc})", code="config.yaml", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("must be a YAML mapping", code="config.invalid", file=str(path))
    if "extends" in data:
        parent = data.pop("extends")
        base_path = OUTCOMES_PRESET if parent == "outcomes" else (path.parent / str(parent))
        data = _merge(_read_yaml(base_path), data)
    return data


def load_outcome_settings(source: str | Path | Mapping[str, Any] | OutcomeSettings | None = None
                          ) -> OutcomeSettings:
    """Settings from the shipped preset (None or ``"outcomes"``), a YAML path or a mapping."""
    if isinstance(source, OutcomeSettings):
        return source
    if source is None or source == "outcomes":
        data, origin = _read_yaml(OUTCOMES_PRESET), str(OUTCOMES_PRESET)
    elif isinstance(source, Mapping):
        data, origin = dict(source), "<mapping>"
        if "extends" in data:
            data.pop("extends")
            data = _merge(_read_yaml(OUTCOMES_PRESET), data)
    else:
        data, origin = _read_yaml(Path(source)), str(source)
    return _build(data, origin)


def _build(data: Mapping, origin: str) -> OutcomeSettings:
    _unknown(data, _TOP, "", origin)
    times = data.get("rate_times_months")
    if not isinstance(times, list) or not times:
        raise _fail("must be a list of months", "rate_times_months", origin, times)
    for t in times:
        _number({"t": t}, "t", origin, 0.0001, 600, "rate_times_months")
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, list) or not set(endpoints) <= set(ENDPOINTS):
        raise _fail(f"must be a list of {', '.join(ENDPOINTS)}", "endpoints", origin, endpoints)
    if data.get("css_unknown_cause") not in ("event", "censor"):
        raise _fail("must be event or censor", "css_unknown_cause", origin, data.get("css_unknown_cause"))
    cov, models, dose = data.get("covariates") or {}, data.get("models") or {}, data.get("dose") or {}
    _unknown(cov, _COVARIATE_KEYS, "covariates.", origin)
    _unknown(models, _MODEL_KEYS, "models.", origin)
    _unknown(dose, {"alpha_beta_gy"}, "dose.", origin)
    lung = cov.get("lung_sites")
    if not isinstance(lung, list) or not all(isinstance(s, str) for s in lung):
        raise _fail("must be a list of primary sites", "covariates.lung_sites", origin, lung)
    return OutcomeSettings(
        rate_times_months=tuple(float(t) for t in times),
        confidence_level=_number(data, "confidence_level", origin, 0.5, 0.999, "confidence_level"),
        endpoints=tuple(endpoints), css_unknown_cause=data["css_unknown_cause"],
        age_cut_years=_number(cov, "age_ge_60", origin, 0, 120, "covariates.age_ge_60"),
        kps_cut=_number(cov, "kps_lt_70", origin, 0, 100, "covariates.kps_lt_70"),
        gtv_cut_cm3=_number(cov, "gtv_ge_10cm3", origin, 0, 10000, "covariates.gtv_ge_10cm3"),
        multiple_cut=int(_number(cov, "multiple_brain_metastases", origin, 2, 100,
                                 "covariates.multiple_brain_metastases")),
        lung_sites=tuple(s.strip().lower() for s in lung),
        univariate=_covariate_list(models.get("univariate"), "models.univariate", origin),
        multivariate=_covariate_list(models.get("multivariate"), "models.multivariate", origin),
        lesion_models=_covariate_list(models.get("lesion"), "models.lesion", origin),
        ph_alpha=_number(models, "ph_alpha", origin, 0, 1, "models.ph_alpha"),
        groupings=_groupings(data.get("groupings"), origin),
        alpha_beta_gy=_number(dose, "alpha_beta_gy", origin, 0.1, 100, "dose.alpha_beta_gy"),
        origin=origin,
    )
