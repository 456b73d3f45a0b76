"""Synthetic serial scans: an MR-like head with lesions, moved between scans.

Users can validate registration and tracking with it, and respond's tests and
benchmarks use it. A series is a baseline and follow-ups of one patient:

* the **anatomy** is an MR-like head defined once in the baseline frame (scalp,
  skull, CSF, grey/white matter with smooth random texture, ventricles, eyes),
  so a follow-up image is the same anatomy seen after a known rigid motion;
* **lesions** are ellipsoids defined in the baseline frame. At each scan a lesion
  is present (possibly resized), absent (disappeared), split into separate
  pieces, or merged with a neighbour through a bridge. Masks are voxelised
  analytically on each scan's own grid (a voxel is in a lesion when its centre
  is), so they are *native* masks, never resampled ones;
* each scan has a **known rigid motion** ``transform`` mapping baseline points
  (LPS, mm) to the same tissue's position in the scan — the convention of the
  transforms :func:`respond.registration.register_to_baseline` returns — and its
  own grid, axial or sagittal (:data:`respond.testing.phantoms.SAGITTAL`).

Ground truth per scan: ``truth`` is a label image on the scan's grid whose value
``n`` marks voxels of lesion ``lesion_ids[n - 1]`` (a merge bridge belongs to
the first lesion of the merge), and ``expected`` gives each lesion's expected
status (``baseline``, ``matched``, ``new``, ``disappeared``, ``split``,
``merged``).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from respond.testing.phantoms import AXIAL, SAGITTAL, voxel_centres

Vector = Sequence[float]

__all__ = [
    "AXIAL",
    "SAGITTAL",
    "Piece",
    "ScanSpec",
    "SyntheticScan",
    "SyntheticSeries",
    "default_series",
    "head_image",
    "make_series",
    "rigid_transform",
    "scan_grid",
]


@dataclass(frozen=True)
class Piece:
    """One ellipsoid of lesion tissue in the baseline frame: centre and semi-axes (mm, LPS)."""

    center_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]


@dataclass(frozen=True)
class ScanSpec:
    """What one scan shows.

    ``lesions`` maps each true lesion id present at this scan to its pieces
    (one piece: a plain lesion; several: a split). ``bridges`` lists merges as
    ``(first_id, other_id, piece)``: the piece joins the two lesions into one
    component and counts as the first lesion's tissue. ``rotation_deg`` are
    Euler angles about x, y, z (applied about the head centre, the origin) and
    ``translation_mm`` the shift; ``direction`` the grid's direction cosines.
    """

    date: dt.date
    lesions: dict[str, tuple[Piece, ...]]
    bridges: tuple[tuple[str, str, Piece], ...] = ()
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, ...] = AXIAL


@dataclass
class SyntheticScan:
    """One generated scan: image, native binary mask, truth label image, true motion."""

    date: dt.date
    image: sitk.Image
    mask: sitk.Image
    truth: sitk.Image
    transform: sitk.Euler3DTransform
    spec: ScanSpec
    expected: dict[str, str] = field(default_factory=dict)


@dataclass
class SyntheticSeries:
    """A patient's generated scans in date order, and the true lesion ids."""

    patient_id: str
    scans: list[SyntheticScan]
    lesion_ids: tuple[str, ...]

    def write(self, folder: str | Path, *, images: bool = True, organ: str = "brain") -> Path:
        """Write images, masks and a manifest (``manifest.csv``) into ``folder``; return the manifest path.

        Files are NIfTI (``<patient>_<date>_image.nii.gz`` / ``_mask.nii.gz``);
        manifest paths are relative to the folder, rows in reverse date order
        (the reader must sort by date).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for scan in reversed(self.scans):
            stem = f"{self.patient_id}_{scan.date.isoformat()}"
            sitk.WriteImage(scan.mask, str(folder / f"{stem}_mask.nii.gz"))
            row = {"patient_id": self.patient_id, "date": scan.date.isoformat(), "mask": f"{stem}_mask.nii.gz"}
            if images:
                sitk.WriteImage(scan.image, str(folder / f"{stem}_image.nii.gz"))
                row["image"] = f"{stem}_image.nii.gz"
            row["organ"] = organ
            rows.append(row)
        path = folder / "manifest.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    def true_ids(self, scan_index: int, source_label_mask: np.ndarray) -> set[str]:
        """True lesion ids inside a boolean region (numpy order) of scan ``scan_index``'s grid."""
        truth = sitk.GetArrayViewFromImage(self.scans[scan_index].truth)
        values = np.unique(truth[source_label_mask])
        return {self.lesion_ids[v - 1] for v in values if v > 0}


def rigid_transform(rotation_deg: Vector, translation_mm: Vector,
                    center_mm: Vector = (0.0, 0.0, 0.0)) -> sitk.Euler3DTransform:
    """Euler rigid transform: baseline point ↦ R (p − c) + c + t (angles about x, y, z in degrees)."""
    tx = sitk.Euler3DTransform()
    tx.SetCenter([float(v) for v in center_mm])
    tx.SetRotation(*(math.radians(float(a)) for a in rotation_deg))
    tx.SetTranslation([float(v) for v in translation_mm])
    return tx


def scan_grid(extent_mm: Vector, spacing_mm: float | Vector, direction: Vector = AXIAL) -> sitk.Image:
    """An empty Float32 grid centred on the scanner origin covering ``extent_mm`` (patient x, y, z).

    For a non-axial ``direction`` the grid's axes are permuted so that it still
    covers the same patient-space box.
    """
    d = np.asarray(direction, float).reshape(3, 3)
    extent = np.asarray(extent_mm, float)
    spacing = np.broadcast_to(np.asarray(spacing_mm, float), (3,)).copy()
    # Extent along each index axis: the patient extent of the axis it runs along.
    axis_extent = np.abs(d.T) @ extent
    size = np.maximum(1, np.round(axis_extent / spacing).astype(int))
    origin = -d @ ((size - 1) * spacing / 2.0)
    grid = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
    grid.SetSpacing([float(s) for s in spacing])
    grid.SetDirection([float(v) for v in d.ravel()])
    grid.SetOrigin([float(v) for v in origin])
    return grid


def _ellipsoid_value(points: np.ndarray, center: Vector, axes: Vector) -> np.ndarray:
    rel = (points - np.asarray(center, np.float32)) / np.asarray(axes, np.float32)
    return np.sqrt((rel * rel).sum(axis=-1))


#: Semi-axes of the head's outer surface, mm (patient x, y, z).
HEAD_SEMI_AXES_MM = (72.0, 90.0, 70.0)


def head_image(grid: sitk.Image, *, seed: int = 0) -> sitk.Image:
    """The MR-like head (T1-like contrast, values about 0–1) sampled on ``grid`` in the baseline frame.

    The head is centred on the origin; texture is smooth random noise (fixed by
    ``seed``), so the anatomy is the same whenever the same grid and seed are used.
    """
    rng = np.random.default_rng(seed)
    p = voxel_centres(grid, np.float32)
    spacing = np.asarray(grid.GetSpacing())[::-1]
    r = _ellipsoid_value(p, (0, 0, 0), HEAD_SEMI_AXES_MM)
    a = np.asarray(HEAD_SEMI_AXES_MM).min()
    depth = (1.0 - r) * a  # approximate depth below the scalp, mm
    # Cortex boundary folded by low-frequency noise (gyri).
    folds = ndimage.gaussian_filter(rng.standard_normal(r.shape).astype(np.float32), 4.0 / spacing.mean() * 2)
    folds *= 4.0 / (folds.std() + 1e-6)
    texture = ndimage.gaussian_filter(rng.standard_normal(r.shape).astype(np.float32), 1.5 / spacing.mean() * 2)
    texture *= 0.06 / (texture.std() + 1e-6)
    out = np.zeros(r.shape, np.float32)
    out[depth > 0] = 0.75  # scalp/fat
    out[depth > 4] = 0.08  # skull
    out[depth > 10] = 0.2  # CSF
    brain = depth > 12
    out[brain] = 0.5 + texture[brain]  # grey matter
    white = (depth > 20 + folds) & brain
    out[white] = 0.72 + texture[white]
    for c, ax in (((-8, 5, 8), (6, 22, 9)), ((9, 3, 8), (6, 20, 9))):  # ventricles (slightly asymmetric)
        out[_ellipsoid_value(p, c, ax) <= 1] = 0.22
    for c in ((-30, -85, -30), (32, -85, -30)):  # eyes (anterior = −y in LPS)
        out[_ellipsoid_value(p, c, (12, 12, 12)) <= 1] = 0.9
    image = sitk.GetImageFromArray(out)
    image.CopyInformation(grid)
    return image


def _make_scan(spec: ScanSpec, anatomy: sitk.Image, lesion_ids: tuple[str, ...], extent_mm: Vector,
               spacing_mm: float | Vector, noise: float, rng: np.random.Generator) -> SyntheticScan:
    tx = rigid_transform(spec.rotation_deg, spec.translation_mm)
    grid = scan_grid(extent_mm, spacing_mm, spec.direction)
    # Image: the anatomy at T⁻¹(p) for every scan voxel p (resampling maps output → input points).
    image = sitk.Resample(anatomy, grid, tx.GetInverse(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    # Lesions: analytic in the baseline frame, at T⁻¹(voxel centre).
    centres = voxel_centres(grid, np.float32).reshape(-1, 3)
    inverse = tx.GetInverse()
    matrix = np.asarray(inverse.GetMatrix(), np.float32).reshape(3, 3)
    offset = np.asarray(inverse.TransformPoint((0.0, 0.0, 0.0)), np.float32)
    baseline_points = (centres @ matrix.T + offset).reshape(grid.GetSize()[::-1] + (3,))
    truth = np.zeros(baseline_points.shape[:3], np.uint16)
    index = {lid: n + 1 for n, lid in enumerate(lesion_ids)}
    for lid, pieces in spec.lesions.items():
        for piece in pieces:
            truth[_ellipsoid_value(baseline_points, piece.center_mm, piece.semi_axes_mm) <= 1] = index[lid]
    for first, _other, piece in spec.bridges:
        inside = _ellipsoid_value(baseline_points, piece.center_mm, piece.semi_axes_mm) <= 1
        truth[inside & (truth == 0)] = index[first]
    pixels = sitk.GetArrayFromImage(image)
    pixels[truth > 0] = 1.0  # enhancing lesion
    pixels += rng.normal(0.0, noise, pixels.shape).astype(np.float32)
    pixels = np.abs(pixels)  # magnitude image (Rician-like background)
    image = sitk.GetImageFromArray(pixels)
    image.CopyInformation(grid)
    mask = sitk.GetImageFromArray((truth > 0).astype(np.uint8))
    mask.CopyInformation(grid)
    truth_image = sitk.GetImageFromArray(truth)
    truth_image.CopyInformation(grid)
    return SyntheticScan(spec.date, image, mask, truth_image, tx, spec)


def _expected(specs: Sequence[ScanSpec], lesion_ids: tuple[str, ...]) -> list[dict[str, str]]:
    out, seen = [], set()
    for n, spec in enumerate(specs):
        merged = {other: first for first, other, _ in spec.bridges}
        hosts = {first for first, _, _ in spec.bridges}
        status = {}
        for lid in lesion_ids:
            if lid in merged:
                status[lid] = "merged"
            elif lid in spec.lesions:
                if n == 0:
                    status[lid] = "baseline"
                elif lid in hosts:
                    status[lid] = "merged"
                elif lid not in seen:
                    status[lid] = "new"
                elif len(spec.lesions[lid]) > 1:
                    status[lid] = "split"
                else:
                    status[lid] = "matched"
            elif lid in seen:
                status[lid] = "disappeared"
        seen |= set(spec.lesions)
        out.append(status)
    return out


def make_series(
    specs: Sequence[ScanSpec],
    *,
    patient_id: str = "P1",
    extent_mm: Vector = (240.0, 240.0, 192.0),
    spacing_mm: float | Vector = 3.0,
    anatomy_spacing_mm: float = 1.5,
    noise: float = 0.03,
    seed: int = 0,
) -> SyntheticSeries:
    """Generate the scans described by ``specs`` (the first is the baseline).

    The anatomy is built once on an axial grid of ``anatomy_spacing_mm`` in the
    baseline frame and resampled (linear) into each scan's grid after the
    scan's motion; lesion masks are voxelised analytically on each scan's grid.
    """
    lesion_ids: list[str] = []
    for spec in specs:
        for lid in spec.lesions:
            if lid not in lesion_ids:
                lesion_ids.append(lid)
    ids = tuple(lesion_ids)
    anatomy = head_image(scan_grid(np.asarray(extent_mm) + 40.0, anatomy_spacing_mm), seed=seed)
    rng = np.random.default_rng(seed + 1)
    scans = [_make_scan(s, anatomy, ids, extent_mm, spacing_mm, noise, rng) for s in specs]
    for scan, expected in zip(scans, _expected(specs, ids)):
        scan.expected = expected
    return SyntheticSeries(patient_id, scans, ids)


def _sphere(center: Vector, r: float) -> tuple[Piece, ...]:
    return (Piece(tuple(float(c) for c in center), (r, r, r)),)  # type: ignore[arg-type]


def default_series(**kwargs) -> SyntheticSeries:
    """The reference series: five lesions, four scans, every event of issue 4.

    * baseline: A, B, C (an ellipsoid), D and E (close neighbours);
    * follow-up 1 (rotation 5°, 8 mm shift): A shrinks, B disappears, F is new;
    * follow-up 2 (**sagittal** acquisition, rotation 10°, 20 mm shift): C splits
      in two pieces, D and E merge through a bridge;
    * follow-up 3 (rotation −7°/4°, 15 mm shift): B reappears, C still split,
      D and E still merged.

    Keyword arguments go to :func:`make_series` (e.g. ``spacing_mm``).
    """
    day = dt.date(2024, 1, 10)
    a, b = (30.0, 20.0, 10.0), (-35.0, 10.0, -5.0)
    c = (10.0, -40.0, 20.0)
    d, e = (-20.0, 40.0, -20.0), (0.0, 40.0, -20.0)
    c_split = (Piece((0.0, -40.0, 20.0), (6.0, 6.0, 6.0)), Piece((21.0, -40.0, 20.0), (6.0, 6.0, 6.0)))
    bridge = Piece((-10.0, 40.0, -20.0), (10.0, 5.0, 5.0))
    base = {"A": _sphere(a, 10.0), "B": _sphere(b, 7.0), "C": (Piece(c, (16.0, 9.0, 9.0)),),
            "D": _sphere(d, 7.0), "E": _sphere(e, 7.0)}
    specs = [
        ScanSpec(day, base),
        ScanSpec(day + dt.timedelta(days=56),
                 {"A": _sphere(a, 8.0), "C": (Piece(c, (15.0, 9.0, 9.0)),), "D": _sphere(d, 8.0),
                  "E": _sphere(e, 8.0), "F": _sphere((40.0, -20.0, -25.0), 6.0)},
                 rotation_deg=(5.0, 0.0, 0.0), translation_mm=(5.0, -6.0, 3.0)),
        ScanSpec(day + dt.timedelta(days=112),
                 {"A": _sphere(a, 7.0), "C": c_split, "D": _sphere(d, 8.0), "E": _sphere(e, 8.0),
                  "F": _sphere((40.0, -20.0, -25.0), 7.0)},
                 bridges=(("D", "E", bridge),),
                 rotation_deg=(0.0, 6.0, 8.0), translation_mm=(-12.0, 14.0, 8.0), direction=SAGITTAL),
        ScanSpec(day + dt.timedelta(days=168),
                 {"A": _sphere(a, 6.0), "B": _sphere(b, 6.0), "C": c_split, "D": _sphere(d, 8.0),
                  "E": _sphere(e, 8.0), "F": _sphere((40.0, -20.0, -25.0), 8.0)},
                 bridges=(("D", "E", bridge),),
                 rotation_deg=(-7.0, 0.0, 4.0), translation_mm=(10.0, 8.0, -9.0)),
    ]
    return make_series(specs, **kwargs)
