"""``respond.track``: register and match each patient's scans (:func:`respond.pipeline.series.track`), saying so when
every patient failed."""
from __future__ import annotations

import warnings
from typing import Any

from respond.pipeline.series import TrackResult
from respond.pipeline.series import track as track_series


def track(manifest: Any, **options: Any) -> TrackResult:
    """Track the lesions of every patient of a manifest (see :func:`respond.pipeline.series.track` for the options).

    When no patient could be tracked but some failed, a :class:`UserWarning`
    says so: an empty lesion table must not pass for a cohort without lesions.
    """
    result = track_series(manifest, **options)
    if len(result.failures) and not len(result.lesions):
        n_failed = result.failures["patient_id"].nunique()
        first = result.failures.iloc[0]
        warnings.warn(f"no patient was tracked: {n_failed} patient(s) failed (first: {first['patient_id']}, "
                      f"{first['error_code']}); see result.failures", UserWarning, stacklevel=2)
    return result
