"""Match the lesions of each scan to the lesions seen before, in the baseline frame.

A :class:`Tracker` holds every lesion seen so far in a patient's series with
its footprint (voxels on the baseline grid) and centroid (baseline frame, mm)
as last seen. Each new scan's components are matched against **all** of them,
so a lesion that disappears and reappears keeps its id:

1. manual links are applied first (a linked component takes the given id);
2. the remaining components and lesions are paired one-to-one by an optimal
   assignment (Hungarian, :func:`scipy.optimize.linear_sum_assignment`): a pair
   is a candidate when its overlap coefficient (intersection / smaller of the
   two) reaches ``min_overlap``, or else its centroid distance is within
   ``max_distance_mm``; overlap pairs always cost less than distance pairs,
   and unlinked pairs are forbidden;
3. **split**: an unpaired component lying at least ``min_split_overlap`` inside
   a lesion paired in this scan is one more fragment of that lesion;
4. **merged**: an unpaired earlier lesion covered at least
   ``min_merge_overlap`` by a component paired in this scan was absorbed by it;
   the merged lesion takes the id seen first, the others get 0 mm rows;
5. components still unpaired are **new** lesions (the next free integer id);
   earlier lesions still unpaired have **disappeared**.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Cost of a forbidden pairing in the assignment.
_FORBIDDEN: Final = 1e9


@dataclass(frozen=True)
class MatchLimits:
    """Limits of the matcher.

    ``min_overlap``: overlap coefficient (intersection / smaller region) for a
    match by overlap (0.1). ``max_distance_mm``: centroid distance in the
    baseline frame for a match without overlap (10 mm — registration errors are
    about a millimetre, and a lesion's centroid moves when it shrinks
    unevenly). ``min_split_overlap``: fraction of a fragment inside the earlier
    lesion's footprint (0.3). ``min_merge_overlap``: fraction of an earlier
    lesion's footprint covered by a merged component (0.3).
    """

    min_overlap: float = 0.1
    max_distance_mm: float = 10.0
    min_split_overlap: float = 0.3
    min_merge_overlap: float = 0.3

    def __post_init__(self) -> None:
        for name in ("min_overlap", "min_split_overlap", "min_merge_overlap"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not self.max_distance_mm >= 0.0:
            raise ValueError(f"max_distance_mm must be ≥ 0, got {self.max_distance_mm}")


@dataclass
class Region:
    """Voxels on the baseline grid (a boolean box at ``offset`` k, j, i) and a centroid (baseline frame, mm).

    ``weight`` (e.g. the volume in mm³ measured on the native mask) weighs the
    centroid when regions are combined.
    """

    offset: np.ndarray
    mask: np.ndarray
    centroid_mm: np.ndarray
    weight: float = 1.0

    @property
    def voxels(self) -> int:
        return int(np.count_nonzero(self.mask))

    def intersection(self, other: Region) -> int:
        lo = np.maximum(self.offset, other.offset)
        hi = np.minimum(self.offset + self.mask.shape, other.offset + other.mask.shape)
        if np.any(hi <= lo):
            return 0
        a = self.mask[tuple(slice(int(l - o), int(h - o)) for l, h, o in zip(lo, hi, self.offset))]
        b = other.mask[tuple(slice(int(l - o), int(h - o)) for l, h, o in zip(lo, hi, other.offset))]
        return int(np.count_nonzero(a & b))

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
    row). ``status``: baseline / matched / new / split / merged /
    disappeared. For a lesion absorbed by a merge, ``absorbed_into`` is the id
    it is now measured under and ``source_labels`` is empty; ``via`` names the
    merged component(s). ``overlap`` (Dice) and ``distance_mm`` compare with
    the lesion as last seen, per component (NaN when there is nothing to compare).
    """

    lesion_id: str
    status: str
    source_labels: tuple[str, ...] = ()
    overlap: tuple[float, ...] = ()
    distance_mm: tuple[float, ...] = ()
    absorbed_into: str | None = None
    via: tuple[str, ...] = ()


@dataclass
class _Known:
    region: Region
    order: int
    present: bool = True


def _natural_key(lesion_id: str) -> tuple:
    return (0, int(lesion_id), "") if lesion_id.isdigit() else (1, 0, lesion_id)


@dataclass
class Tracker:
    """Lesions of one patient's series, updated scan by scan (see the module docstring)."""

    limits: MatchLimits = field(default_factory=MatchLimits)
    reserved_ids: set[str] = field(default_factory=set)
    known: dict[str, _Known] = field(default_factory=dict)

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
        call is the baseline: its components take fresh ids (or linked ones).
        """
        links = dict(links or {})
        unlinks = set(unlinks or set())
        baseline = not self.known
        limits = self.limits
        ids = list(self.known)
        n, m = len(components), len(ids)
        inter = np.zeros((n, m))
        dist = np.full((n, m), np.inf)
        size_c = np.array([c.region.voxels for c in components], float)
        size_k = np.array([self.known[i].region.voxels for i in ids], float)
        for a, comp in enumerate(components):
            for b, lid in enumerate(ids):
                inter[a, b] = comp.region.intersection(self.known[lid].region)
                dist[a, b] = float(np.linalg.norm(comp.region.centroid_mm - self.known[lid].region.centroid_mm))
        with np.errstate(divide="ignore", invalid="ignore"):
            smaller = np.minimum(size_c[:, None], size_k[None, :])
            ovc = np.where(smaller > 0, inter / np.where(smaller > 0, smaller, 1), 0.0)
            frac_c = np.where(size_c[:, None] > 0, inter / np.where(size_c[:, None] > 0, size_c[:, None], 1), 0.0)
            frac_k = np.where(size_k[None, :] > 0, inter / np.where(size_k[None, :] > 0, size_k[None, :], 1), 0.0)
            total = size_c[:, None] + size_k[None, :]
            dice = np.where(total > 0, 2 * inter / np.where(total > 0, total, 1), 0.0)
        forbidden = np.zeros((n, m), bool)
        for a, comp in enumerate(components):
            for b, lid in enumerate(ids):
                forbidden[a, b] = (comp.source_label, lid) in unlinks

        groups: dict[str, list[int]] = {}
        for a, comp in enumerate(components):
            if comp.source_label in links:
                groups.setdefault(links[comp.source_label], []).append(a)
        free_c = [a for a, c in enumerate(components) if c.source_label not in links]
        free_k = [b for b, lid in enumerate(ids) if lid not in groups]

        # Optimal one-to-one assignment of the free components and lesions.
        if free_c and free_k:
            sub_ovc = ovc[np.ix_(free_c, free_k)]
            sub_dist = dist[np.ix_(free_c, free_k)]
            cost = np.full(sub_ovc.shape, _FORBIDDEN)
            by_overlap = sub_ovc >= limits.min_overlap
            by_distance = ~by_overlap & (sub_dist <= limits.max_distance_mm)
            cost[by_overlap] = (1 - sub_ovc[by_overlap]) + 0.1 * (1 - dice[np.ix_(free_c, free_k)][by_overlap])
            cost[by_distance] = 2.0 + sub_dist[by_distance] / max(limits.max_distance_mm, 1e-9)
            cost[forbidden[np.ix_(free_c, free_k)]] = _FORBIDDEN
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] < _FORBIDDEN:
                    groups.setdefault(ids[free_k[c]], []).append(free_c[r])
        assigned_c = {a for members in groups.values() for a in members}
        index_of = {lid: b for b, lid in enumerate(ids)}

        # Splits: unpaired components inside a lesion paired in this scan.
        for a in [a for a in free_c if a not in assigned_c]:
            best, best_frac = None, 0.0
            for lid in groups:
                b = index_of.get(lid)
                if b is None or forbidden[a, b]:
                    continue
                if frac_c[a, b] >= limits.min_split_overlap and frac_c[a, b] > best_frac:
                    best, best_frac = lid, frac_c[a, b]
            if best is not None:
                groups[best].append(a)
                assigned_c.add(a)

        # Merges: unpaired earlier lesions covered by a component paired in this scan.
        lesion_of = {a: lid for lid, members in groups.items() for a in members}
        absorbed: dict[str, str] = {}
        for b in free_k:
            lid = ids[b]
            if lid in groups:
                continue
            best, best_frac = None, 0.0
            for a in assigned_c:
                if forbidden[a, b]:
                    continue
                if frac_k[a, b] >= limits.min_merge_overlap and frac_k[a, b] > best_frac:
                    best, best_frac = a, frac_k[a, b]
            if best is not None:
                absorbed[lid] = lesion_of[best]
        # The merged lesion carries the id seen first.
        merged_hosts: set[str] = set()
        for host in set(absorbed.values()):
            members = [lid for lid, h in absorbed.items() if h == host] + [host]
            first = min(members, key=lambda lid: self.known[lid].order if lid in self.known else math.inf)
            if first != host:
                groups[first] = groups.pop(host)
                absorbed.pop(first)
                absorbed[host] = first
            for lid, h in list(absorbed.items()):
                if h == host:
                    absorbed[lid] = first
            merged_hosts.add(first)

        # New lesions.
        taken = set(groups) | set(links.values())
        for a in range(n):
            if a not in assigned_c:
                lid = self._fresh_id(taken)
                taken.add(lid)
                groups[lid] = [a]

        decisions: list[Decision] = []
        for lid, members in groups.items():
            members = sorted(members, key=lambda a: _natural_key(components[a].source_label))
            b = index_of.get(lid)
            if baseline:
                status = "baseline"
            elif b is None:
                status = "new"
            elif lid in merged_hosts:
                status = "merged"
            elif len(members) > 1:
                status = "split"
            else:
                status = "matched"
            decisions.append(Decision(
                lid, status, tuple(components[a].source_label for a in members),
                tuple(float(dice[a, b]) if b is not None else math.nan for a in members),
                tuple(float(dist[a, b]) if b is not None else math.nan for a in members),
            ))
        for lid, host in absorbed.items():
            b = index_of[lid]
            members = groups[host]
            decisions.append(Decision(
                lid, "merged", (), tuple(float(dice[a, b]) for a in members),
                tuple(float(dist[a, b]) for a in members), absorbed_into=host,
                via=tuple(components[a].source_label for a in members),
            ))
        for lid in ids:
            if lid not in groups and lid not in absorbed:
                decisions.append(Decision(lid, "disappeared"))

        # Remember what was seen: paired lesions take their new footprint; the others keep the last one.
        order = len(self.known)
        for lid, members in groups.items():
            region = Region.union(components[a].region for a in members)
            if lid in self.known:
                self.known[lid].region = region
                self.known[lid].present = True
            else:
                self.known[lid] = _Known(region, order)
                order += 1
        for lid in ids:
            if lid not in groups:
                self.known[lid].present = False
        decisions.sort(key=lambda d: _natural_key(d.lesion_id))
        return decisions
