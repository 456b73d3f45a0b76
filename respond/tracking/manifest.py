"""Read a scan manifest (one row per scan) and a manual links table, strictly.

Manifest columns: ``patient_id, date, mask`` and optional ``image, organ``
(:data:`respond.tables.MANIFEST`). Relative paths are relative to the
manifest's folder. ``mask`` may be a DICOM SEG file (each segment a lesion) and
``image`` a DICOM series folder; when the mask is DICOM a blank ``date`` is
read from the DICOM header (SEG StudyDate, else the DICOM image series' date);
a blank date with a non-DICOM mask stays an error. Problems of one row (bad, partial or duplicate date, missing
file, a path escaping the manifest's folder, no organ) exclude that row's
patient and are returned as failures naming the file, row, column and value;
problems of the whole table (missing file or column, blank patient id) raise
:class:`~respond.errors.InputTableError`.

Links columns: ``patient_id, date, source_label, lesion_id`` and optional
``action`` (``link``, the default, or ``unlink``). ``link`` forces component
``source_label`` of the scan at ``date`` to be lesion ``lesion_id`` (several
components linked to one id at one date are fragments of a split; an id never
seen before names a new lesion); ``unlink`` forbids that pairing.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from respond.config import normalise_organ
from respond.errors import InputTableError, RespondError
from respond.io.lesion_table import MISSING_WORDS
from respond.io.lesion_table import check_duplicates as _check_duplicates
from respond.io.lesion_table import load_table as _load
from respond.io.lesion_table import patient_ids as _patient_ids
from respond.io.lesion_table import require_columns as _require_columns
from respond.io.lesion_table import RowParser as _RowParser
from respond.tables import LINK_ACTIONS, LINKS, MANIFEST

ManifestSource = str | os.PathLike | pd.DataFrame


@dataclass
class Manifest:
    """Validated scans: ``frame`` has ``patient_id, date (datetime.date), mask (Path), image (Path or None),
    organ (str or None), _row``, sorted by patient then date; ``failures`` the excluded patients' problems."""

    frame: pd.DataFrame
    failures: list[RespondError] = field(default_factory=list)
    source: str = "<DataFrame>"

    @property
    def patients(self) -> list[str]:
        """Patient ids in order of first appearance in the manifest."""
        return list(dict.fromkeys(self.frame["patient_id"]))

    def scans(self, patient_id: str) -> pd.DataFrame:
        """One patient's scans, sorted by date (never by file name)."""
        rows = self.frame[self.frame["patient_id"] == patient_id]
        return rows.sort_values("date", kind="stable").reset_index(drop=True)


def _symlink_in(path: Path, base: Path) -> Path | None:
    """The first symbolic link on ``path`` below ``base`` (the file itself or a folder between them), if any."""
    above = {base.absolute(), *base.absolute().parents}
    for candidate in (path.absolute(), *path.absolute().parents):
        if candidate in above:
            break
        if candidate.is_symlink():
            return candidate
    return None


def _outside_message(text: str, full: Path, base: Path) -> str:
    """Why a path outside the manifest's folder is refused: names the path, never reads the file it reaches."""
    fix = "move the file under that folder or pass allow_outside=True (CLI: --allow-outside-paths)"
    link = _symlink_in(full, base)
    if link is not None:
        return (f"path '{text}' is a symbolic link ({link} → {full.resolve()}) that resolves outside the "
                f"manifest's folder; {fix}")
    return f"path '{text}' leads outside the manifest's folder; {fix}"


def _resolve(parser: _RowParser, pid: str, row, column: str, value, base: Path, *, allow_outside: bool,
             required: bool) -> Path | None:
    text = "" if value is None else str(value).strip()
    if text in ("", "nan"):
        if required:
            parser.fail(pid, row, column, value, f"{column} is blank; give the {column} file", "manifest.missing_path")
        return None
    path = Path(text)
    full = path if path.is_absolute() else base / path
    try:
        if not allow_outside and not _inside(full, base):
            parser.fail(pid, row, column, text, _outside_message(text, full, base), "manifest.path_outside")
            return None
        if not full.exists():
            parser.fail(pid, row, column, text, f"{column} file '{text}' not found (looked for {full})",
                        "manifest.file_not_found")
            return None
    except OSError as exc:  # e.g. a name over 255 characters (ENAMETOOLONG): this row's patient only
        parser.fail(pid, row, column, _shortened(text),
                    f"{column} path cannot be used ({exc.strerror or exc}; {len(text)} characters); give a "
                    "shorter path (each name at most 255 characters)", "manifest.bad_path")
        return None
    return full


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (resolved) lies under ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _shortened(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters for a message (the head and the tail)."""
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}"


def read_manifest(
    source: ManifestSource,
    *,
    base_dir: str | os.PathLike | None = None,
    organ: str | None = None,
    allow_outside: bool = False,
) -> Manifest:
    """Read and validate a scan manifest.

    ``base_dir`` is the folder relative paths are resolved against (default:
    the manifest's folder, or the working folder for a DataFrame); ``organ``
    the organ of rows without one. Paths leading outside ``base_dir`` are
    refused unless ``allow_outside``.
    """
    frame, name, _ = _load(source, MANIFEST)  # type: ignore[arg-type]
    _require_columns(frame, MANIFEST, name)
    if base_dir is None:
        base_dir = Path(name).parent if not isinstance(source, pd.DataFrame) else Path.cwd()
    base = Path(base_dir)
    parser = _RowParser(name)
    frame["patient_id"] = _patient_ids(frame, name)
    dates, masks, images, organs = [], [], [], []
    for rec in frame.to_dict("records"):
        pid, row = rec["patient_id"], rec["_row"]
        date = parser.date(pid, row, "date", rec["date"], required=False)
        masks.append(_resolve(parser, pid, row, "mask", rec["mask"], base, allow_outside=allow_outside, required=True))
        images.append(_resolve(parser, pid, row, "image", rec.get("image"), base, allow_outside=allow_outside,
                               required=False))
        if date is None and str(rec["date"]).strip() == "":
            date = _dicom_date(parser, pid, row, masks[-1], images[-1])
        dates.append(date)
        text = str(rec.get("organ", "") or "").strip()
        if text in ("", "nan"):
            if organ is None:
                parser.fail(pid, row, "organ", rec.get("organ", ""),
                            "organ is blank and no default organ was given (organ=..., CLI: --organ)",
                            "manifest.missing_organ")
            text = organ or ""
        elif text.lower() in MISSING_WORDS:  # 'NA', 'null', 'None' would otherwise be an organ named 'na'
            parser.fail(pid, row, "organ", rec.get("organ", ""), "organ is a missing-value marker; leave the "
                        "cell blank (with --organ) or name the organ", "manifest.missing_organ")
        organs.append(normalise_organ(text) if text else None)
    frame["date"], frame["mask"], frame["image"], frame["organ"] = dates, masks, images, organs
    _check_duplicates(frame, ["patient_id", "date"], parser)
    bad = {e.patient_id for e in parser.failures}
    kept = frame.loc[~frame["patient_id"].isin(bad), ["patient_id", "date", "mask", "image", "organ", "_row"]]
    kept = kept.sort_values(["patient_id", "date"], kind="stable").reset_index(drop=True)
    return Manifest(kept, parser.failures, name)


def _dicom_date(parser: _RowParser, pid: str, row, mask: Path | None, image: Path | None) -> dt.date | None:
    """The scan date of a row whose ``date`` is blank, from its DICOM mask (SEG or series) or DICOM image series.

    A SEG gives its StudyDate; a DICOM series its StudyDate, else SeriesDate,
    else AcquisitionDate (:func:`respond.io.dicom.study_date`). A row whose mask
    is not DICOM stays an error: respond never guesses a date.
    """
    from respond.io.dicom import is_dicom, study_date

    if mask is None:  # the mask's own failure is already recorded
        return None
    sources = [p for p in (mask, image) if p is not None and is_dicom(p)]
    if mask not in sources:
        parser.fail(pid, row, "date", "", "date is blank; give an ISO date YYYY-MM-DD (a blank date is read from "
                    "the DICOM header only when the mask is a DICOM SEG or series)", "table.missing_date")
        return None
    for source in sources:
        try:
            date, _ = study_date(source)
        except RespondError as exc:
            parser.fail(pid, row, "date", "", f"date is blank and the DICOM date of {source} is unusable: "
                        f"{exc.message}", "manifest.dicom_date")
            return None
        if date is not None:
            return date
    parser.fail(pid, row, "date", "", "date is blank and the DICOM header has no StudyDate (nor, for an image "
                "series, SeriesDate or AcquisitionDate); give an ISO date YYYY-MM-DD", "table.missing_date")
    return None


def duplicate_mask_warnings(frame: pd.DataFrame, mask_hashes: dict[tuple[str, str], str | None]) -> list[dict]:
    """Warnings (:data:`respond.tables.WARNINGS`, code ``duplicate_mask_file``) for masks with the same content.

    ``frame``: the manifest rows (``patient_id, date, mask, _row``); ``mask_hashes``: the SHA-256 of each
    row's mask by ``(patient_id, ISO date)``. The same mask content at two dates or for two patients is
    usually a segmentation copied to the wrong scan (the tracked series then shows a lesion unchanged, or
    another patient's lesions), but it can be genuine (an unchanged segmentation carried forward; two
    empty masks on the same grid), so it is warned, once per row involved, not refused.
    """
    rows: dict[str, list[dict]] = {}
    for rec in frame.to_dict("records"):
        digest = mask_hashes.get((rec["patient_id"], str(rec["date"])))
        if digest is not None:
            rows.setdefault(digest, []).append(rec)
    warnings = []
    for digest, same in rows.items():
        for rec in same if len(same) > 1 else ():
            others = [o for o in same if o is not rec]
            named = "; ".join(f"patient {o['patient_id']} {o['date']} (row {o['_row']})" for o in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            warnings.append({"patient_id": rec["patient_id"], "criteria": None, "code": "duplicate_mask_file",
                             "message": f"the mask of {rec['date']} (row {rec['_row']}, {Path(str(rec['mask'])).name}) "
                                        f"has the same content (SHA-256 {digest[:12]}…) as the mask of {named}{more}; "
                                        "a segmentation copied to another scan or patient gives wrong responses: "
                                        "check that each scan has its own mask"})
    return warnings


def check_link_patients(links: list[Link], patients: set[str]) -> None:
    """Every link names a patient of the manifest, else :class:`~respond.errors.InputTableError` naming the row."""
    for link in links:
        if link.patient_id not in patients:
            known = ", ".join(sorted(patients)[:5]) + (f", … ({len(patients)} patients)" if len(patients) > 5 else "")
            raise InputTableError(
                f"links row {link.row} names patient {link.patient_id}, who is not in the manifest "
                f"(patients: {known or 'none'}); fix the patient id or remove the row",
                code="links.unknown_patient", file=link.file, patient_id=link.patient_id, row=link.row,
                column="patient_id", value=link.patient_id)


@dataclass(frozen=True)
class Link:
    """One manual link or unlink (see the module docstring)."""

    patient_id: str
    date: dt.date
    source_label: str
    lesion_id: str
    action: str
    row: object
    file: str


def read_links(source: ManifestSource) -> list[Link]:
    """Read a manual links table; any problem raises :class:`~respond.errors.InputTableError`.

    A component linked to two different lesions at one date, or both linked
    and unlinked to the same lesion, is refused.
    """
    frame, name, _ = _load(source, LINKS)  # type: ignore[arg-type]
    _require_columns(frame, LINKS, name)
    parser = _RowParser(name)
    frame["patient_id"] = _patient_ids(frame, name)
    links: list[Link] = []
    for rec in frame.to_dict("records"):
        pid, row = rec["patient_id"], rec["_row"]
        date = parser.date(pid, row, "date", rec["date"], required=True)
        label = str(rec["source_label"]).strip()
        lesion = str(rec["lesion_id"]).strip()
        for column, text in (("source_label", label), ("lesion_id", lesion)):
            if text in ("", "nan"):
                parser.fail(pid, row, column, rec[column], f"{column} is blank", "links.blank")
        action = parser.choice(pid, row, "action", rec.get("action", "") or "link", LINK_ACTIONS) or "link"
        if date is not None:
            links.append(Link(pid, date, label, lesion, action, row, name))
    seen: dict[tuple, Link] = {}
    for link in links:
        if link.action != "link":
            continue
        key = (link.patient_id, link.date, link.source_label)
        if key in seen and seen[key].lesion_id != link.lesion_id:
            parser.fail(link.patient_id, link.row, "lesion_id", link.lesion_id,
                        f"component {link.source_label} at {link.date} is linked to lesion "
                        f"{seen[key].lesion_id} (row {seen[key].row}) and to {link.lesion_id}; one component is "
                        "one lesion (link several components to one id for a split)", "links.conflict")
        seen[key] = link
    for link in links:
        if link.action == "unlink":
            other = seen.get((link.patient_id, link.date, link.source_label))
            if other is not None and other.lesion_id == link.lesion_id:
                parser.fail(link.patient_id, link.row, "action", "unlink",
                            f"component {link.source_label} at {link.date} is both linked (row {other.row}) and "
                            f"unlinked to lesion {link.lesion_id}", "links.conflict")
    if parser.failures:
        raise parser.failures[0]
    return links
