"""What the batch runs and what comes of it: :class:`Job` and :class:`Outcome`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """One patient's work: ``function`` ("module:name") called with ``payload``.

    ``key`` identifies the inputs (e.g. a SHA-256 of the patient's files,
    the configuration and the respond version): equal keys, equal results.
    ``cost`` is the job's expected run time in any unit (e.g. bytes of
    scans): the runner starts the costliest jobs first, so that workers
    finish together instead of one running a large patient alone at the end
    (longest-processing-time-first order). It changes no result.
    """

    patient_id: str
    function: str
    payload: Any
    key: str
    cost: float = 0.0


@dataclass
class Outcome:
    """What came of one job: a value, or a failure row (``stage``, ``error_code``, ``message``)."""

    patient_id: str
    value: Any = None
    failure: dict | None = None
    seconds: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.failure is None
