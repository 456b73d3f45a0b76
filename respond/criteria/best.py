"""Best overall response of a patient (RECIST 1.1 §4.4 and §4.6; RANO-BM).

- Assessments on or after the progression date are ignored. The progression
  date is the first PD, back-dated to the first scan that showed a new
  lesion when an equivocal new lesion was later confirmed — so that scan is
  not counted as SD.
- With confirmation required (RANO-BM; RECIST 1.1 by protocol), a CR needs
  a later CR and a PR a later CR or PR, at least ``confirmation_min_interval_days``
  after it and before progression. With continued PR (the default; EORTC
  FAQ) the ongoing PR of a later visit confirms, and other assessments may
  lie between; read per timepoint (``response.after_partial_response:
  per_timepoint``) an SD (or any call below the level, NE apart) in between
  breaks the confirmation.
- An unconfirmed CR/PR, an SD or a NON-CR/NON-PD counts as SD (NON-CR/NON-PD
  for non-target disease only) only if assessed at least
  ``stable_disease_min_interval_days`` after the origin (treatment start, or
  the baseline scan when none is given); otherwise the best response is PD
  when progression followed, else NE.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from respond.config import Criteria

_LEVEL = {"CR": ("CR",), "PR": ("CR", "PR")}


@dataclass(frozen=True)
class TimepointCall:
    """The overall response at one follow-up scan and, for PD, its progression date."""

    date: dt.date
    overall: str
    progression_date: dt.date | None


def _confirming(calls: list[TimepointCall], i: int, level: str, min_days: int, *,
                strict: bool = False) -> TimepointCall | None:
    """The first later call at ``level`` or better, ``min_days`` or more after call ``i``.

    ``strict`` (``response.after_partial_response: per_timepoint``): a call
    below the level in between (SD, NON-CR/NON-PD, PD; or PR for a CR) breaks
    the confirmation; NE does not.
    """
    first = calls[i]
    for later in calls[i + 1:]:
        if later.overall in _LEVEL[level]:
            if (later.date - first.date).days >= min_days:
                return later
        elif strict and later.overall != "NE":
            return None
    return None


def best_overall_response(
    calls: list[TimepointCall], criteria: Criteria, *, origin: dt.date, has_targets: bool
) -> dict:
    """Best overall response as a ``best_response`` row (without patient and criteria)."""
    rules = criteria.best_response
    progression = min((c.progression_date for c in calls if c.overall == "PD" and c.progression_date),
                      default=None)
    eligible = [c for c in calls if progression is None or c.date < progression]
    row = {"best_overall_response": "NE", "confirmed": None, "best_response_date": None,
           "progression_date": progression, "reason": ""}

    # Without targets a response is CR or NON-CR/NON-PD: there is no PR.
    for level in ("CR", "PR") if has_targets else ("CR",):
        for i, call in enumerate(eligible):
            if call.overall not in _LEVEL[level]:
                continue
            confirmation = _confirming(eligible, i, level, rules.confirmation_min_interval_days,
                                       strict=criteria.response.after_partial_response == "per_timepoint")
            if confirmation is None and rules.confirmation_required:
                continue
            row.update(best_overall_response=level, confirmed=confirmation is not None,
                       best_response_date=call.date)
            row["reason"] = (
                f"{level} on {call.date}, confirmed on {confirmation.date}" if confirmation
                else f"{level} on {call.date} (confirmation not required"
                     + (f"; no confirming assessment ≥ {rules.confirmation_min_interval_days} days later)")
            )
            return row

    stable_label = "SD" if has_targets else "NON-CR/NON-PD"
    min_days = rules.stable_disease_min_interval_days
    for call in eligible:
        if call.overall in ("CR", "PR", "SD", "NON-CR/NON-PD") and (call.date - origin).days >= min_days:
            row.update(best_overall_response=stable_label, best_response_date=call.date)
            unconfirmed = call.overall in ("CR", "PR")
            row["reason"] = (
                f"{'unconfirmed ' + call.overall if unconfirmed else call.overall} on {call.date}, "
                f"{(call.date - origin).days} days after {origin} (≥ {min_days}): {stable_label}"
            )
            return row
    early = [c for c in eligible if c.overall in ("CR", "PR", "SD", "NON-CR/NON-PD")]
    note = (f"; {early[0].overall} on {early[0].date} only {(early[0].date - origin).days} days after "
            f"{origin} (< {min_days})") if early else ""
    if progression is not None:
        row.update(best_overall_response="PD", best_response_date=progression)
        row["reason"] = f"progression on {progression}{note}"
    else:
        row["reason"] = ("no evaluable follow-up" if not calls else "no assessment qualifies") + note
    return row
