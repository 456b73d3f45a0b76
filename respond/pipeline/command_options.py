"""Command-line options that several commands share (evaluate, assess, track), declared once: same names, help, defaults."""
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


#: The leniency flags of the imaging commands (``assess``, ``track``), in the order ``--help`` lists them.
_IMAGING_LENIENCY = (
    ("--allow-outside-paths", "allow_outside_paths", "Accept manifest paths outside the manifest's folder."),
    ("--allow-outside", "allow_outside_alias", None),  # the older spelling, hidden
    ("--allow-resample-mask", "allow_resample_mask",
     "Resample a mask whose grid differs from its image (nearest neighbour)."),
    ("--allow-float-mask", "allow_float_mask", "Accept float-typed masks whose values are whole numbers (labels)."),
    ("--allow-implausible", "allow_implausible",
     "Use registrations that fail the plausibility checks (they stay flagged)."),
    ("--allow-uneven-slices", "allow_uneven_slices",
     "Accept DICOM image series with missing slices (whole multiples of the slice gap)."),
)


def imaging_leniency_options(command: F) -> F:
    """The ``--allow-*`` flags of reading and registering scans; the command receives each as a bool of its name."""
    for flag, name, text in reversed(_IMAGING_LENIENCY):
        command = click.option(flag, name, is_flag=True, hidden=text is None, help=text)(command)
    return command
