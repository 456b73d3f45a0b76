"""The imaging work of one patient, run in a worker process by :func:`respond.pipeline.assess`."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Final

import pandas as pd

from respond.pipeline.options import ImagingOptions

#: Environment variable for fault injection when validating a deployment or
#: testing the batch: ``kill:P1,hang:P2`` kills the worker of patient P1
#: (SIGKILL, as the out-of-memory killer would) and hangs that of P2.
FAULT_VARIABLE: Final = "RESPOND_INJECT_FAULT"


def _inject_fault(patient_id: str) -> None:
    for item in filter(None, os.environ.get(FAULT_VARIABLE, "").split(",")):
        action, _, target = item.partition(":")
        if target != patient_id:
            continue
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "hang":
            time.sleep(3600)


def run_patient(payload: dict[str, Any]) -> dict[str, Any]:
    """Read, register, track and measure one patient's scans.

    Returns the patient's ``lesions``, ``matches``, ``registrations``,
    ``scans``, ``warnings`` and ``failures`` tables and ``seconds`` per stage. Transforms are written to
    ``payload["transforms_dir"]`` (one ITK file per follow-up) when it is set.
    """
    from respond.pipeline.series import track
    from respond.tracking.manifest import Manifest

    started = time.perf_counter()
    _inject_fault(payload["patient_id"])
    scans = pd.DataFrame(payload["scans"])
    scans["mask"] = scans["mask"].map(Path)
    scans["image"] = scans["image"].map(lambda p: Path(p) if p else None)
    manifest = Manifest(scans, [], payload["manifest"] if isinstance(payload["manifest"], str) else "<DataFrame>")
    options = ImagingOptions(**payload["options"])
    result = track(manifest, lesions=options.lesions, transform=options.transform,
                   allow_resample_mask=options.allow_resample_mask, allow_implausible=options.allow_implausible,
                   allow_uneven_slices=options.allow_uneven_slices, allow_float_mask=options.allow_float_mask,
                   empty_baseline=options.empty_baseline)
    if payload.get("transforms_dir"):
        from respond.pipeline.series import write_transforms

        # transform_file() names paths under transforms/
        write_transforms(result.transforms, Path(payload["transforms_dir"]).parent)
    register = float(pd.to_numeric(result.registrations.get("seconds"), errors="coerce").fillna(0).sum()) \
        if len(result.registrations) else 0.0
    seconds = {"read": 0.0, "register": register, "track": 0.0, "measure": 0.0, **result.seconds}
    seconds["other (worker)"] = max(0.0, time.perf_counter() - started - sum(seconds.values()))
    return {
        "lesions": result.lesions, "matches": result.matches, "registrations": result.registrations,
        "failures": result.failures, "seconds": seconds, "scans": result.scans, "warnings": result.warnings,
    }
