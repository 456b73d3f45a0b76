"""Read 3D images (NIfTI, NRRD, MetaImage, DICOM series) and check their header at the door.

Everything here reads through SimpleITK, so geometry is in ITK's convention
(see :mod:`respond.io.geometry`). NIfTI headers are additionally read with
nibabel (:mod:`respond.io.nifti`), DICOM series headers with pydicom and
highdicom (:mod:`respond.io.dicom`). Masks are read by :mod:`respond.io.masks`.

The rule is strict by default: any problem raises an error from
:mod:`respond.errors` naming the file and the values found. Leniency is opt-in
through keyword-only ``allow_*`` flags.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Union

import SimpleITK as sitk

from respond.errors import GeometryError, ImageFileError
from respond.io.dicom import is_dicom_seg, read_series, series_layout
from respond.io.files import MAX_IMAGE_BYTES, SUPPORTED_SUFFIXES, check_file, file_suffix, itk_reason  # noqa: F401 (re-exported)
from respond.io.geometry import (  # noqa: F401 (the grid names are re-exported for existing callers)
    DIRECTION_ATOL,
    GEOMETRY_ATOL_MM,
    ORTHONORMAL_ATOL,
    Geometry,
    obliquity_deg,
)
from respond.io.nifti import QFORM_SFORM_KEY, is_nifti, read_nifti_header, verify_gzip_stream, verify_gzip_voxels

#: Largest image read, in voxels (2³¹: a 1024×1024×2048 grid). The header is checked against it
#: before any voxel is read, so a damaged or hostile header claiming a huge grid fails fast
#: instead of exhausting memory. Raise it with ``read_image(..., max_voxels=...)``.
MAX_VOXELS: Final = 2**31

ImageSource = Union[str, os.PathLike, sitk.Image]


def is_seg_source(source) -> bool:
    """True when ``source`` is a path to a DICOM SEG file (never for an image in memory)."""
    if isinstance(source, sitk.Image):
        return False
    return is_dicom_seg(source)


def _refuse_seg_as_image(path: Path) -> None:
    if is_seg_source(path):
        raise ImageFileError("this is a DICOM SEG (a segmentation), not an image; give it as the mask",
                             code="image.dicom_seg_as_image", file=str(path))


def read_header(path: str | os.PathLike, *, allow_non_orthonormal: bool = False,
                allow_uneven_slices: bool = False, max_bytes: int = MAX_IMAGE_BYTES) -> tuple[Geometry, int, int]:
    """Check a file's header without reading its voxels.

    A DICOM series folder has every slice header checked and sorted by
    :func:`respond.io.dicom.series_layout` (missing, duplicated or unevenly
    spaced slices are refused unless ``allow_uneven_slices``). A NIfTI header
    is checked as stored and its transform decided by :mod:`respond.io.nifti`.
    Voxels that would take more than ``max_bytes`` of memory are refused.

    Returns ``(geometry, n_components, pixel_id)``. Raises
    :class:`~respond.errors.ImageFileError` for missing, empty, unsupported,
    truncated, too large or unreadable files and
    :class:`~respond.errors.GeometryError` for a grid that is not 3D or has
    invalid spacing, origin or direction.
    """
    header = _read_header(Path(path), allow_non_orthonormal=allow_non_orthonormal,
                          allow_uneven_slices=allow_uneven_slices, max_bytes=max_bytes, verify_data=False)
    return header.geometry, header.components, header.pixel_id


@dataclass(frozen=True)
class _Header:
    """What a header says: the grid, components and pixel type, and the NIfTI QC value."""

    geometry: Geometry
    components: int
    pixel_id: int
    qform_sform_disagreement_mm: float = math.nan


def _read_header(path: Path, *, allow_non_orthonormal: bool, allow_uneven_slices: bool, max_bytes: int,
                 verify_data: bool) -> _Header:
    check_file(path)
    _refuse_seg_as_image(path)
    layout = None
    reader = sitk.ImageFileReader()
    if path.is_dir():
        layout = series_layout(path, allow_uneven_slices=allow_uneven_slices)
        reader.SetFileName(layout.files[0])
    else:
        reader.SetFileName(str(path))
    nifti = read_nifti_header(path, max_bytes=max_bytes, verify_data=verify_data) if is_nifti(path) else None
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise _itk_read_error(exc, path, "the image header", "is the file damaged or of another format?",
                              code="image.unreadable") from exc
    size = tuple(int(s) for s in reader.GetSize())
    if len(size) != 3 and not path.is_dir():
        raise GeometryError(
            f"expected a 3D image, got {len(size)}D with size {size}", code="geometry.dimension", file=str(path),
            value=size,
        )
    if layout is not None:
        geometry = layout.geometry
    else:
        geometry = Geometry.from_image(reader, file=str(path), allow_non_orthonormal=allow_non_orthonormal)
        if nifti is not None:
            geometry = nifti.geometry(size, file=str(path), allow_non_orthonormal=allow_non_orthonormal) or geometry
    _check_bytes(path, geometry, int(reader.GetPixelID()), int(reader.GetNumberOfComponents()), max_bytes)
    gap = nifti.qform_sform_disagreement_mm if nifti is not None else math.nan
    return _Header(geometry, int(reader.GetNumberOfComponents()), int(reader.GetPixelID()), gap)


def _check_bytes(path: Path, geometry: Geometry, pixel_id: int, components: int, max_bytes: int) -> None:
    """Refuse voxels that would take more than ``max_bytes`` of memory (checked before any is read)."""
    itemsize = sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], pixel_id, components)).itemsize
    needed = math.prod(geometry.size) * itemsize
    if needed > max_bytes:
        raise ImageFileError(
            f"the header describes {math.prod(geometry.size):,} voxels (size {geometry.size}), "
            f"{needed / 2**30:.3g} GiB in memory, more than the limit of {max_bytes / 2**30:.3g} GiB (max_bytes); "
            "is the header damaged?", code="image.too_large", file=str(path), value=geometry.size)


def read_image(source: ImageSource, *, allow_non_orthonormal: bool = False,
               max_voxels: int = MAX_VOXELS, allow_uneven_slices: bool = False,
               max_bytes: int = MAX_IMAGE_BYTES) -> sitk.Image:
    """Read a 3D scalar image (NIfTI, NRRD, MetaImage or a DICOM series folder).

    The header is checked (geometry, components, size against ``max_voxels``
    and ``max_bytes``) before the voxels are read. An ``sitk.Image`` passed in
    is checked and returned as is. A DICOM series with missing slices is read
    only with ``allow_uneven_slices`` (see :mod:`respond.io.dicom`). A NIfTI
    image gets the transform :mod:`respond.io.nifti` decided, and its
    qform/sform disagreement in the metadata key
    :data:`~respond.io.nifti.QFORM_SFORM_KEY` (when both are set).
    """
    if isinstance(source, sitk.Image):
        check_loaded(source, None, allow_non_orthonormal=allow_non_orthonormal)
        return source
    path = Path(source)
    # A .nii.gz's data is verified after ITK has read it (verify_gzip_voxels): one decompression, not two.
    header = _read_header(path, allow_non_orthonormal=allow_non_orthonormal,
                          allow_uneven_slices=allow_uneven_slices, max_bytes=max_bytes, verify_data=False)
    geometry = header.geometry
    if math.prod(geometry.size) > max_voxels:
        raise ImageFileError(
            f"the header describes {math.prod(geometry.size):,} voxels (size {geometry.size}), more than "
            f"max_voxels = {max_voxels:,}; is the header damaged?",
            code="image.too_large",
            file=str(path),
            value=geometry.size,
        )
    if header.components != 1:
        raise ImageFileError(
            f"expected a scalar image, got {header.components} components per voxel", code="image.components",
            file=str(path), value=header.components,
        )
    image = _read_voxels(path, allow_uneven_slices=allow_uneven_slices)
    verify_gzip_voxels(path, sitk.GetArrayViewFromImage(image))
    if is_nifti(path):
        image.SetOrigin(geometry.origin)
        image.SetDirection(geometry.direction)
        if not math.isnan(header.qform_sform_disagreement_mm):
            image.SetMetaData(QFORM_SFORM_KEY, repr(header.qform_sform_disagreement_mm))
    check_loaded(image, str(path), allow_non_orthonormal=allow_non_orthonormal)
    return image


def _read_voxels(path: Path, *, allow_uneven_slices: bool) -> sitk.Image:
    try:
        if path.is_dir():
            return read_series(path, allow_uneven_slices=allow_uneven_slices)
        return sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise _itk_read_error(exc, path, "the voxels", "could the file be truncated or damaged?",
                              code="image.truncated") from exc


def _itk_read_error(exc: Exception, path: Path, what: str, hint: str, *, code: str) -> ImageFileError:
    """The error for an ITK reader that failed on ``path``: ``cannot read WHAT (ITK's reason); HINT``.

    A ``.nii.gz`` whose gzip stream is damaged raises that error instead (the
    stream is said as such, not as ITK's failure).
    """
    if file_suffix(path) == ".nii.gz":
        verify_gzip_stream(path)
    return ImageFileError(f"cannot read {what} ({itk_reason(exc)}); {hint}", code=code, file=str(path))


def qform_sform_disagreement_mm(image: sitk.Image) -> float:
    """The QC value :func:`read_image` recorded for a NIfTI image (mm; NaN when not recorded)."""
    if image.HasMetaDataKey(QFORM_SFORM_KEY):
        return float(image.GetMetaData(QFORM_SFORM_KEY))
    return math.nan


def check_loaded(image: sitk.Image, file: str | None, *, allow_non_orthonormal: bool) -> Geometry:
    """Geometry and component checks on an image in memory."""
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageFileError(
            f"expected a scalar image, got {image.GetNumberOfComponentsPerPixel()} components per voxel",
            code="image.components",
            file=file,
        )
    return Geometry.from_image(image, file=file, allow_non_orthonormal=allow_non_orthonormal)


def image_geometry(source: ImageSource, *, allow_uneven_slices: bool = False) -> Geometry:
    """The grid of an image, from its header(s) alone when it is a file or DICOM series (voxels are not read)."""
    if isinstance(source, sitk.Image):
        return check_loaded(source, None, allow_non_orthonormal=False)
    geometry, _, _ = read_header(source, allow_uneven_slices=allow_uneven_slices)
    return geometry
