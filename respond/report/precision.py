"""How many decimals each kind of number is shown and stored with — one rule for the report and the spreadsheet.

A measurement is only as precise as its voxels: diameters and distances are
given to 0.1 mm, volumes to 1 mm³, percentages to 0.1 %, angles to 0.01°,
point coordinates to 0.01 mm, proportions and their intervals to 4 decimals.
The rule is chosen from the column name's unit suffix (respond's tables carry
their units in their names, see :mod:`respond.tables`).
"""
from __future__ import annotations

import math
import re
from typing import Any, Final

#: (pattern on the column name, decimals), first match wins.
DECIMALS: Final = (
    (re.compile(r"_mm3$"), 0),                                # volumes: 1 mm³
    (re.compile(r"_p[12]_[xyz]$|^centroid_[xyz]$"), 2),       # point coordinates, mm
    (re.compile(r"_mm$"), 1),                                 # diameters, sums, distances: 0.1 mm
    (re.compile(r"^pct_|_pct$"), 1),                          # percentages: 0.1 %
    (re.compile(r"_days$"), 0),
    (re.compile(r"_months$"), 2),
    (re.compile(r"_deg$"), 2),
    (re.compile(r"_(gy|mg)$"), 2),
    (re.compile(r"^(estimate|ci_low|ci_high|overlap|scale_deviation|kappa)$"), 4),
    (re.compile(r"^seconds$"), 2),
)
#: Significant digits of any other float (metrics, statistics).
OTHER_SIGNIFICANT: Final = 6


def decimals(column: str) -> int | None:
    """Decimals of a column by its name, or None when the column keeps :data:`OTHER_SIGNIFICANT` digits."""
    for pattern, places in DECIMALS:
        if pattern.search(column):
            return places
    return None


def round_value(column: str, value: float) -> float | int:
    """``value`` rounded to the precision of ``column`` (an int when no decimals are kept)."""
    if math.isnan(value) or math.isinf(value):
        return value
    places = decimals(column)
    if places is None:
        return float(f"{value:.{OTHER_SIGNIFICANT}g}")
    rounded = round(value, places)
    return int(rounded) if places == 0 else rounded


def format_value(column: str, value: Any) -> str:
    """Text of a cell for the report: numbers at the column's precision, other values as given."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return ""
        if float(number).is_integer() and decimals(column) is None:
            return str(int(number))
        places = decimals(column)
        return f"{number:.{places}f}" if places is not None else f"{number:.{OTHER_SIGNIFICANT}g}"
    return str(value)


def as_float(value: Any) -> float:
    """``value`` as a float; NaN for a blank or a value that is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def format_statistic(value: Any) -> str:
    """A statistic (median, rate, limit, p value) as the report shows it: three significant digits.

    ``not reached`` for +∞ (a median or limit the curve never reaches); blank
    for a missing value or one that is not a number.
    """
    number = as_float(value)
    if math.isnan(number):
        return ""
    return "not reached" if number == math.inf else f"{number:.3g}"


def format_count(value: Any) -> str:
    """A count (patients, events, number at risk) as a whole number; blank when missing or not a number."""
    number = as_float(value)
    return "" if math.isnan(number) else str(int(number))
