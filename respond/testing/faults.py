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


def process_facts(payload: dict) -> dict:
    """Facts of the process the job runs in: its parent's pid, ITK's default thread count, when it started.

    ``started`` is ``time.monotonic()`` (system-wide on Linux, so comparable across processes).
    """
    import SimpleITK as sitk

    return {"parent_pid": os.getppid(), "itk_threads": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(),
            "started": time.monotonic()}


def kill_parent(payload: dict) -> dict:
    """Kill the process that started this one (a lost start-up server), then finish normally."""
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(0.2)
    return dict(payload)
