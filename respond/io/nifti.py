"""NIfTI headers read exactly as stored (nibabel), checked before ITK reads the file.

ITK silently repairs some broken NIfTI headers (zero or NaN ``pixdim``) and
reads a truncated ``.nii``/``.nii.gz`` without complaint, zero-filling the
missing voxels. The raw header is therefore read and checked here first.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Final

import numpy as np

from respond.errors import ImageFileError
from respond.io.files import file_suffix
from respond.io.geometry import format_vector

#: Tolerance, in mm, between the NIfTI qform and sform when both are set. A
#: header whose two transforms disagree by more than this at any corner of the
#: grid is ambiguous and refused (ITK would silently prefer one of them).
QFORM_SFORM_ATOL_MM: Final = 1e-3

NIFTI_SUFFIXES: Final = (".nii", ".nii.gz")


def is_nifti(path: Path) -> bool:
    """True when ``path`` is named as a NIfTI file."""
    return file_suffix(path) in NIFTI_SUFFIXES


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


def nifti_header_problems(path: Path) -> list[str]:
    """Problems ITK would silently paper over in a NIfTI header: pixdim, qform vs sform, data size."""
    header = raw_nifti_header(path)
    problems = []
    dim = [int(v) for v in header["dim"]]
    ndim = dim[0]
    if not 1 <= ndim <= 7 or any(n < 1 for n in dim[1 : ndim + 1]):
        return [f"dim field {dim} is invalid"]
    pixdim = np.asarray(header["pixdim"][1 : 1 + min(ndim, 3)], dtype=float)
    if not np.all(np.isfinite(pixdim)) or np.any(pixdim <= 0):
        problems.append(f"pixdim (spacing) must be finite and positive, got {format_vector(pixdim)}")
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
    if file_suffix(path) != ".nii.gz":
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
