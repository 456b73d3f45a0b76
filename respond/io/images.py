"""Read images and label masks, and check their geometry at the door.

Everything here reads through SimpleITK, so geometry is in ITK's convention:
index order (i, j, k) = (x, y, z) of the file grid, physical coordinates in
millimetres in the patient LPS frame, and ``physical = origin + direction @
(spacing * index)``. NIfTI headers are additionally read with nibabel, because
ITK silently repairs some broken NIfTI headers (zero or NaN ``pixdim``) and
reads a truncated ``.nii``/``.nii.gz`` without complaint, zero-filling the
missing voxels.

The rule is strict by default: any problem raises an error from
:mod:`respond.errors` naming the file and the values found. Leniency is opt-in
through keyword-only ``allow_*`` flags.
"""
from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Union

import numpy as np
import SimpleITK as sitk

from respond.errors import (
    GeometryError,
    GeometryMismatchError,
    ImageFileError,
    MaskValueError,
)

#: Maximum deviation of ``D.T @ D`` from the identity (absolute, unitless) for
#: the direction cosines ``D`` of an image to count as orthonormal. Direction
#: cosines stored as float32 (NIfTI quaternions, some NRRD writers) are
#: orthonormal to about 1e-6; a deviation above 1e-4 means a sheared or scaled
#: grid whose distances cannot be measured with one spacing per axis.
ORTHONORMAL_ATOL: Final = 1e-4

#: Default tolerance, in mm, when comparing the origin and the spacing of an
#: image and its mask. Positions written as float32 (NIfTI) are exact to about
#: 1e-5 of their magnitude, i.e. about 5e-3 mm at 500 mm from the isocentre; 1e-3
#: mm is well below any voxel and catches every real off-by-a-slice mask.
GEOMETRY_ATOL_MM: Final = 1e-3

#: Default tolerance (absolute, unitless) when comparing the direction cosines
#: of an image and its mask. 1e-4 is about 0.006 degrees.
DIRECTION_ATOL: Final = 1e-4

#: Tolerance, in mm, between the NIfTI qform and sform when both are set. A
#: header whose two transforms disagree by more than this at any corner of the
#: grid is ambiguous and refused (ITK would silently prefer one of them).
QFORM_SFORM_ATOL_MM: Final = 1e-3

#: Largest image read, in voxels (2³¹: a 1024×1024×2048 grid). The header is checked against it
#: before any voxel is read, so a damaged or hostile header claiming a huge grid fails fast
#: instead of exhausting memory. Raise it with ``read_image(..., max_voxels=...)``.
MAX_VOXELS: Final = 2**31

#: File suffixes read as a single file (a folder is read as a DICOM series).
SUPPORTED_SUFFIXES: Final = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")

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

ImageSource = Union[str, os.PathLike, sitk.Image]


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Geometry:
    """The validated grid of a 3D image: size, spacing (mm), origin (mm, LPS), direction.

    ``size``, ``spacing`` and ``origin`` are in ITK index order (x, y, z of the
    grid); ``direction`` is the 3×3 matrix of direction cosines, row-major as
    SimpleITK stores it, whose column ``a`` is the patient-space unit vector of
    index axis ``a``. The constructor refuses anything that is not a valid 3D
    grid: a size that is not three positive integers, a spacing that is not
    finite and positive, a non-finite origin, or direction cosines that are not
    orthonormal within ``ORTHONORMAL_ATOL`` (unless ``allow_non_orthonormal``).
    """

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    file: str | None = None
    allow_non_orthonormal: bool = False

    def __post_init__(self) -> None:
        problems = _geometry_problems(self)
        if problems:
            raise GeometryError(
                "invalid image geometry: " + "; ".join(problems),
                code="geometry.invalid",
                file=self.file,
                value={"size": self.size, "spacing": self.spacing, "origin": self.origin},
            )

    @classmethod
    def from_image(cls, image: sitk.Image | sitk.ImageFileReader, *, file: str | None = None,
                   allow_non_orthonormal: bool = False) -> "Geometry":
        """The geometry of a SimpleITK image (or of a reader after ``ReadImageInformation``)."""
        size = tuple(int(s) for s in image.GetSize())
        dimension = len(size)
        if dimension != 3:
            raise GeometryError(
                f"expected a 3D image, got {dimension}D with size {size}",
                code="geometry.dimension",
                file=file,
                value=size,
            )
        return cls(
            size=size,  # type: ignore[arg-type]
            spacing=tuple(float(s) for s in image.GetSpacing()),  # type: ignore[arg-type]
            origin=tuple(float(o) for o in image.GetOrigin()),  # type: ignore[arg-type]
            direction=tuple(float(d) for d in image.GetDirection()),
            file=file,
            allow_non_orthonormal=allow_non_orthonormal,
        )

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction cosines as a 3×3 array; column ``a`` is index axis ``a`` in LPS."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel, mm³."""
        return float(np.prod(self.spacing))

    def index_to_physical(self, index_xyz: np.ndarray) -> np.ndarray:
        """Continuous indices (N, 3) in (i, j, k) = (x, y, z) order → LPS points in mm (N, 3)."""
        index_xyz = np.atleast_2d(np.asarray(index_xyz, dtype=float))
        scaled = index_xyz * np.asarray(self.spacing)
        return np.asarray(self.origin) + scaled @ self.direction_matrix.T

    def differences(self, other: "Geometry", *, atol_mm: float = GEOMETRY_ATOL_MM,
                    direction_atol: float = DIRECTION_ATOL) -> list[str]:
        """Readable per-field differences beyond tolerance between two grids (empty when equal)."""
        found = []
        if self.size != other.size:
            found.append(f"size {self.size} vs {other.size}")
        for field in ("spacing", "origin"):
            a = np.asarray(getattr(self, field))
            b = np.asarray(getattr(other, field))
            diff = np.abs(a - b)
            if np.any(diff > atol_mm):
                found.append(
                    f"{field} {_fmt(a)} vs {_fmt(b)} (difference {_fmt(b - a)} mm, tolerance {atol_mm} mm)"
                )
        d = np.abs(self.direction_matrix - other.direction_matrix)
        if np.any(d > direction_atol):
            found.append(
                f"direction {_fmt(self.direction)} vs {_fmt(other.direction)} "
                f"(largest difference {d.max():.3g}, tolerance {direction_atol})"
            )
        return found


def _fmt(values) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in np.ravel(values)) + ")"


def _geometry_problems(g: Geometry) -> list[str]:
    """Every problem with a grid, as readable phrases."""
    problems = []
    if len(g.size) != 3 or any(int(s) < 1 for s in g.size):
        problems.append(f"size must be three positive integers, got {tuple(g.size)}")
    spacing = np.asarray(g.spacing, dtype=float)
    if spacing.shape != (3,) or not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        problems.append(f"spacing must be finite and positive, got {_fmt(spacing)} mm")
    origin = np.asarray(g.origin, dtype=float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        problems.append(f"origin must be finite, got {_fmt(origin)}")
    direction = np.asarray(g.direction, dtype=float)
    if direction.shape != (9,) or not np.all(np.isfinite(direction)):
        problems.append(f"direction must be 9 finite cosines, got {_fmt(direction)}")
    elif not g.allow_non_orthonormal:
        d = direction.reshape(3, 3)
        deviation = float(np.abs(d.T @ d - np.eye(3)).max())
        if deviation > ORTHONORMAL_ATOL:
            problems.append(
                f"direction cosines {_fmt(direction)} are not orthonormal "
                f"(|DᵀD − I| = {deviation:.3g} > ORTHONORMAL_ATOL = {ORTHONORMAL_ATOL})"
            )
    return problems


# --------------------------------------------------------------------------- files


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower()


def _check_file(path: Path) -> None:
    """Refuse missing, empty and unsupported files before ITK sees them."""
    if path.is_dir():
        return
    if not path.exists():
        raise ImageFileError("file not found", code="image.missing", file=str(path))
    if path.stat().st_size == 0:
        raise ImageFileError("file is empty (0 bytes)", code="image.empty", file=str(path))
    suffix = _suffix(path)
    if suffix not in SUPPORTED_SUFFIXES and not _is_dicom_file(path):
        raise ImageFileError(
            f"unsupported file type {suffix or '(no extension)'}; expected one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}, a DICOM series folder or a DICOM SEG file",
            code="image.format",
            file=str(path),
        )


def _is_dicom_file(path: Path) -> bool:
    from respond.io.dicom import is_dicom_file

    return is_dicom_file(path)


def _is_seg(source) -> bool:
    """True when ``source`` is a path to a DICOM SEG file."""
    if isinstance(source, sitk.Image):
        return False
    from respond.io.dicom import is_dicom_seg

    return is_dicom_seg(source)


def _refuse_seg_as_image(path: Path) -> None:
    if _is_seg(path):
        raise ImageFileError("this is a DICOM SEG (a segmentation), not an image; give it as the mask",
                             code="image.dicom_seg_as_image", file=str(path))


def _dicom_series_files(folder: Path) -> list[str]:
    """The files of the only DICOM series in ``folder``, in slice order."""
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        raise ImageFileError("no DICOM series found in folder", code="image.dicom", file=str(folder))
    if len(ids) > 1:
        raise ImageFileError(
            f"folder holds {len(ids)} DICOM series ({', '.join(ids)}); give a folder with one series",
            code="image.dicom",
            file=str(folder),
        )
    return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), ids[0]))


def _raw_nifti_header(path: Path):
    """The NIfTI-1/2 header exactly as stored (nibabel's loader would silently fix some fields)."""
    import gzip

    import nibabel as nib

    opener = gzip.open if _suffix(path) == ".nii.gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(540)
    except EOFError as exc:
        raise ImageFileError(f"the compressed file ends early ({exc}); it is truncated",
                             code="image.truncated", file=str(path)) from exc
    except OSError as exc:
        raise ImageFileError(f"cannot read the NIfTI header: {exc}", code="image.unreadable", file=str(path)) from exc
    for header_class in (nib.Nifti1Header, nib.Nifti2Header):
        if len(raw) < header_class.sizeof_hdr:
            continue
        try:
            header = header_class(raw[: header_class.sizeof_hdr], check=False)
        except Exception:
            continue
        if int(header["sizeof_hdr"]) == header_class.sizeof_hdr:
            return header
    raise ImageFileError("not a NIfTI file (bad header size field)", code="image.unreadable", file=str(path))


def _nifti_header_problems(path: Path) -> list[str]:
    """Problems ITK would silently paper over in a NIfTI header: pixdim, qform vs sform, data size."""
    header = _raw_nifti_header(path)
    problems = []
    dim = [int(v) for v in header["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7 or any(n < 1 for n in dim[1 : ndim + 1]):
        return [f"dim field {dim} is invalid"]
    pixdim = np.asarray(header["pixdim"][1 : 1 + min(ndim, 3)], dtype=float)
    if not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0):
        problems.append(f"pixdim (spacing) must be finite and positive, got {_fmt(pixdim)}")
    qcode, scode = int(header["qform_code"]), int(header["sform_code"])
    if qcode > 0 and scode > 0 and not problems:
        qform, sform = header.get_qform(), header.get_sform()
        corners = _box_corners([max(n - 1, 0) for n in (dim[1:4] + [1, 1, 1])[:3]])
        corners = np.c_[corners, np.ones(len(corners))]
        gap = float(np.abs(corners @ qform.T - corners @ sform.T).max())
        if gap > QFORM_SFORM_ATOL_MM:
            problems.append(
                f"qform and sform disagree by up to {gap:.4g} mm (tolerance {QFORM_SFORM_ATOL_MM} mm); "
                "the header is ambiguous — rewrite it with one transform"
            )
    voxels = int(np.prod(dim[1 : ndim + 1]))
    expected = max(int(header["vox_offset"]), header.sizeof_hdr) + voxels * header.get_data_dtype().itemsize
    actual = _nifti_stored_bytes(path, expected)
    if actual < expected:
        problems.append(
            f"expected {expected} bytes of header and voxels, found {actual}; could the file be truncated?"
        )
    return problems


def _box_corners(upper: list[int]) -> np.ndarray:
    """The 8 integer corners (8, 3) of the index box [0, upper]."""
    return np.array(np.meshgrid(*[[0, u] for u in upper], indexing="ij")).reshape(3, -1).T.astype(float)


def _nifti_stored_bytes(path: Path, expected: int) -> int:
    """Size in bytes of a .nii, or of the decompressed stream of a .nii.gz (truncation → error).

    For gzip, the trailer's ISIZE field (uncompressed size mod 2³²) is checked
    first: when it equals ``expected`` the file ends where a complete file
    ends (a cut file ends in arbitrary compressed bytes). Otherwise the whole
    stream is decompressed and counted, which also handles multi-member files.
    """
    if _suffix(path) != ".nii.gz":
        return path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        trailer_size = int.from_bytes(handle.read(4), "little")
    if trailer_size == expected % 2**32:
        return expected
    return _gzip_stream_bytes(path)


def _gzip_stream_bytes(path: Path) -> int:
    """Decompressed size of a (possibly multi-member) gzip file; raises if the stream is cut short."""
    total = 0
    decompressor = zlib.decompressobj(wbits=31)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            while chunk:
                total += len(decompressor.decompress(chunk, 1 << 24))
                chunk = decompressor.unconsumed_tail
                if decompressor.eof and decompressor.unused_data:
                    chunk = decompressor.unused_data + chunk
                    decompressor = zlib.decompressobj(wbits=31)
    if not decompressor.eof:
        raise ImageFileError(
            f"gzip stream ends early after {total} decompressed bytes; the file is truncated",
            code="image.truncated",
            file=str(path),
        )
    return total


def _reader(path: Path) -> sitk.ImageReaderBase:
    """A SimpleITK reader for a file or a DICOM series folder."""
    if path.is_dir():
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(_dicom_series_files(path))
        return reader
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    return reader


def read_header(path: str | os.PathLike, *, allow_non_orthonormal: bool = False,
                allow_uneven_slices: bool = False) -> tuple[Geometry, int, int]:
    """Check a file's header without reading its voxels.

    A DICOM series folder has every slice header checked and sorted by
    :func:`respond.io.dicom.series_layout` (missing, duplicated or unevenly
    spaced slices are refused unless ``allow_uneven_slices``).

    Returns ``(geometry, n_components, pixel_id)``. Raises
    :class:`~respond.errors.ImageFileError` for missing, empty, unsupported,
    truncated or unreadable files and :class:`~respond.errors.GeometryError` for
    a grid that is not 3D or has invalid spacing, origin or direction.
    """
    path = Path(path)
    _check_file(path)
    _refuse_seg_as_image(path)
    layout = None
    if path.is_dir():
        from respond.io.dicom import series_layout

        layout = series_layout(path, allow_uneven_slices=allow_uneven_slices)
        reader = sitk.ImageFileReader()
        reader.SetFileName(layout.files[0])
    else:
        reader = _reader(path)
    if _suffix(path) in (".nii", ".nii.gz"):
        problems = _nifti_header_problems(path)
        if problems:
            raise ImageFileError("invalid NIfTI header: " + "; ".join(problems), code="image.header", file=str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ImageFileError(
            f"cannot read the image header ({_itk_reason(exc)}); is the file damaged or of another format?",
            code="image.unreadable",
            file=str(path),
        ) from exc
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
    return geometry, int(reader.GetNumberOfComponents()), int(reader.GetPixelID())


def _itk_reason(exc: Exception) -> str:
    """The last meaningful line of an ITK exception message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def read_image(source: ImageSource, *, allow_non_orthonormal: bool = False,
               max_voxels: int = MAX_VOXELS, allow_uneven_slices: bool = False) -> sitk.Image:
    """Read a 3D scalar image (NIfTI, NRRD, MetaImage or a DICOM series folder).

    The header is checked (geometry, components, size against ``max_voxels``)
    before the voxels are read. An ``sitk.Image`` passed in is checked and
    returned as is. A DICOM series with missing slices is read only with
    ``allow_uneven_slices`` (see :mod:`respond.io.dicom`).
    """
    if isinstance(source, sitk.Image):
        _check_loaded(source, None, allow_non_orthonormal=allow_non_orthonormal)
        return source
    path = Path(source)
    geometry, components, _ = read_header(path, allow_non_orthonormal=allow_non_orthonormal,
                                          allow_uneven_slices=allow_uneven_slices)
    if geometry is not None and math.prod(geometry.size) > max_voxels:
        raise ImageFileError(
            f"the header describes {math.prod(geometry.size):,} voxels (size {geometry.size}), more than "
            f"max_voxels = {max_voxels:,}; is the header damaged?",
            code="image.too_large",
            file=str(path),
            value=geometry.size,
        )
    if components != 1:
        raise ImageFileError(
            f"expected a scalar image, got {components} components per voxel", code="image.components", file=str(path),
            value=components,
        )
    try:
        if path.is_dir():
            from respond.io.dicom import read_series

            image = read_series(path, allow_uneven_slices=allow_uneven_slices)
        else:
            image = _reader(path).Execute()
    except RuntimeError as exc:
        raise ImageFileError(
            f"cannot read the voxels ({_itk_reason(exc)}); could the file be truncated or damaged?",
            code="image.truncated",
            file=str(path),
        ) from exc
    _check_loaded(image, str(path), allow_non_orthonormal=allow_non_orthonormal)
    return image


def _check_loaded(image: sitk.Image, file: str | None, *, allow_non_orthonormal: bool) -> Geometry:
    """Geometry and component checks on an image in memory."""
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageFileError(
            f"expected a scalar image, got {image.GetNumberOfComponentsPerPixel()} components per voxel",
            code="image.components",
            file=file,
        )
    return Geometry.from_image(image, file=file, allow_non_orthonormal=allow_non_orthonormal)


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
    if _is_seg(source):
        # Segment numbers as labels; refused when segments overlap (respond.measure reads SEGs per segment).
        from respond.io.dicom import read_seg

        return read_seg(source).label_image()
    image = read_image(source, allow_non_orthonormal=allow_non_orthonormal)
    return check_mask_values(image, file=file, allow_float_mask=allow_float_mask)


def check_mask_values(mask: sitk.Image, *, file: str | None = None, allow_float_mask: bool = False) -> sitk.Image:
    """Refuse float, negative and non-integer labels; return an integer-typed mask."""
    array = sitk.GetArrayViewFromImage(mask)
    if mask.GetPixelID() in _INTEGER_PIXEL_IDS:
        if array.dtype.kind == "i" and array.size and array.min() < 0:
            negatives = np.unique(array[array < 0])
            raise MaskValueError(
                f"mask has negative labels {_some(negatives)}; labels must be 0 (background) or positive",
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
            f"mask holds values that are not labels (negative, non-integer or NaN): {_some(bad)}; "
            f"all values found: {_some(values)}",
            code="mask.values",
            file=file,
            value=bad[:10].tolist(),
        )
    if not allow_float_mask:
        raise MaskValueError(
            f"mask is stored as {mask.GetPixelIDTypeAsString()} (values found: {_some(values)}); "
            "label masks must be integer images — pass allow_float_mask=True to accept whole-number floats",
            code="mask.float",
            file=file,
            value=values[:10].tolist(),
        )
    pixel = sitk.sitkUInt8 if values.size == 0 or values.max() < 256 else sitk.sitkUInt32
    converted = sitk.Cast(mask, pixel)
    return converted


def _some(values: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(f"{v:g}" for v in np.asarray(values, dtype=float)[:limit])
    return shown + (f", … ({len(values)} values)" if len(values) > limit else "")


# --------------------------------------------------------------------------- pairs


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


def image_geometry(source: ImageSource, *, allow_uneven_slices: bool = False) -> Geometry:
    """The grid of an image, from its header(s) alone when it is a file or DICOM series (voxels are not read)."""
    if isinstance(source, sitk.Image):
        return _check_loaded(source, None, allow_non_orthonormal=False)
    geometry, _, _ = read_header(source, allow_uneven_slices=allow_uneven_slices)
    return geometry


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
    if _is_seg(mask):
        from respond.io.dicom import read_seg

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
        mask = sitk.Image(mask)
        mask.CopyInformation(reference)
        return mask
    if not allow_resample_mask:
        raise GeometryMismatchError(
            "image and mask grids differ: " + "; ".join(f"{f} (image vs mask)" for f in found)
            + ". Pass allow_resample_mask=True (CLI: --allow-resample-mask) to resample the mask "
            "onto the image by nearest neighbour.",
            code="geometry.mismatch",
            file=mask_file,
            value=found,
        )
    return resample_label_image(mask, reference)


def resample_label_image(mask: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """Resample a label image onto ``reference``'s grid by nearest neighbour (never inventing labels)."""
    return sitk.Resample(mask, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())


def obliquity_deg(geometry: Geometry) -> float:
    """Angle in degrees between the slice normal closest to patient z and patient z."""
    d = geometry.direction_matrix
    cos = float(np.abs(d[2, :]).max())
    return math.degrees(math.acos(min(1.0, cos)))
