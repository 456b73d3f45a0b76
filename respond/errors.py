"""One exception tree for respond.

Every error carries a stable ``code`` (so a batch can sort its failures) and,
where known, the file, patient, row and value it is about. Messages say what
was found and what to do about it.
"""
from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any


class RespondError(Exception):
    """Base class of every error respond raises on purpose.

    Parameters
    ----------
    message:
        What is wrong and what to do, in words a user can act on.
    code:
        Stable machine-readable code, e.g. ``"table.missing_column"``.
    file, patient_id, row, column, value:
        Where the problem is, when known. ``row`` is the 1-based line number
        in a CSV file (the header is line 1) or the index label of a DataFrame.
    """

    default_code = "respond.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        file: str | None = None,
        patient_id: str | None = None,
        row: Any = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        self.message = message
        self.code = code or self.default_code
        self.file = None if file is None else str(file)
        self.patient_id = patient_id
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.patient_id is not None:
            where.append(f"patient {self.patient_id}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = f"[{self.code}] "
        return prefix + (f"{', '.join(where)}: " if where else "") + self.message

    def as_record(self) -> dict[str, Any]:
        """The error as a row of the ``failures`` table (without ``stage``)."""
        return {
            "patient_id": self.patient_id,
            "error_code": self.code,
            "message": str(self),
        }


def format_values(values: Iterable[Any], limit: int = 5, *, sep: str = ", ", unit: str | None = None) -> str:
    """The first ``limit`` values of a list for an error message, and how many there are in all.

    A message never prints an unbounded list (161 missing slice positions, a
    million label values): ``format_values(range(161))`` gives
    ``"0, 1, 2, 3, 4, … (161 values)"``. Numbers are printed with 6 significant
    digits; ``unit`` is appended to each shown value.
    """
    items = list(values)
    shown = [_format_value(v) + (f" {unit}" if unit else "") for v in items[:limit]]
    text = sep.join(shown)
    if len(items) > limit:
        text += f"{sep}… ({len(items)} values)"
    return text


def _format_value(value: Any) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.6g}"


class ConfigError(RespondError, ValueError):
    """A criteria preset or user configuration is invalid."""

    default_code = "config.invalid"


class InputTableError(RespondError, ValueError):
    """A lesion, clinical, patients or manifest table is malformed."""

    default_code = "table.invalid"


class ImageFileError(RespondError, OSError):
    """An image or mask file is missing, unreadable, truncated or malformed."""

    default_code = "image.unreadable"


class GeometryError(RespondError, ValueError):
    """Image geometry (spacing, origin, direction, size) is invalid."""

    default_code = "geometry.invalid"


class GeometryMismatchError(GeometryError):
    """Two images that must share a grid do not."""

    default_code = "geometry.mismatch"


class MaskValueError(RespondError, ValueError):
    """A mask holds values that are not valid lesion labels."""

    default_code = "mask.values"


class MeasurementError(RespondError, ValueError):
    """A quantity cannot be measured correctly on this lesion."""

    default_code = "measure.undefined"


class CriteriaError(RespondError, ValueError):
    """The criteria cannot be applied to a patient's data as given."""

    default_code = "criteria.inapplicable"


class RegistrationError(RespondError, RuntimeError):
    """A follow-up scan could not be registered to the baseline, or the result is implausible."""

    default_code = "registration.failed"


#: Exit code of every command when every patient was assessed.
EXIT_OK = 0
#: Exit code when the run could not start (bad argument, configuration or table).
EXIT_CANNOT_START = 2
#: Exit code when some patients failed; the others' results are written.
EXIT_SOME_FAILED = 3
