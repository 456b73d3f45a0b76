"""Path checks that never raise a bare ``OSError``: every entry point asks these first.

``Path.is_file()``, ``exists()`` and ``is_dir()`` raise ``OSError`` (Errno 36,
"File name too long") for a name over the file system's limit (255 bytes per
name, 4096 per path on Linux) instead of returning False. The functions here
turn that, and a path below a regular file, into a :class:`~respond.errors.RespondError`
with a stable code that names the path and says what to do.

Output folders are created one level only: the parent must exist (a typo in
``--out /data/sutdy/run1`` is refused, not turned into a new tree), and a path
that is a regular file, or lies below one, is refused before any computation.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from respond.errors import RespondError

#: Longest file or folder name accepted (bytes, the common POSIX NAME_MAX).
NAME_MAX: Final = 255
#: Longest path accepted (bytes, Linux PATH_MAX).
PATH_MAX: Final = 4096
#: Characters of a path quoted in a message (the rest is elided).
SHOWN_CHARS: Final = 200


class PathError(RespondError, OSError):
    """A path cannot be used: too long, below a regular file, missing parent folder."""

    default_code = "path.invalid"


def shown(path: str | os.PathLike) -> str:
    """``path`` as text for a message, elided in the middle beyond :data:`SHOWN_CHARS` characters."""
    text = os.fspath(path)
    text = text if isinstance(text, str) else os.fsdecode(text)
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2
    return f"{text[:half]}…({len(text) - SHOWN_CHARS} characters)…{text[-half:]}"


def check_name_lengths(path: str | os.PathLike, *, error: type[RespondError] = PathError,
                       what: str = "path") -> Path:
    """Refuse a path with a component over :data:`NAME_MAX` bytes or a total over :data:`PATH_MAX`."""
    path = Path(path)
    encoded = os.fsencode(path)
    if len(encoded) > PATH_MAX:
        raise error(f"{what} is {len(encoded)} bytes long; the limit is {PATH_MAX}",
                    code="path.too_long", file=shown(path))
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise error(f"{what} has a name of {len(os.fsencode(part))} bytes; file systems allow "
                        f"{NAME_MAX}: shorten it", code="path.too_long", file=shown(path))
    return path


def _stat_kind(path: Path, error: type[RespondError], what: str) -> str:
    """'file', 'dir', 'other' or 'missing'; 'below_file' when a parent is a regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "below_file"
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise error(f"{what} name is too long for the file system; shorten it",
                        code="path.too_long", file=shown(path)) from None
        if exc.errno == errno.ELOOP:
            raise error(f"{what} is a symbolic link loop", code="path.symlink_loop", file=shown(path)) from None
        raise error(f"cannot access {what} ({exc.strerror})", code="path.inaccessible",
                    file=shown(path)) from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "other"


def path_kind(path: str | os.PathLike, *, error: type[RespondError] = PathError, what: str = "path") -> str:
    """What ``path`` is: ``file``, ``dir``, ``other``, ``missing`` or ``below_file``, never an OSError.

    Over-long names raise ``error`` with code ``path.too_long``.
    """
    path = check_name_lengths(path, error=error, what=what)
    return _stat_kind(path, error, what)


def is_file(path: str | os.PathLike, *, error: type[RespondError] = PathError, what: str = "file") -> bool:
    """``Path.is_file`` that raises ``error`` (code ``path.too_long``) instead of OSError."""
    return path_kind(path, error=error, what=what) == "file"


def is_dir(path: str | os.PathLike, *, error: type[RespondError] = PathError, what: str = "folder") -> bool:
    """``Path.is_dir`` that raises ``error`` (code ``path.too_long``) instead of OSError."""
    return path_kind(path, error=error, what=what) == "dir"


def exists(path: str | os.PathLike, *, error: type[RespondError] = PathError, what: str = "path") -> bool:
    """``Path.exists`` that raises ``error`` (code ``path.too_long``) instead of OSError."""
    return path_kind(path, error=error, what=what) in ("file", "dir", "other")


def check_input_file(path: str | os.PathLike, *, error: type[RespondError] = PathError,
                     what: str = "input file", code: str = "path.not_found") -> Path:
    """Return ``path`` when it is a readable regular file; else raise ``error`` naming it."""
    kind = path_kind(path, error=error, what=what)
    if kind == "file":
        return Path(path)
    why = {"dir": "is a folder, not a file", "other": "is not a regular file",
           "below_file": "lies below a regular file (a file is used as a folder)"}.get(kind, "not found; check the path")
    raise error(f"{what} {why}", code=code, file=shown(path))


def check_output_dir(path: str | os.PathLike, *, what: str = "output folder") -> Path:
    """Check that ``path`` can be an output folder, before any computation; does not create it.

    It may exist as a folder, or be missing with an existing parent folder.
    A regular file, a path below a regular file, a missing parent or an
    over-long name raise :class:`PathError`.
    """
    path = Path(path)
    kind = path_kind(path, what=what)
    if kind == "dir":
        return path
    if kind in ("file", "other"):
        raise PathError(f"{what} exists and is not a folder; choose another path",
                        code="output.not_a_folder", file=shown(path))
    if kind == "below_file":
        raise PathError(f"{what} lies below a regular file; choose a path under a folder",
                        code="output.not_a_folder", file=shown(path))
    parent = path.parent if str(path.parent) != "" else Path(".")
    parent_kind = path_kind(parent, what=what)
    if parent_kind != "dir":
        raise PathError(
            f"the parent folder {shown(parent)} of the {what} does not exist (or is not a folder); respond "
            "creates only the last folder of the path: create the parent first",
            code="output.missing_parent", file=shown(path))
    return path


def prepare_output_dir(path: str | os.PathLike, *, what: str = "output folder") -> Path:
    """:func:`check_output_dir`, then create the folder (one level) when missing."""
    path = check_output_dir(path, what=what)
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise PathError(f"cannot create the {what} ({exc.strerror})", code="output.cannot_create",
                        file=shown(path)) from None
    return path


def check_output_file(path: str | os.PathLike, *, what: str = "output file") -> Path:
    """Check that ``path`` can be written: not a folder, its folder creatable (see :func:`check_output_dir`)."""
    path = Path(path)
    kind = path_kind(path, what=what)
    if kind == "dir":
        raise PathError(f"{what} is a folder; give a file name", code="output.is_a_folder", file=shown(path))
    if kind == "below_file":
        raise PathError(f"{what} lies below a regular file; choose a path under a folder",
                        code="output.not_a_folder", file=shown(path))
    check_output_dir(path.parent if str(path.parent) != "" else Path("."), what=f"folder of the {what}")
    return path
