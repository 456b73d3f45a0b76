"""The lesion table of one scan: :func:`measure_mask`, exported as ``respond.measure``."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from respond.io.geometry import GEOMETRY_ATOL_MM
from respond.io.images import ImageSource
from respond.measure.axial import AXIAL_TOLERANCE_DEG
from respond.measure.instances import LesionMode
from respond.measure.scan import MeasureOptions, measure_scan


def measure_mask(
    mask: ImageSource,
    image: ImageSource | None = None,
    *,
    lesions: LesionMode = "components",
    organ: str | None = None,
    patient_id: str | None = None,
    date: dt.date | str | None = None,
    connectivity: int = 26,
    label: int | None = None,
    geometry_atol: float = GEOMETRY_ATOL_MM,
    axial_tolerance_deg: float = AXIAL_TOLERANCE_DEG,
    allow_resample_mask: bool = False,
    allow_float_mask: bool = False,
    allow_uneven_slices: bool = False,
    fractional_threshold: float | None = None,
) -> pd.DataFrame:
    """Measure every lesion of a mask; returns the lesion table of the scan.

    Parameters
    ----------
    mask:
        Label mask: a path (NIfTI, NRRD, MetaImage, DICOM series folder, DICOM
        SEG file) or a SimpleITK image. Geometry is taken from the file. In a
        DICOM SEG each segment is one lesion whatever ``lesions`` says
        (overlapping segments stay separate lesions); its id is the segment's
        TrackingID, else SegmentLabel, else number, and the rows get
        ``segment_number, segment_label, tracking_id, tracking_uid`` columns.
    image:
        The image the mask was drawn on (optional). Its grid must match the
        mask's within ``geometry_atol`` mm (else
        :class:`~respond.errors.GeometryMismatchError`), unless
        ``allow_resample_mask`` resamples the mask onto it by nearest neighbour.
    organ, patient_id, date:
        Copied into every row, so that the table feeds ``respond evaluate``.
    lesions, connectivity, label, geometry_atol, axial_tolerance_deg, allow_*, fractional_threshold:
        The fields of :class:`MeasureOptions`, documented there (lesion
        convention, label choice, tolerances, SEG binarisation).

    Returns
    -------
    pandas.DataFrame
        One row per lesion with the LESIONS columns (``longest_diameter_mm``,
        ``short_axis_mm``, ``n_slices``, ``volume_mm3`` mm³, endpoints in LPS mm,
        QC flags, …) and :data:`EXTRA_COLUMNS`; status ``present``. A SEG read
        without its image has ``touches_edge`` blank (unknown): its frames'
        span is not the image's edge. An empty
        mask gives no rows (not an error: everything disappeared).
    """
    options = MeasureOptions(
        lesions=lesions, connectivity=connectivity, label=label, geometry_atol=geometry_atol,
        axial_tolerance_deg=axial_tolerance_deg, allow_resample_mask=allow_resample_mask,
        allow_float_mask=allow_float_mask, allow_uneven_slices=allow_uneven_slices,
        fractional_threshold=fractional_threshold,
    )
    return measure_scan(mask, image, options, patient_id=patient_id, date=date, organ=organ).rows
