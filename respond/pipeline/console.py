"""What the commands print on the console after a run."""
from __future__ import annotations

import pandas as pd

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
