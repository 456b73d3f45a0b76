"""Lesion measurement from segmentation masks: the lesion table of one scan.

``measure_scan`` is the stage's entry point (instances and their rows, a
:class:`ScanMeasurement`); ``measure_mask`` returns just the lesion table and
is exported as ``respond.measure``.
See :mod:`respond.measure.lesion` for the measurement conventions.
"""
from __future__ import annotations

import datetime as dt
import sys
import types
import pandas as pd

from respond.io.geometry import GEOMETRY_ATOL_MM
from respond.io.images import ImageSource
from respond.measure.axial import AXIAL_TOLERANCE_DEG
from respond.measure.instances import LesionMode
from respond.measure.lesion import MEASURABLE_MM, MESH_CONVENTION
from respond.measure.scan import MeasureOptions, ScanMeasurement, measure_scan
from respond.measure.table import EXTRA_COLUMNS, write_lesion_csv

__all__ = [
    "AXIAL_TOLERANCE_DEG",
    "EXTRA_COLUMNS",
    "MEASURABLE_MM",
    "MESH_CONVENTION",
    "MeasureOptions",
    "ScanMeasurement",
    "measure_mask",
    "measure_scan",
    "write_lesion_csv",
]


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


class _CallableModule(types.ModuleType):
    """``respond.measure`` is both this package and the function :func:`measure_mask`.

    Importing the package binds ``respond.measure`` to it, so the package
    itself is made callable: ``respond.measure(mask, ...)`` is
    ``respond.measure.measure_mask(mask, ...)``.
    """

    def __call__(self, *args, **kwargs) -> pd.DataFrame:
        return measure_mask(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
