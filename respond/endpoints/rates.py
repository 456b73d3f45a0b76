"""Binomial proportions with exact (Clopper–Pearson) and Jeffreys intervals.

- Clopper–Pearson: :meth:`scipy.stats.binomtest(...).proportion_ci` with
  ``method='exact'`` — conservative, the interval trials usually report.
- Jeffreys: the equal-tailed interval of the Beta(k + ½, n − k + ½) posterior,
  with the lower limit set to 0 when k = 0 and the upper to 1 when k = n
  (Brown, Cai & DasGupta, Stat Sci 2001;16:101-133).

With n = 0 the estimate and both limits are NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Proportion:
    """``events`` of ``n`` with a two-sided interval at ``level``."""

    events: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    level: float


def _check(events: int, n: int, level: float) -> None:
    if n < 0 or events < 0 or events > n:
        raise ValueError(f"need 0 ≤ events ≤ n, got events={events}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1, got {level}")


def clopper_pearson(events: int, n: int, level: float = 0.95) -> Proportion:
    """Exact (Clopper–Pearson) interval for ``events`` successes out of ``n``."""
    _check(events, n, level)
    if n == 0:
        return Proportion(events, n, math.nan, math.nan, math.nan, "clopper-pearson", level)
    ci = stats.binomtest(events, n).proportion_ci(confidence_level=level, method="exact")
    return Proportion(events, n, events / n, float(ci.low), float(ci.high), "clopper-pearson", level)


def jeffreys(events: int, n: int, level: float = 0.95) -> Proportion:
    """Jeffreys interval: Beta(events + ½, n − events + ½) quantiles, 0/1 at the boundaries."""
    _check(events, n, level)
    if n == 0:
        return Proportion(events, n, math.nan, math.nan, math.nan, "jeffreys", level)
    alpha = 1 - level
    a, b = events + 0.5, n - events + 0.5
    low = 0.0 if events == 0 else float(stats.beta.ppf(alpha / 2, a, b))
    high = 1.0 if events == n else float(stats.beta.ppf(1 - alpha / 2, a, b))
    return Proportion(events, n, events / n, low, high, "jeffreys", level)


def proportion(events: int, n: int, level: float = 0.95) -> list[Proportion]:
    """Both intervals, Clopper–Pearson first."""
    return [clopper_pearson(events, n, level), jeffreys(events, n, level)]
