"""Lesion identity across a patient's scans: manifests, matching, series tracking.

The matcher (:mod:`respond.tracking.matcher`) works on lesion footprints in
the baseline frame; :class:`SeriesTracker` (:mod:`respond.tracking.series`)
turns measured scans and registrations into lesion-table rows. Reading,
registering and measuring are wired together by :func:`respond.track`
(:mod:`respond.pipeline.series`).
"""
from respond.tracking.manifest import (
    LINKS,
    Link,
    Manifest,
    check_link_patients,
    duplicate_mask_warnings,
    read_links,
    read_manifest,
)
from respond.tracking.matcher import Component, Decision, MatchLimits, Region, Tracker, natural_key
from respond.tracking.series import (
    EMPTY_BASELINE_CHOICES,
    TRACK_COLUMNS,
    SeriesTracker,
    check_empty_baseline,
    check_link_dates,
    check_link_labels,
    components_in_baseline,
    lesion_mask,
)

__all__ = [
    "EMPTY_BASELINE_CHOICES",
    "LINKS",
    "TRACK_COLUMNS",
    "Component",
    "Decision",
    "Link",
    "Manifest",
    "MatchLimits",
    "Region",
    "SeriesTracker",
    "Tracker",
    "check_empty_baseline",
    "check_link_dates",
    "check_link_labels",
    "check_link_patients",
    "components_in_baseline",
    "duplicate_mask_warnings",
    "lesion_mask",
    "natural_key",
    "read_links",
    "read_manifest",
]
