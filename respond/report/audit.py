"""Per-patient audit tables of the report: measurements by date, target lists, registration QC, warnings.

What a core lab checks before it files a patient's assessment:

- :func:`measurement_table` — each lesion's longest diameter, short axis and
  volume at every date, with the change of the longest diameter from
  baseline and from the lesion's nadir (smallest earlier value, baseline
  included, as RECIST 1.1 §4.3.1 takes the nadir for the sum);
- :func:`registration_checkerboard` — the registered follow-up on the
  baseline as a checkerboard of the two images (or the masks when no image
  was given), with both scans' lesion boundaries, one panel per follow-up.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import SimpleITK as sitk
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from skimage.measure import find_contours

#: Columns of the measurement table.
MEASUREMENT_COLUMNS: Final = ("lesion_id", "date", "status", "track_status", "longest_diameter_mm", "short_axis_mm",
                              "volume_mm3",
                              "pct_ld_from_baseline", "pct_ld_from_nadir")
#: Squares along each side of a registration checkerboard.
CHECKER_SQUARES: Final = 6
BASELINE_COLOUR: Final = "#E69F00"
FOLLOWUP_COLOUR: Final = "#56B4E9"


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _pct(value: float, reference: float) -> float:
    return math.nan if math.isnan(value) or math.isnan(reference) or reference == 0 else \
        100.0 * (value - reference) / reference


def measurement_table(lesions: pd.DataFrame) -> pd.DataFrame:
    """One patient's lesions by lesion and date, with % change of the longest diameter from baseline and nadir.

    Baseline is the lesion's first measured date; the nadir at a date is the
    smallest longest diameter at earlier dates (baseline included). Lesions
    that appear later (new) have no baseline change.
    """
    rows = []
    frame = lesions.assign(_ld=lesions["longest_diameter_mm"].map(_float))
    for lid, group in frame.sort_values(["lesion_id", "date"], key=lambda s: s.astype(str)).groupby(
            "lesion_id", sort=False):
        baseline = math.nan
        earlier: list[float] = []
        for record in group.to_dict("records"):
            ld = record["_ld"]
            if math.isnan(baseline) and not earlier:
                baseline = ld
            nadir = min((v for v in earlier if not math.isnan(v)), default=math.nan)
            rows.append({"lesion_id": lid, "date": str(record["date"]), "status": record.get("status"),
                         "track_status": record.get("track_status"),
                         "longest_diameter_mm": ld, "short_axis_mm": _float(record.get("short_axis_mm")),
                         "volume_mm3": _float(record.get("volume_mm3")),
                         "pct_ld_from_baseline": _pct(ld, baseline) if earlier else math.nan,
                         "pct_ld_from_nadir": _pct(ld, nadir) if earlier else math.nan})
            earlier.append(ld)
    table = pd.DataFrame(rows, columns=list(MEASUREMENT_COLUMNS))
    return table if table["track_status"].notna().any() else table.drop(columns="track_status")


def _read_pair(scan: pd.Series, read) -> tuple[sitk.Image | None, sitk.Image]:
    image_path = scan.get("image")
    image = read["image"](image_path) if isinstance(image_path, str) and image_path else None
    return image, read["mask"](scan["mask"])


def _axial_plane(reference: sitk.Image, z_index: int) -> sitk.Image:
    size = list(reference.GetSize())
    return sitk.Extract(reference, [size[0], size[1], 0], [0, 0, z_index])


def _normalised(image: sitk.Image) -> np.ndarray:
    pixels = sitk.GetArrayFromImage(image).astype(float)
    lo, hi = np.percentile(pixels, [1, 99]) if pixels.size else (0.0, 1.0)
    return np.clip((pixels - lo) / (hi - lo if hi > lo else 1.0), 0, 1)


def _checkerboard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(a.shape)
    square = max(1, max(a.shape) // CHECKER_SQUARES)
    return np.where(((rows // square) + (cols // square)) % 2 == 0, a, b)


def _lesion_slice(mask: sitk.Image) -> int:
    """Index (last grid axis) of the slice with the most lesion voxels; the middle slice when there is none."""
    counts = (sitk.GetArrayViewFromImage(mask) > 0).sum(axis=(1, 2))
    return int(np.argmax(counts)) if counts.any() else mask.GetSize()[2] // 2


def draw_registration(ax: Axes, baseline: tuple[sitk.Image | None, sitk.Image],
                      followup: tuple[sitk.Image | None, sitk.Image], transform: sitk.Transform, *,
                      title: str = "") -> tuple[int, float]:
    """Checkerboard of baseline and follow-up (resampled onto the baseline through ``transform``).

    ``transform`` maps baseline points to follow-up points (the convention of
    respond's registration). Both scans' lesion boundaries are drawn on top.
    Drawn on the baseline's native slice with the most lesion voxels; returns
    that slice's index and position (mm along the slice axis).
    """
    base_image, base_mask = baseline
    k = _lesion_slice(base_mask)
    fu_mask = sitk.Resample(followup[1], base_mask, transform, sitk.sitkNearestNeighbor, 0)
    if base_image is not None and followup[0] is not None:
        fu_image = sitk.Resample(sitk.Cast(followup[0], sitk.sitkFloat32), base_image, transform,
                                 sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        a = _normalised(_axial_plane(sitk.Cast(base_image, sitk.sitkFloat32), k))
        b = _normalised(_axial_plane(fu_image, k))
        ax.imshow(_checkerboard(a, b), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        a = (sitk.GetArrayFromImage(_axial_plane(base_mask, k)) > 0).astype(float)
        b = (sitk.GetArrayFromImage(_axial_plane(fu_mask, k)) > 0).astype(float)
        ax.imshow(_checkerboard(a * 0.6, b * 0.6), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for image, colour in ((base_mask, BASELINE_COLOUR), (fu_mask, FOLLOWUP_COLOUR)):
        section = sitk.GetArrayFromImage(_axial_plane(image, k)) > 0
        for line in find_contours(np.pad(section, 1).astype(float), 0.5):
            ax.plot(line[:, 1] - 1, line[:, 0] - 1, color=colour, linewidth=0.8)
    z_mm = base_mask.TransformIndexToPhysicalPoint((0, 0, k))[2]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    return k, z_mm


def registration_checkerboard(scans: pd.DataFrame, registrations: pd.DataFrame, folder: Path | None, *,
                              read=None) -> Figure | None:
    """One panel per registered follow-up of one patient; None when nothing can be drawn.

    ``scans``: the patient's scans (``date``, ``mask``, optional ``image``);
    ``registrations``: the patient's rows of ``registrations.csv``; ``folder``:
    the output folder the transform files are relative to.
    """
    from respond.io.images import read_image
    from respond.io.masks import read_mask

    read = read or {"image": read_image, "mask": read_mask}
    rows = [r for r in registrations.to_dict("records")
            if isinstance(r.get("transform_file"), str) and r["transform_file"] and folder is not None
            and (folder / r["transform_file"]).is_file()]
    if not rows:
        return None
    by_date = {str(d): s for d, s in zip(scans["date"], (row for _, row in scans.iterrows()))}
    baseline_date = str(rows[0]["baseline_date"])
    if baseline_date not in by_date:
        return None
    baseline = _read_pair(by_date[baseline_date], read)
    fig = Figure(figsize=(max(3.2 * len(rows), 6.5), 3.9))
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    where = ""
    for ax, row in zip(axes, rows):
        date = str(row["date"])
        if date not in by_date:
            ax.set_axis_off()
            continue
        transform = sitk.ReadTransform(str(folder / row["transform_file"]))
        plausible = str(row.get("plausible")).lower() in ("true", "1")
        k, z_mm = draw_registration(ax, baseline, _read_pair(by_date[date], read), transform,
                                    title=f"{date} onto {baseline_date}" + ("" if plausible else "\nIMPLAUSIBLE"))
        where = f"baseline slice {k} (z {z_mm:.1f} mm)"
    fig.suptitle(f"Checkerboard of baseline and registered follow-up ({CHECKER_SQUARES} squares a side), {where}",
                 fontsize=8)
    fig.legend(handles=[_line(BASELINE_COLOUR, "baseline lesions"),
                        _line(FOLLOWUP_COLOUR, "follow-up lesions, registered")],
               loc="lower center", ncol=2, frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def _line(colour: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, linewidth=1.2, label=label)
