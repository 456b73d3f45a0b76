"""Prognostic indices of patients with brain metastases, with every component shown.

Each index is computed from the patients table (age, KPS, primary control,
extracranial metastases, systemic status) and the imaging covariates measured
by respond at the patient's baseline scan (number of CNS lesions, largest CNS
lesion volume). Ages are taken in completed years (``floor(age_years)``), as
the papers' integer categories assume. The points tables are those of the
original papers:

- **RPA** — Gaspar L, Scott C, Rotman M, et al. Recursive partitioning analysis
  (RPA) of prognostic factors in three RTOG brain metastases trials. Int J Radiat
  Oncol Biol Phys 1997;37(4):745-751. Class I: KPS ≥ 70, age < 65, controlled
  primary and no extracranial metastases; class III: KPS < 70; class II: all
  others. A class is given whenever the known inputs decide it (KPS < 70 is
  class III whatever else is missing).
- **GPA** — Sperduto PW, Berkey B, Gaspar LE, et al. A new prognostic index and
  comparison to three other indices for patients with brain metastases: an
  analysis of 1,960 patients in the RTOG database. Int J Radiat Oncol Biol Phys
  2008;70(2):510-514. Age ≥ 60 / 50-59 / < 50: 0 / 0.5 / 1; KPS < 70 / 70-80 /
  90-100: 0 / 0.5 / 1; CNS metastases > 3 / 2-3 / 1: 0 / 0.5 / 1; extracranial
  metastases present / none: 0 / 1. Score 0-4 in steps of 0.5.
- **SIR** — Weltman E, Salvajoli JV, Brandt RA, et al. Radiosurgery for brain
  metastases: a score index for predicting prognosis. Int J Radiat Oncol Biol
  Phys 2000;46(5):1155-1161. Age ≥ 60 / 51-59 / ≤ 50: 0 / 1 / 2; KPS ≤ 50 / 60-70 /
  ≥ 80: 0 / 1 / 2; systemic disease PD / PR or SD / CR or NED: 0 / 1 / 2; number
  of lesions ≥ 3 / 2 / 1: 0 / 1 / 2; largest lesion volume > 13 / 5-13 / < 5 cm³:
  0 / 1 / 2. Score 0-10.
- **BS-BM** — Lorenzoni J, Devriendt D, Massager N, et al. Radiosurgery for
  treatment of brain metastases: estimation of patient eligibility using three
  stratification systems. Int J Radiat Oncol Biol Phys 2004;60(1):218-224.
  One point each for KPS 80-100 (50-70: 0), a controlled primary, and no
  extracranial metastases. Score 0-3.
- **GGS** — Golden DW, Lamborn KR, McDermott MW, et al. Prognostic factors and
  grading systems for overall survival in patients treated with radiosurgery for
  brain metastases: variation by primary site. J Neurosurg 2008;109 Suppl:77-86.
  One point each for age ≥ 65, KPS < 70 and extracranial metastases. Score 0-3
  (higher is worse).

KPS values between the papers' tens are placed by the nearest bound that the
paper states (e.g. GPA: 70 ≤ KPS < 90 scores 0.5). The survival groups of the
scores are preset data (``groupings`` in ``configs/outcomes.yaml``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Final, Mapping

#: The inputs of the indices (keys of the mapping each index reads).
INDEX_INPUTS: Final = ("age_years", "kps", "primary_controlled", "extracranial_metastases", "systemic_status",
                       "n_brain_lesions", "largest_lesion_cm3")


@dataclass(frozen=True)
class IndexResult:
    """One patient's index: score (None for RPA or when incomplete), class, components and missing inputs."""

    index: str
    score: float | None
    klass: str | None
    components: tuple[tuple[str, Any, float | None], ...] = field(default_factory=tuple)
    missing: tuple[str, ...] = ()

    @property
    def inputs_text(self) -> str:
        """Each component as ``name=value (points)``, '; '-separated."""
        parts = []
        for name, value, points in self.components:
            shown = "yes" if value is True else "no" if value is False else f"{value:g}" if isinstance(
                value, float) else str(value)
            parts.append(f"{name}={shown}" + ("" if points is None else f" ({points:g})"))
        return "; ".join(parts)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _age(value: float) -> int:
    """Age in completed years."""
    return int(math.floor(value))


def _components(inputs: Mapping[str, Any], rules: list[tuple[str, Callable[[Any], float]]]):
    components, missing = [], []
    for name, rule in rules:
        value = inputs.get(name)
        if _blank(value):
            missing.append(name)
            continue
        components.append((name, value, float(rule(value))))
    return components, missing


def _scored(index: str, inputs: Mapping[str, Any], rules, groups) -> IndexResult:
    components, missing = _components(inputs, rules)
    if missing:
        return IndexResult(index, None, None, tuple(components), tuple(missing))
    score = sum(points for _, _, points in components)
    return IndexResult(index, score, class_of(score, groups), tuple(components), ())


def class_of(score: float | str, groups: tuple[tuple[str, tuple], ...]) -> str | None:
    """Label of the preset group holding ``score`` (None when no group holds it)."""
    for label, members in groups:
        if any(score == m for m in members):
            return label
    return None


# --- points tables (see the module docstring for the sources) --------------------------------------

def _gpa_age(age: float) -> float:
    years = _age(age)
    return 0.0 if years >= 60 else 0.5 if years >= 50 else 1.0


def _gpa_kps(kps: float) -> float:
    return 0.0 if kps < 70 else 0.5 if kps < 90 else 1.0


def _gpa_lesions(n: int) -> float:
    return 0.0 if n > 3 else 0.5 if n >= 2 else 1.0


def _sir_age(age: float) -> float:
    years = _age(age)
    return 0.0 if years >= 60 else 1.0 if years >= 51 else 2.0


def _sir_kps(kps: float) -> float:
    return 0.0 if kps <= 50 else 1.0 if kps <= 70 else 2.0


def _sir_systemic(status: str) -> float:
    return {"pd": 0.0, "pr": 1.0, "sd": 1.0, "cr": 2.0, "ned": 2.0}[status]


def _sir_lesions(n: int) -> float:
    return 0.0 if n >= 3 else 1.0 if n == 2 else 2.0


def _sir_volume(cm3: float) -> float:
    return 0.0 if cm3 > 13 else 1.0 if cm3 >= 5 else 2.0


def gpa(inputs: Mapping[str, Any], groups) -> IndexResult:
    """Graded Prognostic Assessment (Sperduto 2008), 0-4."""
    return _scored("gpa", _with_lesions(inputs), [
        ("age_years", _gpa_age), ("kps", _gpa_kps), ("n_brain_lesions", _gpa_lesions),
        ("extracranial_metastases", lambda present: 0.0 if present else 1.0)], groups)


def sir(inputs: Mapping[str, Any], groups) -> IndexResult:
    """Score Index for Radiosurgery (Weltman 2000), 0-10."""
    return _scored("sir", _with_lesions(inputs), [
        ("age_years", _sir_age), ("kps", _sir_kps), ("systemic_status", _sir_systemic),
        ("n_brain_lesions", _sir_lesions), ("largest_lesion_cm3", _sir_volume)], groups)


def bsbm(inputs: Mapping[str, Any], groups) -> IndexResult:
    """Basic Score for Brain Metastases (Lorenzoni 2004), 0-3."""
    return _scored("bsbm", inputs, [
        ("kps", lambda kps: 1.0 if kps >= 80 else 0.0),
        ("primary_controlled", lambda controlled: 1.0 if controlled else 0.0),
        ("extracranial_metastases", lambda present: 0.0 if present else 1.0)], groups)


def ggs(inputs: Mapping[str, Any], groups) -> IndexResult:
    """Golden Grading System (Golden 2008), 0-3 (higher is worse)."""
    return _scored("ggs", inputs, [
        ("age_years", lambda age: 1.0 if _age(age) >= 65 else 0.0),
        ("kps", lambda kps: 1.0 if kps < 70 else 0.0),
        ("extracranial_metastases", lambda present: 1.0 if present else 0.0)], groups)


def rpa(inputs: Mapping[str, Any], groups) -> IndexResult:
    """RTOG recursive partitioning analysis class (Gaspar 1997): I, II or III."""
    names = ("kps", "age_years", "primary_controlled", "extracranial_metastases")
    components = tuple((n, inputs.get(n), None) for n in names if not _blank(inputs.get(n)))
    missing = tuple(n for n in names if _blank(inputs.get(n)))
    known = dict((n, v) for n, v, _ in components)
    if "kps" in known and known["kps"] < 70:
        klass = "III"
    elif "kps" not in known:
        klass = None
    elif (("age_years" in known and _age(known["age_years"]) >= 65)
          or known.get("primary_controlled") is False or known.get("extracranial_metastases") is True):
        klass = "II"
    elif missing:
        klass = None
    else:
        klass = "I"
    label = class_of(klass, groups) if klass else None
    return IndexResult("rpa", None, label, components, missing)


def _with_lesions(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A patient without a CNS lesion at baseline has no brain-metastasis count for the indices."""
    n = inputs.get("n_brain_lesions")
    if not _blank(n) and n < 1:
        return {**inputs, "n_brain_lesions": None, "largest_lesion_cm3": None}
    return inputs


#: Index functions by name, in report order.
INDEX_FUNCTIONS: Final = {"rpa": rpa, "gpa": gpa, "sir": sir, "bsbm": bsbm, "ggs": ggs}
