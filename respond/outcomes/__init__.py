"""Study outcomes: OS / CSS / iPFS / local control, prognostic indices, Cox and log-rank tables,
competing risks and BED/EQD2 — a pure stage (DataFrames in, DataFrames out).

>>> import respond
>>> result = respond.evaluate("lesions.csv", patients="patients.csv")            # doctest: +SKIP
>>> tables = respond.outcomes(result, treatments=treatments_frame)                # doctest: +SKIP
>>> tables.cox, tables.outcomes, tables.indices                                  # doctest: +SKIP

``respond.outcomes`` is this package and, called, :func:`compute_outcomes`
(like ``respond.measure``). It takes DataFrames only: a result of
``respond.evaluate`` / ``respond.assess`` (or a mapping of tables), the
patients table (with the clinical columns of :data:`respond.tables.PATIENTS`)
and the treatments table. Files and run folders are read by
``respond outcomes RUN_DIR`` (:mod:`respond.pipeline.outcomes`).

Definitions and sources: :mod:`~respond.outcomes.indices` (RPA, GPA, SIR,
BS-BM, GGS), :mod:`~respond.outcomes.dose` (BED, EQD2),
:mod:`~respond.outcomes.survival` (KM, reverse KM, log-rank),
:mod:`~respond.outcomes.cox` (Cox models), :mod:`~respond.outcomes.competing`
(Aalen–Johansen), :mod:`~respond.outcomes.covariates` (imaging and clinical
covariates), :mod:`~respond.outcomes.characteristics` (Table 1). Choices live
in ``configs/outcomes.yaml`` (:mod:`~respond.outcomes.settings`).
"""
from __future__ import annotations

import sys
import types

from respond.outcomes.settings import OutcomeSettings, load_outcome_settings
from respond.outcomes.study import OUTCOME_TABLES, OutcomeResult, compute_outcomes
from respond.outcomes.survival import DAYS_PER_MONTH

__all__ = ["OutcomeResult", "OutcomeSettings", "compute_outcomes", "load_outcome_settings", "DAYS_PER_MONTH",
           "OUTCOME_TABLES"]


class _CallableModule(types.ModuleType):
    """``respond.outcomes`` is both this package and :func:`compute_outcomes` (like ``respond.measure``)."""

    def __call__(self, *args, **kwargs) -> OutcomeResult:
        return compute_outcomes(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
