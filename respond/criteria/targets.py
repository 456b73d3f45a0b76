"""Baseline roles: which lesions are targets, non-targets or outside the assessment.

RECIST 1.1 §3.1–3.3 (Eisenhauer 2009): measurable non-nodal lesions have a
longest diameter ≥ 10 mm; nodes are measurable (target-eligible) with a short
axis ≥ 15 mm, pathological non-targets at 10 to < 15 mm and normal below
10 mm; up to 5 targets, at most 2 per organ (all nodes are one organ), chosen
by size. RANO-BM (Lin 2015): CNS lesions ≥ 10 mm, visible on ≥ 2 axial slices
and ≥ 5 mm perpendicular; up to 5 targets; every other CNS lesion is a
non-target. All limits come from the preset.

With slices thicker than ``thick_slice_above_mm`` (5 mm) a measurable lesion
must be at least ``thick_slice_min_multiple`` (2) times the slice thickness
(RECIST 1.1 §3.1.1; RANO-BM). A lesion treated before baseline
(``previously_treated``) is a non-target unless the reader chose it as a
target, i.e. judged it progressed since treatment (RECIST 1.1 §3.1.2, RANO-BM;
preset ``targets.previously_treated``).

When the reader gave roles (``role`` or ``role_<criteria id>``), they win; a
choice that breaks the criteria is kept and reported as a warning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from respond.config import Criteria
from respond.criteria.observations import Observation, exact_mm, mm_text, sum_value


@dataclass(frozen=True)
class BaselineLesion:
    """A lesion present in the baseline scan."""

    lesion_id: str
    organ: str
    is_node: bool
    obs: Observation
    reader_role: str | None


@dataclass(frozen=True)
class RoleDecision:
    """The role of one baseline lesion and why."""

    lesion_id: str
    organ: str
    is_node: bool
    role: str  # target / non_target / excluded
    baseline_value: Fraction | None
    reason: str
    warning: str | None = None


def _measurability(lesion: BaselineLesion, c: Criteria) -> tuple[bool, str]:
    """(target-eligible, reason) of a baseline lesion under the preset's limits."""
    m = c.measurability
    obs = lesion.obs
    if obs.state in ("not_evaluated", "too_small", "progression"):
        return False, f"status '{obs.state}' at baseline: not measurable"
    if lesion.is_node:
        sa = obs.sa
        if sa is None:
            return False, "node without short axis at baseline: not measurable"
        if sa < exact_mm(m.node_target_min_short_axis_mm):
            return False, (
                f"pathological node, short axis {mm_text(sa)} mm "
                f"< {m.node_target_min_short_axis_mm:g} mm: non-measurable"
            )
        return True, f"node, short axis {mm_text(sa)} mm ≥ {m.node_target_min_short_axis_mm:g} mm"
    ld = obs.ld
    if ld is None:
        return False, "no longest diameter at baseline: not measurable"
    minimum, basis = exact_mm(m.min_longest_diameter_mm), f"{m.min_longest_diameter_mm:g} mm"
    thickness = obs.slice_thickness_mm
    if not math.isnan(thickness) and thickness > m.thick_slice_above_mm:
        thick_min = exact_mm(thickness * m.thick_slice_min_multiple)
        if thick_min > minimum:
            minimum = thick_min
            basis = (f"{mm_text(thick_min)} mm ({m.thick_slice_min_multiple:g} × the {thickness:g} mm slices, "
                     f"thicker than {m.thick_slice_above_mm:g} mm)")
    if ld < minimum:
        return False, f"longest diameter {mm_text(ld)} mm < {basis}: non-measurable"
    notes = [f"longest diameter {mm_text(ld)} mm ≥ {basis}"]
    if m.min_perpendicular_mm > 0:
        if obs.sa is None:
            notes.append("perpendicular diameter not given: not checked")
        elif obs.sa < exact_mm(m.min_perpendicular_mm):
            return False, (
                f"perpendicular diameter {mm_text(obs.sa)} mm < {m.min_perpendicular_mm:g} mm: non-measurable"
            )
        else:
            notes.append(f"perpendicular {mm_text(obs.sa)} mm ≥ {m.min_perpendicular_mm:g} mm")
    if m.min_slices > 1:
        if math.isnan(obs.n_slices):
            notes.append("n_slices not given: not checked")
        elif obs.n_slices < m.min_slices:
            return False, f"visible on {int(obs.n_slices)} slice(s) < {m.min_slices}: non-measurable"
        else:
            notes.append(f"on {int(obs.n_slices)} slices")
    return True, ", ".join(notes)


def _is_normal_node(lesion: BaselineLesion, c: Criteria) -> bool:
    sa = lesion.obs.sa
    return lesion.is_node and sa is not None and sa < exact_mm(c.measurability.node_normal_below_short_axis_mm)


def _organ_key(lesion: BaselineLesion, c: Criteria | None = None) -> str:
    """Organ for the per-organ limit: all lymph nodes count as one organ, paired organs as one."""
    if lesion.is_node:
        return "lymph_node"
    return c.canonical_organ(lesion.organ) if c is not None else lesion.organ


def assign_roles(lesions: list[BaselineLesion], criteria: Criteria) -> list[RoleDecision]:
    """Decide target / non-target / excluded for each baseline lesion."""
    if any(lesion.reader_role for lesion in lesions):
        return _reader_roles(lesions, criteria)
    return _automatic_roles(lesions, criteria)


def _value(lesion: BaselineLesion, c: Criteria) -> Fraction | None:
    return sum_value(lesion.obs, is_node=lesion.is_node, criteria=c)


def _decision(lesion: BaselineLesion, role: str, reason: str, c: Criteria, warning: str | None = None) -> RoleDecision:
    value = _value(lesion, c) if role == "target" else None
    return RoleDecision(lesion.lesion_id, lesion.organ, lesion.is_node, role, value, reason, warning)


def _automatic_roles(lesions: list[BaselineLesion], c: Criteria) -> list[RoleDecision]:
    decisions: dict[str, RoleDecision] = {}
    eligible: list[tuple[BaselineLesion, str]] = []
    for lesion in lesions:
        if lesion.obs.state == "absent" or (lesion.obs.ld == 0 and not lesion.is_node):
            decisions[lesion.lesion_id] = _decision(lesion, "excluded", "absent at baseline", c)
            continue
        if _is_normal_node(lesion, c):
            decisions[lesion.lesion_id] = _decision(
                lesion, "excluded",
                f"normal node: short axis {mm_text(lesion.obs.sa)} mm "
                f"< {c.measurability.node_normal_below_short_axis_mm:g} mm", c)
            continue
        ok, why = _measurability(lesion, c)
        if ok and lesion.obs.previously_treated and c.targets.previously_treated == "non_target":
            ok, why = False, (f"{why}, but treated before baseline: not a target unless progressed since "
                              "treatment (choose it as target to say so)")
        if ok:
            eligible.append((lesion, why))
        else:
            decisions[lesion.lesion_id] = _decision(lesion, "non_target", why, c)
    # Largest first; lesion id breaks ties so that the choice is reproducible.
    eligible.sort(key=lambda item: (-_value(item[0], c), item[0].lesion_id))
    per_organ: dict[str, int] = {}
    n_targets = 0
    for lesion, why in eligible:
        organ = _organ_key(lesion, c)
        if n_targets >= c.targets.max_total:
            reason = f"measurable ({why}), not selected: {c.targets.max_total} larger targets already chosen"
            decisions[lesion.lesion_id] = _decision(lesion, "non_target", reason, c)
        elif c.targets.max_per_organ is not None and per_organ.get(organ, 0) >= c.targets.max_per_organ:
            reason = (f"measurable ({why}), not selected: {c.targets.max_per_organ} larger "
                      f"targets already chosen in {organ}")
            decisions[lesion.lesion_id] = _decision(lesion, "non_target", reason, c)
        else:
            per_organ[organ] = per_organ.get(organ, 0) + 1
            n_targets += 1
            decisions[lesion.lesion_id] = _decision(lesion, "target", f"measurable, selected by size ({why})", c)
    return [decisions[lesion.lesion_id] for lesion in lesions]


def _reader_roles(lesions: list[BaselineLesion], c: Criteria) -> list[RoleDecision]:
    out: list[RoleDecision] = []
    per_organ: dict[str, int] = {}
    n_targets = 0
    for lesion in lesions:
        role = lesion.reader_role
        if role == "target":
            ok, why = _measurability(lesion, c)
            warning = None if ok else f"reader chose lesion {lesion.lesion_id} as target but it is not measurable ({why})"
            organ = _organ_key(lesion, c)
            per_organ[organ] = per_organ.get(organ, 0) + 1
            n_targets += 1
            if c.targets.max_per_organ is not None and per_organ[organ] > c.targets.max_per_organ:
                warning = (f"reader chose more than {c.targets.max_per_organ} targets in {organ} "
                           f"(lesion {lesion.lesion_id} is number {per_organ[organ]})")
            elif n_targets > c.targets.max_total:
                warning = f"reader chose more than {c.targets.max_total} targets (lesion {lesion.lesion_id})"
            if _value(lesion, c) is None:
                warning = f"reader chose lesion {lesion.lesion_id} as target but it has no baseline measurement"
            out.append(_decision(lesion, "target", f"reader's choice ({why})", c, warning))
        elif _is_normal_node(lesion, c):
            reason = (f"normal node: short axis {mm_text(lesion.obs.sa)} mm "
                      f"< {c.measurability.node_normal_below_short_axis_mm:g} mm")
            out.append(_decision(lesion, "excluded", reason, c))
        elif role == "non_target":
            out.append(_decision(lesion, "non_target", "reader's choice", c))
        else:
            out.append(_decision(lesion, "non_target", "no role given while the reader chose the targets", c))
    return out
