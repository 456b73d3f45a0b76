"""Atomic writers: an output file is either complete or absent, never half-written.

Each file is written to a temporary name in the destination folder and moved
into place with :func:`os.replace` (atomic on POSIX and Windows), so a run
killed mid-write leaves the previous complete file or none.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``.

    The file gets the usual permissions (0666 less the umask), not the
    private 0600 of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as handle:  # data on disk before the rename makes it visible
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV (blank for missing values), atomically."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, na_rep=""))


def write_json(data: Any, path: str | Path) -> Path:
    """Write JSON (indented, ISO dates), atomically."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
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
