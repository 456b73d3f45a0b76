"""Criteria presets: YAML files in ``configs/`` → validated, frozen :class:`Criteria`.

A preset states every threshold of one set of response criteria (RECIST 1.1,
RANO-BM) with its source. One engine applies any preset; the differences
between criteria are data, not code. Users follow a protocol's variant by
passing their own YAML, which may ``extends:`` a preset and override a few keys.

Unknown keys, missing keys, wrong types and out-of-range values are errors
that name the file and the key.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Iterable, Mapping

import yaml

from respond.errors import ConfigError

#: Presets shipped with respond, by id.
PRESET_IDS: Final = ("recist1.1", "rano-bm")
#: Folder of the shipped presets (``configs/`` in the repository, linked into the package).
PRESET_DIR: Final = Path(__file__).resolve().parent / "presets"
#: The criteria evaluated when none are named.
DEFAULT_CRITERIA: Final = ("recist1.1", "rano-bm")


def _num(lo: float, hi: float, *, integer: bool = False, optional: bool = False) -> dict:
    return {"kind": "int" if integer else "num", "lo": lo, "hi": hi, "optional": optional}


def _choice(*values: str) -> dict:
    return {"kind": "choice", "values": values}


def _num_list(lo: float, hi: float) -> dict:
    return {"kind": "num_list", "lo": lo, "hi": hi}


_BOOL: Final = {"kind": "bool"}
_STR_LIST_OR_NULL: Final = {"kind": "str_list", "optional": True}
_STR_LIST: Final = {"kind": "str_list", "optional": False}
_STR_LIST_OR_EMPTY: Final = {"kind": "str_list", "optional": False, "empty_ok": True}


@dataclass(frozen=True)
class Scope:
    """Which organs the criteria assess (None = all) and how organ names are read.

    ``node_organs``: organs that are lymph nodes; besides, any organ whose name
    holds one of ``node_words`` (``mediastinal_lymph_node``, ``axillary_node``)
    is a node. ``side_words`` are dropped (``left_lung`` → ``lung``: paired
    organs count as one organ). ``organ_synonyms`` (``alias=organ``) and
    ``known_organs`` form the vocabulary; an organ outside it is warned about.
    ``organ_regions`` (``organ=region``) say which scan region shows an organ.
    """

    organs: tuple[str, ...] | None = field(metadata=_STR_LIST_OR_NULL)
    node_organs: tuple[str, ...] = field(metadata=_STR_LIST)
    node_words: tuple[str, ...] = field(default=("node", "nodes", "nodal", "lymph"), metadata=_STR_LIST)
    side_words: tuple[str, ...] = field(default=("left", "right", "bilateral", "l", "r"), metadata=_STR_LIST)
    organ_synonyms: tuple[str, ...] = field(default=(), metadata=_STR_LIST_OR_EMPTY)
    known_organs: tuple[str, ...] = field(default=(), metadata=_STR_LIST_OR_EMPTY)
    organ_regions: tuple[str, ...] = field(default=(), metadata=_STR_LIST_OR_EMPTY)


@dataclass(frozen=True)
class Measurability:
    """Baseline measurability limits (mm, slices)."""

    min_longest_diameter_mm: float = field(metadata=_num(0, 100))
    min_perpendicular_mm: float = field(metadata=_num(0, 100))
    min_slices: int = field(metadata=_num(1, 100, integer=True))
    node_target_min_short_axis_mm: float = field(metadata=_num(0, 100))
    node_normal_below_short_axis_mm: float = field(metadata=_num(0, 100))
    #: A node not pathological at baseline that reaches this short axis is an unequivocal new lesion
    #: (between the normal limit and this value: equivocal until a later scan confirms it).
    new_node_unequivocal_min_short_axis_mm: float = field(default=15.0, metadata=_num(0, 100))
    #: Slices thicker than this (mm) raise the minimum size of a measurable lesion ...
    thick_slice_above_mm: float = field(default=5.0, metadata=_num(0, 100))
    #: ... to this multiple of the slice thickness.
    thick_slice_min_multiple: float = field(default=2.0, metadata=_num(0, 100))


@dataclass(frozen=True)
class Targets:
    """Limits on the number of target lesions (total and per organ; None = no limit)."""

    max_total: int = field(metadata=_num(1, 50, integer=True))
    max_per_organ: int | None = field(metadata=_num(1, 50, integer=True, optional=True))
    #: Lesions treated before baseline: non_target (unless the reader chose them as targets,
    #: i.e. they progressed since treatment) or eligible like any other lesion.
    previously_treated: str = field(default="non_target", metadata=_choice("non_target", "eligible"))


@dataclass(frozen=True)
class Response:
    """Thresholds of the timepoint response (percent, mm)."""

    partial_response_decrease_pct: float = field(metadata=_num(0.0001, 100))
    progression_increase_pct: float = field(metadata=_num(0.0001, 1000))
    progression_absolute_mm: float = field(metadata=_num(0, 100))
    progression_absolute_applies_to: str = field(metadata=_choice("sum", "lesion"))
    too_small_default_mm: float = field(metadata=_num(0, 100))
    reappearance_after_cr_is_progression: bool = field(metadata=_BOOL)
    #: After a CR a non-target node has reappeared when it has unequivocally progressed
    #: (EORTC FAQ) or, the older reading, when its short axis is back at the pathological limit.
    non_target_node_reappearance: str = field(
        default="unequivocal_progression", metadata=_choice("unequivocal_progression", "pathological"))
    #: After a PR: continued (PR until PD is met, EORTC FAQ) or per_timepoint (RECIST Table 3 strictly).
    after_partial_response: str = field(default="continued", metadata=_choice("continued", "per_timepoint"))


@dataclass(frozen=True)
class BestResponse:
    """Rules of the best overall response (days)."""

    confirmation_required: bool = field(metadata=_BOOL)
    confirmation_min_interval_days: int = field(metadata=_num(0, 3650, integer=True))
    stable_disease_min_interval_days: int = field(metadata=_num(0, 3650, integer=True))


@dataclass(frozen=True)
class Visits:
    """How scans form timepoints and where the baseline is (days)."""

    #: Without a ``visit`` column, scans of a patient within this many days of the visit's first
    #: scan form one visit (0: each date is a visit).
    grouping_window_days: int = field(default=0, metadata=_num(0, 60, integer=True))
    #: A baseline more than this many days before the treatment start is warned about.
    max_baseline_before_treatment_days: int = field(default=28, metadata=_num(0, 3650, integer=True))


@dataclass(frozen=True)
class Clinical:
    """Use of corticosteroid dose and clinical status (RANO-BM); matching window (days)."""

    use_corticosteroids: bool = field(metadata=_BOOL)
    use_clinical_status: bool = field(metadata=_BOOL)
    match_window_days: int = field(metadata=_num(0, 365, integer=True))


@dataclass(frozen=True)
class Endpoints:
    """Definitions of the clinical endpoints (iPFS, local control, rates); see ``respond.endpoints``."""

    death_is_event: bool = field(metadata=_BOOL)
    rate_times_months: tuple[float, ...] = field(metadata=_num_list(0.0001, 600))
    confidence_level: float = field(metadata=_num(0.5, 0.999))
    response_population: str = field(metadata=_choice("measurable", "assessed"))
    treated_lesions: str = field(metadata=_choice("baseline", "targets", "column"))
    local_failure_increase_pct: float = field(metadata=_num(0, 1000))
    local_failure_absolute_mm: float = field(metadata=_num(0, 100))
    local_failure_requires_confirmation: bool = field(metadata=_BOOL)


_SECTIONS: Final = {
    "scope": Scope,
    "measurability": Measurability,
    "targets": Targets,
    "response": Response,
    "best_response": BestResponse,
    "clinical": Clinical,
    "endpoints": Endpoints,
    "visits": Visits,
}
_TOP_STRINGS: Final = ("id", "name", "version", "source")


@dataclass(frozen=True)
class Criteria:
    """One validated set of response criteria. Build it with :func:`load_criteria`."""

    id: str
    name: str
    version: str
    source: str
    scope: Scope
    measurability: Measurability
    targets: Targets
    response: Response
    best_response: BestResponse
    clinical: Clinical
    endpoints: Endpoints
    visits: Visits = Visits()
    origin: str = "<memory>"

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain data (what the hash is computed on)."""
        data = dataclasses.asdict(self)
        data.pop("origin")
        return json.loads(json.dumps(data))  # tuples → lists

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of the configuration (formatting-independent; computed once)."""
        canon = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def short_hash(self) -> str:
        """First 16 hex digits of :attr:`sha256`, written into every output row."""
        return self.sha256[:16]

    def in_scope(self, organ: str) -> bool:
        """True when lesions of ``organ`` (normalised) are assessed by these criteria."""
        return self.scope.organs is None or self.canonical_organ(organ) in self.scope.organs

    def is_node(self, organ: str) -> bool:
        """True when ``organ`` (normalised) marks a lymph node (a node organ, or a nodal location)."""
        return self.canonical_organ(organ) == self.scope.node_organs[0]

    def canonical_organ(self, organ: str) -> str:
        """The organ as RECIST counts organs: side words dropped, synonyms resolved, every node one organ.

        ``left_lung`` → ``lung``; ``mediastinal_lymph_node`` → ``lymph_node``; ``cerebellum`` → ``brain``
        (with the preset's synonyms).
        """
        memo = self._canonical_organs
        if organ not in memo:
            memo[organ] = _canonical_organ(self.scope, organ)
        return memo[organ]

    @functools.cached_property
    def _canonical_organs(self) -> dict[str, str]:
        """Organ name → canonical organ, filled as names are met (hashing ``scope`` per call costs more)."""
        return {}

    @functools.cached_property
    def _organ_regions(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.scope.organ_regions)

    def is_known_organ(self, organ: str) -> bool:
        """True when ``organ`` is in the preset's vocabulary (always true without a vocabulary)."""
        s = self.scope
        if not s.known_organs:
            return True
        canonical = self.canonical_organ(organ)
        return canonical in s.known_organs or canonical in s.node_organs or canonical in (s.organs or ())

    def region_of(self, organ: str) -> str | None:
        """Scan region that shows ``organ`` (``brain``, ``chest`` …; None when the preset does not say)."""
        regions = self._organ_regions
        canonical = self.canonical_organ(organ)
        return regions.get(canonical, regions.get(normalise_organ(organ)))


@functools.lru_cache(maxsize=4096)
def _canonical_organ(scope: Scope, organ: str) -> str:
    name = normalise_organ(organ)
    if name in scope.node_organs:
        return scope.node_organs[0]
    synonyms = dict(item.split("=", 1) for item in scope.organ_synonyms)
    if name in synonyms:
        return synonyms[name]
    words = name.split("_")
    if any(w in scope.node_words for w in words):
        return scope.node_organs[0]
    kept = [w for w in words if w not in scope.side_words] or words
    name = "_".join(kept)
    return synonyms.get(name, name)


def normalise_organ(organ: str) -> str:
    """Organ names compare case-, space- and hyphen-insensitively: ``Lymph node`` → ``lymph_node``."""
    return "_".join(str(organ).strip().lower().replace("-", " ").split())


def preset_path(preset_id: str) -> Path:
    """Path of a shipped preset YAML by id (``recist1.1``, ``rano-bm``)."""
    if preset_id not in PRESET_IDS:
        raise ConfigError(
            f"unknown criteria {preset_id!r}; presets are {', '.join(PRESET_IDS)}, "
            "or pass your own YAML file",
            code="config.unknown_preset",
            value=preset_id,
        )
    return PRESET_DIR / f"{preset_id}.yaml"


def load_criteria(source: str | Path | Mapping[str, Any] | Criteria) -> Criteria:
    """Load and validate criteria from a preset id, a YAML path or a mapping.

    A YAML document may contain ``extends: <preset id or path>``: its keys are
    then merged over that base (section by section).
    """
    if isinstance(source, Criteria):
        return source
    if isinstance(source, Mapping):
        return _build(dict(source), origin="<mapping>")
    text = str(source)
    path = preset_path(text) if text in PRESET_IDS else Path(text)
    return _build(_read_yaml(path), origin=str(path))


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            "criteria file not found; give a preset id "
            f"({', '.join(PRESET_IDS)}) or the path of a YAML file",
            code="config.not_found",
            file=str(path),
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", code="config.yaml", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys at the top level", code="config.shape", file=str(path))
    return data


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _build(data: dict[str, Any], *, origin: str) -> Criteria:
    data = dict(data)
    parent = data.pop("extends", None)
    if parent is not None:
        base_path = preset_path(parent) if parent in PRESET_IDS else Path(origin).parent / str(parent)
        base = _read_yaml(base_path)
        base.pop("extends", None)
        data = _deep_merge(base, data)
    known = set(_TOP_STRINGS) | set(_SECTIONS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}",
            code="config.unknown_key",
            file=origin,
            value=unknown,
        )
    kwargs: dict[str, Any] = {}
    for key in _TOP_STRINGS:
        value = data.get(key)
        if not isinstance(value, (str, int, float)) or str(value).strip() == "":
            raise ConfigError(f"'{key}' is required and must be a text", code="config.missing_key", file=origin)
        kwargs[key] = str(value).strip()
    for name, cls in _SECTIONS.items():
        kwargs[name] = _build_section(cls, name, data.get(name), origin)
    criteria = Criteria(**kwargs, origin=origin)
    _check_consistency(criteria)
    return criteria


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING


def _build_section(cls: type, name: str, section: Any, origin: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if section is None and all(_has_default(f) for f in fields.values()):
        return cls()  # a section added later: files written before it keep working
    if not isinstance(section, Mapping):
        raise ConfigError(f"section '{name}' is required and must be a mapping", code="config.missing_key", file=origin)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}; "
            f"allowed in '{name}': {', '.join(fields)}",
            code="config.unknown_key",
            file=origin,
            value=unknown,
        )
    values = {}
    for fname, f in fields.items():
        key = f"{name}.{fname}"
        if fname not in section and _has_default(f):
            values[fname] = f.default  # a key added later: files written before it keep working
            continue
        if fname not in section:
            raise ConfigError(f"'{key}' is missing", code="config.missing_key", file=origin)
        values[fname] = _check_value(key, section[fname], f.metadata, origin)
    return cls(**values)


def _check_value(key: str, value: Any, rule: Mapping[str, Any], origin: str) -> Any:
    kind = rule["kind"]

    def bad(why: str) -> ConfigError:
        return ConfigError(f"'{key}' = {value!r}: {why}", code="config.bad_value", file=origin, value=value)

    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if kind == "choice":
        if value not in rule["values"]:
            raise bad(f"must be one of {', '.join(rule['values'])}")
        return value
    if kind == "str_list":
        if value is None and rule["optional"]:
            return None
        if rule.get("empty_ok") and isinstance(value, list) and not value:
            return ()
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise bad("must be a non-empty list of organ names" + (" or null" if rule["optional"] else ""))
        if any("=" in v for v in value):
            pairs = [v.split("=", 1) for v in value]
            if not all(len(p) == 2 and p[0].strip() and p[1].strip() for p in pairs):
                raise bad("each entry must read 'name=organ'")
            return tuple(f"{normalise_organ(a)}={normalise_organ(b)}" for a, b in pairs)
        return tuple(normalise_organ(v) for v in value)
    if kind == "num_list":
        ok = isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and rule["lo"] <= v <= rule["hi"]
            for v in value)
        if not ok:
            raise bad(f"must be a non-empty list of numbers between {rule['lo']} and {rule['hi']}")
        if len(set(value)) != len(value):
            raise bad("must not repeat a value")
        return tuple(sorted(float(v) for v in value))
    # numbers
    if value is None and rule["optional"]:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad("must be a number" + (" or null" if rule["optional"] else ""))
    if kind == "int" and value != int(value):
        raise bad("must be a whole number")
    if not (rule["lo"] <= value <= rule["hi"]):
        raise bad(f"must be between {rule['lo']} and {rule['hi']}")
    return int(value) if kind == "int" else float(value)


def _check_consistency(c: Criteria) -> None:
    m = c.measurability
    if m.node_normal_below_short_axis_mm > m.node_target_min_short_axis_mm:
        raise ConfigError(
            "'measurability.node_normal_below_short_axis_mm' "
            f"({m.node_normal_below_short_axis_mm}) must not exceed "
            f"'measurability.node_target_min_short_axis_mm' ({m.node_target_min_short_axis_mm})",
            code="config.bad_value",
            file=c.origin,
        )
    if c.targets.max_per_organ is not None and c.targets.max_per_organ > c.targets.max_total:
        raise ConfigError(
            f"'targets.max_per_organ' ({c.targets.max_per_organ}) must not exceed "
            f"'targets.max_total' ({c.targets.max_total})",
            code="config.bad_value",
            file=c.origin,
        )


#: A criteria given by preset id, YAML path or as a loaded object.
CriteriaSpec = str | Path | Criteria


def resolve_criteria(criteria: Iterable[CriteriaSpec] | CriteriaSpec | None,
                     config: Iterable[CriteriaSpec] | CriteriaSpec | None = None) -> list[Criteria]:
    """The criteria of a run: ``criteria`` then ``config`` (each one or several), loaded and checked.

    Both presets (:data:`DEFAULT_CRITERIA`) when neither is given. Two criteria
    with the same ``id`` are an error (their output rows could not be told apart).
    """
    def as_list(x: Any) -> list:
        if x is None:
            return []
        if isinstance(x, (str, Path, Criteria)):
            return [x]
        return list(x)

    specs = as_list(criteria) + as_list(config)
    if not specs:
        specs = list(DEFAULT_CRITERIA)
    loaded = [load_criteria(s) for s in specs]
    ids = [c.id for c in loaded]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"criteria id(s) {', '.join(dup)} given twice; give each criteria a distinct 'id'",
                          code="config.duplicate_id")
    return loaded
