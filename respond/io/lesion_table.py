"""Read and validate the lesion, clinical and patients tables (CSV or DataFrame).

Reading is strict: every value is checked, and each problem becomes an
:class:`~respond.errors.InputTableError` naming the file, the row, the column
and the value. Problems that concern one patient (a bad date, a negative
diameter, a duplicate row) exclude that patient only: they are returned as
failures and every other patient is read. Problems that concern the whole
table (a missing file or column, a row without patient id) raise.

Row numbers are those of the CSV file (the header is line 1, the first data
row is line 2) or the index labels of a DataFrame.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from respond.config import normalise_organ
from respond.errors import InputTableError, RespondError, format_values
from respond.io.paths import check_input_file
from respond.tables import as_date  # noqa: F401 - re-exported: one date coercion for every reader
from respond.tables import (
    CLINICAL,
    CLINICAL_STATUSES,
    LESION_ROLES,
    LESION_STATUSES,
    LESION_EXTRA_COLUMNS,
    LESIONS,
    PATIENTS,
    ROLE_PREFIX,
    SCAN_REGIONS,
    SCANS,
    Table,
)

TableSource = str | Path | pd.DataFrame

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{1,2})?$|^\d{4}-\d{2}-?$|^\d{4}-[Uu][Nn][Kk]")
#: A decimal number as respond accepts it (no ``_`` separators, no hex, ASCII digits only).
_DECIMAL = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
#: Text that spreadsheets and pandas write for a missing value; in a cell it is refused, not guessed.
MISSING_WORDS = frozenset({"nan", "na", "n/a", "null", "none", "<na>", "nat", "#n/a"})
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


@dataclass
class ReadResult:
    """A validated table and the patients excluded from it.

    ``frame`` holds the rows of patients without problems, with parsed values
    (dates as :class:`datetime.date`, numbers as float, NaN for blanks) and a
    ``_row`` column with the source row number. ``failures`` lists one error
    per problem; ``failed_patients`` the patient ids they exclude.
    """

    frame: pd.DataFrame
    failures: list[RespondError] = field(default_factory=list)
    source: str = "<DataFrame>"
    #: Rows of the warnings table (:data:`respond.tables.WARNINGS`) about the table's content.
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_patients(self) -> set[str]:
        return {e.patient_id for e in self.failures if e.patient_id is not None}


def load_table(source: TableSource, table: Table) -> tuple[pd.DataFrame, str, int]:
    """Load ``source`` as text cells; return the frame, its name and the row offset.

    Every cell is a string (blank for a missing value); ``_row`` holds the
    CSV line number (header = line 1) or the DataFrame index label. A CSV file
    is parsed by respond itself, not by pandas, so that structural faults are
    refused instead of silently repaired: a row with fewer or more cells than
    the header (a missing cell shifts every value after it), a repeated or
    unnamed column, bytes that are not UTF-8.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        _check_header(list(frame.columns), "<DataFrame>")
        frame = frame.astype(object).where(frame.notna(), "")
        frame["_row"] = list(frame.index)
        return frame.reset_index(drop=True), "<DataFrame>", 0
    path = check_input_file(source, error=InputTableError, what=f"{table.name} table", code="table.not_found")
    header, rows, lines = _read_csv_cells(path, table)
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in header})
    frame["_row"] = lines
    return frame, str(path), 2


#: Deprecated private spelling of :func:`load_table`, kept for callers not yet moved.
_load = load_table


def _parse_error(path: Path, why: str) -> InputTableError:
    return InputTableError(f"cannot parse as CSV ({why}); save the table as UTF-8 comma-separated values",
                           code="table.parse", file=str(path))


def _read_csv_cells(path: Path, table: Table) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows of text cells and their line numbers; blank lines are skipped."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _parse_error(path, f"byte {exc.start} is not UTF-8") from None
    except OSError as exc:
        raise InputTableError(f"cannot read the file ({exc.strerror})", code="table.unreadable",
                              file=str(path)) from None
    if "\x00" in text:
        raise _parse_error(path, "the file holds NUL bytes: it is not a text file")
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    header: list[str] | None = None
    rows, lines = [], []
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and cells[0].strip() == "" and header is not None):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                continue
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise _parse_error(path, f"line {reader.line_num}: {exc}") from None
    if header is None or header == [""]:
        raise InputTableError(
            f"{table.name} table is empty (no header line); expected columns {', '.join(table.required)}",
            code="table.empty", file=str(path))
    return _check_shape(header, rows, lines, path)


def _check_shape(header: list[str], rows: list[list[str]], lines: list[int],
                 path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Refuse rows whose cell count differs from the header's; drop unnamed all-blank columns."""
    width = len(header)
    for cells, line in zip(rows, lines):
        extra = cells[width:]
        if len(cells) < width:
            raise InputTableError(
                f"row has {len(cells)} cells but the header has {width}: a missing cell shifts every value "
                "after it into the wrong column; write an empty cell (two commas) for a blank value",
                code="table.short_row", file=str(path), row=line)
        if any(c.strip() for c in extra):
            raise InputTableError(
                f"row has {len(cells)} cells but the header has {width}: a stray separator (an unquoted "
                "comma in a value?) shifts the values; quote values that contain commas",
                code="table.long_row", file=str(path), row=line)
    unnamed = [i for i, name in enumerate(header) if name == ""]
    for i in unnamed:
        if any(cells[i].strip() for cells in rows):
            raise InputTableError(f"column {i + 1} has values but no name in the header",
                                  code="table.unnamed_column", file=str(path), column=f"#{i + 1}")
    keep = [i for i in range(width) if i not in unnamed]
    _check_header([header[i] for i in keep], str(path))
    return [header[i] for i in keep], [[cells[i] for i in keep] for cells in rows], lines


def _check_header(names: list[str], name: str) -> None:
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise InputTableError(
            f"column(s) {', '.join(dup)} appear more than once; keep one", code="table.duplicate_column",
            file=name, column=dup[0])


def require_columns(frame: pd.DataFrame, table: Table, name: str) -> None:
    """Raise :class:`InputTableError` naming the required columns of ``table`` that ``frame`` lacks."""
    missing = [c for c in table.required if c not in frame.columns]
    if missing:
        present = ", ".join(c for c in frame.columns if c != "_row") or "none"
        raise InputTableError(
            f"{table.name} table lacks required column(s) {', '.join(missing)} "
            f"(columns found: {present})",
            code="table.missing_column",
            file=name,
            column=missing[0],
        )
    _check_header([str(c) for c in frame.columns], name)


_require_columns = require_columns


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.lower())


def likely_column(name: str, known: Iterable[str]) -> str | None:
    """The known column ``name`` is probably a misspelling of, or None.

    Close means: equal ignoring case, spaces, hyphens, dots and underscores;
    or an edit distance of 1 (2 for names of 6+ characters); or ``name`` is a
    known name without its prefix (``slices`` for ``n_slices``).
    """
    known = [k for k in known if k != name]
    squashed = _squash(name)
    for k in known:
        if _squash(k) == squashed:
            return k
    best = min(known, key=lambda k: (_edit_distance(name.lower(), k), k), default=None)
    if best is not None and len(name) >= 4:
        limit = 2 if len(name) >= 6 else 1
        if _edit_distance(name.lower(), best) <= limit:
            return best
    for k in known:
        if len(squashed) >= 5 and _squash(k).endswith(squashed) and len(k) - len(name) <= 3:
            return k
    return None


def check_unknown_columns(frame: pd.DataFrame, table: Table, name: str, *, extra: Iterable[str] = (),
                          criteria_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Refuse misspelt optional columns; return a warning row listing other unknown columns.

    ``extra`` are further accepted names; ``criteria_ids`` (when given) the
    criteria a ``role_<id>`` column may name. A column close to a known one
    (:func:`likely_column`) or a ``role_`` column naming no criteria raises
    :class:`InputTableError` (``table.misspelt_column``); any other unknown
    column is listed in one warning (code ``unknown_column``): respond
    ignores it.
    """
    known = [*table.names, *extra]
    ids = sorted(criteria_ids) if criteria_ids is not None else None
    unknown = []
    for column in (str(c) for c in frame.columns):
        if column == "_row" or column in known:
            continue
        if column.startswith(ROLE_PREFIX):
            if ids is None or column[len(ROLE_PREFIX):] in ids:
                continue
            intended = likely_column(column, [f"{ROLE_PREFIX}{i}" for i in ids])
            raise InputTableError(
                f"column '{column}' names no criteria being evaluated (criteria: {', '.join(ids)})"
                + (f"; did you mean '{intended}'?" if intended else "; spell it role_<criteria id>"),
                code="table.misspelt_column", file=name, column=column)
        intended = likely_column(column, known)
        if intended is not None:
            raise InputTableError(
                f"unknown column '{column}' looks like '{intended}' misspelt; rename it (respond would "
                "otherwise ignore it)", code="table.misspelt_column", file=name, column=column)
        unknown.append(column)
    if not unknown:
        return []
    shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
    return [{"patient_id": None, "criteria": None, "code": "unknown_column",
             "message": f"{table.name} table {name}: column(s) {shown} are not {table.name} columns and "
                        "were ignored"}]


class RowParser:
    """Parses cells of one table, recording problems per patient (public: every table reader uses it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[RespondError] = []

    def fail(self, patient: str, row: Any, column: str | None, value: Any, message: str, code: str) -> None:
        self.failures.append(
            InputTableError(message, code=code, file=self.name, patient_id=patient, row=row, column=column, value=value)
        )

    def date(self, patient: str, row: Any, column: str, value: Any, *, required: bool) -> dt.date | None:
        typed = as_date(value)
        if typed is not None:
            return typed
        text = str(value).strip()
        if text == "":
            if required:
                self.fail(patient, row, column, value, "date is blank; give an ISO date YYYY-MM-DD", "table.missing_date")
            return None
        if _ISO_DATE.match(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
            self.fail(patient, row, column, text, f"'{text}' is not a calendar date", "table.bad_date")
            return None
        if _PARTIAL_DATE.match(text):
            self.fail(
                patient, row, column, text,
                f"partial date '{text}': respond does not guess missing days or months; give YYYY-MM-DD",
                "table.partial_date",
            )
            return None
        self.fail(patient, row, column, text, f"'{text}' is not an ISO date YYYY-MM-DD", "table.bad_date")
        return None

    def number(
        self, patient: str, row: Any, column: str, value: Any, *, minimum: float = 0.0, integer: bool = False
    ) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.nan
        text = str(value).strip()
        if text == "":
            return math.nan
        if not _DECIMAL.match(text):
            finite_word = text.lower().lstrip("+-") in MISSING_WORDS | {"inf", "infinity"}
            why = "is not a finite number; leave the cell blank for a missing value" if finite_word else (
                "is not a number (write plain decimals: digits, one '.', an optional exponent)")
            self.fail(patient, row, column, text, f"'{text}' {why}", "table.bad_number")
            return math.nan
        number = float(text)
        if not math.isfinite(number):
            self.fail(patient, row, column, text, f"'{text}' is not a finite number", "table.bad_number")
            return math.nan
        if number < minimum:
            what = "negative" if minimum == 0 else f"below {minimum:g}"
            self.fail(patient, row, column, text, f"{column} is {what} ({text})", "table.negative_value")
            return math.nan
        if integer and number != int(number):
            self.fail(patient, row, column, text, f"{column} must be a whole number ({text})", "table.bad_number")
            return math.nan
        return number

    def choice(self, patient: str, row: Any, column: str, value: Any, allowed: Iterable[str]) -> str | None:
        text = str(value).strip().lower()
        if text == "":
            return None
        allowed = tuple(allowed)
        if text in MISSING_WORDS:
            self.fail(patient, row, column, value,
                      f"{column} '{value}' is a missing-value marker; leave the cell blank or give one of "
                      f"{', '.join(allowed)}", "table.literal_missing")
            return None
        if text not in allowed:
            self.fail(
                patient, row, column, value,
                f"unknown {column} '{value}'; allowed: {', '.join(allowed)}",
                f"table.unknown_{column}" if column in ("status", "role", "clinical_status") else "table.unknown_value",
            )
            return None
        return text

    def boolean(self, patient: str, row: Any, column: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text == "":
            return False
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail(patient, row, column, value, f"'{value}' is not true/false", "table.bad_boolean")
        return False


def patient_ids(frame: pd.DataFrame, name: str) -> pd.Series:
    """The stripped ``patient_id`` cells; a blank or missing-value marker (``NaN``) raises for the table."""
    ids = frame["patient_id"].map(lambda v: str(v).strip())
    for bad, why in ((ids == "", "is blank; every row must name its patient"),
                     (ids.str.lower().isin(MISSING_WORDS),
                      "is a missing-value marker (NaN, NA, null, ...), not a patient; every row must name its "
                      "patient")):
        if bad.any():
            row = frame.loc[bad, "_row"].iloc[0]
            raise InputTableError(f"patient_id {why}", code="table.missing_patient", file=name, row=row,
                                  column="patient_id", value=ids[bad].iloc[0])
    return ids


def finish(frame: pd.DataFrame, parser: RowParser, name: str,
           warnings: list[dict[str, Any]] | None = None) -> ReadResult:
    """The :class:`ReadResult` of a parsed table: rows of patients with problems are left out."""
    bad = {e.patient_id for e in parser.failures}
    keep = ~frame["patient_id"].isin(bad)
    return ReadResult(frame=frame.loc[keep].reset_index(drop=True), failures=parser.failures, source=name,
                      warnings=list(warnings or []))


def check_duplicates(frame: pd.DataFrame, keys: list[str], parser: RowParser) -> None:
    """Record a per-patient failure for rows repeating the same ``keys``."""
    valid = frame.dropna(subset=keys)
    dup = valid[valid.duplicated(subset=keys, keep=False)]
    for _, group in dup.groupby(keys, sort=False):
        rows = format_values(group["_row"])
        first = group.iloc[0]
        what = ", ".join(f"{k}={first[k]}" for k in keys)
        parser.fail(
            first["patient_id"], group["_row"].iloc[1], None, None,
            f"duplicate rows for {what} (rows {rows}); keep one row per {', '.join(keys)}",
            "table.duplicate_row",
        )


# Private spellings kept for callers not yet moved to the public names.
_RowParser = RowParser
_patient_ids = patient_ids
_finish = finish
_check_duplicates = check_duplicates


def check_patient_ids(lesion_patients: Iterable[str], tables: dict[str, ReadResult | None]) -> list[dict[str, Any]]:
    """Cross-check the patient ids of other tables against the lesion table's.

    Returns one warning row per table listing its ids that match no lesion-table
    patient (their records are not used); raises :class:`InputTableError`
    (``table.no_matching_patients``) when a table shares no id at all with the
    lesion table (ids lower-cased, prefixed or from another study: every record
    would be silently ignored).
    """
    known = {str(p) for p in lesion_patients}
    folded = {p.strip().lower(): p for p in known}
    out = []
    for what, read in tables.items():
        if read is None:
            continue
        ids = set(read.frame["patient_id"]) | read.failed_patients
        if not ids or not known:
            continue
        stray = sorted(ids - known)
        if not stray:
            continue
        hint = ""
        if any(i.strip().lower() in folded for i in stray):
            hint = " (ids differ from the lesion table's only in case or spaces: patient ids are exact)"
        listed = ", ".join(stray[:10]) + (f" and {len(stray) - 10} more" if len(stray) > 10 else "")
        if len(stray) == len(ids):
            raise InputTableError(
                f"none of the {len(ids)} patient ids of the {what} table matches a patient of the lesion table"
                f"{hint}; e.g. {what}: {', '.join(sorted(ids)[:3])}; lesions: {', '.join(sorted(known)[:3])}",
                code="table.no_matching_patients", file=read.source, column="patient_id")
        out.append({"patient_id": None, "criteria": None, "code": "unknown_patient",
                    "message": f"{what} table {read.source}: {len(stray)} patient id(s) match no patient of the "
                               f"lesion table and were not used{hint}: {listed}"})
    return out


#: Parsed columns of the lesion table, in the order they are written back (``role_<id>`` columns follow).
_LESION_VALUES = ("date", "lesion_id", "organ", "longest_diameter_mm", "short_axis_mm", "n_slices",
                  "volume_mm3", "status", "equivocal")


def read_lesion_table(
    source: TableSource, *, node_organs: Iterable[str] = ("lymph_node",),
    criteria_ids: Iterable[str] | None = None,
) -> ReadResult:
    """Read and validate a lesion table (one row per lesion per scan date).

    Columns are those of :data:`respond.tables.LESIONS`; ``role_<criteria id>``
    columns (e.g. ``role_rano-bm``) give a per-criteria reader choice that
    overrides ``role``. Organs are normalised (:func:`respond.config.normalise_organ`).
    A lymph node (organ in ``node_organs``) measured at a date must have a
    short axis.
    """
    frame, name, _ = load_table(source, LESIONS)
    require_columns(frame, LESIONS, name)
    warnings = check_unknown_columns(frame, LESIONS, name, extra=LESION_EXTRA_COLUMNS, criteria_ids=criteria_ids)
    parser = RowParser(name)
    nodes = {normalise_organ(o) for o in node_organs}
    frame["patient_id"] = patient_ids(frame, name)
    role_columns = [c for c in frame.columns if c == "role" or c.startswith(ROLE_PREFIX)]

    out: dict[str, list] = {k: [] for k in (*_LESION_VALUES, *role_columns)}
    for rec in frame.to_dict("records"):
        values = _parse_lesion_row(rec, parser, role_columns)
        _check_lesion_row(rec, values, parser, nodes)
        for key, value in values.items():
            out[key].append(value)
    for key, values in out.items():
        frame[key] = values
    _parse_tracking_columns(frame, parser)
    check_duplicates(frame, ["patient_id", "date", "lesion_id"], parser)
    _check_lesion_consistency(frame, parser)
    return finish(frame, parser, name, warnings)


def _parse_lesion_row(rec: dict[str, Any], parser: RowParser, role_columns: list[str]) -> dict[str, Any]:
    """The parsed values of one lesion-table row (keys :data:`_LESION_VALUES`, then ``role_columns``).

    Dates become :class:`datetime.date`, diameters (mm), slice counts and
    volumes (mm³) float (NaN for a blank), status and roles lower-case
    choices (None for a blank); each bad cell is recorded on ``parser``.
    """
    pid, row = rec["patient_id"], rec["_row"]
    values: dict[str, Any] = {"date": parser.date(pid, row, "date", rec["date"], required=True)}
    lesion = str(rec["lesion_id"]).strip()
    if lesion == "" or lesion.lower() in MISSING_WORDS:
        parser.fail(pid, row, "lesion_id", rec["lesion_id"],
                    "lesion_id is blank or a missing-value marker (NaN, NA, None, ...)", "table.missing_lesion")
    values["lesion_id"] = lesion
    organ = normalise_organ(rec["organ"])
    if organ == "" or organ in MISSING_WORDS:
        parser.fail(pid, row, "organ", rec["organ"], "organ is blank or a missing-value marker; name the organ "
                    "(e.g. brain, lung, lymph_node)", "table.missing_organ")
    values["organ"] = organ
    values["longest_diameter_mm"] = parser.number(pid, row, "longest_diameter_mm", rec["longest_diameter_mm"])
    values["short_axis_mm"] = parser.number(pid, row, "short_axis_mm", rec.get("short_axis_mm", ""))
    values["n_slices"] = parser.number(pid, row, "n_slices", rec.get("n_slices", ""), integer=True)
    values["volume_mm3"] = parser.number(pid, row, "volume_mm3", rec.get("volume_mm3", ""))
    values["status"] = parser.choice(pid, row, "status", rec.get("status", ""), LESION_STATUSES)
    values["equivocal"] = parser.boolean(pid, row, "equivocal", rec.get("equivocal", ""))
    for column in role_columns:
        values[column] = parser.choice(pid, row, "role", rec.get(column, ""), LESION_ROLES)
    return values


def _check_lesion_row(rec: dict[str, Any], values: dict[str, Any], parser: RowParser, nodes: set[str]) -> None:
    """Record the contradictions within one parsed row on ``parser``.

    A short axis longer than the longest diameter (1e-9 mm tolerance); a
    lymph node (organ in ``nodes``) measured, present or progressing without
    a short axis; status ``absent`` with a diameter above 0 mm; status
    ``present`` with a diameter of exactly 0 mm (0 means disappeared).
    """
    pid, row = rec["patient_id"], rec["_row"]
    ld, sa, status = values["longest_diameter_mm"], values["short_axis_mm"], values["status"]
    if not math.isnan(ld) and not math.isnan(sa) and sa > ld + 1e-9:
        parser.fail(pid, row, "short_axis_mm", rec["short_axis_mm"],
                    f"short axis ({sa:g} mm) is longer than the longest diameter ({ld:g} mm)",
                    "table.short_axis_too_long")
    if (values["organ"] in nodes and math.isnan(sa) and not math.isnan(ld) and ld > 0
            and status in (None, "present", "progression")):
        parser.fail(pid, row, "short_axis_mm", "",
                    "lymph node without short axis: RECIST measures nodes by their short axis; "
                    "give short_axis_mm (or status not_evaluated / too_small / absent)",
                    "table.node_without_short_axis")
    if status == "absent" and not math.isnan(ld) and ld > 0:
        parser.fail(pid, row, "status", rec.get("status"),
                    f"status 'absent' but longest diameter {ld:g} mm; fix one of them",
                    "table.status_conflict")
    if status == "present" and not math.isnan(ld) and ld == 0:
        parser.fail(pid, row, "status", rec.get("status"),
                    "status 'present' but longest diameter 0 mm (0 means disappeared); fix one of them",
                    "table.status_conflict")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in ("", "nan")


def _parse_tracking_columns(frame: pd.DataFrame, parser: _RowParser) -> None:
    """Validate the optional columns visit, fragment_of, merged_into, slice_thickness_mm, previously_treated."""
    records = frame.to_dict("records")
    if "visit" in frame.columns:
        frame["visit"] = [None if _blank(r["visit"]) else str(r["visit"]).strip() for r in records]
        _check_visit_dates(frame, parser)
    for column in ("fragment_of", "merged_into"):
        if column in frame.columns:
            frame[column] = [None if _blank(r[column]) else str(r[column]).strip() for r in records]
    if "slice_thickness_mm" in frame.columns:
        frame["slice_thickness_mm"] = [
            parser.number(r["patient_id"], r["_row"], "slice_thickness_mm", r["slice_thickness_mm"], minimum=0)
            for r in records]
        for r, value in zip(records, frame["slice_thickness_mm"]):
            if value == 0:
                parser.fail(r["patient_id"], r["_row"], "slice_thickness_mm", r["slice_thickness_mm"],
                            "slice_thickness_mm is 0; give the slice thickness in mm or leave it blank",
                            "table.bad_number")
    if "previously_treated" in frame.columns:
        frame["previously_treated"] = [
            parser.boolean(r["patient_id"], r["_row"], "previously_treated", r["previously_treated"])
            for r in records]
    if "fragment_of" in frame.columns or "merged_into" in frame.columns:
        _check_fragments_and_merges(frame, parser)


def _check_visit_dates(frame: pd.DataFrame, parser: _RowParser) -> None:
    """One scan date belongs to one visit of a patient."""
    valid = frame.dropna(subset=["visit", "date"])
    per_date = valid.groupby(["patient_id", "date"])["visit"].nunique()
    for (pid, date), n in per_date[per_date > 1].items():
        rows = valid[(valid["patient_id"] == pid) & (valid["date"] == date)]
        parser.fail(pid, rows["_row"].iloc[0], "visit", ", ".join(sorted(set(rows["visit"]))),
                    f"scan date {date} belongs to several visits ({', '.join(sorted(set(rows['visit'])))}); "
                    "one scan date is one visit", "table.visit_conflict")


def _check_fragments_and_merges(frame: pd.DataFrame, parser: _RowParser) -> None:
    """A fragment's parent has no row of its own at that date; a merged row reads 0 mm and names another lesion."""
    fragments = frame["fragment_of"] if "fragment_of" in frame.columns else pd.Series([None] * len(frame))
    merged = frame["merged_into"] if "merged_into" in frame.columns else pd.Series([None] * len(frame))
    own = set(zip(frame["patient_id"], frame["date"], frame["lesion_id"]))
    for rec, parent, into in zip(frame.to_dict("records"), fragments, merged):
        pid, row = rec["patient_id"], rec["_row"]
        if parent is not None:
            if parent == rec["lesion_id"]:
                parser.fail(pid, row, "fragment_of", parent, "a lesion cannot be a fragment of itself",
                            "table.bad_fragment")
            elif (pid, rec["date"], parent) in own:
                parser.fail(pid, row, "fragment_of", parent,
                            f"lesion {parent} has a row of its own on {rec['date']} and fragment "
                            f"{rec['lesion_id']}: give the fragments only (their diameters are summed)",
                            "table.bad_fragment")
        if into is not None:
            ld = rec["longest_diameter_mm"]
            if into == rec["lesion_id"]:
                parser.fail(pid, row, "merged_into", into, "a lesion cannot merge into itself", "table.bad_merge")
            elif not (isinstance(ld, float) and (math.isnan(ld) or ld == 0)):
                parser.fail(pid, row, "merged_into", into,
                            f"merged lesion reads {ld:g} mm: a lesion merged into {into} reads 0 mm "
                            f"(the coalesced measurement is on {into})", "table.bad_merge")
            elif (pid, rec["date"], into) not in own:
                parser.fail(pid, row, "merged_into", into,
                            f"lesion {into} (carrying the merged measurement) has no row on {rec['date']}",
                            "table.bad_merge")
            if parent is not None:
                parser.fail(pid, row, "merged_into", into, "a row cannot be both a fragment and merged",
                            "table.bad_merge")


def read_scans_table(source: TableSource) -> ReadResult:
    """Read the scans table: which body region was imaged per patient and date (or visit).

    ``lesion_count`` 0 says the region was imaged and nothing was found.
    """
    frame, name, _ = _load(source, SCANS)
    _require_columns(frame, SCANS, name)
    parser = _RowParser(name)
    frame["patient_id"] = _patient_ids(frame, name)
    records = frame.to_dict("records")
    frame["date"] = [parser.date(r["patient_id"], r["_row"], "date", r["date"], required=True) for r in records]
    frame["region"] = [parser.choice(r["patient_id"], r["_row"], "region", r["region"], SCAN_REGIONS)
                       for r in records]
    for r, region in zip(records, frame["region"]):
        if region is None and not any(e.row == r["_row"] for e in parser.failures):
            parser.fail(r["patient_id"], r["_row"], "region", r["region"],
                        f"region is blank; name the region imaged ({', '.join(SCAN_REGIONS)})", "table.missing_region")
    frame["visit"] = ([None if _blank(r.get("visit")) else str(r["visit"]).strip() for r in records]
                      if "visit" in frame.columns else None)
    frame["lesion_count"] = [parser.number(r["patient_id"], r["_row"], "lesion_count", r.get("lesion_count", ""),
                                           integer=True) for r in records]
    _check_duplicates(frame, ["patient_id", "date", "region"], parser)
    return _finish(frame, parser, name)


def _check_lesion_consistency(frame: pd.DataFrame, parser: RowParser) -> None:
    """One lesion keeps one organ across dates."""
    organs = frame.groupby(["patient_id", "lesion_id"])["organ"].nunique()
    for (pid, lesion), n in organs[organs > 1].items():
        rows = frame[(frame["patient_id"] == pid) & (frame["lesion_id"] == lesion)]
        found = format_values(sorted(set(rows["organ"])))
        parser.fail(pid, rows["_row"].iloc[0], "organ", found,
                    f"lesion {lesion} has different organs across dates ({found}); one lesion has one organ",
                    "table.organ_changes")


def read_clinical_table(source: TableSource) -> ReadResult:
    """Read the clinical table: corticosteroid dose (mg/day dexamethasone-equivalent) and clinical status."""
    frame, name, _ = load_table(source, CLINICAL)
    require_columns(frame, CLINICAL, name)
    warnings = check_unknown_columns(frame, CLINICAL, name)
    if "steroid_dose_mg" not in frame.columns and "clinical_status" not in frame.columns:
        raise InputTableError(
            "clinical table needs steroid_dose_mg and/or clinical_status",
            code="table.missing_column", file=name, column="steroid_dose_mg",
        )
    parser = RowParser(name)
    frame["patient_id"] = patient_ids(frame, name)
    dates, doses, states = [], [], []
    for rec in frame.to_dict("records"):
        pid, row = rec["patient_id"], rec["_row"]
        dates.append(parser.date(pid, row, "date", rec["date"], required=True))
        doses.append(parser.number(pid, row, "steroid_dose_mg", rec.get("steroid_dose_mg", "")))
        states.append(parser.choice(pid, row, "clinical_status", rec.get("clinical_status", ""), CLINICAL_STATUSES))
    frame["date"], frame["steroid_dose_mg"], frame["clinical_status"] = dates, doses, states
    check_duplicates(frame, ["patient_id", "date"], parser)
    return finish(frame, parser, name, warnings)


def read_patients_table(source: TableSource) -> ReadResult:
    """Read the patients table: treatment start, last follow-up and death dates."""
    frame, name, _ = load_table(source, PATIENTS)
    require_columns(frame, PATIENTS, name)
    warnings = check_unknown_columns(frame, PATIENTS, name)
    parser = RowParser(name)
    frame["patient_id"] = patient_ids(frame, name)
    for column in ("treatment_start", "last_followup", "death_date"):
        if column not in frame.columns:
            frame[column] = None
            continue
        frame[column] = [
            parser.date(rec["patient_id"], rec["_row"], column, rec[column], required=False)
            for rec in frame.to_dict("records")
        ]
    check_duplicates(frame, ["patient_id"], parser)
    return finish(frame, parser, name, warnings)



# --- entry points for the other table readers (respond.io.clinical_tables) ---------------------------

def open_table(source: TableSource, table: Table) -> tuple[pd.DataFrame, RowParser, str]:
    """Load ``source`` as text cells, check ``table``'s required columns and patient ids.

    Returns the frame (with ``_row``), a row parser recording per-patient
    problems, and the source name; finish with :func:`close_table`.
    """
    frame, name, _ = load_table(source, table)
    require_columns(frame, table, name)
    frame["patient_id"] = patient_ids(frame, name)
    return frame, RowParser(name), name


def close_table(frame: pd.DataFrame, parser: RowParser, name: str, keys: list[str]) -> ReadResult:
    """Check duplicate rows on ``keys`` and drop the patients with problems (see :class:`ReadResult`)."""
    check_duplicates(frame, keys, parser)
    return finish(frame, parser, name)
