"""Progress bar (tqdm) on an interactive terminal; silent in CI and in logs."""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


class _Silent:
    def update(self, n: int = 1) -> None:
        pass


def interactive() -> bool:
    """True on a terminal outside CI (the ``CI`` environment variable unset)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def progress_bar(*, total: int, initial: int = 0, enabled: bool | None = None,
                 unit: str = "patient") -> Iterator:
    """A tqdm bar with rate and ETA, or a silent stand-in when disabled."""
    if enabled is None:
        enabled = interactive()
    if not enabled:
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True, file=sys.stderr) as bar:
        yield bar
