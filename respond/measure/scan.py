"""One scan's mask → its lesion instances and their measurements (knows no response criteria).

:func:`measure_scan` is the stage's entry point: it reads the mask (NIfTI,
NRRD, MetaImage, DICOM series or DICOM SEG), checks it against the image's
grid when an image is given, finds the lesion instances and measures each.
The options that travel together are one frozen :class:`MeasureOptions`.
"""
from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from respond.errors import ConfigError, MaskValueError
from respond.io.dicom import FRACTIONAL_THRESHOLD, is_dicom_seg, read_seg
from respond.io.geometry import GEOMETRY_ATOL_MM, Geometry
from respond.io.images import ImageSource, image_geometry, qform_sform_disagreement_mm
from respond.io.masks import match_mask_to_grid, read_mask
from respond.measure.axial import AXIAL_TOLERANCE_DEG, AxialFrame, axial_frame
from respond.measure.instances import CONNECTIVITIES, LesionInstance, LesionMode, find_lesions, segment_instances
from respond.measure.lesion import measure_lesion
from respond.measure.table import lesion_frame

#: How many of the values present an error message lists (then the count).
_SHOWN_VALUES = 5


@dataclass(frozen=True)
class MeasureOptions:
    """How a mask is turned into lesions and checked against its image (see :func:`measure_scan`).

    ``lesions``: ``"components"``: each connected component (``connectivity``
    6, 18 or 26) of a binary mask is a lesion, ids ``"1"``, ``"2"``, … in
    raster order. ``"labels"``: each label value is a lesion, id = the value.
    (In a DICOM SEG each segment is one lesion whatever ``lesions`` says.)
    ``label``: only use this label value of the mask (segment number of a
    SEG). It must be a value the mask holds (a non-empty mask without it is
    refused with the values it holds, code ``mask.label_absent``); 0
    (background) is refused.
    ``geometry_atol``: tolerance (mm) of the image/mask grid check; must be
    finite and ≥ 0. ``axial_tolerance_deg``: see
    :data:`respond.measure.axial.AXIAL_TOLERANCE_DEG`.
    ``allow_resample_mask``: resample a mask whose grid differs from the
    image's onto it (nearest neighbour) instead of refusing it.
    ``allow_float_mask``: accept a float mask holding whole numbers.
    ``allow_uneven_slices``: accept a DICOM series ``image`` (or mask) with
    missing slices, placed at their true positions (see :mod:`respond.io.dicom`).
    ``fractional_threshold``: FRACTIONAL SEG segments are binarised at this
    fraction of the maximum fractional value (default
    :data:`respond.io.dicom.FRACTIONAL_THRESHOLD` = 0.5). With an image, a
    SEG's frames must lie on the image grid (never resampled).
    """

    lesions: LesionMode = "components"
    connectivity: int = 26
    label: int | None = None
    geometry_atol: float = GEOMETRY_ATOL_MM
    axial_tolerance_deg: float = AXIAL_TOLERANCE_DEG
    allow_resample_mask: bool = False
    allow_float_mask: bool = False
    allow_uneven_slices: bool = False
    fractional_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.lesions not in ("components", "labels"):
            raise ConfigError(f"lesions must be 'components' or 'labels', got {self.lesions!r}",
                              code="measure.lesions", value=self.lesions)
        if self.connectivity not in CONNECTIVITIES:
            raise ConfigError(f"connectivity must be one of {CONNECTIVITIES}, got {self.connectivity}",
                              code="measure.connectivity", value=self.connectivity)
        for name in ("geometry_atol", "axial_tolerance_deg"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number ≥ 0, got {value!r}: a NaN or infinite "
                                  "tolerance would switch the check off", code=f"measure.{name}", value=value)
        if self.label is not None and (isinstance(self.label, bool) or not isinstance(self.label, (int, np.integer))):
            raise ConfigError(f"label must be a whole number, got {self.label!r}", code="measure.label",
                              value=self.label)
        if self.label is not None and self.label == 0:
            raise ConfigError("label 0 is the background, not a lesion: name a lesion's label value",
                              code="measure.label", value=0)
        threshold = self.fractional_threshold
        if threshold is not None and not (isinstance(threshold, (int, float)) and 0.0 < threshold <= 1.0):
            raise ConfigError(f"fractional_threshold must be in (0, 1], got {threshold!r}",
                              code="measure.fractional_threshold", value=threshold)


@dataclass(frozen=True)
class ScanMeasurement:
    """The lesions of one scan: instances on the mask's grid and their lesion-table rows.

    ``rows`` is the scan's lesion table (:data:`respond.tables.LESIONS` columns
    then :data:`respond.measure.table.EXTRA_COLUMNS`), one row per instance
    in the same order. ``geometry`` is the grid of the instances' boxes;
    ``frame`` the axial frame they were measured in. ``edge_known`` is false
    when the grid is not the image's (a SEG read without its image): its
    ``touches_edge`` is then blank.
    """

    file: str | None
    geometry: Geometry
    frame: AxialFrame
    instances: tuple[LesionInstance, ...]
    rows: pd.DataFrame
    edge_known: bool = True
    info: dict[str, Any] = field(default_factory=dict, compare=False)


def measure_scan(
    mask: ImageSource,
    image: ImageSource | None = None,
    options: MeasureOptions | None = None,
    *,
    patient_id: str | None = None,
    date: dt.date | str | None = None,
    organ: str | None = None,
    **overrides: Any,
) -> ScanMeasurement:
    """Find and measure the lesions of one scan's mask.

    ``options`` (default :class:`MeasureOptions`) with any of its fields
    overridden by keyword. ``patient_id``, ``date`` and ``organ`` are copied
    into every row. See :func:`respond.measure.measure_mask` for the inputs
    and the columns. An empty mask gives no instances (everything
    disappeared); a ``label`` absent from a non-empty mask is refused.
    """
    options = replace(options or MeasureOptions(), **overrides) if overrides else (options or MeasureOptions())
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    edge_known = True
    if file is not None and is_dicom_seg(file):
        grid = None if image is None else image_geometry(image, allow_uneven_slices=options.allow_uneven_slices)
        threshold = FRACTIONAL_THRESHOLD if options.fractional_threshold is None else options.fractional_threshold
        seg = read_seg(file, grid=grid, geometry_atol=options.geometry_atol, fractional_threshold=threshold)
        geometry, edge_known = seg.geometry, image is not None  # without the image, the SEG's frames are no edge
        _check_label_present(options.label, [s.number for s in seg.segments if s.bbox is not None], file)
        instances = segment_instances(seg, label=options.label)
        header_qc: dict[str, Any] = {"qform_sform_disagreement_mm": None}
    else:
        geometry, instances, header_qc = _mask_instances(mask, image, options, file)
    frame = axial_frame(geometry, tolerance_deg=options.axial_tolerance_deg)
    rows = []
    for instance in instances:
        row = {**measure_lesion(instance, geometry, frame), **instance.info, **header_qc}
        if not edge_known:
            row["touches_edge"] = pd.NA
        rows.append(row)
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    table = lesion_frame(rows, patient_id=patient_id, date=date, organ=organ)
    return ScanMeasurement(file, geometry, frame, tuple(instances), table, edge_known)


def _mask_instances(mask: ImageSource, image: ImageSource | None, options: MeasureOptions,
                    file: str | None) -> tuple[Geometry, list[LesionInstance], dict[str, Any]]:
    """Read (and check against the image's grid) a label mask; its instances and header QC columns."""
    if image is not None:
        # Only the image's grid matters: its header is read, not its voxels.
        mask_image = match_mask_to_grid(
            mask, image_geometry(image, allow_uneven_slices=options.allow_uneven_slices),
            geometry_atol=options.geometry_atol, allow_resample_mask=options.allow_resample_mask,
            allow_float_mask=options.allow_float_mask,
        )
    else:
        mask_image = read_mask(mask, allow_float_mask=options.allow_float_mask)
    geometry = Geometry.from_image(mask_image, file=file)
    labels = sitk.GetArrayViewFromImage(mask_image)
    instances = find_lesions(labels, lesions=options.lesions, connectivity=options.connectivity,
                             label=options.label, file=file)
    if options.label is not None and not instances:
        _check_label_present(options.label, None, file, labels=labels)
    return geometry, instances, {"qform_sform_disagreement_mm": qform_sform_disagreement_mm(mask_image)}


def _check_label_present(label: int | None, present: list[int] | None, file: str | None, *,
                         labels: np.ndarray | None = None) -> None:
    """Refuse a ``label`` that the (non-empty) mask does not hold, listing the values it holds."""
    if label is None:
        return
    if present is None:
        assert labels is not None
        present = [v.item() for v in np.unique(labels[labels != 0])]
    if not present or label in present:
        return  # an empty mask is content (everything disappeared), not a wrong label
    shown = ", ".join(str(v) for v in present[:_SHOWN_VALUES])
    more = f" … ({len(present)} values)" if len(present) > _SHOWN_VALUES else ""
    raise MaskValueError(
        f"label {label} is not in the mask, which holds {shown}{more}; choose one of these (--label N)",
        code="mask.label_absent", file=file, value=label,
    )
