"""Shared pieces of the property-based bad-input suite (tests/test_fuzz_*.py).

The contract every example must meet (issue "no traceback, no hang, no silent
wrong answer"):

- the command ends within :data:`EXAMPLE_TIMEOUT_S` seconds (a watchdog, not a
  speed assertion: it only turns a hang into a failing example);
- no Python traceback: the exit code is 0, 2 (a ``[code]`` error) or 3
  (some patients failed, listed in failures.csv);
- a mutation that changes the meaning of valid input is never silent: it is
  refused (exit 2), fails its patient (exit 3) or leaves a warning.

Profiles: the default runs a few dozen examples per test (part of ``make
test``); ``RESPOND_FUZZ=long`` runs hundreds (see the README).
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

#: Profile chosen by the RESPOND_FUZZ environment variable (unset: the default, quick profile).
LONG = os.environ.get("RESPOND_FUZZ", "").strip().lower() == "long"
#: Watchdog per example, seconds: beyond it the example counts as a hang.
EXAMPLE_TIMEOUT_S = 120 if LONG else 60


def fuzz_settings(default: int, long: int = 0):
    """Hypothesis settings of one fuzz test: ``default`` examples, or ``long`` under RESPOND_FUZZ=long."""
    return settings(
        max_examples=(long or default * 20) if LONG else default,
        deadline=None,
        derandomize=not LONG,  # the quick profile is reproducible in CI; the long one explores
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that no ``except Exception`` in respond swallows it."""


@contextlib.contextmanager
def watchdog(seconds: float = EXAMPLE_TIMEOUT_S):
    """Interrupt the block after ``seconds`` (SIGALRM, main thread, POSIX)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"example ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_CODE = re.compile(r"\[[a-z0-9_]+\.[a-z0-9_.]+\]")


@dataclass
class Outcome:
    """What one command did: exit code, console output and the output folder's tables."""

    exit_code: int
    output: str
    out: Path | None

    def table(self, name: str) -> pd.DataFrame | None:
        path = None if self.out is None else self.out / f"{name}.csv"
        if path is None or not path.is_file():
            return None
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    @property
    def warnings(self) -> pd.DataFrame:
        frame = self.table("warnings")
        return pd.DataFrame() if frame is None else frame

    @property
    def failures(self) -> pd.DataFrame:
        frame = self.table("failures")
        return pd.DataFrame() if frame is None else frame

    @property
    def silent(self) -> bool:
        """Exit 0 with no warning and no failure row."""
        return self.exit_code == 0 and self.warnings.empty and self.failures.empty


def run_cli(command, args: list, out: Path | None = None) -> Outcome:
    """Run a click command in-process under the watchdog and check the no-traceback contract."""
    try:
        with watchdog():
            result = CliRunner().invoke(command, [str(a) for a in args])
    except Hang as exc:  # raised outside the runner (between its own handlers)
        raise AssertionError(f"hang: {exc}; args {args}") from None
    if isinstance(result.exception, Hang):
        raise AssertionError(f"hang: {result.exception}; args {args}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"traceback for args {args}:\n{tb[-3000:]}")
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.output[-2000:])
    if result.exit_code == 2:
        assert _CODE.search(result.output) or "Usage:" in result.output, result.output[-2000:]
    return Outcome(result.exit_code, result.output, out)


def call_api(function, *args, expected: tuple[type[BaseException], ...], **kwargs):
    """Call ``function`` under the watchdog; return its value, or the expected error it raised.

    Any other exception is a contract violation (a traceback for a user).
    """
    from respond.errors import RespondError

    try:
        with watchdog():
            return function(*args, **kwargs)
    except Hang as exc:
        raise AssertionError(f"hang: {exc}") from None
    except expected as exc:
        assert isinstance(exc, RespondError) and exc.code, exc
        return exc


def sorted_table(frame: pd.DataFrame | None, drop: tuple[str, ...] = ()) -> list[tuple]:
    """Rows of ``frame`` as sorted tuples (order-independent comparison of outputs)."""
    if frame is None or frame.empty:
        return []
    keep = [c for c in frame.columns if c not in drop]
    return sorted(tuple(r) for r in frame[keep].itertuples(index=False))
