"""Response at one follow-up scan: targets, non-targets, new lesions, overall.

Sources: RECIST 1.1 §4.3 and Tables 1–2 (Eisenhauer 2009) and the EORTC
RECIST FAQ; RANO-BM (Lin 2015, Table). Thresholds come from the preset; all
are inclusive and computed on exact fractions.

Target response
    PD is checked first: the sum rose ≥ 20 % over the nadir (the smallest
    fully evaluated sum before this scan, baseline included) and by ≥ 5 mm,
    on the sum (RECIST 1.1) or with at least one lesion ≥ 5 mm above its own
    size at the nadir scan (RANO-BM). A target with status ``progression`` is
    PD. With targets not evaluated the response is NE, unless the evaluated
    ones alone already meet PD. CR: every non-nodal target gone and every
    nodal target below 10 mm short axis (the sum may stay above 0). PR: ≥ 30 %
    below the baseline sum. Otherwise SD.
Non-target response
    PD on unequivocal progression (status ``progression``); CR when all are
    absent (nodes < 10 mm count as absent); NE when any is not evaluated;
    otherwise NON-CR/NON-PD.
New lesions
    An unequivocal new lesion is PD. An equivocal one is not; when a later
    scan shows it unequivocally, that scan is PD and progression is dated at
    the first scan that showed it. A lesion that reappears after a CR is PD.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from fractions import Fraction

from respond.config import Criteria
from respond.criteria.observations import mm_text, signed_mm_text


@dataclass(frozen=True)
class Nadir:
    """The smallest fully evaluated target sum before a scan, and the lesion sizes then (mm)."""

    date: dt.date
    total: Fraction
    values: dict[str, Fraction]


@dataclass
class TargetOutcome:
    """Target response of one scan with its sums (mm) and trace."""

    response: str | None
    total: Fraction | None
    nadir: Nadir | None
    reasons: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=256)
def _frac(value: float) -> Fraction:
    """A preset threshold as an exact fraction (as written: ``Fraction(str(value))``), computed once."""
    return Fraction(str(value))


def pct_change(value: Fraction, reference: Fraction) -> Fraction | None:
    """Exact percentage change of ``value`` against ``reference`` (None when the reference is 0)."""
    if reference == 0:
        return None
    return (value - reference) * 100 / reference


def pct_change_value(value: Fraction, reference: Fraction) -> float | None:
    """``float(pct_change(value, reference))``, from integers: one correctly rounded division.

    For the tables and the trace (the exact value is :func:`pct_change`). Python's integer true
    division is correctly rounded, as is ``float()`` of a fraction, so the two agree to the bit.
    """
    if reference == 0:
        return None
    change = (value.numerator * reference.denominator - reference.numerator * value.denominator) * 100
    return change / (value.denominator * reference.numerator)


def _pct(p: Fraction | float | None) -> str:
    return "n/a" if p is None else f"{float(p):+.1f}%"


@dataclass(frozen=True)
class SizeProgression:
    """The PD-by-size check of one scan against the nadir; its trace text is built only when used."""

    met: bool
    total: Fraction
    increase: Fraction
    nadir: Nadir
    #: RANO-BM (per-lesion absolute rule): the lesion grown most since the nadir scan and by how much (mm).
    largest: tuple[str, Fraction] | None

    def text(self, criteria: Criteria) -> str:
        r, nadir = criteria.response, self.nadir
        if r.progression_absolute_applies_to == "sum":
            absolute_text = f"sum {signed_mm_text(self.increase)} mm (needs ≥ +{r.progression_absolute_mm:g} mm)"
        else:
            lid, change = self.largest if self.largest else (None, None)
            absolute_text = (
                f"largest single-lesion change {signed_mm_text(change) if lid else '0'} mm"
                f"{f' (lesion {lid})' if lid else ''} since the nadir scan {nadir.date} "
                f"(needs ≥ {r.progression_absolute_mm:g} mm in one lesion)"
            )
        rel_text = (f"sum {mm_text(self.total)} mm vs nadir {mm_text(nadir.total)} mm "
                    f"({_pct(pct_change_value(self.total, nadir.total))}, "
                    f"needs ≥ +{r.progression_increase_pct:g}%)")
        return f"{rel_text}; {absolute_text}"


def progression_by_size(values: dict[str, Fraction], nadir: Nadir, criteria: Criteria) -> SizeProgression:
    """Whether the (possibly partial) target sizes meet the PD rule against the nadir.

    ``values`` holds the evaluated targets only; missing targets could only
    add to the sum, so PD met on a partial sum is PD for certain.
    """
    r = criteria.response
    total = sum(values.values(), Fraction(0))
    increase = total - nadir.total
    relative_ok = increase > 0 and increase * 100 >= _frac(r.progression_increase_pct) * nadir.total
    absolute = _frac(r.progression_absolute_mm)
    largest = None
    if r.progression_absolute_applies_to == "sum":
        absolute_ok = increase >= absolute
    else:
        grown = {lid: v - nadir.values[lid] for lid, v in values.items() if lid in nadir.values}
        if grown:
            best_lid = max(grown, key=lambda k: (grown[k], k))
            largest = (best_lid, grown[best_lid])
        absolute_ok = largest is not None and largest[1] >= absolute
    return SizeProgression(relative_ok and absolute_ok, total, increase, nadir, largest)


def target_response(
    values: dict[str, Fraction | None],
    *,
    progression_flags: list[str],
    node_ids: set[str],
    baseline_total: Fraction,
    nadir: Nadir,
    criteria: Criteria,
) -> TargetOutcome:
    """Target response from each target's size at this scan (None = not evaluated)."""
    evaluated = {lid: v for lid, v in values.items() if v is not None}
    missing = sorted(lid for lid, v in values.items() if v is None)
    total = sum(evaluated.values(), Fraction(0)) if not missing else None
    by_size = progression_by_size(evaluated, nadir, criteria)
    if progression_flags:
        return TargetOutcome("PD", total, nadir,
                             [f"target(s) {', '.join(progression_flags)} unequivocal progression: PD"])
    if by_size.met:
        prefix = f"targets {', '.join(missing)} not evaluated, but the others alone: " if missing else ""
        return TargetOutcome("PD", total, nadir, [f"{prefix}{by_size.text(criteria)}: PD"])
    if missing:
        return TargetOutcome("NE", None, nadir, [f"target(s) {', '.join(missing)} not evaluated: NE"])
    node_limit = _frac(criteria.measurability.node_normal_below_short_axis_mm)
    gone = all((v < node_limit) if lid in node_ids else v == 0 for lid, v in evaluated.items())
    if gone:
        text = "all targets gone"
        if node_ids:
            text += f" (nodal targets < {criteria.measurability.node_normal_below_short_axis_mm:g} mm short axis)"
        return TargetOutcome("CR", total, nadir, [f"{text}: CR"])
    pr = _frac(criteria.response.partial_response_decrease_pct)
    base_text = (f"sum {mm_text(total)} mm vs baseline {mm_text(baseline_total)} mm "
                 f"({_pct(pct_change_value(total, baseline_total))})")
    # −change ≥ pr, exactly: (baseline − total) × 100 / baseline ≥ pr with baseline > 0
    if baseline_total > 0 and (baseline_total - total) * 100 >= pr * baseline_total:
        return TargetOutcome("PR", total, nadir, [f"{base_text}, ≥ {pr}% decrease: PR"])
    return TargetOutcome("SD", total, nadir, [f"{base_text}; {by_size.text(criteria)}: neither PR nor PD: SD"])


def non_target_response(presence: dict[str, bool | None], progression_flags: list[str]) -> tuple[str | None, str]:
    """Non-target response from each non-target's presence (None = not evaluated)."""
    if not presence:
        return None, ""
    if progression_flags:
        return "PD", f"non-target(s) {', '.join(progression_flags)} unequivocal progression: PD"
    if not any(p is None or p for p in presence.values()):
        return "CR", "all non-targets absent: CR"
    missing = sorted(lid for lid, p in presence.items() if p is None)
    if missing:
        return "NE", f"non-target(s) {', '.join(missing)} not evaluated: NE"
    return "NON-CR/NON-PD", "non-target(s) present: NON-CR/NON-PD"


def combine_overall(
    target: str | None, non_target: str | None, *, progression_reasons: list[str]
) -> tuple[str, str]:
    """Overall response (RECIST 1.1 Tables 1 and 2) and why."""
    if progression_reasons or target == "PD" or non_target == "PD":
        return "PD", "PD"
    if target is not None:
        if target == "CR":
            if non_target in (None, "CR"):
                return "CR", "targets CR, non-targets CR or none: CR"
            return "PR", f"targets CR, non-targets {non_target}: PR"
        return target, f"targets {target}: {target}"
    if non_target is not None:
        return non_target, f"non-target disease only: {non_target}"
    return "NE", "no disease assessed at baseline: NE"
