"""Command-line options that ``evaluate`` and ``assess`` share, declared once (same names, help and defaults)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import click

F = TypeVar("F", bound=Callable)

#: ``--treatments``: the radiotherapy courses, which turn on the study-outcome tables.
treatments_option = click.option(
    "--treatments", type=click.Path(dir_okay=False, path_type=Path),
    help="Treatments table (patient_id, lesion_id, date, total_dose_gy, fractions, technique, ...): "
         "with it, or with clinical columns in --patients, the study-outcome tables are written too.")


def criteria_options(command: F) -> F:
    """``--criteria ID`` (a preset, repeatable) and ``--config YAML`` (a protocol variant, repeatable), in that order.

    The command receives them as the tuples ``criteria`` and ``configs`` (empty: both presets).
    """
    command = click.option("--config", "configs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                           help="Criteria YAML of a protocol variant; repeat for several.")(command)
    return click.option("--criteria", "criteria", multiple=True, metavar="ID",
                        help="Preset to apply (recist1.1, rano-bm); repeat for several. Default: both.")(command)
