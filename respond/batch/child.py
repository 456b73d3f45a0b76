"""A patient's process: forked from the start-up server (:func:`run_forked`), or ``python -m respond.batch.child JOB.pkl RESULT.pkl``.

Loads a :class:`~respond.batch.jobs.Job`, calls its function on its
payload and writes an :class:`~respond.batch.jobs.Outcome` atomically. An
expected error (:class:`~respond.errors.RespondError`) becomes a failure row
with its code; any other exception a failure coded ``internal.<type>`` with
the last line of the traceback. A crash writes nothing, which the parent
reports as a dead worker.
"""
from __future__ import annotations

import importlib
import os
import pickle
import sys
import time

from respond.batch.jobs import Job, Outcome
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


def run_files(job_file: str, result_file: str) -> None:
    """Run the job pickled in ``job_file`` (written by this run's parent) and pickle its outcome to ``result_file``."""
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    outcome = call(job)
    atomic_write(result_file, lambda tmp: tmp.write_bytes(pickle.dumps(outcome)))


def run_forked(job_file: str, result_file: str, stderr_file: str) -> None:
    """Body of a patient's process forked by :mod:`respond.batch.forkserver`.

    Its standard output is discarded and its standard error (a native
    crash's last words included) goes to ``stderr_file``, as for a
    ``python -m respond.batch.child`` process.
    """
    _redirect(stderr_file)
    run_files(job_file, result_file)


def _redirect(stderr_file: str) -> None:
    """Point file descriptors 1 and 2 at the null device and ``stderr_file``."""
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    err = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 1)
    os.dup2(err, 2)
    os.close(null)
    os.close(err)


def main(argv: list[str]) -> int:
    run_files(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
