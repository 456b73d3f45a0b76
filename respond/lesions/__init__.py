"""Lesion identity across a patient's scans: manifests, matching, series tracking.

``track`` (exported as ``respond.track``) is the entry point; see
:mod:`respond.lesions.series`.
"""
from respond.lesions.manifest import Link, Manifest, read_links, read_manifest
from respond.lesions.series import TrackResult, track
from respond.lesions.tracking import Component, Decision, MatchLimits, Region, Tracker

__all__ = [
    "Component",
    "Decision",
    "Link",
    "Manifest",
    "MatchLimits",
    "Region",
    "TrackResult",
    "Tracker",
    "read_links",
    "read_manifest",
    "track",
]
