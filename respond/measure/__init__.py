"""Lesion measurement from segmentation masks: the lesion table of one scan.

``measure_scan`` is the stage's entry point (instances and their rows, a
:class:`ScanMeasurement`); ``measure_mask`` returns just the lesion table and
is exported as ``respond.measure``.
See :mod:`respond.measure.lesion` for the measurement conventions.
"""
from __future__ import annotations

import sys
import types

import pandas as pd

from respond.measure.axial import AXIAL_TOLERANCE_DEG
from respond.measure.lesion import MEASURABLE_MM, MESH_CONVENTION
from respond.measure.mask import measure_mask
from respond.measure.scan import MeasureOptions, ScanMeasurement, measure_scan
from respond.measure.table import EXTRA_COLUMNS, write_lesion_csv

__all__ = [
    "AXIAL_TOLERANCE_DEG",
    "EXTRA_COLUMNS",
    "MEASURABLE_MM",
    "MESH_CONVENTION",
    "MeasureOptions",
    "ScanMeasurement",
    "measure_mask",
    "measure_scan",
    "write_lesion_csv",
]


class _CallableModule(types.ModuleType):
    """``respond.measure`` is both this package and the function :func:`measure_mask`.

    Importing the package binds ``respond.measure`` to it, so the package
    itself is made callable: ``respond.measure(mask, ...)`` is
    ``respond.measure.measure_mask(mask, ...)``.
    """

    def __call__(self, *args, **kwargs) -> pd.DataFrame:
        return measure_mask(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
