"""Track one patient's measured scans: lesions matched scan by scan, written as lesion-table rows.

:class:`SeriesTracker` takes each scan's :class:`~respond.measure.ScanMeasurement`
and, for a follow-up, the registration to the baseline. The scan's lesion
instances are brought into the baseline grid by nearest-neighbour resampling
**only to match them** (:mod:`respond.tracking.matcher`); every row carries the
measurement of the scan's **native** mask. Nothing is measured or read here.

Rows of the lesion table (the shared contract of :data:`respond.tables.LESIONS`):

* a matched or new lesion, or the carrier of a merge: the measurement of its
  component, under its own id;
* a lesion that split (several components): one row per fragment, each
  measured on its own, with ids ``<id>.1``, ``<id>.2``, … (in component
  order) and ``fragment_of = <id>``, and no row for ``<id>`` itself at that
  date. Fragments are data: summing them (RECIST 1.1 §4.3) is the criteria
  engine's rule, not the tracker's;
* a lesion merged into another: 0 mm with ``merged_into = <carrier id>``,
  status ``absent`` (not a disappearance: the criteria read it as merged);
  when the carrier is itself written as fragments, ``merged_into`` names the
  fragment row of the coalesced component (so it always names a row of that
  date);
* a disappeared lesion: 0 mm, status ``absent``.

``track_status`` repeats the match status on each row and ``source_labels``
names the component measured (blank on a 0 mm row).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from respond.errors import InputTableError, MaskValueError, format_values
from respond.measure.scan import ScanMeasurement
from respond.registration import RegistrationResult, warp_labels
from respond.tracking.manifest import Link
from respond.tables import SCAN_REGIONS
from respond.tracking.matcher import Component, Decision, MatchLimits, Region, Tracker

#: Columns the tracker adds to the lesion table.
TRACK_COLUMNS = ("track_status", "source_labels")
#: What an empty baseline mask does: ``assess`` (default) — the patient is assessed from that baseline,
#: lesion-free (every later lesion is new), with the warning ``empty_baseline_mask``; ``fail`` — the patient
#: fails (a segmentation that was never done looks the same as a lesion-free scan).
EMPTY_BASELINE_CHOICES = ("assess", "fail")


def check_empty_baseline(choice: str) -> None:
    """ValueError unless ``choice`` is one of :data:`EMPTY_BASELINE_CHOICES`."""
    if choice not in EMPTY_BASELINE_CHOICES:
        raise ValueError(f"empty_baseline must be one of {', '.join(EMPTY_BASELINE_CHOICES)}, got {choice!r}")


# --------------------------------------------------------------------------- lesions in the baseline frame


def _on_grid(array: np.ndarray, scan: ScanMeasurement) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetOrigin(scan.geometry.origin)
    image.SetSpacing(scan.geometry.spacing)
    image.SetDirection(scan.geometry.direction)
    return image


def label_image(scan: ScanMeasurement) -> sitk.Image:
    """The scan's lesion instances numbered 1..n (in instance order) on the scan's grid."""
    array = np.zeros(scan.geometry.size[::-1], np.uint16 if len(scan.instances) < 65535 else np.uint32)
    for n, inst in enumerate(scan.instances, start=1):
        view = array[inst.bbox]
        view[inst.mask] = n
    return _on_grid(array, scan)


def lesion_mask(scan: ScanMeasurement) -> sitk.Image:
    """A binary (UInt8) image of every lesion of the scan on the scan's grid (e.g. a registration mask)."""
    array = np.zeros(scan.geometry.size[::-1], np.uint8)
    for inst in scan.instances:
        array[inst.bbox][inst.mask] = 1
    return _on_grid(array, scan)


def measured_rows(scan: ScanMeasurement) -> dict[str, dict[str, Any]]:
    """The scan's measured rows keyed by the instance's lesion id (its source label)."""
    return {inst.lesion_id: row for inst, row in zip(scan.instances, scan.rows.to_dict("records"))}


def components_in_baseline(scan: ScanMeasurement, baseline_mask: sitk.Image,
                           registration: RegistrationResult | None) -> list[Component]:
    """The scan's lesions as regions of the baseline grid (nearest-neighbour warp; matching only).

    ``registration`` is None for the baseline itself (the scan is already on the grid).
    """
    if not scan.instances:
        return []
    rows = scan.rows.to_dict("records")
    centroids = np.array([[row[f"centroid_{a}"] for a in "xyz"] for row in rows])
    if registration is None:
        warped, baseline_centroids = label_image(scan), centroids
    else:
        warped = warp_labels(label_image(scan), baseline_mask, registration.transform)
        baseline_centroids = registration.to_baseline(centroids)
    array = sitk.GetArrayViewFromImage(warped)
    boxes = ndimage.find_objects(array, max_label=len(scan.instances))
    out = []
    for n, (inst, row, box, centroid) in enumerate(zip(scan.instances, rows, boxes, baseline_centroids), start=1):
        volume = float(row["volume_mm3"])
        if box is None:  # outside the baseline's field of view: matched by distance only
            region = Region(np.zeros(3, int), np.zeros((0, 0, 0), bool), np.asarray(centroid), volume)
        else:
            region = Region(np.array([s.start for s in box]), np.asarray(array[box] == n), np.asarray(centroid),
                            volume)
        out.append(Component(inst.lesion_id, region))
    return out


# --------------------------------------------------------------------------- rows


def fragment_id(lesion_id: str, n: int) -> str:
    """Id of the ``n``-th fragment (1-based, in component order) of a lesion that split."""
    return f"{lesion_id}.{n}"


def _measured_rows(rows: dict[str, dict[str, Any]], decision: Decision) -> list[dict[str, Any]]:
    """One row per component of ``decision``: the lesion itself, or its fragments when it split."""
    labels = decision.source_labels
    if len(labels) == 1:
        return [{**rows[labels[0]], "lesion_id": decision.lesion_id, "source_labels": labels[0]}]
    return [{**rows[label], "lesion_id": fragment_id(decision.lesion_id, n), "fragment_of": decision.lesion_id,
             "source_labels": label} for n, label in enumerate(labels, start=1)]


def _zero_row(decision: Decision, merged_into: str | None) -> dict[str, Any]:
    return {"lesion_id": decision.lesion_id, "longest_diameter_mm": 0.0, "short_axis_mm": 0.0, "volume_mm3": 0.0,
            "n_slices": 0, "voxel_count": 0, "source_labels": "", "merged_into": merged_into}


def merged_into(decision: Decision, decisions: dict[str, Decision]) -> str | None:
    """The row id carrying a merged lesion's measurement: the carrier's id, or, when the carrier is written as
    fragments, the fragment of the merged component that overlaps the lesion most; None when not merged."""
    if decision.absorbed_into is None:
        return None
    carrier = decisions[decision.absorbed_into]
    if len(carrier.source_labels) < 2:
        return carrier.lesion_id
    best = max(range(len(decision.via)), key=lambda n: (_nan_to_low(decision.overlap[n]), -n))
    return fragment_id(carrier.lesion_id, carrier.source_labels.index(decision.via[best]) + 1)


def _nan_to_low(x: float) -> float:
    return x if math.isfinite(x) else -1.0


def _nan(x: float | None) -> float:
    return float(x) if x is not None and math.isfinite(x) else math.nan


def _match_rows(pid: str, date: dt.date, decision: Decision) -> list[dict[str, Any]]:
    labels = decision.source_labels or decision.via or ("",)
    overlaps = decision.overlap or (math.nan,)
    distances = decision.distance_mm or (math.nan,)
    methods = decision.method or ("",)
    return [{"patient_id": pid, "date": date, "lesion_id": decision.lesion_id, "source_label": label,
             "status": decision.status, "overlap": _nan(overlap), "distance_mm": _nan(distance), "method": method}
            for label, overlap, distance, method in zip(labels, overlaps, distances, methods)]


# --------------------------------------------------------------------------- links


def link_error(link: Link, message: str) -> InputTableError:
    """A manual link that names no scan or no component of the patient's series."""
    return InputTableError(message, code="links.unknown_scan", file=link.file, patient_id=link.patient_id,
                           row=link.row, column="source_label", value=link.source_label)


def check_link_dates(pid: str, links: list[Link], dates: set[dt.date]) -> None:
    """Every link names a scan date of the patient, else :class:`InputTableError`."""
    for link in links:
        if link.date not in dates:
            raise link_error(link, f"no scan of patient {pid} on {link.date}")


def check_link_labels(links: list[Link], date: dt.date, scan: ScanMeasurement) -> None:
    """Every link of ``date`` names a component of the scan, else :class:`InputTableError`."""
    labels = [inst.lesion_id for inst in scan.instances]
    for link in links:
        if link.date == date and link.source_label not in labels:
            found = format_values(labels) or "none"
            raise link_error(link, f"the mask of {date} has no component {link.source_label} (found: {found})")


# --------------------------------------------------------------------------- one series


@dataclass
class SeriesTracker:
    """The lesions of one patient's series, scan by scan (``lesions``: ``components`` or ``labels``).

    :meth:`add` takes scans in date order, the first being the baseline, and
    returns the scan's lesion rows and match rows.
    """

    patient_id: str
    lesions: str = "components"
    limits: MatchLimits = field(default_factory=MatchLimits)
    links: list[Link] = field(default_factory=list)
    tracker: Tracker = field(init=False)
    organ_of: dict[str, str | None] = field(default_factory=dict)
    seen_labels: set[str] = field(default_factory=set)
    baseline_mask: sitk.Image | None = None
    empty_baseline: str = "assess"
    scans: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_empty_baseline(self.empty_baseline)
        reserved = {link.lesion_id for link in self.links if link.action == "link"}
        self.tracker = Tracker(self.limits, reserved_ids=reserved)

    def _record_scan(self, date: dt.date, organ: str | None, scan: ScanMeasurement) -> None:
        """The scans-table row of the scan, and a warning (or, by option, a failure) when its mask is empty."""
        self.scans.append({"patient_id": self.patient_id, "date": date, "visit": None, "region": scan_region(organ),
                           "lesion_count": len(scan.instances)})
        if scan.instances:
            return
        file = scan.file or "the mask"
        if self.baseline_mask is None:
            if self.empty_baseline == "fail":
                raise MaskValueError(
                    f"the baseline mask of {date} is empty: no lesion segmented. If the patient truly had no "
                    "lesion at baseline, pass empty_baseline='assess' (CLI: --empty-baseline assess); otherwise "
                    "segment the baseline scan", code="mask.empty_baseline", file=scan.file,
                    patient_id=self.patient_id)
            self.warnings.append(_warning(self.patient_id, "empty_baseline_mask", (
                f"the baseline mask of {date} ({file}) is empty: the patient is assessed from this lesion-free "
                "baseline and every later lesion is new. If the segmentation is missing rather than lesion-free, "
                "fix the mask (or run with --empty-baseline fail)")))
        else:
            self.warnings.append(_warning(self.patient_id, "empty_followup_mask", (
                f"the mask of {date} ({file}) is empty: every lesion is recorded as disappeared at this scan. "
                "If the segmentation is missing rather than lesion-free, fix the mask or remove the scan")))

    def _links_at(self, date: dt.date) -> tuple[dict[str, str], set[tuple[str, str]]]:
        forced = {link.source_label: link.lesion_id for link in self.links
                  if link.date == date and link.action == "link"}
        forbidden = {(link.source_label, link.lesion_id) for link in self.links
                     if link.date == date and link.action != "link"}
        return forced, forbidden

    def decisions(self, date: dt.date, scan: ScanMeasurement,
                  registration: RegistrationResult | None) -> list[Decision]:
        """Match the scan's lesions (``registration``: follow-up → baseline, None for the baseline)."""
        is_baseline = self.baseline_mask is None
        if is_baseline:
            self.baseline_mask = lesion_mask(scan)
            self.tracker.spacing_mm = tuple(float(v) for v in scan.geometry.spacing[::-1])  # k, j, i
        if self.lesions == "labels":
            return label_decisions(scan, self.seen_labels, is_baseline)
        components = components_in_baseline(scan, self.baseline_mask, registration)
        forced, forbidden = self._links_at(date)
        return self.tracker.update(components, links=forced, unlinks=forbidden)

    def add(self, date: dt.date, organ: str | None, scan: ScanMeasurement,
            registration: RegistrationResult | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Track one scan; returns its ``(lesion rows, match rows)``.

        The scan's row of the scans table and any warning are added to :attr:`scans` and :attr:`warnings`.
        """
        self._record_scan(date, organ, scan)
        rows = measured_rows(scan)
        lesion_rows: list[dict[str, Any]] = []
        match_rows: list[dict[str, Any]] = []
        decisions = self.decisions(date, scan, registration)
        by_id = {d.lesion_id: d for d in decisions}
        for d in decisions:
            self.organ_of.setdefault(d.lesion_id, organ)
            base = {"patient_id": self.patient_id, "date": date, "organ": self.organ_of[d.lesion_id],
                    "track_status": d.status}
            if d.source_labels:
                lesion_rows += [{**row, **base, "status": "present"} for row in _measured_rows(rows, d)]
            else:
                lesion_rows.append({**_zero_row(d, merged_into(d, by_id)), **base, "status": "absent"})
            match_rows.extend(_match_rows(self.patient_id, date, d))
        return lesion_rows, match_rows


def scan_region(organ: str | None) -> str | None:
    """The scans-table region of a scan of ``organ``: the organ itself when it names a region
    (:data:`respond.tables.SCAN_REGIONS`, e.g. ``brain``), else None (not known)."""
    return organ if organ in SCAN_REGIONS else None


def _warning(patient_id: str, code: str, message: str) -> dict[str, Any]:
    return {"patient_id": patient_id, "criteria": None, "code": code, "message": message}


def label_decisions(scan: ScanMeasurement, seen: set[str], is_baseline: bool) -> list[Decision]:
    """Labels mode: the label values are the lesion ids (no matching); missing labels disappeared."""
    present = [inst.lesion_id for inst in scan.instances]
    decisions = []
    for label in present:
        status = "baseline" if is_baseline else ("matched" if label in seen else "new")
        decisions.append(Decision(label, status, (label,), (math.nan,), (math.nan,),
                                  method=("" if is_baseline else "label",)))
    for label in sorted(seen - set(present), key=lambda s: (len(s), s)):
        decisions.append(Decision(label, "disappeared"))
    seen.update(present)
    return decisions
