"""What kind of file an input is, checked before any reader sees it.

These checks read at most a few bytes: a missing, empty or unsupported file is
refused with an error naming it before ITK, nibabel or pydicom open it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from respond.errors import ImageFileError

#: Largest image read, in bytes of decoded voxels (1 GiB). The header is checked against it before
#: any voxel is read or decompressed, so a damaged or hostile header (a 2 MB ``.nii.gz`` that
#: expands to 2 GiB, an 8 MB file declaring 8 GiB of float64) fails fast instead of exhausting
#: memory. Clinical volumes are far smaller (a 512×512×1000 CT in int16 is 0.5 GiB), and respond
#: holds an image, its mask and working copies at once. Raise it with ``read_image(..., max_bytes=...)``.
MAX_IMAGE_BYTES: Final = 2**30

#: File suffixes read as a single file (a folder is read as a DICOM series).
SUPPORTED_SUFFIXES: Final = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def file_suffix(path: Path) -> str:
    """The lower-case suffix of ``path``, with ``.nii.gz`` as one suffix."""
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower()


def is_dicom_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is a file with the DICOM Part 10 preamble ('DICM' at byte 128)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def check_file(path: Path) -> None:
    """Refuse missing, empty and unsupported files before ITK sees them (a folder passes)."""
    if path.is_dir():
        return
    if not path.exists():
        raise ImageFileError("file not found", code="image.missing", file=str(path))
    if path.stat().st_size == 0:
        raise ImageFileError("file is empty (0 bytes)", code="image.empty", file=str(path))
    suffix = file_suffix(path)
    if suffix not in SUPPORTED_SUFFIXES and not is_dicom_file(path):
        raise ImageFileError(
            f"unsupported file type {suffix or '(no extension)'}; expected one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}, a DICOM series folder or a DICOM SEG file",
            code="image.format",
            file=str(path),
        )


def itk_reason(exc: Exception) -> str:
    """The last meaningful line of an ITK exception message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
