"""Read the adjudication table: a finding that overrides the imaging call of a lesion at a scan.

Columns (:data:`respond.tables.ADJUDICATIONS`): ``patient_id, lesion_id,
date, finding`` and an optional ``source``. ``finding`` is ``tumor``,
``radionecrosis`` or ``pseudoprogression``. Reading is strict, as for the
lesion table: an unknown finding, a bad date, a duplicate, a lesion the
patient does not have, or a date that is not one of the patient's scan dates
is an error naming the file, row and value, and excludes that patient only.
"""
from __future__ import annotations

import pandas as pd

from respond.io.lesion_table import ReadResult, TableSource
from respond.io.lesion_table import check_duplicates as _check_duplicates
from respond.io.lesion_table import finish as _finish
from respond.io.lesion_table import load_table as _load
from respond.io.lesion_table import patient_ids as _patient_ids
from respond.io.lesion_table import require_columns as _require_columns
from respond.io.lesion_table import RowParser as _RowParser
from respond.tables import ADJUDICATION_FINDINGS, ADJUDICATIONS


def read_adjudications_table(source: TableSource, *, lesions: pd.DataFrame | None = None) -> ReadResult:
    """Read and validate an adjudication table.

    With ``lesions`` (a validated lesion table), each row must name a lesion of
    that patient and one of the patient's scan dates.
    """
    frame, name, _ = _load(source, ADJUDICATIONS)
    _require_columns(frame, ADJUDICATIONS, name)
    parser = _RowParser(name)
    frame["patient_id"] = _patient_ids(frame, name)
    known_lesions: dict[str, set[str]] = {}
    scan_dates: dict[str, set] = {}
    if lesions is not None and not lesions.empty:
        for pid, rows in lesions.groupby("patient_id"):
            known_lesions[pid] = set(rows["lesion_id"])
            scan_dates[pid] = set(rows["date"])
    dates, findings, lesion_ids = [], [], []
    for rec in frame.to_dict("records"):
        pid, row = rec["patient_id"], rec["_row"]
        date = parser.date(pid, row, "date", rec["date"], required=True)
        finding = parser.choice(pid, row, "finding", rec["finding"], ADJUDICATION_FINDINGS)
        if finding is None and str(rec["finding"]).strip() in ("", "nan"):
            parser.fail(pid, row, "finding", rec["finding"],
                        f"finding is blank; give one of {', '.join(ADJUDICATION_FINDINGS)}", "table.unknown_value")
        lesion = str(rec["lesion_id"]).strip()
        if lesions is not None and pid not in known_lesions:
            parser.fail(pid, row, "patient_id", pid, f"patient {pid} is not in the lesion table",
                        "table.unknown_patient")
        elif lesion in ("", "nan"):
            parser.fail(pid, row, "lesion_id", rec["lesion_id"], "lesion_id is blank", "table.missing_lesion")
        elif lesions is not None and pid in known_lesions and lesion not in known_lesions[pid]:
            parser.fail(pid, row, "lesion_id", lesion,
                        f"lesion {lesion} is not in the lesion table for patient {pid}", "table.unknown_lesion")
        if lesions is not None and date is not None and pid in scan_dates and date not in scan_dates[pid]:
            parser.fail(pid, row, "date", rec["date"],
                        f"{date} is not a scan date of patient {pid}; an adjudication overrides the imaging "
                        "call of one scan, so give that scan's date", "table.unknown_date")
        dates.append(date)
        findings.append(finding)
        lesion_ids.append(lesion)
    frame["date"], frame["finding"], frame["lesion_id"] = dates, findings, lesion_ids
    if "source" not in frame.columns:
        frame["source"] = ""
    _check_duplicates(frame, ["patient_id", "lesion_id", "date"], parser)
    return _finish(frame, parser, name)
