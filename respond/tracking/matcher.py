"""Match the lesions of each scan to the lesions seen before, in the baseline frame, many-to-many.

A :class:`Tracker` holds every lesion seen so far in a patient's series with
its footprint (voxels on the baseline grid) and centroid (baseline frame, mm)
as last seen. Each new scan's components (registered into the baseline grid)
are matched against **all** of them, so a lesion that disappears and
reappears keeps its id:

1. manual links are applied first (a linked component takes the given id;
   several components linked to one id are its fragments); unlinked pairs are
   never matched;
2. **overlap**: a component and an earlier lesion are *near* when the
   component has a voxel within :attr:`MatchLimits.margin_mm` of the lesion's
   footprint (the footprint dilated by the margin, Euclidean, in mm). Among the
   near pairs, each component keeps its best lesion and each lesion its best
   component (best = most voxels inside the undilated footprint, then inside
   the dilated one, then the nearest centroid). The kept pairs form groups
   (connected components of the pairing graph):

   * one lesion, one component: ``matched``;
   * one lesion, several components: ``split`` (the components are its fragments);
   * several lesions, one or more components: ``merged`` — the lesion seen
     first carries the measurement, the others are ``merged`` into it
     (never one matched and the other disappeared);

3. **centroid fallback**: an earlier lesion with no near component may take a
   component that is near no lesion at all (so never one that overlaps another
   lesion better), when the centroid distance is within the lesion's own size
   (equivalent-sphere diameter of its volume) and within
   :attr:`MatchLimits.max_distance_mm` — optimal one-to-one assignment
   (:func:`scipy.optimize.linear_sum_assignment`); such matches are flagged
   ``method = centroid``;
4. components still unpaired are **new** lesions (the next free integer id);
   earlier lesions still unpaired have **disappeared** — which therefore means
   that no foreground of the scan lies within the margin of their footprint.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

#: Margin, mm, by which an earlier lesion's registered footprint is dilated when looking for its follow-up
#: foreground. It absorbs the residual error of the rigid registration (0.3–1.3 mm mean on real serial brain
#: MRI, more at the edge of the field of view), the half-voxel shift of nearest-neighbour resampling into the
#: baseline grid, and a voxel of partial-volume change at the boundary of a lesion that shrinks or is segmented
#: slightly differently: 3 mm is about twice the worst mean registration error plus a 1 mm voxel. A lesion is
#: `disappeared` only when no follow-up foreground lies within this margin of its footprint.
MATCH_MARGIN_MM: Final = 3.0
#: Cap, mm, on the centroid distance of a match without overlap (the lesion's own size also bounds it).
MAX_CENTROID_DISTANCE_MM: Final = 10.0

#: How a component was matched (matches.csv ``method``).
METHODS: Final = ("overlap", "centroid", "link", "label")


@dataclass(frozen=True)
class MatchLimits:
    """Limits of the matcher.

    ``margin_mm``: dilation of an earlier lesion's footprint, mm
    (:data:`MATCH_MARGIN_MM`). ``max_distance_mm``: cap on the centroid
    distance (baseline frame) of a match without overlap
    (:data:`MAX_CENTROID_DISTANCE_MM`); the lesion's own equivalent-sphere
    diameter bounds it too.
    """

    margin_mm: float = MATCH_MARGIN_MM
    max_distance_mm: float = MAX_CENTROID_DISTANCE_MM

    def __post_init__(self) -> None:
        for name in ("margin_mm", "max_distance_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number ≥ 0 mm, got {value}")


@dataclass
class Region:
    """Voxels on the baseline grid (a boolean box at ``offset`` k, j, i) and a centroid (baseline frame, mm).

    ``weight`` (the volume in mm³ measured on the native mask) weighs the
    centroid when regions are combined and gives the lesion's size.
    """

    offset: np.ndarray
    mask: np.ndarray
    centroid_mm: np.ndarray
    weight: float = 1.0

    @property
    def voxels(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def size_mm(self) -> float:
        """Equivalent-sphere diameter of ``weight`` (mm³), mm."""
        return float((6.0 * max(self.weight, 0.0) / math.pi) ** (1.0 / 3.0))

    def intersection(self, other: Region) -> int:
        lo = np.maximum(self.offset, other.offset)
        hi = np.minimum(self.offset + self.mask.shape, other.offset + other.mask.shape)
        if np.any(hi <= lo):
            return 0
        a = self.mask[tuple(slice(int(l - o), int(h - o)) for l, h, o in zip(lo, hi, self.offset))]
        b = other.mask[tuple(slice(int(l - o), int(h - o)) for l, h, o in zip(lo, hi, other.offset))]
        return int(np.count_nonzero(a & b))

    def dilated(self, margin_mm: float, spacing_mm: tuple[float, float, float]) -> Region:
        """The voxels within ``margin_mm`` (Euclidean, voxel centres) of this region; ``spacing_mm`` in k, j, i."""
        if not self.mask.any() or margin_mm <= 0:
            return self
        spacing = np.asarray(spacing_mm, float)
        pad = np.floor(margin_mm / spacing + 1e-9).astype(int)
        padded = np.pad(self.mask, [(int(p), int(p)) for p in pad])
        distance = ndimage.distance_transform_edt(~padded, sampling=spacing)
        return Region(self.offset - pad, distance <= margin_mm + 1e-9, self.centroid_mm, self.weight)

    @staticmethod
    def union(regions: Iterable[Region]) -> Region:
        regions = [r for r in regions]
        if len(regions) == 1:
            return regions[0]
        with_voxels = [r for r in regions if r.mask.size]
        weights = np.array([r.weight for r in regions], float)
        centroid = (np.array([r.centroid_mm for r in regions]) * weights[:, None]).sum(0) / max(weights.sum(), 1e-12)
        if not with_voxels:
            return Region(np.zeros(3, int), np.zeros((0, 0, 0), bool), centroid, float(weights.sum()))
        lo = np.min([r.offset for r in with_voxels], axis=0)
        hi = np.max([r.offset + r.mask.shape for r in with_voxels], axis=0)
        mask = np.zeros(tuple(int(v) for v in hi - lo), bool)
        for r in with_voxels:
            box = tuple(slice(int(o - l), int(o - l + n)) for o, l, n in zip(r.offset, lo, r.mask.shape))
            mask[box] |= r.mask
        return Region(lo, mask, centroid, float(weights.sum()))


@dataclass
class Component:
    """One lesion instance of the scan being matched: its label in the scan and its region in the baseline frame."""

    source_label: str
    region: Region


@dataclass
class Decision:
    """What became of one lesion id at one scan.

    ``source_labels``: components measured under this id (empty for a 0 mm
    row; several for a split lesion, whose components are its fragments).
    ``status``: baseline / matched / new / split / merged / disappeared. For a
    lesion merged into another, ``absorbed_into`` is the id now carrying the
    measurement and ``source_labels`` is empty; ``via`` names the merged
    component(s). ``overlap`` (Dice), ``distance_mm`` and ``method``
    (overlap / centroid / link / label; blank for a baseline or new lesion)
    are per component (``via`` for a merged lesion).
    """

    lesion_id: str
    status: str
    source_labels: tuple[str, ...] = ()
    overlap: tuple[float, ...] = ()
    distance_mm: tuple[float, ...] = ()
    absorbed_into: str | None = None
    via: tuple[str, ...] = ()
    method: tuple[str, ...] = ()


@dataclass
class _Known:
    region: Region
    order: int


def natural_key(lesion_id: object) -> tuple:
    """Sort key of lesion ids in natural order: ``2`` < ``3`` < ``3.1`` < ``3.2`` < ``10`` < ``L1``."""
    parts = re.split(r"(\d+)", str(lesion_id))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


@dataclass
class _Pairs:
    """Pair figures between a scan's components (rows) and the known lesions (columns); ``allowed``: the pair is
    open to automatic matching (neither side manually linked, the pair not unlinked)."""

    inside: np.ndarray  # voxels of the component inside the lesion's footprint
    near: np.ndarray  # voxels of the component within the margin of the footprint
    distance: np.ndarray  # centroid distance, mm
    dice: np.ndarray  # Dice of component and footprint
    allowed: np.ndarray


def _pairs(components: list[Component], known: list[Region], margin_mm: float,
           spacing_mm: tuple[float, float, float], allowed: np.ndarray) -> _Pairs:
    n, m = len(components), len(known)
    inside, near = np.zeros((n, m)), np.zeros((n, m))
    distance = np.full((n, m), np.inf)
    grown = [region.dilated(margin_mm, spacing_mm) for region in known]
    for a, comp in enumerate(components):
        for b, region in enumerate(known):
            distance[a, b] = float(np.linalg.norm(comp.region.centroid_mm - region.centroid_mm))
            near[a, b] = comp.region.intersection(grown[b])
            inside[a, b] = comp.region.intersection(region) if near[a, b] else 0
    sizes = np.array([c.region.voxels for c in components], float)[:, None] + \
        np.array([r.voxels for r in known], float)[None, :]
    dice = np.divide(2 * inside, sizes, out=np.zeros((n, m)), where=sizes > 0)
    return _Pairs(inside, near, distance, dice, allowed)


def _best(pairs: _Pairs, a: int | None = None, b: int | None = None) -> int | None:
    """The best partner of component ``a`` (a lesion index) or of lesion ``b`` (a component index), if any is near."""
    open_ = (pairs.near > 0) & pairs.allowed
    if a is not None:
        candidates = [(pairs.inside[a, j], pairs.near[a, j], -pairs.distance[a, j], j)
                      for j in range(open_.shape[1]) if open_[a, j]]
    else:
        candidates = [(pairs.inside[i, b], pairs.near[i, b], -pairs.distance[i, b], i)
                      for i in range(open_.shape[0]) if open_[i, b]]
    return max(candidates)[3] if candidates else None


def overlap_groups(pairs: _Pairs) -> list[tuple[list[int], list[int]]]:
    """Groups ``(lesion indices, component indices)`` linked by kept overlap pairs (see the module docstring)."""
    n, m = pairs.near.shape
    kept = {(a, _best(pairs, a=a)) for a in range(n)} | {(_best(pairs, b=b), b) for b in range(m)}
    kept = {(a, b) for a, b in kept if a is not None and b is not None}
    parent = list(range(n + m))  # union-find over components 0..n-1 and lesions n..n+m-1

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in kept:
        parent[root(a)] = root(n + b)
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for a, b in sorted(kept):
        lesions, comps = groups.setdefault(root(a), ([], []))
        if b not in lesions:
            lesions.append(b)
        if a not in comps:
            comps.append(a)
    return list(groups.values())


def centroid_pairs(pairs: _Pairs, lesions: list[int], comps: list[int], known: list[Region],
                   max_distance_mm: float) -> list[tuple[int, int]]:
    """One-to-one ``(component, lesion)`` matches by centroid distance, each within the lesion's own size.

    Only components near no earlier lesion take part (a component overlapping a lesion is never given to a
    lesion it does not overlap).
    """
    comps = [a for a in comps if not pairs.near[a].any()]
    if not lesions or not comps:
        return []
    distance = pairs.distance[np.ix_(comps, lesions)]
    bound = np.array([min(max_distance_mm, known[b].size_mm) for b in lesions])[None, :]
    ok = (distance <= bound) & pairs.allowed[np.ix_(comps, lesions)]
    cost = np.where(ok, distance, 1e9)
    rows, cols = linear_sum_assignment(cost)
    return [(comps[r], lesions[c]) for r, c in zip(rows, cols) if ok[r, c]]


@dataclass
class Tracker:
    """Lesions of one patient's series, updated scan by scan (see the module docstring).

    ``spacing_mm``: voxel spacing of the baseline grid in numpy order (k, j,
    i), mm, for the margin.
    """

    limits: MatchLimits = field(default_factory=MatchLimits)
    reserved_ids: set[str] = field(default_factory=set)
    known: dict[str, _Known] = field(default_factory=dict)
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scans: int = 0

    def _fresh_id(self, taken: set[str]) -> str:
        n = 1
        while str(n) in self.known or str(n) in self.reserved_ids or str(n) in taken:
            n += 1
        return str(n)

    def update(
        self,
        components: list[Component],
        *,
        links: dict[str, str] | None = None,
        unlinks: set[tuple[str, str]] | None = None,
    ) -> list[Decision]:
        """Match one scan's components; returns one decision per lesion id (known or new) at this scan.

        ``links`` maps a component's source label to a forced lesion id;
        ``unlinks`` holds forbidden (source label, lesion id) pairs. The first
        call is the baseline: its components take fresh ids (or linked ones);
        after a lesion-free baseline every later lesion is new.
        """
        links, baseline, ids = dict(links or {}), self.scans == 0, list(self.known)
        known = [self.known[lid].region for lid in ids]
        allowed = self._allowed(components, ids, links, set(unlinks or set()))
        pairs = _pairs(components, known, self.limits.margin_mm, self.spacing_mm, allowed)
        decisions = self._linked(components, ids, links, pairs)
        decisions += self._by_overlap(components, ids, pairs)
        taken = {c for d in decisions for c in d.source_labels}
        free_lesions = [b for b, lid in enumerate(ids) if lid not in {d.lesion_id for d in decisions}]
        free_comps = [a for a, c in enumerate(components) if c.source_label not in taken]
        for a, b in centroid_pairs(pairs, free_lesions, free_comps, known, self.limits.max_distance_mm):
            decisions.append(_decision(ids[b], "matched", [components[a].source_label], pairs, [a], b, "centroid"))
            taken.add(components[a].source_label)
        decisions += self._new(components, taken, {d.lesion_id for d in decisions})
        seen = {d.lesion_id for d in decisions}
        decisions += [Decision(lid, "disappeared") for lid in ids if lid not in seen]
        self._remember(decisions, components)
        self.scans += 1
        if baseline:
            decisions = [Decision(d.lesion_id, "baseline", d.source_labels, d.overlap, d.distance_mm,
                                  method=tuple("" for _ in d.source_labels)) for d in decisions]
        return sorted(decisions, key=lambda d: natural_key(d.lesion_id))

    def _allowed(self, components: list[Component], ids: list[str], links: dict[str, str],
                 unlinks: set[tuple[str, str]]) -> np.ndarray:
        """Pairs open to automatic matching: neither side linked, the pair not unlinked."""
        linked_ids = set(links.values())
        return np.array([[c.source_label not in links and lid not in linked_ids
                          and (c.source_label, lid) not in unlinks for lid in ids]
                         for c in components], bool).reshape(len(components), len(ids))

    def _linked(self, components: list[Component], ids: list[str], links: dict[str, str],
                pairs: _Pairs) -> list[Decision]:
        out = []
        for lid in dict.fromkeys(links[c.source_label] for c in components if c.source_label in links):
            members = [a for a, c in enumerate(components) if links.get(c.source_label) == lid]
            b = ids.index(lid) if lid in ids else None
            status = "new" if b is None else ("split" if len(members) > 1 else "matched")
            out.append(_decision(lid, status, [components[a].source_label for a in members], pairs, members, b,
                                 "link"))
        return out

    def _by_overlap(self, components: list[Component], ids: list[str], pairs: _Pairs) -> list[Decision]:
        out = []
        for lesions, comps in overlap_groups(pairs):
            comps = sorted(comps, key=lambda a: natural_key(components[a].source_label))
            labels = [components[a].source_label for a in comps]
            if len(lesions) == 1:
                status = "split" if len(comps) > 1 else "matched"
                out.append(_decision(ids[lesions[0]], status, labels, pairs, comps, lesions[0], "overlap"))
                continue
            lesions = sorted(lesions, key=lambda b: self.known[ids[b]].order)
            carrier = ids[lesions[0]]
            out.append(_decision(carrier, "merged", labels, pairs, comps, lesions[0], "overlap"))
            for b in lesions[1:]:
                merged = _decision(ids[b], "merged", labels, pairs, comps, b, "overlap")
                out.append(Decision(ids[b], "merged", (), merged.overlap, merged.distance_mm, absorbed_into=carrier,
                                    via=merged.source_labels, method=merged.method))
        return out

    def _new(self, components: list[Component], taken: set[str], used: set[str]) -> list[Decision]:
        """Components not taken become new lesions with the next free integer ids."""
        out = []
        for comp in components:
            if comp.source_label not in taken:
                lid = self._fresh_id(used)
                used.add(lid)
                out.append(Decision(lid, "new", (comp.source_label,), (math.nan,), (math.nan,), method=("",)))
        return out

    def _remember(self, decisions: list[Decision], components: list[Component]) -> None:
        """Measured lesions take their new footprint; the others keep the last one (to be found again)."""
        by_label = {c.source_label: c for c in components}
        for d in decisions:
            if not d.source_labels:
                continue
            region = Region.union(by_label[label].region for label in d.source_labels)
            if d.lesion_id in self.known:
                self.known[d.lesion_id].region = region
            else:
                self.known[d.lesion_id] = _Known(region, len(self.known))


def _decision(lesion_id: str, status: str, labels: list[str], pairs: _Pairs, comps: list[int], b: int | None,
              method: str) -> Decision:
    """A decision for ``comps`` measured under ``lesion_id`` (lesion index ``b``, None for a new id)."""
    dice = tuple(float(pairs.dice[a, b]) if b is not None else math.nan for a in comps)
    distance = tuple(float(pairs.distance[a, b]) if b is not None else math.nan for a in comps)
    return Decision(lesion_id, status, tuple(labels), dice, distance, method=tuple(method for _ in comps))
