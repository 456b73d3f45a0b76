"""What the commands print on the console after a run, and how they end when they cannot start."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd

from respond.errors import EXIT_CANNOT_START

#: Heading of the best-response table on the console.
BEST_RESPONSE_HEADING = "Best overall response (and progression date)"


def _cell(best: str | None, progression) -> str:
    text = "" if best is None else str(best)
    if progression is not None and not (isinstance(progression, float) and pd.isna(progression)) \
            and str(progression) != "":
        text += f" (progression {progression})"
    return text


def best_response_lines(best_response: pd.DataFrame) -> list[str]:
    """The best overall response of each patient under each criteria, with the progression date next to it.

    One row per patient, one column per criteria; empty when no patient was assessed.
    """
    if best_response is None or best_response.empty:
        return []
    frame = best_response.assign(_shown=[_cell(b, p) for b, p in zip(
        best_response["best_overall_response"],
        best_response["progression_date"] if "progression_date" in best_response else [None] * len(best_response))])
    table = frame.pivot(index="patient_id", columns="criteria", values="_shown").fillna("")
    table.columns.name = None
    return [BEST_RESPONSE_HEADING, *table.to_string().splitlines()]


def fail_to_start(exc: Exception) -> NoReturn:
    """End a command that could not start: ``error: …`` on stderr, exit code 2 (``EXIT_CANNOT_START``)."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_CANNOT_START)


def say_failed_patients(failures: pd.DataFrame, what: str, see: Path | str) -> bool:
    """Say on stderr how many patients ``failures`` lists (``N patient(s) WHAT: see SEE``); True when any.

    The caller decides the exit code (a command whose main results are
    incomplete ends with :data:`~respond.errors.EXIT_SOME_FAILED`).
    """
    if not len(failures):
        return False
    click.echo(f"{failures['patient_id'].nunique()} patient(s) {what}: see {see}", err=True)
    return True
