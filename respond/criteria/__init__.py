"""The criteria engine: RECIST 1.1 and RANO-BM responses from a lesion table.

Pure: validated DataFrames and :class:`~respond.config.Criteria` in, tables
out (:func:`apply_criteria`); no file is read or written. Reading the tables
and writing the results is :func:`respond.evaluate`
(:mod:`respond.pipeline.evaluate`).

>>> from respond.criteria import apply_criteria
>>> tables = apply_criteria(lesions, [load_criteria("recist1.1")])   # doctest: +SKIP
>>> tables.best_response                                             # doctest: +SKIP
"""
from __future__ import annotations

from respond.criteria.cohort import CriteriaTables, apply_criteria
from respond.criteria.patient import PatientAssessment, assess_patient
from respond.results import Evaluation  # re-exported: respond.criteria.Evaluation keeps working

__all__ = ["CriteriaTables", "Evaluation", "PatientAssessment", "apply_criteria", "assess_patient"]
