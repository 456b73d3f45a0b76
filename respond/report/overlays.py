"""Measurement overlays: the axial slice of a lesion with its contour and the lines that were measured.

The view is resampled onto a patient-axial grid through the longest
diameter (LPS, radiological convention: patient left on the viewer's right,
anterior up), so native axial, sagittal and oblique acquisitions are all
shown the way the measurement was made. The image is resampled linearly,
the mask by nearest neighbour (labels are never interpolated).
"""
from __future__ import annotations

import math
from typing import Any, Final, Mapping

import numpy as np
import pandas as pd
import SimpleITK as sitk
from matplotlib.figure import Figure

from respond.report.plots import plt

#: Colour of the longest diameter and of the short axis (Okabe–Ito yellow and sky blue).
LD_COLOUR: Final = "#F0E442"
SA_COLOUR: Final = "#56B4E9"
CONTOUR_COLOUR: Final = "#E69F00"
#: Smallest field of view around a lesion, mm; otherwise three times its longest diameter.
MIN_FOV_MM: Final = 40.0
#: Most pixels along one side of an overlay.
MAX_PIXELS: Final = 320
#: CT windows (width, level) in HU by organ; MR uses the 0.5–99.5 percentiles of the view.
CT_WINDOWS: Final = {"brain": (80.0, 40.0), "lung": (1500.0, -600.0), "default": (400.0, 40.0)}


def _point(row: Mapping[str, Any], prefix: str) -> np.ndarray | None:
    values = [row.get(f"{prefix}_{axis}") for axis in "xyz"]
    try:
        point = np.array([float(v) for v in values])
    except (TypeError, ValueError):
        return None
    return None if np.isnan(point).any() else point


def axial_view(image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any]):
    """Resample image and mask onto an axial plane through the lesion's longest diameter.

    Returns ``(image2d or None, mask2d, extent)`` where ``extent`` is
    ``(x_min, x_max, y_max, y_min)`` in patient mm, for ``imshow(origin="upper")``.
    """
    p1, p2 = _point(lesion, "ld_p1"), _point(lesion, "ld_p2")
    if p1 is None or p2 is None:
        centre = _point(lesion, "centroid")
        if centre is None:
            raise ValueError(f"lesion {lesion.get('lesion_id')} has neither longest-diameter endpoints nor centroid")
        p1 = p2 = centre
    ld = float(np.linalg.norm(p2[:2] - p1[:2]))
    fov = max(MIN_FOV_MM, 3.0 * ld)
    pixel = max(min(mask.GetSpacing()[:2]), fov / MAX_PIXELS)
    n = int(math.ceil(fov / pixel))
    centre = (p1 + p2) / 2.0
    origin = (centre[0] - n * pixel / 2.0, centre[1] - n * pixel / 2.0, float(p1[2]))
    reference = sitk.Image([n, n, 1], sitk.sitkUInt8)
    reference.SetSpacing((pixel, pixel, 1.0))
    reference.SetOrigin(origin)
    reference.SetDirection((1, 0, 0, 0, 1, 0, 0, 0, 1))
    mask2d = sitk.GetArrayFromImage(
        sitk.Resample(mask, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID()))[0]
    image2d = None
    if image is not None:
        image2d = sitk.GetArrayFromImage(
            sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), reference, sitk.Transform(), sitk.sitkLinear, 0.0,
                          sitk.sitkFloat32))[0]
    # pixel centres sit at origin + i * pixel; the extent covers the pixel edges
    x0, y0 = origin[0] - pixel / 2, origin[1] - pixel / 2
    return image2d, mask2d, (x0, x0 + n * pixel, y0 + n * pixel, y0)


def window(image2d: np.ndarray, organ: str | None = None) -> tuple[float, float]:
    """(vmin, vmax) for display: a CT window by organ when the values look like HU, else percentiles."""
    if image2d.size and float(np.min(image2d)) <= -900:  # air in Hounsfield units: CT
        width, level = CT_WINDOWS.get(organ or "default", CT_WINDOWS["default"])
        return level - width / 2, level + width / 2
    lo, hi = np.percentile(image2d, [0.5, 99.5]) if image2d.size else (0.0, 1.0)
    return float(lo), float(hi if hi > lo else lo + 1)


def draw_overlay(ax, image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any], *,
                 title: str | None = None) -> None:
    """Draw one lesion's overlay on ``ax``: slice, mask contour, longest diameter and short axis."""
    image2d, mask2d, extent = axial_view(image, mask, lesion)
    if image2d is not None:
        vmin, vmax = window(image2d, str(lesion.get("organ") or ""))
        ax.imshow(image2d, cmap="gray", vmin=vmin, vmax=vmax, extent=extent, origin="upper",
                  interpolation="bilinear")
    else:
        ax.imshow(np.zeros_like(mask2d, dtype=float), cmap="gray", vmin=0, vmax=1, extent=extent, origin="upper")
    if mask2d.any():
        ax.contour(mask2d > 0, levels=[0.5], colors=[CONTOUR_COLOUR], linewidths=0.8, extent=extent,
                   origin="upper")
    for prefix, colour, column, label in (("ld", LD_COLOUR, "longest_diameter_mm", "LD"),
                                          ("sa", SA_COLOUR, "short_axis_mm", "SA")):
        p1, p2 = _point(lesion, f"{prefix}_p1"), _point(lesion, f"{prefix}_p2")
        if p1 is None or p2 is None:
            continue
        ax.plot([p1[0], p2[0]], [p1[1], p2[1]], color=colour, linewidth=1.4, marker="o", markersize=2.5)
        length = lesion.get(column)
        if length is not None and not (isinstance(length, float) and math.isnan(length)):
            ax.annotate(f"{label} {float(length):.1f} mm", xy=(p2[0], p2[1]), xytext=(4, 4),
                        textcoords="offset points", color=colour, fontsize=7, fontweight="bold")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def overlay(image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any]) -> Figure:
    """One lesion at one scan, as its own figure."""
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    draw_overlay(ax, image, mask, lesion, title=f"lesion {lesion.get('lesion_id')} — {lesion.get('date', '')}")
    fig.tight_layout()
    return fig


def contact_sheet(scans: pd.DataFrame, lesions: pd.DataFrame, *, read=None) -> Figure:
    """Lesions × dates grid of overlays for one patient.

    ``scans``: one row per date with ``date``, ``mask`` and optional ``image``
    paths; ``lesions``: the patient's lesion-table rows with measurement
    columns. A lesion absent or not seen at a date gets an empty cell that says so.
    """
    from respond.io.images import read_image
    from respond.io.masks import read_mask

    read = read or {"image": read_image, "mask": read_mask}
    dates = sorted(set(str(d) for d in scans["date"]))
    lesion_ids = list(dict.fromkeys(lesions.sort_values("lesion_id")["lesion_id"]))
    fig, axes = plt.subplots(len(lesion_ids), len(dates), figsize=(2.3 * len(dates), 2.3 * len(lesion_ids)),
                             squeeze=False)
    loaded: dict[str, tuple] = {}
    for j, date in enumerate(dates):
        scan = scans[scans["date"].astype(str) == date].iloc[0]
        image_path = scan.get("image")
        image = read["image"](image_path) if isinstance(image_path, str) and image_path else None
        loaded[date] = (image, read["mask"](scan["mask"]))
    for i, lid in enumerate(lesion_ids):
        for j, date in enumerate(dates):
            ax = axes[i][j]
            rows = lesions[(lesions["lesion_id"] == lid) & (lesions["date"].astype(str) == date)]
            size = _size(rows)
            if rows.empty or not size:
                ax.set_facecolor("#F2F2F2")
                ax.text(0.5, 0.5, "not seen" if rows.empty else "absent (0 mm)", ha="center", va="center",
                        fontsize=8, transform=ax.transAxes)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                image, mask = loaded[date]
                draw_overlay(ax, image, mask, rows.iloc[0].to_dict())
            if i == 0:
                ax.set_title(date, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"lesion {lid}", fontsize=9)
    fig.tight_layout()
    return fig


def _size(rows: pd.DataFrame) -> float:
    if rows.empty:
        return 0.0
    try:
        return float(rows.iloc[0]["longest_diameter_mm"])
    except (TypeError, ValueError):
        return 0.0
