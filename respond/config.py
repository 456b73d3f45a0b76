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
import errno
import functools
import hashlib
import json
import math
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
#: Largest preset file read (bytes); a preset is a page of text.
MAX_PRESET_BYTES: Final = 1 << 20
#: Deepest nesting of mappings and lists accepted in a preset (the presets use 2).
MAX_PRESET_DEPTH: Final = 20
#: Characters of a value quoted in a message (the rest is elided).
MAX_SHOWN_CHARS: Final = 120


def _shown(value: Any) -> str:
    """``repr(value)`` cut to :data:`MAX_SHOWN_CHARS` characters, computed without expanding huge values."""
    try:
        text = reprlib_repr(value)
    except Exception:  # noqa: BLE001 - a message must never fail
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "…"


def reprlib_repr(value: Any) -> str:
    """A bounded repr: long lists, mappings and texts are abbreviated (``...``)."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxstring, short.maxother = 3, 6, 6, 80, 80
    return short.repr(value)


class _PresetLoader(yaml.SafeLoader):
    """YAML's safe loader, stricter: no anchors or aliases, no repeated or non-text keys, bounded depth.

    Aliases let a few hundred bytes expand to gigabytes (the "billion laughs");
    presets are short and never need them. A repeated key would silently keep
    its last value.
    """

    def __init__(self, stream: str, origin: str) -> None:
        super().__init__(stream)
        self.origin = origin
        self.depth = 0

    def _refuse(self, message: str, mark: Any, code: str) -> ConfigError:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return ConfigError(message + where, code=code, file=self.origin)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise self._refuse("anchors and aliases (&name, *name) are not accepted in criteria files; "
                               "write each value out", event.start_mark, "config.yaml_alias")
        self.depth += 1
        if self.depth > MAX_PRESET_DEPTH:
            raise self._refuse(f"nested deeper than {MAX_PRESET_DEPTH} levels; a criteria file has sections of "
                               "keys, not deep structures", event.start_mark, "config.too_deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise self._refuse(f"key {_shown(key)} is not a text; keys are names such as 'response'",
                                   key_node.start_mark, "config.bad_key")
            if key in seen:
                raise self._refuse(f"key '{_shown(key)[1:-1]}' is repeated (first at line {seen[key].line + 1}); "
                                   "YAML would silently keep the last value: keep one",
                                   key_node.start_mark, "config.duplicate_key")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, origin: str) -> Any:
    loader = _PresetLoader(text, origin)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


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
            f"unknown criteria {_shown(preset_id)}; presets are {', '.join(PRESET_IDS)}, "
            "or pass your own YAML file",
            code="config.unknown_preset",
            value=_shown(preset_id),
        )
    return PRESET_DIR / f"{preset_id}.yaml"


def load_criteria(source: str | Path | Mapping[str, Any] | Criteria) -> Criteria:
    """Load and validate criteria from a preset id (any case), a YAML path or a mapping.

    A YAML document may contain ``extends: <preset id or path>``: its keys are
    then merged over that base (section by section).
    """
    if isinstance(source, Criteria):
        return source
    if isinstance(source, Mapping):
        return _build(dict(source), origin="<mapping>")
    text = str(source)
    preset = text.strip().lower()  # preset ids are case-insensitive: RECIST1.1, Rano-BM
    path = preset_path(preset) if preset in PRESET_IDS else Path(text)
    return _build(_read_yaml(path), origin=str(path))


def _is_criteria_file(path: Path) -> bool:
    """``Path.is_file`` that raises :class:`ConfigError` instead of an OSError (e.g. a name over 255 bytes).

    The same codes as :mod:`respond.io.paths` (``path.too_long``, ``path.inaccessible``), which the
    other readers use; config is core and does not import io.
    """
    try:
        return path.is_file()
    except OSError as exc:
        text = str(path)
        shown = text if len(text) <= 200 else f"{text[:100]}…({len(text) - 200} characters)…{text[-100:]}"
        if exc.errno == errno.ENAMETOOLONG:
            raise ConfigError("criteria file name is too long for the file system; shorten it",
                              code="path.too_long", file=shown) from None
        raise ConfigError(f"cannot access the criteria file ({exc.strerror})", code="path.inaccessible",
                          file=shown) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not _is_criteria_file(path):
        raise ConfigError(
            "criteria file not found; give a preset id "
            f"({', '.join(PRESET_IDS)}) or the path of a YAML file",
            code="config.not_found",
            file=str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file ({exc.strerror})", code="config.unreadable", file=str(path)) from None
    if len(raw) > MAX_PRESET_BYTES:
        raise ConfigError(f"file is {len(raw)} bytes; a criteria file is at most {MAX_PRESET_BYTES}",
                          code="config.too_large", file=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"byte {exc.start} is not UTF-8; save the file as UTF-8 text",
                          code="config.encoding", file=str(path)) from None
    try:
        data = _parse_yaml(text, str(path))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {_cap(str(exc), 400)}", code="config.yaml", file=str(path)) from None
    except RecursionError:
        raise ConfigError("nested too deeply to read", code="config.too_deep", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys at the top level", code="config.shape", file=str(path))
    return data


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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
    _check_keys(data, origin)
    known = set(_TOP_STRINGS) | set(_SECTIONS)
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {_cap(', '.join(unknown), 400)}; allowed: {', '.join(sorted(known))}",
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
    _check_reserved_id(criteria)
    return criteria


def _check_keys(data: Mapping[Any, Any], origin: str) -> None:
    """Keys of a mapping given from Python must be texts, as in a YAML file."""
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(f"key {_shown(key)} is not a text", code="config.bad_key", file=origin)
        if isinstance(value, Mapping):
            _check_keys(value, origin)


@functools.lru_cache(maxsize=None)
def _shipped_rules(preset_id: str) -> str:
    """Canonical JSON of a shipped preset's rules (its sections, without id, name, version, source)."""
    shipped = _build(_read_yaml(preset_path(preset_id)), origin=str(preset_path(preset_id)))
    return json.dumps({k: v for k, v in shipped.as_dict().items() if k in _SECTIONS}, sort_keys=True)


def _check_reserved_id(c: Criteria) -> None:
    """A variant file that changes a shipped preset's rules must take its own id (outputs are keyed by id).

    Mappings built in Python (e.g. ``respond summarize``'s endpoint options over a preset) are exempt:
    they are run options, recorded with the configuration hash in ``run.json``.
    """
    reserved = next((p for p in PRESET_IDS if p.lower() == c.id.lower()), None)
    if reserved is None or c.origin.startswith("<"):  # mappings: run options applied from Python / the CLI
        return
    if Path(c.origin).resolve() == preset_path(reserved).resolve():
        return
    rules = json.dumps({k: v for k, v in c.as_dict().items() if k in _SECTIONS}, sort_keys=True)
    if rules != _shipped_rules(reserved):
        raise ConfigError(
            f"id '{c.id}' is the id of the shipped {reserved} preset but the rules differ from it; "
            "give the variant its own id (e.g. 'recist1.1-protocol-x') so that its results are not "
            f"mistaken for {reserved}'s",
            code="config.reserved_id", file=c.origin, value=c.id)


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING


def _build_section(cls: type, name: str, section: Any, origin: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if section is None and all(_has_default(f) for f in fields.values()):
        return cls()  # a section added later: files written before it keep working
    if not isinstance(section, Mapping):
        raise ConfigError(f"section '{name}' is required and must be a mapping", code="config.missing_key", file=origin)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in section if k not in fields)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {_cap(', '.join(f'{name}.{k}' for k in unknown), 400)}; "
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
        return ConfigError(f"'{key}' = {_shown(value)}: {why}", code="config.bad_value", file=origin,
                           value=_shown(value))

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
        ok = isinstance(value, list) and 0 < len(value) <= 100 and all(
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
    if isinstance(value, float) and not math.isfinite(value):
        raise bad("must be a finite number")
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
