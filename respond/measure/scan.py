"""One scan read and measured: the lesion instances of a mask and one measured row per instance.

:func:`measure_scan` is the single place where a mask is turned into lesions:
a DICOM SEG gives one lesion per segment, any other mask its connected
components (or label values). ``respond measure`` tabulates its rows
(:func:`respond.measure.measure_mask`); the series pipeline also keeps the
mask and the instances to match lesions across scans.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import SimpleITK as sitk

from respond.errors import RespondError
from respond.io.dicom import FRACTIONAL_THRESHOLD, is_dicom_seg, read_seg
from respond.io.images import GEOMETRY_ATOL_MM, Geometry, ImageSource, image_geometry, match_mask_to_grid, read_mask
from respond.measure.axial import AXIAL_TOLERANCE_DEG, axial_frame
from respond.measure.instances import LesionInstance, LesionMode, find_lesions, segment_instances
from respond.measure.lesion import measure_lesion


@dataclass
class ScanMeasurement:
    """The lesions of one scan.

    ``mask``: the mask on the scan's grid (for a SEG, the union of its
    segments); ``geometry``: that grid; ``instances``: the lesion instances
    (voxels); ``rows``: one measured row per instance, in instance order
    (lesion-table columns, mm / mm³, LPS); ``seconds``: wall time of
    ``read`` and ``measure``.
    """

    mask: sitk.Image
    geometry: Geometry
    instances: list[LesionInstance]
    rows: list[dict[str, Any]]
    file: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def row_by_id(self) -> dict[str, dict[str, Any]]:
        """Measured rows keyed by the instance's lesion id (its source label)."""
        return {inst.lesion_id: row for inst, row in zip(self.instances, self.rows)}


def _read_instances(mask: ImageSource, image: ImageSource | None, *, lesions: LesionMode, connectivity: int,
                    label: int | None, geometry_atol: float, allow_resample_mask: bool, allow_float_mask: bool,
                    allow_uneven_slices: bool, fractional_threshold: float | None,
                    ) -> tuple[sitk.Image, Geometry, list[LesionInstance]]:
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    grid = None if image is None else image_geometry(image, allow_uneven_slices=allow_uneven_slices)
    if file is not None and is_dicom_seg(file):
        threshold = FRACTIONAL_THRESHOLD if fractional_threshold is None else fractional_threshold
        seg = read_seg(file, grid=grid, geometry_atol=geometry_atol, fractional_threshold=threshold)
        return seg.union_image(), seg.geometry, segment_instances(seg, label=label)
    if grid is not None:
        mask_image = match_mask_to_grid(mask, grid, geometry_atol=geometry_atol,
                                        allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask)
    else:
        mask_image = read_mask(mask, allow_float_mask=allow_float_mask)
    geometry = Geometry.from_image(mask_image, file=file)
    instances = find_lesions(sitk.GetArrayViewFromImage(mask_image), lesions=lesions, connectivity=connectivity,
                             label=label, file=file)
    return mask_image, geometry, instances


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
) -> ScanMeasurement:
    """Read a mask (on ``image``'s grid when given) and measure each lesion on the native mask.

    The options are those of :func:`respond.measure.measure_mask`. A
    measurement error names the mask file.
    """
    started = time.perf_counter()
    mask_image, geometry, instances = _read_instances(
        mask, image, lesions=lesions, connectivity=connectivity, label=label, geometry_atol=geometry_atol,
        allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask,
        allow_uneven_slices=allow_uneven_slices, fractional_threshold=fractional_threshold)
    read_done = time.perf_counter()
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    frame = axial_frame(geometry, tolerance_deg=axial_tolerance_deg)
    rows = []
    for instance in instances:
        try:
            rows.append({**measure_lesion(instance, geometry, frame), **instance.info})
        except RespondError as exc:
            if exc.file is None:
                exc.file = file
            raise
    seconds = {"read": read_done - started, "measure": time.perf_counter() - read_done}
    return ScanMeasurement(mask_image, geometry, instances, rows, file, seconds)
