"""One lesion at one scan, as the criteria see it.

Diameters are held as exact fractions of a millimetre (the input rounded to
1e-6 mm), so that the inclusive thresholds of the criteria never miss by a
floating-point hair: 60 → 42 mm is exactly −30 % and 25 → 30 mm exactly +20 %.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

from respond.config import Criteria

#: Input diameters are rounded to this many decimals of a millimetre before exact arithmetic.
DIAMETER_DECIMALS = 6


def exact_mm(value: float) -> Fraction | None:
    """A diameter in mm as an exact fraction (None for NaN/blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return _exact(value)


@functools.lru_cache(maxsize=65536)
def _exact(value: float) -> Fraction:  # sizes repeat across lesions and thresholds: convert each once
    return Fraction(repr(round(float(value), DIAMETER_DECIMALS)))


def mm_text(value: Fraction | None) -> str:
    """A diameter for reasons: ``42``, ``23.4`` or ``23.42`` mm (up to 2 decimals)."""
    if value is None:
        return "?"
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def signed_mm_text(value: Fraction) -> str:
    """A change in mm with its sign: ``+8``, ``-4``, ``+0.5``."""
    return ("+" if value >= 0 else "-") + mm_text(abs(value))


@dataclass(frozen=True)
class Observation:
    """A lesion at one date.

    ``state`` is the reader's status, or derived from the diameter when the
    status is blank: blank diameter → ``not_evaluated``, 0 → ``absent``,
    otherwise ``present``. ``ld`` / ``sa`` are the longest diameter and short
    axis in mm (None when blank).
    """

    state: str
    ld: Fraction | None
    sa: Fraction | None
    n_slices: float
    equivocal: bool
    #: For a lesion that coalesced (state ``merged``): the lesion carrying the measurement.
    merged_into: str | None = None
    #: Slice thickness of the scan, mm (NaN when not given).
    slice_thickness_mm: float = math.nan
    #: The lesion was treated before the baseline.
    previously_treated: bool = False
    #: Number of fragments summed into this observation (0: an ordinary lesion).
    fragments: int = 0

    @classmethod
    def from_row(cls, row: dict, *, is_node: bool) -> "Observation":
        get = row.get
        ld, sa = exact_mm(row["longest_diameter_mm"]), exact_mm(get("short_axis_mm"))
        merged = _text(get("merged_into"))
        thickness, treated = _float(get("slice_thickness_mm")), get("previously_treated") is True
        n_slices = get("n_slices", math.nan)
        if merged:
            return cls("merged", ld, sa, n_slices, False, merged, thickness, treated)
        state = get("status") or _state_of_size(sa if (is_node and sa is not None) else ld)
        return cls(state, ld, sa, n_slices, bool(get("equivocal")), None, thickness, treated)


def _state_of_size(size: Fraction | None) -> str:
    """State of a lesion without a reader status: blank → not evaluated, 0 → absent, otherwise present."""
    if size is None:
        return "not_evaluated"
    return "absent" if size == 0 else "present"


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _float(value) -> float:
    if value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def sum_fragments(parts: list[Observation], *, is_node: bool) -> Observation:
    """One observation of a lesion that split, from its fragments (RECIST 1.1 §4.3: diameters summed).

    Any fragment not evaluated makes the lesion not evaluated; unequivocal
    progression of a fragment is progression of the lesion; all fragments gone
    is the lesion gone. A fragment too small to measure is counted by the
    caller's default through ``too_small`` only when no fragment is measured.
    """
    states = {p.state for p in parts}
    first = parts[0]
    common = {"n_slices": max((p.n_slices for p in parts), default=math.nan),
              "slice_thickness_mm": first.slice_thickness_mm, "previously_treated": first.previously_treated,
              "fragments": len(parts)}
    if "not_evaluated" in states:
        return Observation("not_evaluated", None, None, equivocal=False, **common)
    ld = sum((p.ld or Fraction(0) for p in parts), Fraction(0))
    sa = sum((p.sa or Fraction(0) for p in parts), Fraction(0)) if any(p.sa is not None for p in parts) else None
    if "progression" in states:
        state = "progression"
    elif states <= {"absent"}:
        state = "absent"
    elif ld == 0 and "too_small" in states:
        state = "too_small"
    else:
        state = "present"
    return Observation(state, ld, sa, equivocal=all(p.equivocal for p in parts), **common)


NOT_SEEN = Observation(state="not_evaluated", ld=None, sa=None, n_slices=math.nan, equivocal=False)
"""A lesion without a row at a date: not evaluated there."""


def sum_value(obs: Observation, *, is_node: bool, criteria: Criteria) -> Fraction | None:
    """The lesion's contribution to the target sum in mm, or None when not evaluated.

    Non-nodal lesions contribute their longest diameter, nodes their short
    axis (even below 10 mm); ``absent`` is 0 mm and ``too_small`` is the
    preset default (RECIST 1.1: 5 mm).
    """
    if obs.state in ("absent", "merged"):
        return Fraction(0)  # a merged lesion's measurement is carried by the lesion it merged into
    if obs.state == "too_small":
        return exact_mm(criteria.response.too_small_default_mm)
    if obs.state == "not_evaluated":
        return None
    return obs.sa if is_node else obs.ld


def is_present(obs: Observation, *, is_node: bool, criteria: Criteria) -> bool | None:
    """Whether disease is there: True, False, or None when not evaluated.

    Nodes with a short axis below the normal limit (RECIST: 10 mm) count as
    absent, as in the RECIST 1.1 definition of complete response. A node too
    small to measure counts as its default size (RECIST 1.1 §4.3.2: 5 mm, "as
    well" for nodes), so it is absent: EORTC FAQ *Abnormal lymph node*, a node
    has reappeared only at ≥ 10 mm. A merged lesion is present (in the lesion
    carrying it).
    """
    if obs.state == "not_evaluated":
        return None
    if obs.state == "absent":
        return False
    if obs.state in ("progression", "merged"):
        return True
    if obs.state == "too_small":
        if is_node:
            limit = exact_mm(criteria.measurability.node_normal_below_short_axis_mm)
            return exact_mm(criteria.response.too_small_default_mm) >= limit
        return True
    if is_node:
        if obs.sa is None:
            return True
        return obs.sa >= exact_mm(criteria.measurability.node_normal_below_short_axis_mm)
    return obs.ld is None or obs.ld > 0
