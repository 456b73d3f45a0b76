"""Batch execution: one isolated process per patient, timeouts, resume, local pool or Dask."""
from respond.batch.jobs import Job, Outcome
from respond.batch.runner import outcomes_failures, require_executor, run_isolated, run_jobs

__all__ = ["Job", "Outcome", "outcomes_failures", "require_executor", "run_isolated", "run_jobs"]
