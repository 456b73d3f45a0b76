"""Worker process entry point: ``python -m respond.batch.child JOB.pkl RESULT.pkl``.

Loads a :class:`~respond.batch.runner.Job`, calls its function on its
payload and writes an :class:`~respond.batch.runner.Outcome` atomically. An
expected error (:class:`~respond.errors.RespondError`) becomes a failure row
with its code; any other exception a failure coded ``internal.<type>`` with
the last line of the traceback. A crash writes nothing, which the parent
reports as a dead worker.
"""
from __future__ import annotations

import importlib
import pickle
import sys
import time

from respond.batch.runner import Job, Outcome
from respond.errors import failure_row
from respond.io.writers import atomic_write


def call(job: Job) -> Outcome:
    """Run the job in this process and describe what came of it."""
    started = time.monotonic()
    module_name, _, name = job.function.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name)
        value = function(job.payload)
        return Outcome(job.patient_id, value=value, seconds=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - one patient's error or bug must not stop the batch
        row = failure_row(exc)
        del row["patient_id"]
        return Outcome(job.patient_id, failure=row, seconds=time.monotonic() - started)


def main(argv: list[str]) -> int:
    job_file, result_file = argv[1], argv[2]
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    outcome = call(job)
    atomic_write(result_file, lambda tmp: tmp.write_bytes(pickle.dumps(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
