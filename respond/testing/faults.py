"""Jobs that fail on purpose, to check that a batch survives them.

Each takes a payload dict and is referenced as ``"respond.testing.faults:NAME"``
in a :class:`respond.batch.Job`.
"""
from __future__ import annotations

import os
import signal
import time

from respond.errors import ImageFileError


def echo(payload: dict) -> dict:
    """Return the payload (a healthy patient)."""
    return dict(payload)


def crash(payload: dict) -> None:
    """Die of a segmentation fault, as a native library crash would."""
    os.kill(os.getpid(), signal.SIGSEGV)


def hang(payload: dict) -> None:
    """Never finish (a hung reader)."""
    time.sleep(payload.get("seconds", 3600))


def bad_file(payload: dict) -> None:
    """Fail as a corrupt image does."""
    raise ImageFileError("truncated file", file=payload.get("file", "scan.nii.gz"), patient_id=payload.get("patient_id"))


def bug(payload: dict) -> None:
    """An unexpected exception."""
    return payload["missing"]
