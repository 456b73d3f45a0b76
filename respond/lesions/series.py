"""Track the lesions of patient series: register, match, measure, tabulate.

For each patient of a manifest, scans are taken in date order. The first is
the baseline. Each follow-up is registered to the baseline
(:func:`respond.registration.register_to_baseline`), its lesion components are
brought into the baseline grid by nearest-neighbour resampling **only to match
them** (:mod:`respond.lesions.tracking`), and every lesion is measured on the
scan's **native** mask (:mod:`respond.measure`). The result is the series'
lesion table (one row per lesion per date, ready for ``respond evaluate``),
the matches table, the registrations table with each transform, and the
failures of patients that could not be tracked (one bad patient never stops
the others).

Rows of the lesion table:

* a matched, new or merged lesion: the measurement of its component;
* a split lesion: its fragments summed — ``longest_diameter_mm``,
  ``short_axis_mm``, ``volume_mm3``, ``mesh_volume_mm3`` and ``voxel_count``
  are sums (RECIST 1.1: the diameters of the fragments are added), ``n_slices``
  the largest fragment count, endpoints, ``diameter_3d_mm`` and ``ld_slice``
  those of the largest fragment, the centroid volume-weighted;
  ``fragments`` gives the number of pieces and ``source_labels`` their labels;
* a disappeared lesion, or one absorbed by a merge: 0 mm, status ``absent``
  (the criteria engine reads 0 as disappeared).

``track_status`` repeats the match status on each row.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from respond.errors import RegistrationError, RespondError
from respond.io.dicom import is_dicom_seg, read_seg
from respond.io.geometry import Geometry
from respond.io.images import read_image
from respond.io.masks import load_pair, read_mask
from respond.io.writers import write_csv
from respond.lesions.manifest import (
    Link,
    Manifest,
    ManifestSource,
    read_links,
    read_manifest,
)
from respond.lesions.tracking import Component, Decision, MatchLimits, Region, Tracker
from respond.measure import write_lesion_csv
from respond.measure.axial import axial_frame
from respond.measure.instances import LesionInstance, find_lesions, segment_instances
from respond.measure.lesion import MEASURABLE_MM, measure_lesion
from respond.measure.table import lesion_frame
from respond.registration import (
    RegistrationResult,
    RegistrationSettings,
    identity_result,
    register_to_baseline,
    warp_labels,
)
from respond.tables import FAILURES, LESIONS, MATCHES, REGISTRATIONS

#: Columns summed over the fragments of a split lesion.
SUMMED_COLUMNS = ("longest_diameter_mm", "short_axis_mm", "volume_mm3", "mesh_volume_mm3", "voxel_count")
#: Columns the tracker adds to the lesion table.
TRACK_COLUMNS = ("track_status", "source_labels", "fragments")


@dataclass
class TrackResult:
    """Tables of a tracking run (each a DataFrame) and the transforms.

    ``transforms`` maps ``(patient_id, date)`` to the follow-up's transform
    (baseline → follow-up points); ``registrations.transform_file`` names the
    file each is written to by :meth:`write`. ``seconds`` sums the wall time
    per stage (``read``, ``measure``, ``track``; registration times are in
    ``registrations.seconds``) over the patients tracked.
    """

    lesions: pd.DataFrame
    matches: pd.DataFrame
    registrations: pd.DataFrame
    failures: pd.DataFrame
    transforms: dict[tuple[str, dt.date], sitk.Transform] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def write(self, out: str | os.PathLike) -> dict[str, Path]:
        """Write ``lesions.csv``, ``matches.csv``, ``registrations.csv``, ``failures.csv`` and
        ``transforms/*.tfm`` into ``out`` (atomically, file by file)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "lesions": write_lesion_csv(self.lesions, out / "lesions.csv"),
            "matches": write_csv(_iso(self.matches), out / "matches.csv"),
            "registrations": write_csv(_iso(self.registrations), out / "registrations.csv"),
            "failures": write_csv(self.failures, out / "failures.csv"),
        }
        for (pid, date), transform in self.transforms.items():
            _write_transform(transform, out / transform_file(pid, date))
        return paths


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("date", "baseline_date"):
        if column in out.columns:
            out[column] = out[column].map(lambda d: d.isoformat() if isinstance(d, dt.date) else d)
    return out


def transform_file(patient_id: str, date: dt.date) -> str:
    """Relative path of a follow-up's transform file in the output folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(patient_id))
    return f"transforms/{safe}_{date.isoformat()}.tfm"


def _write_transform(transform: sitk.Transform, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tfm", dir=path.parent)
    os.close(fd)
    try:
        sitk.WriteTransform(transform, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- one scan


@dataclass
class _Scan:
    date: dt.date
    organ: str | None
    mask: sitk.Image
    image: sitk.Image | None
    mask_file: str
    instances: list[LesionInstance]
    rows: dict[str, dict[str, Any]]  # source label → measurement row


def _add_seconds(seconds: dict[str, float] | None, stage: str, since: float) -> float:
    """Add the time since ``since`` to ``seconds[stage]``; return the current time."""
    now = time.perf_counter()
    if seconds is not None:
        seconds[stage] = seconds.get(stage, 0.0) + now - since
    return now


def _load_scan(rec: dict[str, Any], *, lesions: str, connectivity: int, allow_resample_mask: bool,
               allow_uneven_slices: bool = False, seconds: dict[str, float] | None = None) -> _Scan:
    started = time.perf_counter()
    mask_file = str(rec["mask"])
    if is_dicom_seg(mask_file):  # DICOM SEG: each segment is a lesion (id from TrackingID / SegmentLabel)
        image = (read_image(rec["image"], allow_uneven_slices=allow_uneven_slices)
                 if rec.get("image") is not None else None)
        seg = read_seg(mask_file, grid=None if image is None else Geometry.from_image(image))
        mask, instances = seg.union_image(), segment_instances(seg)
        geometry = seg.geometry
    else:
        if rec.get("image") is not None:
            image, mask = load_pair(rec["image"], rec["mask"], allow_resample_mask=allow_resample_mask,
                                    allow_uneven_slices=allow_uneven_slices)
        else:
            image, mask = None, read_mask(rec["mask"])
        geometry = Geometry.from_image(mask, file=mask_file)
        instances = find_lesions(sitk.GetArrayViewFromImage(mask), lesions=lesions,  # type: ignore[arg-type]
                                 connectivity=connectivity, file=mask_file)
    started = _add_seconds(seconds, "read", started)
    frame = axial_frame(geometry)
    rows = {}
    for inst in instances:
        try:
            rows[inst.lesion_id] = measure_lesion(inst, geometry, frame)
        except RespondError as exc:
            if exc.file is None:
                exc.file = mask_file
            raise
    _add_seconds(seconds, "measure", started)
    return _Scan(rec["date"], rec.get("organ"), mask, image, mask_file, instances, rows)


def _label_image(scan: _Scan) -> sitk.Image:
    """The scan's lesion instances numbered 1..n (in instance order) on the scan's grid."""
    array = np.zeros(scan.mask.GetSize()[::-1], np.uint16 if len(scan.instances) < 65535 else np.uint32)
    for n, inst in enumerate(scan.instances, start=1):
        view = array[inst.bbox]
        view[inst.mask] = n
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(scan.mask)
    return image


def _components(scan: _Scan, baseline_mask: sitk.Image, registration: RegistrationResult | None) -> list[Component]:
    """The scan's lesions as regions of the baseline grid (nearest-neighbour warp; matching only)."""
    if not scan.instances:
        return []
    centroids = np.array([[scan.rows[i.lesion_id][f"centroid_{a}"] for a in "xyz"] for i in scan.instances])
    if registration is None:
        warped = _label_image(scan)
        baseline_centroids = centroids
    else:
        warped = warp_labels(_label_image(scan), baseline_mask, registration.transform)
        baseline_centroids = registration.to_baseline(centroids)
    array = sitk.GetArrayViewFromImage(warped)
    boxes = ndimage.find_objects(array, max_label=len(scan.instances))
    out = []
    for n, (inst, box, centroid) in enumerate(zip(scan.instances, boxes, baseline_centroids), start=1):
        volume = float(scan.rows[inst.lesion_id]["volume_mm3"])
        if box is None:  # outside the baseline's field of view: matched by distance only
            region = Region(np.zeros(3, int), np.zeros((0, 0, 0), bool), np.asarray(centroid), volume)
        else:
            region = Region(np.array([s.start for s in box]), np.asarray(array[box] == n), np.asarray(centroid), volume)
        out.append(Component(inst.lesion_id, region))
    return out


# --------------------------------------------------------------------------- rows


def _measured_row(scan: _Scan, labels: tuple[str, ...]) -> dict[str, Any]:
    parts = [scan.rows[label] for label in labels]
    if len(parts) == 1:
        row = dict(parts[0])
    else:
        largest = max(parts, key=lambda r: (r["longest_diameter_mm"], r["volume_mm3"]))
        row = dict(largest)
        for column in SUMMED_COLUMNS:
            row[column] = sum(p[column] for p in parts)
        row["n_slices"] = max(p["n_slices"] for p in parts)
        weights = np.array([p["volume_mm3"] for p in parts], float)
        for axis in "xyz":
            values = np.array([p[f"centroid_{axis}"] for p in parts], float)
            row[f"centroid_{axis}"] = float((values * weights).sum() / weights.sum())
        row["touches_edge"] = any(p["touches_edge"] for p in parts)
        row["single_slice"] = all(p["single_slice"] for p in parts)
        row["below_10mm"] = bool(row["longest_diameter_mm"] < MEASURABLE_MM)
    row["source_labels"] = "+".join(labels)
    row["fragments"] = len(parts)
    return row


def _zero_row() -> dict[str, Any]:
    return {"longest_diameter_mm": 0.0, "short_axis_mm": 0.0, "volume_mm3": 0.0, "n_slices": 0,
            "voxel_count": 0, "fragments": 0, "source_labels": ""}


def _nan(x: float) -> float:
    return float(x) if x is not None and math.isfinite(x) else math.nan


# --------------------------------------------------------------------------- one patient


@dataclass
class _PatientOutput:
    lesions: list[dict[str, Any]] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    transforms: dict[tuple[str, dt.date], sitk.Transform] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class _StageError(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.stage = stage
        self.error = error


def _track_patient(pid: str, scans: pd.DataFrame, *, lesions: str, links: list[Link], transform: str,
                   limits: MatchLimits, settings: RegistrationSettings | None, connectivity: int,
                   allow_resample_mask: bool, allow_implausible: bool, output: _PatientOutput,
                   allow_uneven_slices: bool = False) -> None:
    records = scans.to_dict("records")
    forced: dict[dt.date, dict[str, str]] = {}
    forbidden: dict[dt.date, set[tuple[str, str]]] = {}
    for link in links:
        if link.action == "link":
            forced.setdefault(link.date, {})[link.source_label] = link.lesion_id
        else:
            forbidden.setdefault(link.date, set()).add((link.source_label, link.lesion_id))
    scan_dates = {r["date"] for r in records}
    for link in links:
        if link.date not in scan_dates:
            raise _StageError("track", _link_error(link, f"no scan of patient {pid} on {link.date}"))
    tracker = Tracker(limits, reserved_ids={link.lesion_id for link in links if link.action == "link"})
    organ_of: dict[str, str | None] = {}
    seen_labels: set[str] = set()
    baseline: _Scan | None = None
    for index, rec in enumerate(records):
        try:
            scan = _load_scan(rec, lesions=lesions, connectivity=connectivity, allow_resample_mask=allow_resample_mask,
                              allow_uneven_slices=allow_uneven_slices, seconds=output.seconds)
        except RespondError as exc:
            stage = "measure" if exc.code.startswith("measure") else "read"
            raise _StageError(stage, exc) from exc
        for link in links:
            if link.date == scan.date and link.source_label not in scan.rows:
                found = ", ".join(scan.rows) or "none"
                raise _StageError("track", _link_error(
                    link, f"the mask of {scan.date} has no component {link.source_label} (found: {found})"))
        if baseline is None:
            baseline = scan
        registration = _register(pid, scan, baseline, index, lesions=lesions, transform=transform,
                                 settings=settings, allow_implausible=allow_implausible, output=output)
        started = time.perf_counter()
        if lesions == "labels":
            decisions = _label_decisions(scan, seen_labels, baseline is scan)
        else:
            try:
                components = _components(scan, baseline.mask, registration if index else None)
                decisions = tracker.update(components, links=forced.get(scan.date),
                                           unlinks=forbidden.get(scan.date))
            except RespondError as exc:
                raise _StageError("track", exc) from exc
        _emit(pid, scan, decisions, organ_of, output)
        _add_seconds(output.seconds, "track", started)


def _link_error(link: Link, message: str) -> RespondError:
    from respond.errors import InputTableError

    return InputTableError(message, code="links.unknown_scan", file=link.file, patient_id=link.patient_id,
                           row=link.row, column="source_label", value=link.source_label)


def _register(pid: str, scan: _Scan, baseline: _Scan, index: int, *, lesions: str, transform: str,
              settings: RegistrationSettings | None, allow_implausible: bool,
              output: _PatientOutput) -> RegistrationResult | None:
    record = {"patient_id": pid, "date": scan.date, "baseline_date": baseline.date}
    if index == 0:
        output.registrations.append({**record, **identity_result(method="baseline").as_record(),
                                     "notes": "baseline: the reference frame"})
        return None
    if lesions == "labels":
        output.registrations.append({**record, **identity_result(method="none").as_record(),
                                     "notes": "labels mode: lesion ids come from the mask labels; no registration needed"})
        return None
    if not scan.instances:
        output.registrations.append({**record, **identity_result(method="none").as_record(),
                                     "notes": "no lesion in this scan: nothing to match"})
        return None
    try:
        result = register_to_baseline(baseline.image, scan.image, fixed_mask=baseline.mask, moving_mask=scan.mask,
                                      transform=transform, settings=settings)  # type: ignore[arg-type]
    except RegistrationError as exc:
        exc.patient_id, exc.file = pid, scan.mask_file
        output.registrations.append({**record, "method": "failed", "plausible": False, "problems": exc.message})
        raise _StageError("register", exc) from exc
    file = transform_file(pid, scan.date)
    output.registrations.append({**record, **result.as_record(), "transform_file": file})
    output.transforms[(pid, scan.date)] = result.transform
    if not result.plausible and not allow_implausible:
        raise _StageError("register", RegistrationError(
            f"registration of {scan.date} to {baseline.date} is implausible ({'; '.join(result.problems)}); "
            "it is not used. Check the scans (wrong patient? corrupted image?) or pass allow_implausible=True "
            "(CLI: --allow-implausible) to use it anyway",
            code="registration.implausible", patient_id=pid, file=scan.mask_file,
            value=list(result.problems)))
    return result


def _label_decisions(scan: _Scan, seen: set[str], is_baseline: bool) -> list[Decision]:
    present = list(scan.rows)
    decisions = []
    for label in present:
        status = "baseline" if is_baseline else ("matched" if label in seen else "new")
        decisions.append(Decision(label, status, (label,), (math.nan,), (math.nan,)))
    for label in sorted(seen - set(present), key=lambda s: (len(s), s)):
        decisions.append(Decision(label, "disappeared"))
    seen.update(present)
    return decisions


def _emit(pid: str, scan: _Scan, decisions: list[Decision], organ_of: dict[str, str | None],
          output: _PatientOutput) -> None:
    for d in decisions:
        organ_of.setdefault(d.lesion_id, scan.organ)
        base = {"patient_id": pid, "date": scan.date, "lesion_id": d.lesion_id, "organ": organ_of[d.lesion_id],
                "track_status": d.status}
        if d.source_labels:
            output.lesions.append({**_measured_row(scan, d.source_labels), **base, "status": "present"})
            for label, overlap, distance in zip(d.source_labels, d.overlap, d.distance_mm):
                output.matches.append({"patient_id": pid, "date": scan.date, "lesion_id": d.lesion_id,
                                       "source_label": label, "status": d.status, "overlap": _nan(overlap),
                                       "distance_mm": _nan(distance)})
        else:
            output.lesions.append({**_zero_row(), **base, "status": "absent"})
            labels = d.via or ("",)
            overlaps = d.overlap or (math.nan,)
            distances = d.distance_mm or (math.nan,)
            for label, overlap, distance in zip(labels, overlaps, distances):
                output.matches.append({"patient_id": pid, "date": scan.date, "lesion_id": d.lesion_id,
                                       "source_label": label, "status": d.status, "overlap": _nan(overlap),
                                       "distance_mm": _nan(distance)})


# --------------------------------------------------------------------------- public


def _natural(values: pd.Series) -> pd.Series:
    return values.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))


def track(
    manifest: ManifestSource | Manifest,
    *,
    out: str | os.PathLike | None = None,
    lesions: str = "components",
    links: ManifestSource | Iterable[Link] | None = None,
    transform: str = "rigid",
    organ: str | None = None,
    limits: MatchLimits | None = None,
    settings: RegistrationSettings | None = None,
    connectivity: int = 26,
    base_dir: str | os.PathLike | None = None,
    allow_outside: bool = False,
    allow_resample_mask: bool = False,
    allow_implausible: bool = False,
    allow_uneven_slices: bool = False,
) -> TrackResult:
    """Track the lesions of every patient of a manifest across their scans.

    Parameters
    ----------
    manifest:
        Manifest CSV path or DataFrame (``patient_id, date, mask`` and optional
        ``image, organ``), or a :class:`~respond.lesions.manifest.Manifest`.
    out:
        When given, the tables and transforms are written there (:meth:`TrackResult.write`).
    lesions:
        ``"components"`` (binary masks; connected components are matched
        across scans) or ``"labels"`` (label values are the reader's lesion
        ids: no registration, no matching).
    links:
        Manual links/unlinks (CSV path, DataFrame or :class:`Link` list; see
        :mod:`respond.lesions.manifest`) that override the matcher.
    transform:
        ``"rigid"`` (default) or ``"affine"`` registration.
    organ:
        Organ of manifest rows without one.
    limits, settings:
        :class:`~respond.lesions.tracking.MatchLimits` and
        :class:`~respond.registration.RegistrationSettings`.
    allow_outside, allow_resample_mask, allow_implausible, allow_uneven_slices:
        Accept manifest paths outside the manifest's folder; resample a mask
        whose grid differs from its image (nearest neighbour); use a
        registration that failed the plausibility checks; accept DICOM image
        series with missing slices (see :mod:`respond.io.dicom`).

    Returns
    -------
    TrackResult
        ``lesions`` (LESIONS columns + measurement and tracking columns),
        ``matches``, ``registrations`` and ``failures`` (patient_id, stage,
        error_code, message) DataFrames.
    """
    if lesions not in ("components", "labels"):
        raise ValueError(f"lesions must be 'components' or 'labels', got {lesions!r}")
    if transform not in ("rigid", "affine"):
        raise ValueError(f"transform must be 'rigid' or 'affine', got {transform!r}")
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest, base_dir=base_dir, organ=organ, allow_outside=allow_outside)
    if links is None:
        link_list: list[Link] = []
    elif isinstance(links, (str, os.PathLike, pd.DataFrame)):
        link_list = read_links(links)
    else:
        link_list = list(links)
    if link_list and lesions == "labels":
        raise ValueError("manual links apply to matched components; in labels mode the mask labels are the ids")
    limits = limits or MatchLimits()

    failures: list[dict[str, Any]] = [{"stage": "manifest", **e.as_record()} for e in manifest.failures]
    output = _PatientOutput()
    for pid in manifest.patients:
        patient = _PatientOutput()
        try:
            _track_patient(pid, manifest.scans(pid), lesions=lesions,
                           links=[link for link in link_list if link.patient_id == pid], transform=transform,
                           limits=limits, settings=settings, connectivity=connectivity,
                           allow_resample_mask=allow_resample_mask, allow_implausible=allow_implausible,
                           allow_uneven_slices=allow_uneven_slices,
                           output=patient)
        except _StageError as exc:
            error = exc.error
            if isinstance(error, RespondError):
                if error.patient_id is None:
                    error.patient_id = pid
                    error.args = (error._render(),)
                record = error.as_record()
            else:  # pragma: no cover - defensive
                record = {"patient_id": pid, "error_code": "internal.error", "message": repr(error)}
            failures.append({"stage": exc.stage, **record})
            output.registrations.extend(patient.registrations)  # say which registration failed …
            output.transforms.update(patient.transforms)  # … and keep its transform for inspection
            continue
        except Exception as exc:  # noqa: BLE001 - one patient's unexpected crash never stops the others
            failures.append({"patient_id": pid, "stage": "track", "error_code": "internal.error",
                             "message": f"{type(exc).__name__}: {exc} "
                                        f"({traceback.format_exc(limit=2).splitlines()[-1]})"})
            continue
        output.lesions.extend(patient.lesions)
        output.matches.extend(patient.matches)
        output.registrations.extend(patient.registrations)
        output.transforms.update(patient.transforms)
        for stage, value in patient.seconds.items():
            output.seconds[stage] = output.seconds.get(stage, 0.0) + value

    result = TrackResult(
        lesions=_lesion_table(output.lesions),
        matches=_sorted(MATCHES.conform(pd.DataFrame(output.matches)) if output.matches else MATCHES.empty()),
        registrations=(REGISTRATIONS.conform(pd.DataFrame(output.registrations), keep_extra=False)
                       if output.registrations else REGISTRATIONS.empty()),
        failures=FAILURES.conform(pd.DataFrame(failures), keep_extra=False) if failures else FAILURES.empty(),
        transforms=output.transforms,
        seconds=output.seconds,
    )
    if out is not None:
        result.write(out)
    return result


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = pd.DataFrame({"p": frame["patient_id"], "d": frame["date"], "l": _natural(frame["lesion_id"])})
    order = keys.sort_values(["p", "d", "l"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _lesion_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = lesion_frame([])
    if rows:
        frame = pd.DataFrame(rows)
        for column in ("n_slices", "voxel_count", "fragments"):
            if column in frame.columns:
                frame[column] = frame[column].astype("Int64")
        if "ld_slice" in frame.columns:
            frame["ld_slice"] = frame["ld_slice"].astype("Int64")
        frame = LESIONS.conform(frame)
    for column in TRACK_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    frame = frame[[c for c in frame.columns if c not in TRACK_COLUMNS] + list(TRACK_COLUMNS)]
    return _sorted(frame)
