"""One lesion at one scan, as the criteria see it.

Diameters are held as exact fractions of a millimetre (the input rounded to
1e-6 mm), so that the inclusive thresholds of the criteria never miss by a
floating-point hair: 60 → 42 mm is exactly −30 % and 25 → 30 mm exactly +20 %.
"""
from __future__ import annotations

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

    @classmethod
    def from_row(cls, row: dict, *, is_node: bool) -> "Observation":
        ld, sa = exact_mm(row["longest_diameter_mm"]), exact_mm(row["short_axis_mm"])
        state = row.get("status")
        if not state:
            size = sa if (is_node and sa is not None) else ld
            if size is None:
                state = "not_evaluated"
            elif size == 0:
                state = "absent"
            else:
                state = "present"
        return cls(state=state, ld=ld, sa=sa, n_slices=row.get("n_slices", math.nan), equivocal=bool(row.get("equivocal")))


NOT_SEEN = Observation(state="not_evaluated", ld=None, sa=None, n_slices=math.nan, equivocal=False)
"""A lesion without a row at a date: not evaluated there."""


def sum_value(obs: Observation, *, is_node: bool, criteria: Criteria) -> Fraction | None:
    """The lesion's contribution to the target sum in mm, or None when not evaluated.

    Non-nodal lesions contribute their longest diameter, nodes their short
    axis (even below 10 mm); ``absent`` is 0 mm and ``too_small`` is the
    preset default (RECIST 1.1: 5 mm).
    """
    if obs.state == "absent":
        return Fraction(0)
    if obs.state == "too_small":
        return exact_mm(criteria.response.too_small_default_mm)
    if obs.state == "not_evaluated":
        return None
    return obs.sa if is_node else obs.ld


def is_present(obs: Observation, *, is_node: bool, criteria: Criteria) -> bool | None:
    """Whether disease is there: True, False, or None when not evaluated.

    Nodes with a short axis below the normal limit (RECIST: 10 mm) count as
    absent, as in the RECIST 1.1 definition of complete response.
    """
    if obs.state == "not_evaluated":
        return None
    if obs.state == "absent":
        return False
    if obs.state in ("too_small", "progression"):
        return True
    if is_node:
        if obs.sa is None:
            return True
        return obs.sa >= exact_mm(criteria.measurability.node_normal_below_short_axis_mm)
    return obs.ld is None or obs.ld > 0
