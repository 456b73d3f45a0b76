"""NIfTI headers read exactly as stored (nibabel), checked and decided before ITK reads the file.

ITK silently repairs or reinterprets some NIfTI headers: zero or NaN
``pixdim``, a truncated ``.nii``/``.nii.gz`` (zero-filled), ``vox_offset``
below 352 (read from byte 348), a bad magic string (read as Analyze, the
orientation lost), an invalid quaternion, sform voxel sizes that disagree with
``pixdim`` (only a warning). The raw header is therefore read and checked here
first, and refused with every problem listed.

**Which transform.** The affine is decided as nibabel decides it
(``Nifti1Header.get_best_affine``: the sform when ``sform_code > 0``, else the
qform when ``qform_code > 0``); ITK, since InsightSoftwareConsortium/ITK pull
request 1868 (ITK 5.2), also prefers an orthonormal sform coded
``NIFTI_XFORM_SCANNER_ANAT`` and otherwise uses the sform when qform and sform
are nearly equal (summarised on the ANTs wiki page "How does ANTs handle qform
and sform in NIFTI-1 images?"). When both transforms are set they must agree
in orientation (no flip or permutation of an axis) and, at every corner of the
grid, within ``QFORM_SFORM_VOXEL_FRACTION`` of the smallest voxel size;
otherwise the header is ambiguous and refused, with both matrices in the
message. Within that tolerance the decided transform is used and the largest
disagreement is kept as a QC value (``qform_sform_disagreement_mm``).
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from respond.errors import ImageFileError
from respond.io.files import MAX_IMAGE_BYTES, file_suffix
from respond.io.geometry import Geometry, format_vector

#: qform and sform may disagree, at any corner of the grid, by at most this
#: fraction of the smallest voxel size (0.1: a tenth of a voxel). The quaternion
#: is stored as float32, so on oblique acquisitions it cannot reproduce the
#: sform exactly: real tilted brain MR headers disagree by 0.002–0.011 mm on
#: ~1 mm voxels (about 1 % of a voxel), ten times below this bound. A
#: disagreement of a tenth of a voxel moves a lesion boundary by less than any
#: diameter's one-voxel resolution, so choosing either transform cannot change
#: a measurement; anything larger is a real second transform (a registration, a
#: shifted or re-sliced copy) and the header is ambiguous.
QFORM_SFORM_VOXEL_FRACTION: Final = 0.1

#: A quaternion (b, c, d) is valid when b² + c² + d² ≤ 1 + this slack: three
#: float32 roundings (nibabel uses the same threshold, ``-3 * eps(float32)``).
QUATERNION_SLACK: Final = 3 * float(np.finfo(np.float32).eps)

#: Image metadata key holding the largest qform/sform disagreement in mm (absent when only one is set).
QFORM_SFORM_KEY: Final = "respond:qform_sform_disagreement_mm"

NIFTI_SUFFIXES: Final = (".nii", ".nii.gz")

_MAGIC: Final = {348: b"n+1", 540: b"n+2"}
_RAS_TO_LPS: Final = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_nifti(path: Path) -> bool:
    """True when ``path`` is named as a NIfTI file."""
    return file_suffix(path) in NIFTI_SUFFIXES


@dataclass(frozen=True)
class NiftiHeader:
    """The decided transform of a checked NIfTI header.

    ``affine_lps`` maps voxel indices (i, j, k) to LPS mm (None when neither
    qform nor sform is set: ITK's reading is kept); ``source`` says which
    transform it is (``"sform"``, ``"qform"`` or ``"none"``);
    ``qform_sform_disagreement_mm`` is the largest distance between the two
    transforms at the grid corners (NaN unless both are set).
    """

    source: str
    affine_lps: np.ndarray | None
    spacing: tuple[float, float, float]
    qform_sform_disagreement_mm: float

    def geometry(self, size, *, file: str | None, allow_non_orthonormal: bool = False) -> Geometry | None:
        """The grid the decided transform describes (None when neither transform is set)."""
        if self.affine_lps is None:
            return None
        steps = self.affine_lps[:3, :3]
        return Geometry(
            size=tuple(int(n) for n in size),  # type: ignore[arg-type]
            spacing=self.spacing,
            origin=tuple(float(v) for v in self.affine_lps[:3, 3]),  # type: ignore[arg-type]
            direction=tuple(float(v) for v in (steps / np.asarray(self.spacing)).ravel()),
            file=file,
            allow_non_orthonormal=allow_non_orthonormal,
        )


def raw_nifti_header(path: Path):
    """The NIfTI-1/2 header exactly as stored (nibabel's loader would silently fix some fields)."""
    import nibabel as nib

    opener = gzip.open if file_suffix(path) == ".nii.gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(540)
    except EOFError as exc:
        raise ImageFileError(f"the compressed file ends early ({exc}); it is truncated",
                             code="image.truncated", file=str(path)) from exc
    except (OSError, zlib.error) as exc:
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


def read_nifti_header(path: Path, *, max_bytes: int = MAX_IMAGE_BYTES, verify_data: bool = True) -> NiftiHeader:
    """Check a NIfTI file's raw header and data size, and decide its transform (no voxel is kept).

    With ``verify_data`` (before the voxels are read) a ``.nii.gz`` is
    decompressed in full so that zlib checks its CRC; without it (only the
    header is needed) the gzip trailer's size field is trusted when it matches.
    Raises :class:`~respond.errors.ImageFileError`: ``image.header`` listing
    every header problem, ``image.too_large`` when the voxels would take more
    than ``max_bytes`` in memory, ``image.truncated`` / ``image.corrupt`` for a
    file shorter than its header says or a damaged compressed stream.
    """
    header = raw_nifti_header(path)
    problems = _layout_problems(header)
    if not problems:
        problems = _transform_problems(header)
    if problems:
        raise ImageFileError("invalid NIfTI header: " + "; ".join(problems), code="image.header", file=str(path))
    dim = [int(v) for v in header["dim"]]
    voxels = math.prod(dim[1 : dim[0] + 1])
    data_bytes = voxels * header.get_data_dtype().itemsize
    if data_bytes > max_bytes:
        raise ImageFileError(
            f"the header describes {voxels:,} voxels of {header.get_data_dtype()} (dim {dim[1 : dim[0] + 1]}), "
            f"{data_bytes / 2**30:.3g} GiB in memory, more than the limit of {max_bytes / 2**30:.3g} GiB "
            "(max_bytes); is the header damaged?", code="image.too_large", file=str(path), value=data_bytes)
    expected = int(header["vox_offset"]) + data_bytes
    actual = _nifti_stored_bytes(path, expected, verify_data)
    if actual < expected:
        raise ImageFileError(
            f"invalid NIfTI header: expected {expected} bytes of header and voxels, found {actual}; "
            "could the file be truncated?", code="image.header", file=str(path))
    return _decide(header)


def _layout_problems(header) -> list[str]:
    """Magic, dimensions, data type, voxel offset and pixdim: what ITK would reinterpret silently."""
    problems = []
    magic = bytes(header["magic"]).rstrip(b"\0")
    expected_magic = _MAGIC[header.sizeof_hdr]
    if magic != expected_magic:
        problems.append(f"magic string {magic!r} is not {expected_magic!r} (a single-file NIfTI); ITK would read "
                        "the file as Analyze and lose its orientation")
    dim = [int(v) for v in header["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7 or any(n < 1 for n in dim[1 : ndim + 1]):
        return problems + [f"dim field {dim} is invalid"]
    try:
        header.get_data_dtype()
    except (KeyError, ValueError, TypeError):
        problems.append(f"datatype code {int(header['datatype'])} is not a NIfTI data type")
    offset = float(header["vox_offset"])
    smallest = header.sizeof_hdr + 4
    if not math.isfinite(offset) or offset < smallest:
        problems.append(f"vox_offset {offset:g} is not a byte offset of at least {smallest} (the header and its "
                        f"extension flag); ITK would read the voxels from the wrong byte")
    pixdim = np.asarray(header["pixdim"][1 : 1 + min(ndim, 3)], dtype=float)
    if not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0):
        problems.append(f"pixdim (spacing) must be finite and positive, got {format_vector(pixdim)}")
    return problems


def _transform_problems(header) -> list[str]:
    """Quaternion, sform voxel sizes and qform-vs-sform agreement."""
    problems = []
    qcode, scode = int(header["qform_code"]), int(header["sform_code"])
    if qcode > 0:
        b, c, d = (float(header[f"quatern_{x}"]) for x in "bcd")
        if not all(map(math.isfinite, (b, c, d))) or b * b + c * c + d * d > 1 + QUATERNION_SLACK:
            problems.append(f"the qform quaternion (b, c, d) = {format_vector((b, c, d))} is invalid "
                            f"(b² + c² + d² = {b * b + c * c + d * d:.6g} > 1)")
    if scode > 0:
        sform = header.get_sform()
        if not np.all(np.isfinite(sform)):
            return problems + [f"the sform holds non-finite values {format_vector(sform[:3])}"]
        problems += _sform_pixdim_problems(header, sform)
    if qcode > 0 and scode > 0 and not problems:
        problems += _qform_sform_problems(header)
    return problems


def _grid_corners(header) -> np.ndarray:
    """The 8 corner voxel indices of the grid, homogeneous (8, 4)."""
    dim = [int(v) for v in header["dim"]]
    upper = [max(n - 1, 0) for n in (dim[1 : dim[0] + 1] + [1, 1, 1])[:3]]
    corners = np.array(np.meshgrid(*[[0, u] for u in upper], indexing="ij")).reshape(3, -1).T.astype(float)
    return np.c_[corners, np.ones(len(corners))]


def _tolerance_mm(header) -> float:
    return QFORM_SFORM_VOXEL_FRACTION * float(np.min(header["pixdim"][1:4]))


def _sform_pixdim_problems(header, sform: np.ndarray) -> list[str]:
    """The sform's voxel sizes must reproduce pixdim (ITK takes the spacing from pixdim) across the grid."""
    sizes = np.linalg.norm(sform[:3, :3], axis=0)
    pixdim = np.asarray(header["pixdim"][1:4], float)
    extent = np.abs(_grid_corners(header)[:, :3]).max(axis=0)
    drift = np.abs(sizes - pixdim) * np.maximum(extent, 1.0)
    if np.any(drift > _tolerance_mm(header)):
        return [f"the sform's voxel sizes {format_vector(sizes)} mm disagree with pixdim {format_vector(pixdim)} mm "
                f"(up to {drift.max():.4g} mm across the grid, tolerance {_tolerance_mm(header):.4g} mm = "
                f"{QFORM_SFORM_VOXEL_FRACTION} voxel); rewrite the header with one voxel size"]
    return []


def _qform_sform_problems(header) -> list[str]:
    """Refuse a qform and sform that differ in orientation or by more than the tolerance."""
    qform, sform = header.get_qform(), header.get_sform()
    both = f"qform {_matrix(qform)}, sform {_matrix(sform)}"
    q_axes = qform[:3, :3] / np.linalg.norm(qform[:3, :3], axis=0)
    s_axes = sform[:3, :3] / np.linalg.norm(sform[:3, :3], axis=0)
    if np.any(np.sum(q_axes * s_axes, axis=0) < 0.5):
        return [f"qform and sform differ in orientation (an axis flipped or permuted): {both}; the header is "
                "ambiguous — rewrite it with one transform"]
    gap = qform_sform_disagreement_mm(header)
    tolerance = _tolerance_mm(header)
    if gap > tolerance:
        return [f"qform and sform disagree by up to {gap:.4g} mm at the grid corners (tolerance {tolerance:.4g} mm "
                f"= {QFORM_SFORM_VOXEL_FRACTION} of the smallest voxel): {both}; the header is ambiguous — rewrite "
                "it with one transform"]
    return []


def qform_sform_disagreement_mm(header) -> float:
    """Largest distance (mm) between the qform's and the sform's position of a grid corner."""
    corners = _grid_corners(header)
    return float(np.linalg.norm(corners @ (header.get_qform() - header.get_sform()).T, axis=1).max())


def _matrix(affine: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(f"{v:.6g}" for v in row) for row in affine[:3]) + "]"


def _decide(header) -> NiftiHeader:
    """nibabel's choice: the sform when sform_code > 0, else the qform when qform_code > 0."""
    qcode, scode = int(header["qform_code"]), int(header["sform_code"])
    spacing = tuple(float(v) for v in header["pixdim"][1:4])
    gap = qform_sform_disagreement_mm(header) if qcode > 0 and scode > 0 else math.nan
    if scode > 0:
        source, affine = "sform", header.get_sform()
    elif qcode > 0:
        source, affine = "qform", header.get_qform()
    else:
        return NiftiHeader("none", None, spacing, gap)  # type: ignore[arg-type]
    return NiftiHeader(source, _RAS_TO_LPS @ affine, spacing, gap)  # type: ignore[arg-type]


def _nifti_stored_bytes(path: Path, expected: int, verify_data: bool) -> int:
    """Size in bytes of a .nii, or of the decompressed stream of a .nii.gz (truncation → error).

    With ``verify_data`` a ``.nii.gz`` is decompressed in full (in chunks,
    nothing kept), so that zlib verifies every member's CRC-32: ITK does not,
    and reads a file with one flipped compressed byte as silently different
    voxels. Otherwise the trailer's ISIZE field (uncompressed size mod 2³²) is
    trusted when it equals ``expected`` (a cut file ends in arbitrary bytes).
    """
    if file_suffix(path) != ".nii.gz":
        return path.stat().st_size
    if not verify_data:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            if int.from_bytes(handle.read(4), "little") == expected % 2**32:
                return expected
    return _gzip_stream_bytes(path, limit=expected)


def _gzip_stream_bytes(path: Path, *, limit: int) -> int:
    """Decompressed size of a (possibly multi-member) gzip file, counted up to just past ``limit``.

    Raises ``image.truncated`` when the stream is cut short and ``image.corrupt``
    when it is damaged (a flipped byte, trailing bytes that are not gzip).
    """
    total = 0
    decompressor = zlib.decompressobj(wbits=31)
    try:
        with open(path, "rb") as handle:
            while (chunk := handle.read(1 << 20)) and total <= limit:
                while chunk and total <= limit:
                    total += len(decompressor.decompress(chunk, 1 << 24))
                    chunk = decompressor.unconsumed_tail
                    if decompressor.eof and decompressor.unused_data:
                        chunk = decompressor.unused_data + chunk
                        decompressor = zlib.decompressobj(wbits=31)
    except zlib.error as exc:
        raise ImageFileError(
            f"the compressed data is damaged ({exc}); ITK would read other voxels without a word — re-export the file",
            code="image.corrupt", file=str(path)) from exc
    if not decompressor.eof and total <= limit:
        raise ImageFileError(
            f"gzip stream ends early after {total} decompressed bytes; the file is truncated",
            code="image.truncated",
            file=str(path),
        )
    return total


def verify_gzip_voxels(path: Path, voxels: np.ndarray) -> None:
    """Check a ``.nii.gz`` against the voxels ITK read from it: the stored CRC-32 must match.

    ITK does not check the gzip CRC, and reads a file with one flipped
    compressed byte as silently different voxels. Decompressing the file a
    second time to let zlib check it doubles the cost of a read; instead the
    CRC-32 of the header bytes (up to ``vox_offset``, a few hundred bytes
    decompressed) continued over ``voxels`` (the bytes ITK decompressed) is
    compared with the trailer's. When that shortcut does not apply — ITK
    scaled or byte-swapped the values, a multi-member stream, a mismatch —
    the file is decompressed in full, and a damaged or truncated stream is
    refused (``image.corrupt`` / ``image.truncated``) as before.
    """
    if file_suffix(path) != ".nii.gz":
        return
    header = raw_nifti_header(path)
    offset = int(header["vox_offset"])
    stored = header.get_data_dtype()
    expected = offset + voxels.size * stored.itemsize
    if _trailer_crc_matches(path, header, stored, offset, expected, voxels):
        return
    _gzip_stream_bytes(path, limit=expected)


def verify_gzip_stream(path: Path) -> None:
    """Decompress a gzip file in full (nothing kept): ``image.corrupt`` / ``image.truncated`` when it is damaged."""
    _gzip_stream_bytes(path, limit=2**63)


def _trailer_crc_matches(path: Path, header, stored: np.dtype, offset: int, expected: int,
                         voxels: np.ndarray) -> bool:
    """Whether the trailer's CRC-32 and size are those of the header bytes followed by ``voxels`` as stored."""
    slope, inter = (float(header[k]) for k in ("scl_slope", "scl_inter"))
    unscaled = (slope in (0.0, 1.0) or math.isnan(slope)) and (inter == 0.0 or math.isnan(inter))
    if not unscaled or voxels.dtype != stored.newbyteorder("=") or not voxels.flags.c_contiguous:
        return False
    with open(path, "rb") as handle:
        handle.seek(-8, os.SEEK_END)
        trailer = handle.read(8)
    crc, size = int.from_bytes(trailer[:4], "little"), int.from_bytes(trailer[4:], "little")
    if size != expected % 2**32:
        return False
    try:
        with gzip.open(path, "rb") as handle:
            head = handle.read(offset)
    except (OSError, EOFError, zlib.error):
        return False
    data = voxels if stored.isnative or stored.itemsize == 1 else voxels.byteswap()
    return len(head) == offset and zlib.crc32(data, zlib.crc32(head)) == crc


def nonfinite_voxel_count(path: Path) -> int:
    """Number of NaN or infinite voxels stored in a float NIfTI file (0 for integer data).

    Read from the raw data with nibabel: ITK reads NaN and infinity as 0, so a
    check on the image ITK returns would never see them.
    """
    import nibabel as nib
    from nibabel.spatialimages import HeaderDataError

    try:
        image = nib.load(str(path))
        if not np.issubdtype(image.get_data_dtype(), np.floating):
            return 0
        raw = np.asanyarray(image.dataobj.get_unscaled())
    except HeaderDataError as exc:  # e.g. a valid scl_slope with a NaN scl_inter: the scaling is undefined
        raise ImageFileError(f"invalid NIfTI header: {exc}; rewrite the header's scaling (scl_slope, scl_inter)",
                             code="image.header", file=str(path)) from exc
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise ImageFileError(f"cannot read the voxels: {exc}", code="image.truncated", file=str(path)) from exc
    return int(raw.size - np.count_nonzero(np.isfinite(raw)))
