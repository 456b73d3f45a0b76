"""Provenance of a run: the ``run.json`` of an assessment (input hashes by :mod:`respond.io.writers`)."""
from __future__ import annotations

import platform
from typing import Any, Mapping

from respond import __version__
from respond.config import Criteria
from respond.io.writers import describe_inputs
from respond.results import Assessment, criteria_records, library_versions




def assessment_run_info(result: Assessment, *, criteria: list[Criteria], sources: Mapping[str, Any],
                        options: dict[str, Any], outcomes: list, started: str, finished: str,
                        hashes: Mapping[tuple[str, str], tuple[str | None, str | None]]) -> dict[str, Any]:
    """The ``run.json`` of an assessment: versions, criteria, options, inputs and scans with hashes, counts."""
    scans = result.scans
    manifest_failed = {f["patient_id"] for f in result.failures.to_dict("records") if f["stage"] == "manifest"}
    return {
        "respond_version": __version__, "python": platform.python_version(), "libraries": library_versions(),
        "started": started, "finished": finished,
        "criteria": criteria_records(criteria),
        "options": options, "inputs": describe_inputs(sources),
        "scans": {f"{r.patient_id} {r.date}": {"mask": r.mask, "mask_sha256": hashes[(r.patient_id, str(r.date))][0],
                                               "image": r.image,
                                               "image_sha256": hashes[(r.patient_id, str(r.date))][1]}
                  for r in scans.itertuples()},
        "counts": {
            "patients": len(outcomes) + len(manifest_failed),
            "patients_assessed": int(result.best_response["patient_id"].nunique())
            if len(result.best_response) else 0,
            "patients_failed": result.n_failed,
            "patients_reused": sum(1 for o in outcomes if o.cached),
            "scans": len(scans),
        },
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
    }
