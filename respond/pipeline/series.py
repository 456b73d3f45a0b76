"""Track the lesions of patient series: read → register → measure → track, per patient.

For each patient of a manifest, scans are taken in date order. The first is
the baseline. Each scan is read and measured on its **native** mask
(:func:`respond.measure.measure_scan`); each follow-up is registered to the
baseline (:func:`respond.registration.register_to_baseline`) and its lesions are
matched to those seen before (:class:`respond.tracking.SeriesTracker`). The
result is the series' lesion table (one row per lesion per date, ready for
``respond evaluate``), the matches table, the registrations table with each
transform, and the failures of patients that could not be tracked (one bad
patient never stops the others). The rows are described in
:mod:`respond.tracking.series`.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import SimpleITK as sitk

from respond.errors import RegistrationError, RespondError
from respond.io.images import read_image
from respond.io.writers import atomic_write, path_sha256, write_csv
from respond.measure import write_lesion_csv
from respond.measure.scan import ScanMeasurement, measure_scan
from respond.measure.table import lesion_frame
from respond.pipeline.options import check_lesions_and_transform
from respond.registration import (
    RegistrationResult,
    RegistrationSettings,
    identity_result,
    register_to_baseline,
)
from respond.tables import FAILURES, LESIONS, MATCHES, REGISTRATIONS, SCANS, WARNINGS
from respond.tracking import (
    TRACK_COLUMNS,
    Link,
    Manifest,
    MatchLimits,
    SeriesTracker,
    check_empty_baseline,
    check_link_dates,
    check_link_labels,
    check_link_patients,
    duplicate_mask_warnings,
    lesion_mask,
    natural_key,
    read_links,
    read_manifest,
)
from respond.tracking.manifest import ManifestSource


@dataclass(repr=False)
class TrackResult:
    """Tables of a tracking run (each a DataFrame) and the transforms.

    ``transforms`` maps ``(patient_id, date)`` to the follow-up's transform
    (baseline → follow-up points); ``registrations.transform_file`` names the
    file each is written to by :meth:`write`. ``seconds`` sums the wall time
    per stage (``read``, ``measure``, ``track``; registration times are in
    ``registrations.seconds``) over the patients tracked. ``scans`` has one
    row per scan tracked (:data:`respond.tables.SCANS`: ``lesion_count`` 0 =
    imaged, nothing found) and ``warnings`` the suspicious content found
    (:data:`respond.tables.WARNINGS`, e.g. ``empty_baseline_mask``).
    """

    lesions: pd.DataFrame
    matches: pd.DataFrame
    registrations: pd.DataFrame
    failures: pd.DataFrame
    scans: pd.DataFrame = field(default_factory=SCANS.empty)
    warnings: pd.DataFrame = field(default_factory=WARNINGS.empty)
    transforms: dict[tuple[str, dt.date], sitk.Transform] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def write(self, out: str | os.PathLike) -> dict[str, Path]:
        """Write ``lesions.csv``, ``matches.csv``, ``registrations.csv``, ``scans.csv``, ``warnings.csv``,
        ``failures.csv`` and ``transforms/*.tfm`` into ``out`` (atomically, file by file)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "lesions": write_lesion_csv(self.lesions, out / "lesions.csv"),
            "matches": write_csv(_iso(self.matches), out / "matches.csv"),
            "registrations": write_csv(_iso(self.registrations), out / "registrations.csv"),
            "scans": write_csv(_iso(self.scans), out / "scans.csv"),
            "warnings": write_csv(self.warnings, out / "warnings.csv"),
            "failures": write_csv(self.failures, out / "failures.csv"),
        }
        write_transforms(self.transforms, out)
        return paths

    def __repr__(self) -> str:
        from respond.results import short_repr

        return short_repr(self, ("lesions", "matches", "registrations", "failures"))


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


def write_transform(transform: sitk.Transform, path: str | os.PathLike) -> Path:
    """Write an ITK transform file atomically (ITK picks the format from the ``.tfm`` suffix)."""
    def write(tmp: Path) -> None:
        named = tmp.with_name(tmp.name + ".tfm")
        try:
            sitk.WriteTransform(transform, str(named))
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)

    return atomic_write(path, write)


def write_transforms(transforms: dict[tuple[str, dt.date], sitk.Transform], out: str | os.PathLike) -> None:
    """Write each follow-up's transform to ``out / transform_file(patient, date)``."""
    for (pid, date), transform in transforms.items():
        write_transform(transform, Path(out) / transform_file(pid, date))


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class SeriesOptions:
    """How a patient's series is read, registered and tracked (see :func:`track` for each option)."""

    lesions: str = "components"
    transform: str = "rigid"
    limits: MatchLimits = field(default_factory=MatchLimits)
    settings: RegistrationSettings | None = None
    connectivity: int = 26
    allow_resample_mask: bool = False
    allow_implausible: bool = False
    allow_uneven_slices: bool = False
    allow_float_mask: bool = False
    empty_baseline: str = "assess"

    def __post_init__(self) -> None:
        check_empty_baseline(self.empty_baseline)
        check_lesions_and_transform(self.lesions, self.transform)


# --------------------------------------------------------------------------- one patient


@dataclass
class _PatientOutput:
    lesions: list[dict[str, Any]] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    scans: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    transforms: dict[tuple[str, dt.date], sitk.Transform] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add_seconds(self, seconds: dict[str, float]) -> None:
        for stage, value in seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + value

    def extend(self, other: _PatientOutput, *, failed: bool = False) -> None:
        """Take ``other``'s rows; of a failed patient only the registrations and transforms (for inspection)."""
        if not failed:
            self.lesions.extend(other.lesions)
            self.matches.extend(other.matches)
            self.scans.extend(other.scans)
            self.warnings.extend(other.warnings)
            self.add_seconds(other.seconds)
        self.registrations.extend(other.registrations)
        self.transforms.update(other.transforms)


class _StageError(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.stage = stage
        self.error = error


def _read_scan(rec: dict[str, Any], options: SeriesOptions,
               output: _PatientOutput) -> tuple[sitk.Image | None, ScanMeasurement]:
    """The scan's image (None without one; ``read`` seconds) and its measured lesions (``measure`` seconds:
    the mask read and measured); errors become stage errors."""
    try:
        started = time.perf_counter()
        image = (read_image(rec["image"], allow_uneven_slices=options.allow_uneven_slices)
                 if rec.get("image") is not None else None)
        image_read = time.perf_counter()
        scan = measure_scan(rec["mask"], image, lesions=options.lesions,  # type: ignore[arg-type]
                            connectivity=options.connectivity, allow_resample_mask=options.allow_resample_mask,
                            allow_uneven_slices=options.allow_uneven_slices,
                            allow_float_mask=options.allow_float_mask)
    except RespondError as exc:
        stage = "measure" if exc.code.startswith("measure") else "read"
        raise _StageError(stage, exc) from exc
    output.add_seconds({"read": image_read - started, "measure": time.perf_counter() - image_read})
    return image, scan


def _track_patient(pid: str, scans: pd.DataFrame, links: list[Link], options: SeriesOptions,
                   output: _PatientOutput) -> None:
    records = scans.to_dict("records")
    try:
        check_link_dates(pid, links, {r["date"] for r in records})
    except RespondError as exc:
        raise _StageError("track", exc) from exc
    series = SeriesTracker(pid, options.lesions, options.limits, links, empty_baseline=options.empty_baseline)
    baseline: tuple[dict[str, Any], sitk.Image | None, sitk.Image] | None = None
    for index, rec in enumerate(records):
        image, scan = _read_scan(rec, options, output)
        try:
            check_link_labels(links, rec["date"], scan)
        except RespondError as exc:
            raise _StageError("track", exc) from exc
        if baseline is None:
            baseline = (rec, image, lesion_mask(scan))
        registration = _register(pid, rec, image, scan, baseline, index, options, output)
        started = time.perf_counter()
        try:
            lesion_rows, match_rows = series.add(rec["date"], rec.get("organ"), scan, registration)
        except RespondError as exc:
            raise _StageError("track", exc) from exc
        output.lesions.extend(lesion_rows)
        output.matches.extend(match_rows)
        output.add_seconds({"track": time.perf_counter() - started})
    output.scans.extend(series.scans)
    output.warnings.extend(series.warnings)


def _register(pid: str, rec: dict[str, Any], image: sitk.Image | None, scan: ScanMeasurement,
              baseline: tuple[dict[str, Any], sitk.Image | None, sitk.Image], index: int,
              options: SeriesOptions, output: _PatientOutput) -> RegistrationResult | None:
    """Register a follow-up to the baseline and record it; None for the baseline or when nothing is matched.

    ``baseline``: the baseline's manifest record, image and lesion mask."""
    base_rec, base_image, base_mask = baseline
    date = rec["date"]
    record = {"patient_id": pid, "date": date, "baseline_date": base_rec["date"]}
    skipped = _no_registration(index, options.lesions, scan)
    if skipped is not None:
        method, note = skipped
        output.registrations.append({**record, **identity_result(method=method).as_record(), "notes": note})
        return None
    mask_file = scan.file or str(rec["mask"])
    try:
        result = register_to_baseline(base_image, image, fixed_mask=base_mask, moving_mask=lesion_mask(scan),
                                      transform=options.transform, settings=options.settings)  # type: ignore[arg-type]
    except RegistrationError as exc:
        exc.patient_id, exc.file = pid, mask_file
        output.registrations.append({**record, "method": "failed", "plausible": False, "problems": exc.message})
        raise _StageError("register", exc) from exc
    output.registrations.append({**record, **result.as_record(), "transform_file": transform_file(pid, date)})
    output.transforms[(pid, date)] = result.transform
    if not result.plausible and not options.allow_implausible:
        raise _StageError("register", RegistrationError(
            f"registration of {date} to {base_rec['date']} is implausible ({'; '.join(result.problems)}); "
            "it is not used. Check the scans (wrong patient? corrupted image?) or pass allow_implausible=True "
            "(CLI: --allow-implausible) to use it anyway",
            code="registration.implausible", patient_id=pid, file=mask_file,
            value=list(result.problems)))
    return result


def _no_registration(index: int, lesions: str, scan: ScanMeasurement) -> tuple[str, str] | None:
    """``(method, note)`` when a scan is not registered (the baseline, labels mode, no lesion), else None."""
    if index == 0:
        return "baseline", "baseline: the reference frame"
    if lesions == "labels":
        return "none", "labels mode: lesion ids come from the mask labels; no registration needed"
    if not scan.instances:
        return "none", "no lesion in this scan: nothing to match"
    return None


# --------------------------------------------------------------------------- public


# long: the public API's docstring documents every option; the body itself is about 25 lines
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
    allow_float_mask: bool = False,
    empty_baseline: str = "assess",
) -> TrackResult:
    """Track the lesions of every patient of a manifest across their scans.

    Parameters
    ----------
    manifest:
        Manifest CSV path or DataFrame (``patient_id, date, mask`` and optional
        ``image, organ``), or a :class:`~respond.tracking.manifest.Manifest`.
        A manifest read here is also checked for masks with the same content
        at two dates or for two patients (warning ``duplicate_mask_file``); a
        :class:`Manifest` passed in is taken as checked (``assess`` checks
        the whole cohort).
    out:
        When given, the tables and transforms are written there (:meth:`TrackResult.write`).
    lesions:
        ``"components"`` (binary masks; connected components are matched
        across scans) or ``"labels"`` (label values are the reader's lesion
        ids: no registration, no matching).
    links:
        Manual links/unlinks (CSV path, DataFrame or :class:`Link` list; see
        :mod:`respond.tracking.manifest`) that override the matcher.
    transform:
        ``"rigid"`` (default) or ``"affine"`` registration.
    organ:
        Organ of manifest rows without one.
    limits, settings:
        :class:`~respond.tracking.MatchLimits` and
        :class:`~respond.registration.RegistrationSettings`.
    allow_outside, allow_resample_mask, allow_implausible, allow_uneven_slices, allow_float_mask:
        Accept manifest paths outside the manifest's folder; resample a mask
        whose grid differs from its image (nearest neighbour); use a
        registration that failed the plausibility checks; accept DICOM image
        series with missing slices (see :mod:`respond.io.dicom`); accept
        float-typed masks whose values are whole numbers.
    empty_baseline:
        An empty baseline mask: ``"assess"`` (default; the patient is assessed
        from that lesion-free baseline, every later lesion is new, and a
        warning ``empty_baseline_mask`` is written) or ``"fail"`` (the patient
        fails). An empty follow-up mask always means every lesion disappeared,
        with a warning ``empty_followup_mask``. The baseline is never shifted.

    Returns
    -------
    TrackResult
        ``lesions`` (LESIONS columns + measurement and tracking columns),
        ``matches``, ``registrations``, ``scans``, ``warnings`` and
        ``failures`` (patient_id, stage, error_code, message) DataFrames.
    """
    options = SeriesOptions(lesions=lesions, transform=transform, limits=limits or MatchLimits(),
                            settings=settings, connectivity=connectivity, allow_resample_mask=allow_resample_mask,
                            allow_implausible=allow_implausible, allow_uneven_slices=allow_uneven_slices,
                            allow_float_mask=allow_float_mask, empty_baseline=empty_baseline)
    warnings: list[dict[str, Any]] = []
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest, base_dir=base_dir, organ=organ, allow_outside=allow_outside)
        warnings = duplicate_mask_warnings(manifest.frame, _mask_hashes(manifest))
    link_list = _links(links, lesions)
    check_link_patients(link_list, set(manifest.patients) | {e.patient_id for e in manifest.failures})
    failures: list[dict[str, Any]] = [{"stage": "manifest", **e.as_record()} for e in manifest.failures]
    output = _PatientOutput(warnings=warnings)
    for pid in manifest.patients:
        patient = _PatientOutput()
        failure = _run_patient(pid, manifest.scans(pid), [link for link in link_list if link.patient_id == pid],
                               options, patient)
        if failure is not None:
            failures.append(failure)
        output.extend(patient, failed=failure is not None)
    result = _result(output, failures)
    if out is not None:
        result.write(out)
    return result


def _mask_hashes(manifest: Manifest) -> dict[tuple[str, str], str | None]:
    """SHA-256 of each scan's mask by ``(patient_id, ISO date)``."""
    return {(r["patient_id"], str(r["date"])): path_sha256(r["mask"]) for r in manifest.frame.to_dict("records")}


def _links(links: ManifestSource | Iterable[Link] | None, lesions: str) -> list[Link]:
    if links is None:
        return []
    link_list = read_links(links) if isinstance(links, (str, os.PathLike, pd.DataFrame)) else list(links)
    if link_list and lesions == "labels":
        raise ValueError("manual links apply to matched components; in labels mode the mask labels are the ids")
    return link_list


def _run_patient(pid: str, scans: pd.DataFrame, links: list[Link], options: SeriesOptions,
                 output: _PatientOutput) -> dict[str, Any] | None:
    """Track one patient into ``output``; returns the failure row when the patient fails (never raises)."""
    try:
        _track_patient(pid, scans, links, options, output)
    except _StageError as exc:
        error = exc.error
        if isinstance(error, RespondError):
            if error.patient_id is None:
                error.patient_id = pid
                error.args = (error._render(),)
            return {"stage": exc.stage, **error.as_record()}
        return {"stage": exc.stage, "patient_id": pid, "error_code": "internal.error",  # pragma: no cover
                "message": repr(error)}
    except Exception as exc:  # noqa: BLE001 - one patient's unexpected crash never stops the others
        return {"patient_id": pid, "stage": "track", "error_code": "internal.error",
                "message": f"{type(exc).__name__}: {exc} ({traceback.format_exc(limit=2).splitlines()[-1]})"}
    return None


def _result(output: _PatientOutput, failures: list[dict[str, Any]]) -> TrackResult:
    return TrackResult(
        lesions=_lesion_table(output.lesions),
        matches=_sorted(MATCHES.conform(pd.DataFrame(output.matches)) if output.matches else MATCHES.empty()),
        registrations=(REGISTRATIONS.conform(pd.DataFrame(output.registrations), keep_extra=False)
                       if output.registrations else REGISTRATIONS.empty()),
        failures=FAILURES.conform(pd.DataFrame(failures), keep_extra=False) if failures else FAILURES.empty(),
        scans=SCANS.conform(pd.DataFrame(output.scans), keep_extra=False) if output.scans else SCANS.empty(),
        warnings=(WARNINGS.conform(pd.DataFrame(output.warnings), keep_extra=False)
                  if output.warnings else WARNINGS.empty()),
        transforms=output.transforms,
        seconds=output.seconds,
    )


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = pd.DataFrame({"p": frame["patient_id"], "d": frame["date"], "l": frame["lesion_id"].map(natural_key)})
    order = keys.sort_values(["p", "d", "l"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _lesion_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = lesion_frame([])
    if rows:
        frame = pd.DataFrame(rows)
        for column in ("n_slices", "voxel_count"):
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
