"""Application services: the only place that wires respond's stages together.

>>> import respond
>>> result = respond.assess("manifest.csv", out="results/", patients="patients.csv")   # doctest: +SKIP
>>> result.best_response                                                                # doctest: +SKIP

:func:`assess` (:mod:`respond.pipeline.assess`) runs the whole chain for a
cohort; :mod:`~respond.pipeline.patient` is one patient's imaging work in a
worker process; :mod:`~respond.pipeline.cache` the data-only per-patient
result store of ``--resume``; :mod:`~respond.pipeline.summarize` recomputes
the endpoints of a finished run; :mod:`~respond.pipeline.evaluate` applies
the criteria to lesion tables and SDTM; :mod:`~respond.pipeline.options`
holds the option groups.
"""
from respond.pipeline.assess import CACHE_DIR, CLINICAL_COLUMNS, PATIENT_JOB, assess
from respond.pipeline.options import BatchOptions, ImagingOptions, ManifestOptions
from respond.pipeline.summarize import summarize
from respond.pipeline.track import track
from respond.results import Assessment

__all__ = ["Assessment", "BatchOptions", "CACHE_DIR", "CLINICAL_COLUMNS", "ImagingOptions", "ManifestOptions",
           "PATIENT_JOB", "assess", "summarize", "track"]
