"""CDISC SDTM tumour domains in and out: TU (identification), TR (results), RS (response).

Reading (:func:`read_sdtm`) turns TU + TR into respond's lesion table, one
assessment stream per subject and evaluator, so that the criteria engine
runs on trial data as published:

- TU gives each lesion (``TULNKID``) its location (``TULOC``; locations
  containing ``LYMPH NODE`` are nodes, ``BRAIN`` is CNS) and the reader's
  role (``TUSTRESC`` = ``TARGET`` / ``NON-TARGET`` / ``NEW``).
- TR gives, per lesion and visit, ``LDIAM`` (longest diameter), ``LPERP`` or
  ``SAXIS`` (perpendicular / short axis) in ``TRSTRESN`` (mm; cm converted),
  and ``TUMSTATE`` (``PRESENT``, ``ABSENT``, ``UNEQUIVOCAL PROGRESSION``,
  ``EQUIVOCAL``, ``TOO SMALL TO MEASURE``, ``NOT EVALUABLE``). Derived sums
  (``SUMDIAM`` …) are ignored: respond recomputes them. ``TRSTAT = NOT DONE``
  means not evaluated.
- A visit (``VISITNUM``) is one timepoint: each lesion row keeps its own
  ``TRDTC`` and the lesion table's ``visit`` column groups them (the criteria
  date the response at the visit's latest scan, a progression at the
  earliest scan showing it); without ``VISITNUM`` each date is a timepoint.
- A lesion that split has link ids derived from the original (``T04.1``,
  ``T04.2`` with a TU record each): they are fragments of ``T04``
  (``fragment_of``), summed under it (RECIST 1.1 §4.3). Export writes
  fragments the same way and ``VISITNUM`` from a numeric ``visit``.
- Partial dates, unknown test codes, a TR lesion without a TU record, a
  measurement with a blank ``TRLNKID``, two conflicting TU records for one
  lesion or TR records for one lesion, test and visit, a ``TRSTRESN`` that is
  not a finite number: that subject fails with a message naming the file and
  row; others proceed. TU or TR without records, TR holding only derived
  sums, or ``evaluator`` naming nobody: an error saying so (``sdtm.no_lesions``).

RS (``OVRLRESP`` per visit, ``RSCAT`` naming the criteria) is read for
quality control: :func:`compare_with_recorded` lists where respond's
overall response differs from the recorded one.

Writing (:func:`export_sdtm`) produces TU, TR and RS from a run's outputs,
with CDISC controlled terminology, as CSV and optionally SAS transport
(``.xpt``, via pyreadstat).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Iterable

import pandas as pd

from respond.errors import InputTableError, RespondError
from respond.io.paths import is_file
from respond.io.runs import read_run_table
from respond.io.writers import atomic_write, write_csv

#: TR test codes read as measurements, and the lesion-table column each fills.
MEASUREMENT_TESTS: Final = {"LDIAM": "longest_diameter_mm", "LPERP": "short_axis_mm", "SAXIS": "short_axis_mm"}
#: TR test codes recognised and ignored (derived values respond recomputes).
IGNORED_TESTS: Final = frozenset({"SUMDIAM", "SUMLDIAM", "SUMNLNLD", "DIAMETER", "ACNSD", "VOLUME", "AREA"})
#: TUMSTATE results (TRSTRESC, upper case) → lesion-table (status, equivocal).
TUMOR_STATES: Final = {
    "PRESENT": ("present", False),
    "ABSENT": ("absent", False),
    "UNEQUIVOCAL PROGRESSION": ("progression", False),
    "UNEQUIVOCAL": ("present", False),
    "EQUIVOCAL": ("present", True),
    "TOO SMALL TO MEASURE": ("too_small", False),
    "NOT EVALUABLE": ("not_evaluated", False),
    "NOT ASSESSED": ("not_evaluated", False),
    "NE": ("not_evaluated", False),
}
#: TU identification results → lesion-table role.
TU_ROLES: Final = {"TARGET": "target", "NON-TARGET": "non_target", "NEW": None}
#: RS response spellings → respond's.
RS_RESPONSES: Final = {"CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD", "NE": "NE", "NOT EVALUABLE": "NE",
                       "NON-CR/NON-PD": "NON-CR/NON-PD", "NON-CR NON-PD": "NON-CR/NON-PD", "NED": "NE"}
_ISO_DTC = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


@dataclass
class SdtmRead:
    """The lesion table built from TU/TR, recorded RS responses, and per-subject failures."""

    lesions: pd.DataFrame
    recorded: pd.DataFrame | None = None
    failures: list[RespondError] = field(default_factory=list)
    streams: dict[str, tuple[str, str]] = field(default_factory=dict)


def read_domain(path: str | Path, domain: str, required: Iterable[str]) -> pd.DataFrame:
    """Read one SDTM dataset (CSV or SAS transport .xpt) as text, with a ``_row`` column."""
    path = Path(path)
    if not is_file(path, error=InputTableError, what=f"SDTM {domain} dataset"):  # no OSError on long names
        raise InputTableError(f"SDTM {domain} dataset not found", code="sdtm.not_found", file=str(path))
    if path.suffix.lower() == ".xpt":
        try:  # pyreadstat, not pandas.read_sas: pandas misreads some encodings of 0.0 as 5e-79
            import pyreadstat

            frame, _ = pyreadstat.read_xport(str(path))
        except Exception as exc:  # noqa: BLE001 - reader errors vary by damage
            raise InputTableError(f"cannot read SAS transport file ({exc})", code="sdtm.unreadable",
                                  file=str(path)) from None
        frame = frame.astype(object).where(frame.notna(), "")
        frame = frame.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v).strip())
        offset = 1
    else:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputTableError(f"cannot read as CSV ({exc})", code="sdtm.unreadable", file=str(path)) from None
        offset = 2
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputTableError(
            f"SDTM {domain} lacks required variable(s) {', '.join(missing)} "
            f"(variables found: {', '.join(frame.columns) or 'none'})",
            code="sdtm.missing_variable", file=str(path), column=missing[0])
    if "DOMAIN" in frame.columns:
        others = sorted(set(frame["DOMAIN"].str.upper()) - {domain, ""})
        if others:
            raise InputTableError(f"expected the {domain} domain but DOMAIN holds {', '.join(others)}",
                                  code="sdtm.wrong_domain", file=str(path))
    frame["_row"] = range(offset, len(frame) + offset)
    return frame


def _evaluator(rec: dict, prefix: str) -> str:
    parts = [str(rec.get(f"{prefix}EVAL", "")).strip(), str(rec.get(f"{prefix}EVALID", "")).strip()]
    return " ".join(p for p in parts if p)


def _organ(location: str) -> str:
    loc = location.strip().upper()
    if "LYMPH NODE" in loc:
        return "lymph_node"
    if loc in ("BRAIN", "CEREBRUM", "CEREBELLUM", "BRAIN STEM", "BRAINSTEM") or loc.startswith("BRAIN"):
        return "brain"
    return "_".join(loc.lower().replace("-", " ").split()) or "unknown"


def _dtc_date(text: str) -> dt.date | None:
    match = _ISO_DTC.match(text.strip())
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


class _Problems:
    def __init__(self) -> None:
        self.errors: list[RespondError] = []

    def add(self, message: str, code: str, *, file: str, subject: str, row, column=None, value=None) -> None:
        self.errors.append(InputTableError(message, code=code, file=file, patient_id=subject, row=row,
                                           column=column, value=value))


def read_sdtm(
    tu: str | Path, tr: str | Path, rs: str | Path | None = None, *, evaluator: str | None = None
) -> SdtmRead:
    """Build the lesion table of every subject and evaluator stream from TU and TR.

    The patient id of a stream is ``USUBJID`` when the data hold one
    evaluator per subject, else ``USUBJID/EVALUATOR``. ``evaluator`` keeps
    only the stream(s) of that evaluator (``TREVAL`` or ``TREVAL TREVALID``).
    """
    tu_frame = read_domain(tu, "TU", ["USUBJID", "TULNKID", "TULOC", "TUSTRESC"])
    tr_frame = read_domain(tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESC", "TRSTRESN", "TRDTC"])
    problems = _Problems()
    tu_file, tr_file = str(tu), str(tr)
    if tu_frame.empty or tr_frame.empty:
        raise InputTableError(_why_no_lesions(tu_frame, tr_frame, evaluator), code="sdtm.no_lesions",
                              file=tu_file if tu_frame.empty else tr_file)
    lesions_tu = _read_tu(tu_frame, problems, tu_file)
    tu_has_evaluator = any(ev for (_, ev, _) in lesions_tu)
    cells, dates = _read_tr(tr_frame, lesions_tu, tu_has_evaluator, problems, tr_file, evaluator)
    ids = _stream_ids(cells)
    frame = _lesion_frame(cells, dates, lesions_tu, tu_has_evaluator, ids)
    failed = {e.patient_id for e in problems.errors}  # subjects: all their streams are excluded
    subject_of = {stream_id: key[0] for key, stream_id in ids.items()}
    frame = frame[~frame["patient_id"].map(lambda p: subject_of[p] in failed).astype(bool)]
    if frame.empty and not problems.errors:
        raise InputTableError(_why_no_lesions(tu_frame, tr_frame, evaluator), code="sdtm.no_lesions", file=tr_file)
    recorded = read_recorded_responses(rs, ids) if rs is not None else None
    return SdtmRead(lesions=frame.sort_values(["patient_id", "date", "lesion_id"]).reset_index(drop=True),
                    recorded=recorded, failures=problems.errors, streams={v: k for k, v in ids.items()})


def _read_tu(tu_frame: pd.DataFrame, problems: _Problems, file: str) -> dict[tuple[str, str, str], dict]:
    """The lesions TU identifies, keyed by (subject, evaluator, ``TULNKID``).

    Each value holds the lesion-table ``organ`` and ``role`` (None for a new
    lesion), ``new`` and the TU ``_row``. An unknown ``TUSTRESC`` or a second
    record that disagrees with the first is recorded on ``problems`` and skipped;
    a repeated identical record is ignored.
    """
    lesions_tu: dict[tuple[str, str, str], dict] = {}
    for rec in tu_frame.to_dict("records"):
        subject, link = rec["USUBJID"].strip(), rec["TULNKID"].strip()
        ident = rec["TUSTRESC"].strip().upper()
        if ident not in TU_ROLES:
            problems.add(f"unknown TUSTRESC '{rec['TUSTRESC']}'; expected TARGET, NON-TARGET or NEW",
                         "sdtm.unknown_term", file=file, subject=subject, row=rec["_row"], column="TUSTRESC",
                         value=rec["TUSTRESC"])
            continue
        key, value = (subject, _evaluator(rec, "TU"), link), {
            "organ": _organ(rec["TULOC"]), "role": TU_ROLES[ident], "new": ident == "NEW", "_row": rec["_row"]}
        earlier = lesions_tu.get(key)
        if earlier is not None and {k: v for k, v in earlier.items() if k != "_row"} != {
                k: v for k, v in value.items() if k != "_row"}:
            problems.add(f"lesion {link} has conflicting TU records (rows {earlier['_row']} and {rec['_row']}: "
                         f"{earlier['organ']}/{earlier['role'] or 'new'} vs {value['organ']}/{value['role'] or 'new'});"
                         " keep one record per lesion", "sdtm.conflicting_records", file=file, subject=subject,
                         row=rec["_row"], column="TULNKID", value=link)
            continue
        lesions_tu.setdefault(key, value)
    return lesions_tu


def _read_tr(tr_frame: pd.DataFrame, lesions_tu: dict, tu_has_evaluator: bool, problems: _Problems, file: str,
             evaluator: str | None) -> tuple[dict[tuple[str, str, str, str], dict], dict[tuple[str, str, str], list]]:
    """The TR results per (subject, evaluator, visit key, lesion), and the scan dates per visit.

    The visit key is ``VISITNUM``, or the ISO date without it. A cell holds
    ``_row`` (its first TR row), ``_tests`` (test code → result and row),
    ``_dates`` (its scan dates) and, as read, ``status``, ``equivocal`` and
    the diameters in mm. Records of other evaluators and derived sums are
    skipped; each faulty record is recorded on ``problems`` and skipped.
    """
    cells: dict[tuple[str, str, str, str], dict] = {}  # (subject, evaluator, visit key, lesion) → values
    dates: dict[tuple[str, str, str], list[dt.date]] = {}
    for rec in tr_frame.to_dict("records"):
        subject, link, row = rec["USUBJID"].strip(), rec["TRLNKID"].strip(), rec["_row"]
        ev = _evaluator(rec, "TR")
        if evaluator is not None and evaluator not in (ev, str(rec.get("TREVAL", "")).strip()):
            continue
        test = rec["TRTESTCD"].strip().upper()
        if test in IGNORED_TESTS:
            continue
        date = _tr_date(rec, test, (subject, ev if tu_has_evaluator else "", link), lesions_tu, problems, file)
        if date is None:
            continue
        visit = str(rec.get("VISITNUM", "")).strip() or date.isoformat()
        dates.setdefault((subject, ev, visit), []).append(date)
        cell = cells.setdefault((subject, ev, visit, link), {"_row": row, "_tests": {}, "_dates": set()})
        cell["_dates"].add(date)
        _tr_result(cell, rec, test, visit, problems, file)
    return cells, dates


def _tr_date(rec: dict, test: str, tu_key: tuple[str, str, str], lesions_tu: dict, problems: _Problems,
             file: str) -> dt.date | None:
    """The scan date of a TR measurement record, or None (recorded on ``problems``) when it cannot be used.

    Refused: a blank ``TRLNKID``, an unknown test code, a lesion without a TU
    record (``tu_key``: subject, evaluator when TU names evaluators, link id),
    a partial or invalid ``TRDTC``.
    """
    subject, named_evaluator, link = tu_key
    row = rec["_row"]
    if link == "":
        problems.add(f"TR record {test} has a blank TRLNKID: the lesion it measures cannot be known; "
                     "give TRLNKID (the TU record's TULNKID)", "sdtm.missing_link", file=file,
                     subject=subject, row=row, column="TRLNKID", value="")
        return None
    if test not in MEASUREMENT_TESTS and test != "TUMSTATE":
        problems.add(f"unknown TRTESTCD '{rec['TRTESTCD']}'; respond reads LDIAM, LPERP, SAXIS and TUMSTATE",
                     "sdtm.unknown_test", file=file, subject=subject, row=row, column="TRTESTCD",
                     value=rec["TRTESTCD"])
        return None
    if tu_key not in lesions_tu:
        problems.add(f"lesion {link} is in TR but has no TU record"
                     + (f" for evaluator '{named_evaluator}'" if named_evaluator else ""),
                     "sdtm.lesion_without_tu", file=file, subject=subject, row=row, column="TRLNKID",
                     value=link)
        return None
    date = _dtc_date(rec["TRDTC"])
    if date is None:
        what = "partial date" if re.match(r"^\d{4}(-\d{2})?$", rec["TRDTC"].strip()) else "date"
        problems.add(f"{what} '{rec['TRDTC']}' in TRDTC: respond does not guess missing days or months",
                     "sdtm.partial_date" if what == "partial date" else "sdtm.bad_date",
                     file=file, subject=subject, row=row, column="TRDTC", value=rec["TRDTC"])
    return date


def _tr_result(cell: dict, rec: dict, test: str, visit: str, problems: _Problems, file: str) -> None:
    """Enter one TR result into its lesion's ``cell``: status (``TRSTAT = NOT DONE``, ``TUMSTATE``) or a
    diameter (mm). A second record of the same test and visit that differs, or an unknown ``TUMSTATE``,
    is recorded on ``problems`` instead."""
    subject, link, row = rec["USUBJID"].strip(), rec["TRLNKID"].strip(), rec["_row"]
    result = (str(rec.get("TRSTAT", "")).strip().upper(), rec["TRSTRESC"].strip().upper(),
              str(rec["TRSTRESN"]).strip(), str(rec.get("TRSTRESU", "")).strip().lower())
    seen = cell["_tests"].get(test)
    if seen is not None and seen[0] != result:
        problems.add(f"lesion {link} has conflicting {test} records at visit {visit} (rows {seen[1]} and {row}); "
                     "keep one record per lesion, test and visit", "sdtm.conflicting_records", file=file,
                     subject=subject, row=row, column="TRSTRESC", value=rec["TRSTRESC"])
        return
    cell["_tests"][test] = (result, row)
    if str(rec.get("TRSTAT", "")).strip().upper() == "NOT DONE":
        cell["status"] = "not_evaluated"
    elif test == "TUMSTATE":
        state = rec["TRSTRESC"].strip().upper()
        if state not in TUMOR_STATES:
            problems.add(f"unknown TUMSTATE '{rec['TRSTRESC']}'; expected one of {', '.join(TUMOR_STATES)}",
                         "sdtm.unknown_term", file=file, subject=subject, row=row, column="TRSTRESC",
                         value=rec["TRSTRESC"])
            return
        cell["status"], cell["equivocal"] = TUMOR_STATES[state]
    else:
        _measurement(cell, test, rec, problems, file, subject)


def _stream_ids(cells: dict[tuple[str, str, str, str], dict]) -> dict[tuple[str, str], str]:
    """Patient id per (subject, evaluator) stream: ``USUBJID``, or ``USUBJID/EVALUATOR`` when the subject
    has several evaluators."""
    streams = sorted({(s, ev) for (s, ev, _, _) in cells})
    per_subject: dict[str, int] = {}
    for s, _ in streams:
        per_subject[s] = per_subject.get(s, 0) + 1
    return {(s, ev): (f"{s}/{ev}" if per_subject[s] > 1 and ev else s) for s, ev in streams}


#: Columns of the lesion table read from TU/TR (text cells, as a CSV lesion table holds them).
_LESION_COLUMNS: Final = ("patient_id", "date", "lesion_id", "organ", "longest_diameter_mm", "short_axis_mm",
                          "role", "status", "equivocal", "visitnum", "visit", "fragment_of")


def _lesion_frame(cells: dict, dates: dict, lesions_tu: dict, tu_has_evaluator: bool,
                  ids: dict[tuple[str, str], str]) -> pd.DataFrame:
    """One lesion-table row per TR cell, in the order the cells were first read."""
    rows = []
    for (subject, ev, visit, link), cell in cells.items():
        tu_key = (subject, ev if tu_has_evaluator else "", link)
        tu_rec = lesions_tu[tu_key]
        has_visit = not _is_date_key(visit)
        rows.append({
            "patient_id": ids[(subject, ev)],
            # With VISITNUM each lesion keeps its own scan date and the visit groups them (the
            # criteria date the response at the visit's latest scan); without, the date is the visit.
            "date": (min(cell["_dates"]) if has_visit else min(dates[(subject, ev, visit)])).isoformat(),
            "lesion_id": link, "organ": tu_rec["organ"],
            "longest_diameter_mm": cell.get("longest_diameter_mm", ""), "short_axis_mm": cell.get("short_axis_mm", ""),
            "role": tu_rec["role"] or "", "status": cell.get("status", ""),
            "equivocal": "true" if cell.get("equivocal") else "", "visitnum": visit,
            "visit": visit if has_visit else "",
            "fragment_of": _fragment_parent(link, tu_key, lesions_tu),
        })
    return pd.DataFrame(rows, columns=list(_LESION_COLUMNS))


def _is_date_key(visit: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", visit))


def _fragment_parent(link: str, tu_key: tuple[str, str, str], lesions_tu: dict) -> str:
    """Parent of a split lesion: ``T04.1`` and ``T04.2`` are fragments of ``T04`` when T04 has a TU record
    (SDTMIG TU: a lesion that splits gets new link ids derived from the original)."""
    if "." not in link:
        return ""
    parent = link.rsplit(".", 1)[0]
    return parent if (tu_key[0], tu_key[1], parent) in lesions_tu else ""


def _why_no_lesions(tu: pd.DataFrame, tr: pd.DataFrame, evaluator: str | None) -> str:
    """Why TU/TR gave no lesion row: empty domains, only derived sums, or an evaluator naming nobody."""
    if tu.empty:
        return "no lesion left: the TU dataset has no records (header only)"
    if tr.empty:
        return "no lesion left: the TR dataset has no records (header only)"
    tests = set(tr["TRTESTCD"].str.strip().str.upper())
    if tests <= IGNORED_TESTS:
        return (f"no lesion left: TR holds only derived results ({', '.join(sorted(tests))}); respond needs the "
                "per-lesion LDIAM / LPERP / SAXIS / TUMSTATE records")
    if evaluator is not None:
        found = sorted({_evaluator(r, "TR") or "(none)" for r in tr.to_dict("records")})
        return f"no lesion left: no TR record of evaluator '{evaluator}' (evaluators found: {', '.join(found)})"
    return "no lesion left after reading TU and TR"


def _measurement(cell: dict, test: str, rec: dict, problems: _Problems, file: str, subject: str) -> None:
    column = MEASUREMENT_TESTS[test]
    text = str(rec["TRSTRESN"]).strip()
    result_c = rec["TRSTRESC"].strip().upper()
    if text == "":
        if result_c == "TOO SMALL TO MEASURE":
            cell["status"] = "too_small"
        elif result_c in ("NOT EVALUABLE", "NE", "NOT ASSESSED"):
            cell["status"] = "not_evaluated"
        return
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        problems.add(f"TRSTRESN '{text}' is not a number; leave it blank with TRSTAT = NOT DONE (or TRSTRESC "
                     "NOT EVALUABLE / TOO SMALL TO MEASURE) when the lesion was not measured",
                     "sdtm.bad_number", file=file, subject=subject, row=rec["_row"], column="TRSTRESN", value=text)
        return
    unit = str(rec.get("TRSTRESU", "mm")).strip().lower() or "mm"
    if unit not in ("mm", "cm"):
        problems.add(f"TRSTRESU '{unit}' for {test}; respond reads mm or cm", "sdtm.bad_unit", file=file,
                     subject=subject, row=rec["_row"], column="TRSTRESU", value=unit)
        return
    cell[column] = value * 10 if unit == "cm" else value


def _criteria_of(category: str) -> str:
    cat = category.upper()
    if "RANO" in cat:
        return "rano-bm"
    return "recist1.1"


def read_recorded_responses(rs: str | Path, ids: dict[tuple[str, str], str]) -> pd.DataFrame:
    """The recorded per-visit overall responses (``OVRLRESP``) of RS, by stream and criteria."""
    frame = read_domain(rs, "RS", ["USUBJID", "RSTESTCD", "RSSTRESC"])
    date_column = "RSDTC" if "RSDTC" in frame.columns else None
    out = []
    for rec in frame.to_dict("records"):
        if rec["RSTESTCD"].strip().upper() != "OVRLRESP":
            continue
        subject = rec["USUBJID"].strip()
        ev = _evaluator(rec, "RS")
        patient = ids.get((subject, ev)) or ids.get((subject, "")) or subject
        out.append({
            "patient_id": patient, "criteria": _criteria_of(str(rec.get("RSCAT", ""))),
            "visitnum": str(rec.get("VISITNUM", "")).strip(),
            "date": _dtc_date(rec[date_column]) if date_column else None,
            "recorded_response": RS_RESPONSES.get(rec["RSSTRESC"].strip().upper(), rec["RSSTRESC"].strip()),
            "rs_row": rec["_row"],
        })
    return pd.DataFrame(out, columns=["patient_id", "criteria", "visitnum", "date", "recorded_response", "rs_row"])


def compare_with_recorded(timepoints: pd.DataFrame, recorded: pd.DataFrame, lesions: pd.DataFrame) -> pd.DataFrame:
    """QC table: respond's overall response next to the recorded one, per stream, criteria and visit.

    Visits are matched by ``VISITNUM`` when both sides have it, else by date.
    """
    visit_dates = (lesions[["patient_id", "visitnum", "date"]].drop_duplicates()
                   if "visitnum" in lesions.columns else pd.DataFrame(columns=["patient_id", "visitnum", "date"]))
    visit_of = {(r.patient_id, str(r.date)): r.visitnum for r in visit_dates.itertuples()}
    ours = {}
    for r in timepoints.itertuples():
        if r.overall_response:
            key_visit = visit_of.get((r.patient_id, str(r.date)))
            ours[(r.patient_id, r.criteria, key_visit or str(r.date))] = (r.overall_response, str(r.date), r.reason)
    rows = []
    for r in recorded.itertuples():
        key = (r.patient_id, r.criteria, r.visitnum or str(r.date))
        mine = ours.get(key)
        rows.append({
            "patient_id": r.patient_id, "criteria": r.criteria, "visitnum": r.visitnum,
            "date": mine[1] if mine else (str(r.date) if r.date else None),
            "recorded_response": r.recorded_response, "respond_response": mine[0] if mine else None,
            "agree": bool(mine) and mine[0] == r.recorded_response,
            "respond_reason": mine[2] if mine else "no respond assessment at this visit",
        })
    return pd.DataFrame(rows, columns=["patient_id", "criteria", "visitnum", "date", "recorded_response",
                                       "respond_response", "agree", "respond_reason"])


# --- export ---------------------------------------------------------------------------------

_STATE_OUT: Final = {"present": "PRESENT", "absent": "ABSENT", "progression": "UNEQUIVOCAL PROGRESSION",
                     "too_small": "TOO SMALL TO MEASURE", "not_evaluated": "NOT EVALUABLE"}
_ROLE_OUT: Final = {"target": "TARGET", "non_target": "NON-TARGET", "new": "NEW"}
_RS_TESTS: Final = {"overall_response": ("OVRLRESP", "Overall Response"),
                    "target_response": ("TRGRESP", "Target Response"),
                    "non_target_response": ("NTRGRESP", "Non-target Response")}


def _state(row) -> str:
    if row.get("status"):
        return _STATE_OUT[row["status"]]
    ld = row.get("longest_diameter_mm")
    if ld is None or pd.isna(ld):
        return "NOT EVALUABLE"
    return "ABSENT" if float(ld) == 0 else "PRESENT"


def build_sdtm(lesions: pd.DataFrame, targets: pd.DataFrame, timepoints: pd.DataFrame,
               best: pd.DataFrame, *, criteria: str, study_id: str) -> dict[str, pd.DataFrame]:
    """TU, TR and RS datasets of one criteria's assessment."""
    role_of, organ_of = _roles_and_organs(lesions, targets, criteria)
    visitnum = _visit_numbers(lesions)
    return {"TU": _tu_dataset(role_of, organ_of, study_id),
            "TR": _tr_dataset(lesions, role_of, visitnum, study_id),
            "RS": _rs_dataset(timepoints, best, visitnum, criteria=criteria, study_id=study_id)}


def _roles_and_organs(lesions: pd.DataFrame, targets: pd.DataFrame,
                      criteria: str) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """Role and organ per (patient, lesion) under ``criteria``, fragments included."""
    roles = targets[targets["criteria"] == criteria]
    role_of = {(r.patient_id, r.lesion_id): r.role for r in roles.itertuples()}
    organ_of = {(r.patient_id, r.lesion_id): r.organ for r in roles.itertuples()}
    # Fragments (fragment_of) are written under their own link ids with the parent's role and location
    # (SDTMIG TU: a split lesion's pieces get new TULNKIDs); read back, they are summed under the parent.
    if "fragment_of" in lesions.columns:
        for r in lesions.itertuples():
            parent = getattr(r, "fragment_of")
            if isinstance(parent, str) and parent and (r.patient_id, parent) in role_of:
                role_of.setdefault((r.patient_id, r.lesion_id), role_of[(r.patient_id, parent)])
                organ_of.setdefault((r.patient_id, r.lesion_id), organ_of[(r.patient_id, parent)])
    return role_of, organ_of


def _numbered(rows: list[dict], domain: str) -> pd.DataFrame:
    """The dataset of ``rows`` with its sequence number (``TUSEQ`` …, 1, 2, … per subject) as 4th variable."""
    frame = pd.DataFrame(rows)
    if len(frame):
        frame.insert(3, f"{domain}SEQ", frame.groupby("USUBJID").cumcount() + 1)
    return frame


def _tu_dataset(role_of: dict, organ_of: dict, study_id: str) -> pd.DataFrame:
    """TU: one identification record (target / non-target / new) per lesion, with its location."""
    tu_rows = []
    for (pid, lid), role in sorted(role_of.items()):
        if role not in _ROLE_OUT:
            continue
        organ = organ_of[(pid, lid)]
        tu_rows.append({"STUDYID": study_id, "DOMAIN": "TU", "USUBJID": pid, "TULNKID": lid,
                        "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                        "TUORRES": _ROLE_OUT[role], "TUSTRESC": _ROLE_OUT[role],
                        "TULOC": "LYMPH NODE" if organ == "lymph_node" else organ.replace("_", " ").upper()})
    return _numbered(tu_rows, "TU")


def _tr_dataset(lesions: pd.DataFrame, role_of: dict, visitnum: dict, study_id: str) -> pd.DataFrame:
    """TR: per identified lesion and scan, LDIAM / LPERP (mm) when measured and the tumour state."""
    tr_rows = []
    for row in lesions.sort_values(["patient_id", "date", "lesion_id"]).to_dict("records"):
        pid, lid, date = row["patient_id"], row["lesion_id"], str(row["date"])
        if (pid, lid) not in role_of or role_of[(pid, lid)] not in _ROLE_OUT:
            continue
        common = {"STUDYID": study_id, "DOMAIN": "TR", "USUBJID": pid, "TRLNKID": lid,
                  "VISITNUM": visitnum[(pid, date)], "TRDTC": date}
        for column, (code, name) in (("longest_diameter_mm", ("LDIAM", "Longest Diameter")),
                                     ("short_axis_mm", ("LPERP", "Longest Perpendicular"))):
            value = row.get(column)
            if value is not None and not pd.isna(value):
                tr_rows.append({**common, "TRTESTCD": code, "TRTEST": name, "TRORRES": f"{float(value):g}",
                                "TRORRESU": "mm", "TRSTRESC": f"{float(value):g}", "TRSTRESN": float(value),
                                "TRSTRESU": "mm"})
        state = _state(row)
        if row.get("equivocal") is True and state == "PRESENT":
            state = "EQUIVOCAL"
        tr_rows.append({**common, "TRTESTCD": "TUMSTATE", "TRTEST": "Tumor State", "TRORRES": state,
                        "TRORRESU": "", "TRSTRESC": state, "TRSTRESN": None, "TRSTRESU": ""})
    return _numbered(tr_rows, "TR")


def _rs_dataset(timepoints: pd.DataFrame, best: pd.DataFrame, visitnum: dict, *, criteria: str,
                study_id: str) -> pd.DataFrame:
    """RS: overall, target and non-target response per assessed visit, then the best overall response."""
    name = criteria.upper().replace("RECIST1.1", "RECIST 1.1")
    rs_rows = []
    for row in timepoints[timepoints["criteria"] == criteria].to_dict("records"):
        if not row.get("overall_response"):
            continue
        for column, (code, test) in _RS_TESTS.items():
            value = row.get(column)
            if value:
                rs_rows.append({"STUDYID": study_id, "DOMAIN": "RS", "USUBJID": row["patient_id"],
                                "RSTESTCD": code, "RSTEST": test, "RSCAT": name, "RSORRES": value,
                                "RSSTRESC": value, "VISITNUM": _rs_visit(visitnum, row),
                                "RSDTC": str(row["date"])})
    for row in best[best["criteria"] == criteria].to_dict("records"):
        rs_rows.append({"STUDYID": study_id, "DOMAIN": "RS", "USUBJID": row["patient_id"], "RSTESTCD": "BESTRSP",
                        "RSTEST": "Best Overall Response", "RSCAT": name, "RSORRES": row["best_overall_response"],
                        "RSSTRESC": row["best_overall_response"], "VISITNUM": None,
                        "RSDTC": str(row["best_response_date"] or "")})
    rs = _numbered(rs_rows, "RS")
    if len(rs):
        rs["VISITNUM"] = rs["VISITNUM"].astype("Int64")
    return rs


def _rs_visit(visitnum: dict, row: dict):
    """VISITNUM of a timepoint: by its date, or by its visit label when the visit spans several dates."""
    number = visitnum.get((row["patient_id"], str(row["date"])))
    if number is None and row.get("visit") is not None:
        try:
            number = float(row["visit"])
        except (TypeError, ValueError):
            return None
    return number


def _visit_numbers(lesions: pd.DataFrame) -> dict[tuple[str, str], int | float]:
    """VISITNUM per (patient, scan date): the lesion table's numeric ``visit`` when it has one; visits
    with other labels numbered 1, 2, … in the order of their first scan; without ``visit``, one visit per
    date in date order."""
    out: dict[tuple[str, str], int | float] = {}
    for pid, group in lesions.groupby("patient_id"):
        dates = group["date"].astype(str)
        visits = group["visit"] if "visit" in group.columns else pd.Series([None] * len(group), index=group.index)
        numeric = pd.to_numeric(visits, errors="coerce")
        if numeric.notna().all():
            for date, number in zip(dates, numeric):
                out[(pid, date)] = int(number) if float(number).is_integer() else float(number)
            continue
        labelled = visits.map(lambda v: isinstance(v, str) and v.strip() != "")
        if labelled.all():
            first = {}
            for date, label in sorted(zip(dates, visits)):
                first.setdefault(label, date)
            order = {label: i for i, label in enumerate(sorted(first, key=lambda lab: (first[lab], lab)), start=1)}
            for date, label in zip(dates, visits):
                out[(pid, date)] = order[label]
            continue
        for i, date in enumerate(sorted(set(dates)), start=1):
            out[(pid, date)] = i
    return out


def export_sdtm(run_dir: str | Path, out_dir: str | Path, *, criteria: str = "recist1.1",
                study_id: str = "RESPOND", xpt: bool = False) -> dict[str, Path]:
    """Write TU, TR, RS (CSV, and .xpt with ``xpt``) from the outputs of a run in ``run_dir``."""
    run = Path(run_dir)
    tables = {name: read_run_table(run, name, required=True, code="sdtm.run_incomplete",
                                   hint="give the output folder of respond evaluate or assess")
              for name in ("lesions", "targets", "timepoints", "best_response")}
    if criteria not in set(tables["timepoints"]["criteria"]):
        raise InputTableError(f"criteria '{criteria}' is not in this run (found: "
                              f"{', '.join(sorted(set(tables['timepoints']['criteria'])))})",
                              code="sdtm.unknown_criteria", file=str(run / "timepoints.csv"))
    tables["lesions"]["equivocal"] = tables["lesions"].get("equivocal", pd.Series(dtype=object)).map(
        lambda v: str(v).strip().lower() in ("true", "1", "yes"))
    datasets = build_sdtm(tables["lesions"], tables["targets"], tables["timepoints"], tables["best_response"],
                          criteria=criteria, study_id=study_id)
    out = Path(out_dir)
    paths = {}
    for name, frame in datasets.items():
        paths[name] = write_csv(frame, out / f"{name.lower()}.csv")
        if xpt:
            paths[f"{name}.xpt"] = _write_xpt(frame, out / f"{name.lower()}.xpt", name)
    return paths


def _write_xpt(frame: pd.DataFrame, path: Path, name: str) -> Path:
    import pyreadstat

    data = frame.copy()
    for column in data.columns:
        if data[column].dtype == object:
            data[column] = data[column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                                            else str(v))
    return atomic_write(path, lambda tmp: pyreadstat.write_xport(data, str(tmp), table_name=name, file_format_version=5))
