"""Lesion measurement from segmentation masks: the lesion table of one scan.

``measure_mask`` is the public entry point (exported as ``respond.measure``).
See :mod:`respond.measure.lesion` for the measurement conventions.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import types
import pandas as pd
import SimpleITK as sitk

from respond.io.geometry import GEOMETRY_ATOL_MM, Geometry
from respond.io.images import ImageSource, image_geometry, qform_sform_disagreement_mm
from respond.io.masks import match_mask_to_grid, read_mask
from respond.io.dicom import FRACTIONAL_THRESHOLD, is_dicom_seg, read_seg
from respond.measure.axial import AXIAL_TOLERANCE_DEG, axial_frame
from respond.measure.instances import LesionMode, find_lesions, segment_instances
from respond.measure.lesion import MEASURABLE_MM, MESH_CONVENTION, measure_lesion
from respond.measure.table import EXTRA_COLUMNS, lesion_frame, write_lesion_csv

__all__ = [
    "AXIAL_TOLERANCE_DEG",
    "EXTRA_COLUMNS",
    "MEASURABLE_MM",
    "MESH_CONVENTION",
    "measure_mask",
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
        FRACTIONAL segments are binarised at ``fractional_threshold`` of the
        maximum fractional value (default
        :data:`respond.io.dicom.FRACTIONAL_THRESHOLD` = 0.5). With ``image``
        the SEG's frames must lie on the image grid (never resampled).
    image:
        The image the mask was drawn on (optional). Its grid must match the
        mask's within ``geometry_atol`` mm (else
        :class:`~respond.errors.GeometryMismatchError`), unless
        ``allow_resample_mask`` resamples the mask onto it by nearest neighbour.
    lesions:
        ``"components"``: each connected component (``connectivity`` 6, 18 or
        26) of a binary mask is a lesion, ids ``"1"``, ``"2"``, … in raster
        order. ``"labels"``: each label value is a lesion, id = the value.
    label:
        Only use this label value of the mask (segment number of a SEG).
    allow_uneven_slices:
        Accept a DICOM series ``image`` (or mask) with missing slices, placed
        at their true positions (see :mod:`respond.io.dicom`).
    organ, patient_id, date:
        Copied into every row, so that the table feeds ``respond evaluate``.

    Returns
    -------
    pandas.DataFrame
        One row per lesion with the LESIONS columns (``longest_diameter_mm``,
        ``short_axis_mm``, ``n_slices``, ``volume_mm3`` mm³, endpoints in LPS mm,
        QC flags, …) and :data:`EXTRA_COLUMNS`; status ``present``. An empty
        mask gives no rows (not an error: everything disappeared).
    """
    file = None if isinstance(mask, sitk.Image) else os.fspath(mask)
    if file is not None and is_dicom_seg(file):
        grid = None if image is None else image_geometry(image, allow_uneven_slices=allow_uneven_slices)
        threshold = FRACTIONAL_THRESHOLD if fractional_threshold is None else fractional_threshold
        seg = read_seg(file, grid=grid, geometry_atol=geometry_atol, fractional_threshold=threshold)
        geometry = seg.geometry
        instances = segment_instances(seg, label=label)
        header_qc = {"qform_sform_disagreement_mm": None}
    else:
        if image is not None:
            # Only the image's grid matters: its header is read, not its voxels.
            mask_image = match_mask_to_grid(
                mask, image_geometry(image, allow_uneven_slices=allow_uneven_slices), geometry_atol=geometry_atol,
                allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask,
            )
        else:
            mask_image = read_mask(mask, allow_float_mask=allow_float_mask)
        geometry = Geometry.from_image(mask_image, file=file)
        header_qc = {"qform_sform_disagreement_mm": qform_sform_disagreement_mm(mask_image)}
        instances = find_lesions(
            sitk.GetArrayViewFromImage(mask_image), lesions=lesions, connectivity=connectivity, label=label, file=file
        )
    frame = axial_frame(geometry, tolerance_deg=axial_tolerance_deg)
    rows = [{**measure_lesion(instance, geometry, frame), **instance.info, **header_qc} for instance in instances]
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return lesion_frame(rows, patient_id=patient_id, date=date, organ=organ)


class _CallableModule(types.ModuleType):
    """``respond.measure`` is both this package and the function :func:`measure_mask`.

    Importing the package binds ``respond.measure`` to it, so the package
    itself is made callable: ``respond.measure(mask, ...)`` is
    ``respond.measure.measure_mask(mask, ...)``.
    """

    def __call__(self, *args, **kwargs) -> pd.DataFrame:
        return measure_mask(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
