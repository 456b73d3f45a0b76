"""The one atomic writer: an output file is either complete or absent, never half-written.

Each file is written to a temporary name in the destination folder, flushed
to disk (``fsync``) and moved into place with :func:`os.replace` (atomic on
POSIX and Windows), so a run killed mid-write leaves the previous complete
file or none. The file gets the permissions of any new file (0666 less the
umask), not the private 0600 of a temporary file. Every file respond writes
(tables, JSON, figures, reports, transforms, caches) goes through
:func:`atomic_write`.

Only the destination folder itself is created: its parent must exist
(:func:`respond.io.paths.prepare_output_dir`).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from respond.io.paths import PathError, check_output_file, prepare_output_dir, shown


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``; return ``path``.

    The temporary file lives in the destination folder and ends with the
    destination's suffixes (``.tfm``, ``.nii.gz``), so writers that choose the
    format by extension (ITK) write the right one. The destination folder is
    created when missing (one level only); a missing parent, a folder in the
    way or a name over 255 bytes raises :class:`~respond.io.paths.PathError`.
    """
    path = check_output_file(path)
    prepare_output_dir(path.parent if str(path.parent) != "" else Path("."), what="output folder")
    suffix = ".part" + "".join(path.suffixes[-2:])
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name[:50]}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise PathError(f"cannot write in the output folder ({exc.strerror})", code="output.cannot_write",
                        file=shown(path)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        write(tmp)
        with open(tmp, "rb+") as handle:  # data on disk before the rename makes it visible
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as UTF-8 CSV (blank for missing values, dates ISO), atomically."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, na_rep=""))


def write_json(data: Any, path: str | os.PathLike) -> Path:
    """Write JSON (indented, ISO dates), atomically."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
    return write_text(text, path)


def describe_inputs(sources: dict[str, Any]) -> dict[str, str]:
    """Provenance of a run's input tables: ``"absolute path sha256:<hex>"`` per file, ``"<DataFrame>"`` for frames.

    Sources that are None are left out.
    """
    out = {}
    for key, source in sources.items():
        if source is None:
            continue
        if hasattr(source, "columns"):  # a DataFrame given from Python
            out[key] = "<DataFrame>"
        else:
            out[key] = f"{Path(source).resolve()} sha256:{file_sha256(source)}"  # absolute: works from any folder
    return out


def file_sha256(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def path_sha256(path: str | Path | None) -> str | None:
    """SHA-256 of a file's bytes, or of every file of a folder (a DICOM series) in name order; None for
    None or a path that is neither."""
    if path is None or (isinstance(path, float) and path != path):
        return None
    p = Path(path)
    if p.is_dir():
        digest = hashlib.sha256()
        for child in sorted(x for x in p.rglob("*") if x.is_file()):
            digest.update(child.relative_to(p).as_posix().encode())
            digest.update(file_sha256(child).encode())
        return digest.hexdigest()
    return file_sha256(p) if p.is_file() else None
