"""Read label masks, enforce the label-value policy, and put a mask on its image's grid.

A mask is a 3D scalar image of an integer type whose values are 0
(background) and positive integer labels. Float-typed masks are refused unless
``allow_float_mask`` (and even then only whole-number values are accepted); a
mask whose grid differs from its image's is refused unless
``allow_resample_mask`` (then resampled by nearest neighbour, never
interpolating labels). A DICOM SEG is read by :mod:`respond.io.dicom`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import SimpleITK as sitk

from respond.errors import GeometryMismatchError, MaskValueError, format_values
from respond.io.dicom import read_seg
from respond.io.geometry import DIRECTION_ATOL, GEOMETRY_ATOL_MM, Geometry
from respond.io.images import ImageSource, is_seg_source, read_image
from respond.io.nifti import QFORM_SFORM_KEY, is_nifti, nonfinite_voxel_count

#: Largest whole-number value of a float mask accepted as a label (with ``allow_float_mask``): it is
#: converted to a 32-bit unsigned label image, and a larger value (1e20) would overflow to a wrong label.
_LARGEST_LABEL: Final = 2**32 - 1

#: Integer pixel types a label mask may be stored as.
_INTEGER_PIXEL_IDS: Final = frozenset(
    {
        sitk.sitkUInt8,
        sitk.sitkInt8,
        sitk.sitkUInt16,
        sitk.sitkInt16,
        sitk.sitkUInt32,
        sitk.sitkInt32,
        sitk.sitkUInt64,
        sitk.sitkInt64,
    }
)


def read_mask(source: ImageSource, *, allow_float_mask: bool = False,
              allow_non_orthonormal: bool = False) -> sitk.Image:
    """Read a 3D label mask and check its values.

    A mask must be a 3D scalar image of an integer type whose values are 0
    (background) and positive integer labels. A float-typed mask is refused
    unless ``allow_float_mask`` is true, and even then only if all its values
    are whole numbers; it is then converted to an integer type. Negative or
    non-integer values always raise :class:`~respond.errors.MaskValueError`
    listing the values found. A DICOM SEG file is read as a label image of its
    segment numbers when no two segments overlap (else ``MaskValueError``; see
    :func:`respond.io.dicom.read_seg` for the per-segment masks).
    """
    file = None if isinstance(source, sitk.Image) else str(source)
    if is_seg_source(source):
        # Segment numbers as labels; refused when segments overlap (respond.measure reads SEGs per segment).
        return read_seg(source).label_image()
    image = read_image(source, allow_non_orthonormal=allow_non_orthonormal)
    if file is not None and is_nifti(Path(file)) and sitk.GetArrayViewFromImage(image).dtype.kind == "f":
        _refuse_nonfinite(Path(file))
    return check_mask_values(image, file=file, allow_float_mask=allow_float_mask)


def _refuse_nonfinite(path: Path) -> None:
    """NaN and infinite voxels, counted in the raw file (ITK reads them as 0, i.e. background)."""
    count = nonfinite_voxel_count(path)
    if count:
        raise MaskValueError(
            f"mask holds {count} NaN or infinite voxel(s); they are not labels (ITK would read them as background)",
            code="mask.values", file=str(path), value=count)


def check_mask_values(mask: sitk.Image, *, file: str | None = None, allow_float_mask: bool = False) -> sitk.Image:
    """Refuse float, negative and non-integer labels; return an integer-typed mask."""
    array = sitk.GetArrayViewFromImage(mask)
    if mask.GetPixelID() in _INTEGER_PIXEL_IDS:
        if array.dtype.kind == "i" and array.size and array.min() < 0:
            negatives = np.unique(array[array < 0])
            raise MaskValueError(
                f"mask has negative labels {format_values(negatives)}; labels must be 0 (background) or positive",
                code="mask.negative",
                file=file,
                value=negatives[:10].tolist(),
            )
        return mask
    if array.dtype.kind != "f":
        raise MaskValueError(
            f"mask pixel type {mask.GetPixelIDTypeAsString()} is not an integer type",
            code="mask.type",
            file=file,
        )
    values = np.unique(array)
    bad = values[~np.isfinite(values) | (values != np.round(values)) | (values < 0)]
    if bad.size:
        raise MaskValueError(
            f"mask holds values that are not labels (negative, non-integer or NaN): {format_values(bad)}; "
            f"all values found: {format_values(values)}",
            code="mask.values",
            file=file,
            value=bad[:10].tolist(),
        )
    if not allow_float_mask:
        raise MaskValueError(
            f"mask is stored as {mask.GetPixelIDTypeAsString()} (values found: {format_values(values)}); "
            "label masks must be integer images — pass allow_float_mask=True to accept whole-number floats",
            code="mask.float",
            file=file,
            value=values[:10].tolist(),
        )
    too_large = values[values > _LARGEST_LABEL]
    if too_large.size:
        raise MaskValueError(
            f"mask holds label value(s) {format_values(too_large)} larger than {_LARGEST_LABEL}, the largest label "
            "a float mask is converted to; relabel the mask with small integers",
            code="mask.values", file=file, value=too_large[:10].tolist())
    pixel = sitk.sitkUInt8 if values.size == 0 or values.max() < 256 else sitk.sitkUInt32
    converted = sitk.Cast(mask, pixel)
    return converted


def load_pair(
    image: ImageSource,
    mask: ImageSource,
    *,
    geometry_atol: float = GEOMETRY_ATOL_MM,
    direction_atol: float = DIRECTION_ATOL,
    allow_resample_mask: bool = False,
    allow_float_mask: bool = False,
    allow_uneven_slices: bool = False,
) -> tuple[sitk.Image, sitk.Image]:
    """Read an image and the mask drawn on it, and make sure they share one grid.

    Origin and spacing must agree within ``geometry_atol`` mm, direction cosines
    within ``direction_atol`` and sizes exactly; otherwise
    :class:`~respond.errors.GeometryMismatchError` lists each differing field.
    With ``allow_resample_mask=True`` a mismatched mask is instead resampled
    onto the image grid by nearest neighbour (labels are never interpolated);
    note that resampling changes diameters by up to a voxel.

    Returns ``(image, mask)``; the mask carries the image's exact geometry.
    """
    image = read_image(image, allow_uneven_slices=allow_uneven_slices)
    mask = match_mask_to_grid(
        mask, Geometry.from_image(image), geometry_atol=geometry_atol, direction_atol=direction_atol,
        allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask,
    )
    return image, mask


def match_mask_to_grid(
    mask: ImageSource,
    grid: Geometry,
    *,
    geometry_atol: float = GEOMETRY_ATOL_MM,
    direction_atol: float = DIRECTION_ATOL,
    allow_resample_mask: bool = False,
    allow_float_mask: bool = False,
) -> sitk.Image:
    """Read a mask and make sure it lies on ``grid`` (see :func:`load_pair` for the rules)."""
    mask_file = None if isinstance(mask, sitk.Image) else str(mask)
    if is_seg_source(mask):
        try:  # the SEG's frames are placed on the grid without resampling
            return read_seg(mask, grid=grid, geometry_atol=geometry_atol,
                            direction_atol=direction_atol).label_image()
        except GeometryMismatchError:
            if not allow_resample_mask:
                raise
        mask = read_seg(mask).label_image()
    mask = read_mask(mask, allow_float_mask=allow_float_mask)
    found = grid.differences(Geometry.from_image(mask, file=mask_file), atol_mm=geometry_atol,
                             direction_atol=direction_atol)
    reference = sitk.Image([int(v) for v in grid.size], mask.GetPixelID())
    reference.SetSpacing(grid.spacing)
    reference.SetOrigin(grid.origin)
    reference.SetDirection(grid.direction)
    if not found:
        placed = sitk.Image(mask)
        placed.CopyInformation(reference)
        return _keep_header_qc(mask, placed)
    if not allow_resample_mask:
        raise GeometryMismatchError(
            "image and mask grids differ: " + "; ".join(f"{f} (image vs mask)" for f in found)
            + ". Pass allow_resample_mask=True (CLI: --allow-resample-mask) to resample the mask "
            "onto the image by nearest neighbour.",
            code="geometry.mismatch",
            file=mask_file,
            value=found,
        )
    return _keep_header_qc(mask, resample_label_image(mask, reference))


def _keep_header_qc(source: sitk.Image, target: sitk.Image) -> sitk.Image:
    """Carry the NIfTI qform/sform QC value of the mask file over to the mask placed on the grid."""
    if source.HasMetaDataKey(QFORM_SFORM_KEY):
        target.SetMetaData(QFORM_SFORM_KEY, source.GetMetaData(QFORM_SFORM_KEY))
    return target


def resample_label_image(mask: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """Resample a label image onto ``reference``'s grid by nearest neighbour (never inventing labels)."""
    return sitk.Resample(mask, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())
