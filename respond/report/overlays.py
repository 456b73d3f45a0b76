"""Measurement overlays: the axial slice of a lesion with its contour and the lines that were measured.

The view is resampled onto a patient-axial grid through the longest
diameter (LPS, radiological convention: patient right on the viewer's left,
anterior up; the letters R, L, A, P say so on every cell), so native axial,
sagittal and oblique acquisitions are all shown the way the measurement was
made. The image is resampled linearly, the mask by nearest neighbour (labels
are never interpolated).

The contour is the boundary the measurement used: on a native axial slice it
is the marching-squares contour at level 0.5 of the native mask (vertices on
the midpoints of voxel edges — the mesh convention of :mod:`respond.measure`),
so the calipers end exactly on the drawn line. For a reformatted
(non-axial) acquisition it is drawn on the resampled view.

In a :func:`contact_sheet` every date of a lesion uses one field of view (mm,
sized from the lesion's largest diameter over all dates, centred on the
lesion at each date) and one intensity window, so growth and shrinkage are
seen as they are. Each cell has a scale bar, the slice position, the date,
and the lesion's role per criteria heads its row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Mapping, Sequence

import numpy as np
import pandas as pd
import SimpleITK as sitk
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from skimage.measure import find_contours

from respond.report.plots import criteria_name
from respond.report.precision import as_float

#: Colour of the longest diameter and of the short axis (Okabe–Ito yellow and sky blue).
LD_COLOUR: Final = "#F0E442"
SA_COLOUR: Final = "#56B4E9"
CONTOUR_COLOUR: Final = "#E69F00"
#: Smallest field of view around a lesion, mm; otherwise FOV_PER_LD times its largest longest diameter.
MIN_FOV_MM: Final = 40.0
FOV_PER_LD: Final = 2.5
#: Most pixels along one side of an overlay.
MAX_PIXELS: Final = 320
#: CT windows (width, level) in HU by organ; MR uses the 0.5–99.5 percentiles of the view(s).
CT_WINDOWS: Final = {"brain": (80.0, 40.0), "lung": (1500.0, -600.0), "default": (400.0, 40.0)}
#: Scale-bar lengths to choose from, mm (about a quarter of the field of view).
SCALE_BARS_MM: Final = (5, 10, 20, 50, 100)
#: A direction cosine this close to ±1 makes a grid axis the patient's superior axis (a native axial slice).
AXIAL_COSINE: Final = 0.9999
_OUTLINE: Final = [patheffects.withStroke(linewidth=2, foreground="black")]


def _point(row: Mapping[str, Any], prefix: str) -> np.ndarray | None:
    values = [row.get(f"{prefix}_{axis}") for axis in "xyz"]
    try:
        point = np.array([float(v) for v in values])
    except (TypeError, ValueError):
        return None
    return None if np.isnan(point).any() else point


@dataclass(frozen=True)
class View:
    """A lesion's axial view: pixels (``image`` may be None), the mask, the boundary and where it is.

    ``extent`` is ``(x_min, x_max, y_max, y_min)`` in patient mm (LPS) for
    ``imshow(origin="upper")``; ``boundary`` a list of (N, 2) polylines (x, y mm);
    ``z_mm`` the patient superior coordinate of the plane; ``slice_index`` the
    native slice (None for a reformat).
    """

    image: np.ndarray | None
    mask: np.ndarray
    extent: tuple[float, float, float, float]
    boundary: list[np.ndarray]
    z_mm: float
    slice_index: int | None

    @property
    def fov_mm(self) -> float:
        return self.extent[1] - self.extent[0]


def lesion_centre(lesion: Mapping[str, Any]) -> np.ndarray:
    """Centre of a lesion's view: in-plane centre of the longest diameter (or the centroid), on the LD slice."""
    p1, p2 = _point(lesion, "ld_p1"), _point(lesion, "ld_p2")
    if p1 is not None and p2 is not None:
        return (p1 + p2) / 2.0
    centre = _point(lesion, "centroid")
    if centre is None:
        raise ValueError(f"lesion {lesion.get('lesion_id')} has neither longest-diameter endpoints nor centroid")
    return centre


def default_fov(lesion_rows: Sequence[Mapping[str, Any]]) -> float:
    """One field of view (mm) for all dates of a lesion: from its largest longest diameter over time."""
    largest = max([d for d in (as_float(r.get("longest_diameter_mm")) for r in lesion_rows) if not math.isnan(d)],
                  default=0.0)
    return max(MIN_FOV_MM, FOV_PER_LD * largest)


def axial_view(image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any], *,
               fov_mm: float | None = None) -> View:
    """Resample image and mask onto an axial plane through the lesion's longest diameter.

    ``fov_mm``: side of the square field of view (default :func:`default_fov` of this lesion alone).
    """
    centre = lesion_centre(lesion)
    fov = fov_mm or default_fov([lesion])
    pixel = max(min(mask.GetSpacing()[:2]), fov / MAX_PIXELS)
    n = int(math.ceil(fov / pixel))
    origin = (centre[0] - (n - 1) * pixel / 2.0, centre[1] - (n - 1) * pixel / 2.0, float(centre[2]))
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
    extent = (x0, x0 + n * pixel, y0 + n * pixel, y0)
    native = native_boundary(mask, centre)
    if native is None:
        boundary, index = _view_boundary(mask2d, extent), None
    else:
        boundary, index = native
    return View(image2d, mask2d, extent, boundary, float(centre[2]), index)


def native_boundary(mask: sitk.Image, point: np.ndarray) -> tuple[list[np.ndarray], int] | None:
    """Mesh-convention boundary (x, y mm polylines) of the native axial slice through ``point``.

    None when the mask's slices are not patient-axial (the caller then draws the resampled view's contour).
    """
    direction = np.array(mask.GetDirection()).reshape(3, 3)
    if abs(direction[2, 2]) < AXIAL_COSINE:
        return None
    k = int(round(mask.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in point))[2]))
    if not 0 <= k < mask.GetSize()[2]:
        return [], k
    plane = sitk.GetArrayViewFromImage(mask)[k] > 0
    spacing, origin = np.array(mask.GetSpacing()), np.array(mask.GetOrigin())
    lines = []
    for contour in find_contours(np.pad(plane, 1).astype(float), 0.5):
        rows, cols = contour[:, 0] - 1, contour[:, 1] - 1
        index = np.stack([cols, rows, np.full_like(cols, k)], axis=0) * spacing[:, None]
        physical = origin[:, None] + direction @ index
        lines.append(physical[:2].T)
    return lines, k


def _view_boundary(mask2d: np.ndarray, extent: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Contour at 0.5 of the resampled view's mask, in mm (a reformat: approximate to a view pixel)."""
    n_rows, n_cols = mask2d.shape
    px = (extent[1] - extent[0]) / n_cols
    py = (extent[2] - extent[3]) / n_rows
    lines = []
    for contour in find_contours(np.pad(mask2d > 0, 1).astype(float), 0.5):
        rows, cols = contour[:, 0] - 1, contour[:, 1] - 1
        lines.append(np.stack([extent[0] + (cols + 0.5) * px, extent[3] + (rows + 0.5) * py], axis=1))
    return lines


def window(image2d: np.ndarray | Sequence[np.ndarray], organ: str | None = None) -> tuple[float, float]:
    """(vmin, vmax) for display: a CT window by organ when the values look like HU, else percentiles.

    Given several views (the dates of one lesion) the window is computed once over all of them.
    """
    pixels = (np.concatenate([np.ravel(v) for v in image2d]) if isinstance(image2d, (list, tuple))
              else np.ravel(image2d))
    if pixels.size and float(np.min(pixels)) <= -900:  # air in Hounsfield units: CT
        width, level = CT_WINDOWS.get(organ or "default", CT_WINDOWS["default"])
        return level - width / 2, level + width / 2
    lo, hi = np.percentile(pixels, [0.5, 99.5]) if pixels.size else (0.0, 1.0)
    return float(lo), float(hi if hi > lo else lo + 1)


def scale_bar_mm(fov_mm: float) -> int:
    """A round scale-bar length close to a quarter of the field of view."""
    return min(SCALE_BARS_MM, key=lambda length: abs(length - fov_mm / 4))


def draw_view(ax: Axes, view: View, lesion: Mapping[str, Any], *, limits: tuple[float, float] | None = None,
              title: str | None = None, note: str | None = None) -> None:
    """Draw a prepared :class:`View`: slice, boundary, calipers, labels in the corners, scale bar, letters.

    ``note`` takes the place of the measurement labels (e.g. "absent (0 mm)").
    """
    extent = view.extent
    if view.image is not None:
        vmin, vmax = limits or window(view.image, str(lesion.get("organ") or ""))
        ax.imshow(view.image, cmap="gray", vmin=vmin, vmax=vmax, extent=extent, origin="upper",
                  interpolation="bilinear")
    else:
        ax.imshow(np.zeros_like(view.mask, dtype=float), cmap="gray", vmin=0, vmax=1, extent=extent,
                  origin="upper")
    for line in view.boundary:
        ax.plot(line[:, 0], line[:, 1], color=CONTOUR_COLOUR, linewidth=0.9, label="_boundary")
    labels = []
    for prefix, colour, column, name in (("ld", LD_COLOUR, "longest_diameter_mm", "LD"),
                                         ("sa", SA_COLOUR, "short_axis_mm", "SA")):
        p1, p2 = _point(lesion, f"{prefix}_p1"), _point(lesion, f"{prefix}_p2")
        if p1 is None or p2 is None:
            continue
        ax.plot([p1[0], p2[0]], [p1[1], p2[1]], color=colour, linewidth=1.3, marker="o", markersize=2.2,
                label=f"_{name}")
        length = as_float(lesion.get(column))
        if not math.isnan(length):
            labels.append((f"{name} {length:.1f} mm", colour))
    if note:
        labels.append((note, "white"))
    # measurement labels stacked in the upper-left corner: outside the lesion (centred, at most 1/FOV_PER_LD
    # of the field) and never on each other
    for i, (text, colour) in enumerate(labels):
        ax.text(0.03, 0.97 - 0.11 * i, text, transform=ax.transAxes, ha="left", va="top", color=colour,
                fontsize=7, fontweight="bold", path_effects=_OUTLINE)
    _furniture(ax, view)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def _furniture(ax: Axes, view: View) -> None:
    """Scale bar (lower left), slice position (lower right), orientation letters (edge midpoints)."""
    length = scale_bar_mm(view.fov_mm)
    bar = AnchoredSizeBar(ax.transData, length, f"{length} mm", "lower left", pad=0.3, color="white",
                          frameon=False, size_vertical=view.fov_mm / 150, fontproperties={"size": 6})
    bar.set_gid("scale_bar")
    ax.add_artist(bar)
    where = f"z {view.z_mm:.1f} mm" + (f"\nslice {view.slice_index}" if view.slice_index is not None else "")
    ax.text(0.97, 0.03, where, transform=ax.transAxes, ha="right", va="bottom", color="white", fontsize=6,
            path_effects=_OUTLINE)
    for x, y, letter in ((0.02, 0.5, "R"), (0.98, 0.5, "L"), (0.5, 0.98, "A"), (0.5, 0.02, "P")):
        ax.text(x, y, letter, transform=ax.transAxes, ha="center" if x == 0.5 else ("left" if x < 0.5 else "right"),
                va="center" if y == 0.5 else ("top" if y > 0.5 else "bottom"), color="white", fontsize=7,
                fontweight="bold", path_effects=_OUTLINE, gid="orientation")


def draw_overlay(ax: Axes, image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any], *,
                 title: str | None = None, fov_mm: float | None = None,
                 limits: tuple[float, float] | None = None) -> View:
    """Draw one lesion's overlay on ``ax``; returns the :class:`View` drawn."""
    view = axial_view(image, mask, lesion, fov_mm=fov_mm)
    draw_view(ax, view, lesion, limits=limits, title=title)
    return view


def overlay(image: sitk.Image | None, mask: sitk.Image, lesion: Mapping[str, Any], *,
            ax: Axes | None = None) -> Figure:
    """One lesion at one scan (into ``ax`` when given, else its own Figure)."""
    fig = ax.figure if ax is not None else Figure(figsize=(3.4, 3.4))
    axis = ax if ax is not None else fig.subplots()
    draw_overlay(axis, image, mask, lesion, title=f"lesion {lesion.get('lesion_id')} — {lesion.get('date', '')}")
    if ax is None:
        fig.tight_layout()
    return fig


def lesion_roles(targets: pd.DataFrame | None, lesion_id: str) -> str:
    """``"RECIST 1.1: target · RANO-BM: non-target"`` for one lesion of one patient's targets rows."""
    if targets is None or not len(targets):
        return ""
    rows = targets[targets["lesion_id"].astype(str) == str(lesion_id)]
    return " · ".join(f"{criteria_name(str(c))}: {str(r).replace('_', '-')}"
                      for c, r in zip(rows["criteria"], rows["role"]))


def contact_sheet(scans: pd.DataFrame, lesions: pd.DataFrame, *, targets: pd.DataFrame | None = None, read=None,
                  transforms: Mapping[str, sitk.Transform] | None = None, ax: Any = None) -> Figure:
    """Lesions × dates grid of overlays for one patient.

    ``scans``: one row per date with ``date``, ``mask`` and optional ``image``
    paths; ``lesions``: the patient's lesion-table rows with measurement
    columns; ``targets``: the patient's rows of the targets table (the
    lesion's role per criteria heads its row; a lesion absent from it is
    "new"). One field of view and one intensity window per lesion row. A
    lesion absent or not seen at a date gets a cell that says so; with
    ``transforms`` (per date, the registration mapping baseline points to
    that scan's points; the baseline's is the identity) that cell shows the
    scan where the lesion is expected — its centre at the nearest measured
    date carried through the registrations — so that a disappearance can be
    checked by eye. ``ax``: a lesions × dates array of Axes to draw into.
    """
    from respond.io.images import read_image
    from respond.io.masks import read_mask

    read = read or {"image": read_image, "mask": read_mask}
    dates = sorted(set(str(d) for d in scans["date"]))
    lesion_ids = list(dict.fromkeys(lesions.sort_values("lesion_id")["lesion_id"]))
    if ax is None:
        fig = Figure(figsize=(2.7 * len(dates), 2.7 * len(lesion_ids) + 0.3))
        axes = fig.subplots(len(lesion_ids), len(dates), squeeze=False)
    else:
        axes = np.asarray(ax, dtype=object).reshape(len(lesion_ids), len(dates))
        fig = axes[0][0].figure
    loaded: dict[str, tuple] = {}
    for date in dates:
        scan = scans[scans["date"].astype(str) == date].iloc[0]
        image_path = scan.get("image")
        image = read["image"](image_path) if isinstance(image_path, str) and image_path else None
        loaded[date] = (image, read["mask"](scan["mask"]))
    for i, lid in enumerate(lesion_ids):
        _lesion_row(axes[i], lid, dates, lesions[lesions["lesion_id"] == lid], loaded, targets, transforms or {})
        for j, date in enumerate(dates):
            if i == 0:
                axes[i][j].set_title(date, fontsize=9)
    if ax is None:
        fig.tight_layout()
    return fig


def _expected_centre(date: str, measured: Mapping[str, Mapping[str, Any]],
                     transforms: Mapping[str, sitk.Transform]) -> tuple[np.ndarray, str] | None:
    """Where a lesion not measured at ``date`` is looked for: its centre at the nearest measured date, in that
    scan's frame, carried to the baseline and on to ``date`` through the registrations; and that date.

    None when a registration is unknown."""
    if date not in transforms or not measured:
        return None
    reference = min(measured, key=lambda d: (abs((pd.Timestamp(d) - pd.Timestamp(date)).days), d))
    if reference not in transforms:
        return None
    try:
        baseline = transforms[reference].GetInverse().TransformPoint(tuple(lesion_centre(measured[reference])))
    except RuntimeError:  # a transform without an inverse: no expected position
        return None
    return np.array(transforms[date].TransformPoint(baseline)), reference


def _lesion_row(axes: Sequence[Axes], lid: str, dates: list[str], rows: pd.DataFrame, loaded: dict[str, tuple],
                targets: pd.DataFrame | None, transforms: Mapping[str, sitk.Transform]) -> None:
    """One lesion over all dates: views with a common field of view and window, then drawn."""
    by_date = {d: rows[rows["date"].astype(str) == d] for d in dates}
    measured = {d: r.iloc[0].to_dict() for d, r in by_date.items() if _size(r)}
    fov = default_fov(list(measured.values()))
    shown, notes = dict(measured), {}
    for date in dates:
        found = None if date in measured else _expected_centre(date, measured, transforms)
        if found is not None:
            shown[date] = {"lesion_id": lid, **{f"centroid_{a}": float(v) for a, v in zip("xyz", found[0])}}
            notes[date] = f"{'not seen' if by_date[date].empty else 'absent (0 mm)'}:\nits place on {found[1]}"
    views = {d: axial_view(loaded[d][0], loaded[d][1], row, fov_mm=fov) for d, row in shown.items()}
    images = [v.image for v in views.values() if v.image is not None]
    organ = next((str(r.get("organ") or "") for r in measured.values()), "")
    limits = window(images, organ) if images else None
    for ax, date in zip(axes, dates):
        if date in views:
            draw_view(ax, views[date], shown[date], limits=limits, note=notes.get(date))
        else:
            ax.set_facecolor("#F2F2F2")
            ax.text(0.5, 0.5, "not seen" if by_date[date].empty else "absent (0 mm)", ha="center", va="center",
                    fontsize=8, transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
    roles = lesion_roles(targets, lid) or "new (not a baseline lesion)"
    axes[0].set_ylabel(f"lesion {lid}\n" + roles.replace(" · ", "\n"), fontsize=7)


def _size(rows: pd.DataFrame) -> float:
    if rows.empty:
        return 0.0
    value = as_float(rows.iloc[0]["longest_diameter_mm"])
    return 0.0 if math.isnan(value) else value
