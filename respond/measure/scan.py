"""One scan's mask → its lesion instances and their measurements (knows no response criteria).

:func:`measure_scan` is the single place where a mask is turned into lesions:
a DICOM SEG gives one lesion per segment, any other mask its connected
components (or label values). ``respond measure`` returns its rows
(:func:`respond.measure.measure_mask`); the series pipeline also keeps the
instances to match lesions across scans.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import SimpleITK as sitk

from respond.errors import RespondError
from respond.io.dicom import FRACTIONAL_THRESHOLD, is_dicom_seg, read_seg
from respond.io.geometry import GEOMETRY_ATOL_MM, Geometry
from respond.io.images import ImageSource, image_geometry, qform_sform_disagreement_mm
from respond.io.masks import match_mask_to_grid, read_mask
from respond.measure.axial import AXIAL_TOLERANCE_DEG, AxialFrame, axial_frame
from respond.measure.instances import LesionInstance, LesionMode, find_lesions, segment_instances
from respond.measure.lesion import measure_lesion
from respond.measure.table import lesion_frame


@dataclass(frozen=True)
class ScanMeasurement:
    """The lesions of one scan: instances on the mask's grid and their lesion-table rows.

    ``rows`` is the scan's lesion table (:data:`respond.tables.LESIONS` columns
    then the extra measurement columns), one row per instance in the same
    order. ``geometry`` is the grid of the instances' boxes; ``frame`` the
    axial frame they were measured in. Each row carries the mask header's QC
    (``qform_sform_disagreement_mm``; blank for a DICOM SEG).
    """

    file: str | None
    geometry: Geometry
    frame: AxialFrame
    instances: tuple[LesionInstance, ...]
    rows: pd.DataFrame
    edge_known: bool = True
    info: dict[str, Any] = field(default_factory=dict, compare=False)


def _instances(mask: ImageSource, image: ImageSource | None, *, lesions: LesionMode, connectivity: int,
               label: int | None, geometry_atol: float, allow_resample_mask: bool, allow_float_mask: bool,
               allow_uneven_slices: bool, fractional_threshold: float | None,
               ) -> tuple[Geometry, list[LesionInstance], dict[str, Any]]:
    """The grid, the lesion instances and the header QC columns of a mask."""
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    grid = None if image is None else image_geometry(image, allow_uneven_slices=allow_uneven_slices)
    if file is not None and is_dicom_seg(file):
        threshold = FRACTIONAL_THRESHOLD if fractional_threshold is None else fractional_threshold
        seg = read_seg(file, grid=grid, geometry_atol=geometry_atol, fractional_threshold=threshold)
        return seg.geometry, segment_instances(seg, label=label), {"qform_sform_disagreement_mm": None}
    if grid is not None:  # only the image's grid matters: its header is read, not its voxels
        mask_image = match_mask_to_grid(mask, grid, geometry_atol=geometry_atol,
                                        allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask)
    else:
        mask_image = read_mask(mask, allow_float_mask=allow_float_mask)
    instances = find_lesions(sitk.GetArrayViewFromImage(mask_image), lesions=lesions, connectivity=connectivity,
                             label=label, file=file)
    header_qc = {"qform_sform_disagreement_mm": qform_sform_disagreement_mm(mask_image)}
    return Geometry.from_image(mask_image, file=file), instances, header_qc


def measure_scan(
    mask: ImageSource,
    image: ImageSource | None = None,
    *,
    lesions: LesionMode = "components",
    connectivity: int = 26,
    label: int | None = None,
    geometry_atol: float = GEOMETRY_ATOL_MM,
    axial_tolerance_deg: float = AXIAL_TOLERANCE_DEG,
    allow_resample_mask: bool = False,
    allow_float_mask: bool = False,
    allow_uneven_slices: bool = False,
    fractional_threshold: float | None = None,
    patient_id: str | None = None,
    date: dt.date | str | None = None,
    organ: str | None = None,
) -> ScanMeasurement:
    """Find and measure the lesions of one scan's mask (on ``image``'s grid when given).

    The options are those of :func:`respond.measure.measure_mask`;
    ``patient_id``, ``date`` and ``organ`` are copied into every row. An empty
    mask gives no instances (everything disappeared). A measurement error
    names the mask file.
    """
    geometry, instances, header_qc = _instances(
        mask, image, lesions=lesions, connectivity=connectivity, label=label, geometry_atol=geometry_atol,
        allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask,
        allow_uneven_slices=allow_uneven_slices, fractional_threshold=fractional_threshold)
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    frame = axial_frame(geometry, tolerance_deg=axial_tolerance_deg)
    rows = []
    for instance in instances:
        try:
            rows.append({**measure_lesion(instance, geometry, frame), **instance.info, **header_qc})
        except RespondError as exc:
            if exc.file is None:
                exc.file = file
            raise
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    table = lesion_frame(rows, patient_id=patient_id, date=date, organ=organ)
    return ScanMeasurement(file, geometry, frame, tuple(instances), table)
