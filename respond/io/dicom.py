"""DICOM inputs: image series folders, DICOM SEG masks and study dates.

Read with well-kept libraries only: pydicom for headers, SimpleITK/GDCM for
series voxels, highdicom (:func:`highdicom.seg.segread`) for segmentations.

**Series folders.** Every slice header is read (no voxels) and the slices are
sorted by their position along the slice normal (never by file name or
instance number). Refused, with the positions in the message: slices of
different orientation or size, slices not stacked along the normal (gantry
tilt), two slices at one position (``DUPLICATE_SLICE_MM``) and gaps that
differ from the nominal gap by more than ``SLICE_GAP_RTOL`` (a missing slice or
uneven spacing). With ``allow_uneven_slices=True`` a series whose gaps are all
whole multiples of the smallest gap is accepted: acquired slices are placed at
their true positions on a regular grid with the smallest gap, and each missing
slice of an *image* is filled by linear interpolation between its two
acquired neighbours (the interpolated slice indices are in the image's
metadata key ``respond:interpolated_slices``). Truly irregular spacing is
refused even then: it cannot be put on one grid without resampling acquired
data.

**DICOM SEG.** Each segment is one lesion. A SEG is returned as a
:class:`SegMask`: one cropped binary mask per segment on a common grid, so that
overlapping segments are never lost (``label_image`` gives a label image of
segment numbers when, and only when, no two segments overlap). The lesion id of
a segment is its TrackingID, else its SegmentLabel, else its segment number
(see :func:`segment_lesion_ids`). FRACTIONAL segments are binarised at
``FRACTIONAL_THRESHOLD`` of MaximumFractionalValue. The grid is the SEG's own
(the span of its frames) or, when an image grid is given, that grid: every SEG
frame must then lie on it within the tolerances of :mod:`respond.io.geometry`.

**Dates.** :func:`study_date` reads StudyDate (else SeriesDate, else
AcquisitionDate for an image series). For a SEG only StudyDate is used: its
SeriesDate and ContentDate are when the segmentation was made, not the scan.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import SimpleITK as sitk

from respond.errors import (
    format_values,
    GeometryError,
    GeometryMismatchError,
    ImageFileError,
    MaskValueError,
)
from respond.io.dicom_frames import open_seg
from respond.io.files import check_file, is_dicom_file
from respond.io.geometry import DIRECTION_ATOL, GEOMETRY_ATOL_MM, Geometry, format_vector, nonzero_box

#: Two slices whose positions along the slice normal differ by less than this (mm)
#: are duplicates (the same position acquired twice, e.g. a repeated or multi-echo slice).
DUPLICATE_SLICE_MM: Final = 0.01

#: Slice gaps may differ from the nominal gap by at most this fraction of it
#: (1 %, as ITK and highdicom use); a larger difference is a missing slice or
#: uneven spacing. Also the largest sideways offset between slices (gantry tilt),
#: as a fraction of the gap.
SLICE_GAP_RTOL: Final = 0.01

#: A voxel of a FRACTIONAL segment is in the lesion when its stored value is at
#: least this fraction of the SEG's MaximumFractionalValue (0.5: probability or
#: occupancy of one half or more).
FRACTIONAL_THRESHOLD: Final = 0.5

#: SOP classes read as segmentations.
SEG_SOP_CLASSES: Final = {
    "1.2.840.10008.5.1.4.1.1.66.4": "Segmentation Storage",
    "1.2.840.10008.5.1.4.1.1.66.7": "Label Map Segmentation Storage",
}

#: Image metadata key listing the slice indices filled by interpolation.
INTERPOLATED_SLICES_KEY: Final = "respond:interpolated_slices"

_HEADER_TAGS: Final = (
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns", "NumberOfFrames",
    "InstanceNumber", "SOPClassUID", "StudyDate", "SeriesDate", "AcquisitionDate", "FrameOfReferenceUID",
    "SeriesInstanceUID",
)


# --------------------------------------------------------------------------- detection


def is_dicom_seg(path: str | os.PathLike) -> bool:
    """True when ``path`` is a DICOM file of a segmentation SOP class (header only is read)."""
    if not is_dicom_file(path):
        return False
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # noqa: BLE001 - a file pydicom cannot parse is simply not a SEG
        return False
    return str(ds.get("SOPClassUID", "")) in SEG_SOP_CLASSES


# --------------------------------------------------------------------------- series


def series_files(folder: Path) -> list[str]:
    """The files of the only DICOM series in ``folder``, in the order GDCM lists them."""
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        raise ImageFileError("no DICOM series found in folder", code="image.dicom", file=str(folder))
    if len(ids) > 1:
        raise ImageFileError(
            f"folder holds {len(ids)} DICOM series ({format_values(ids)}); give a folder with one series",
            code="image.dicom",
            file=str(folder),
        )
    return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), ids[0]))


@dataclass(frozen=True)
class SeriesLayout:
    """The slices of a DICOM series folder, sorted along the slice normal, and their grid.

    ``files`` are the acquired slices in order; ``slice_index[n]`` is the grid
    slice of ``files[n]``; ``missing`` the grid slices with no file (empty unless
    the series was read with ``allow_uneven_slices``); ``geometry`` the regular
    grid (spacing along the normal = the nominal gap).
    """

    folder: str
    files: tuple[str, ...]
    positions_mm: tuple[float, ...]
    slice_index: tuple[int, ...]
    missing: tuple[int, ...]
    geometry: Geometry


def _series_error(message: str, folder: Path, code: str = "image.dicom_series", value=None) -> ImageFileError:
    return ImageFileError(message, code=code, file=str(folder), value=value)


def _read_headers(files: Sequence[str], folder: Path) -> list:
    import pydicom

    headers = []
    for name in files:
        try:
            headers.append(pydicom.dcmread(name, stop_before_pixels=True, specific_tags=list(_HEADER_TAGS)))
        except Exception as exc:
            raise _series_error(f"cannot read the DICOM header of {Path(name).name}: {exc}", folder,
                                "image.unreadable") from exc
    return headers


def series_layout(folder: str | os.PathLike, *, allow_uneven_slices: bool = False) -> SeriesLayout:
    """Check the slice headers of the one DICOM series in ``folder`` and return its layout (no voxels read).

    Whether the slices form one regular volume, and each slice's index in it,
    is decided by :func:`highdicom.spatial.get_series_volume_positions`
    (relative gap tolerance ``SLICE_GAP_RTOL``; with ``allow_uneven_slices``,
    missing positions are allowed when every gap is a whole multiple of the
    smallest). When highdicom refuses the series, respond says why: duplicated
    positions, uneven or missing gaps, or a sheared stack.
    """
    folder = Path(folder)
    files = series_files(folder)
    headers = _read_headers(files, folder)
    _check_one_stack(files, headers, folder)
    if len(files) < 2:
        raise _series_error(f"the series has {len(files)} slice; a 3D image needs at least two", folder)
    first = headers[0]
    orientation = np.array([float(v) for v in first.ImageOrientationPatient])
    row, col = orientation[:3], orientation[3:]
    normal = np.cross(row, col)
    spacing, indices = _volume_positions(headers, allow_uneven_slices)
    ipp = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in headers])
    along = ipp @ normal
    if spacing is None or indices is None:
        order = np.argsort(along, kind="stable")
        _explain_refusal([files[n] for n in order], ipp[order], along[order], normal, folder, allow_uneven_slices)
        raise _series_error(
            f"the slice positions {format_values(along[order], unit='mm')} along the normal do not form one "
            "regular volume", folder, "image.dicom_uneven_slices")
    index = np.asarray(indices, int)
    if len(index) > 1 and np.corrcoef(index, along)[0, 1] < 0:  # number slices along row × column
        index = index.max() - index
    index = index - index.min()
    order = np.argsort(index, kind="stable")
    files, ipp, along, index = [files[n] for n in order], ipp[order], along[order], index[order]
    n_slices = int(index[-1]) + 1
    missing = tuple(sorted(set(range(n_slices)) - {int(i) for i in index}))
    pixel = np.array([float(v) for v in first.PixelSpacing])
    geometry = Geometry(
        size=(int(first.Columns), int(first.Rows), n_slices),
        spacing=(float(pixel[1]), float(pixel[0]), float(spacing)),
        origin=tuple(float(v) for v in ipp[0]),  # type: ignore[arg-type]
        direction=tuple(float(v) for v in np.column_stack([row, col, normal]).ravel()),
        file=str(folder),
    )
    return SeriesLayout(str(folder), tuple(files), tuple(float(v) for v in along), tuple(int(i) for i in index),
                        missing, geometry)


def _volume_positions(headers: list, allow_missing: bool) -> tuple[float | None, list[int] | None]:
    """highdicom's verdict on the slice positions: (slice spacing mm, index of each slice) or (None, None)."""
    from highdicom.spatial import get_series_volume_positions

    try:
        return get_series_volume_positions(headers, rtol=SLICE_GAP_RTOL, sort=True,
                                           allow_missing_positions=allow_missing)
    except (ValueError, AttributeError, TypeError):  # e.g. unsortable positions: explained by respond below
        return None, None


def _check_one_stack(files: Sequence[str], headers: list, folder: Path) -> None:
    """Refuse multi-frame files, slices without geometry, and slices of another orientation, size or spacing."""
    first = headers[0]
    if len(files) == 1 and int(first.get("NumberOfFrames", 1) or 1) > 1:
        raise _series_error(
            "the folder holds one enhanced multi-frame DICOM file; respond reads single-frame series "
            "(one file per slice) — convert it (e.g. with dcm2niix) to NIfTI", folder, "image.dicom_multiframe")
    problems = []
    for name, ds in zip(files, headers):
        missing = [t for t in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing") if t not in ds]
        if missing:
            problems.append(f"{Path(name).name} has no {', '.join(missing)}")
    if problems:
        raise _series_error("slices without geometry: " + format_values(problems, sep="; "), folder)
    orientation = np.array([float(v) for v in first.ImageOrientationPatient])
    pixel = np.array([float(v) for v in first.PixelSpacing])
    shape = (int(first.Rows), int(first.Columns))
    for name, ds in zip(files, headers):
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        if np.abs(iop - orientation).max() > 1e-4:
            problems.append(f"{Path(name).name} has orientation {format_vector(iop)}, the first slice "
                            f"{format_vector(orientation)}")
        if (int(ds.Rows), int(ds.Columns)) != shape:
            problems.append(f"{Path(name).name} is {ds.Rows}×{ds.Columns}, the first slice {shape[0]}×{shape[1]}")
        ps = np.array([float(v) for v in ds.PixelSpacing])
        if np.abs(ps - pixel).max() > 1e-3:
            problems.append(f"{Path(name).name} has pixel spacing {format_vector(ps)} mm, the first slice "
                            f"{format_vector(pixel)} mm")
    if problems:
        raise _series_error("the slices do not form one stack: " + format_values(problems, sep="; "), folder)


def _explain_refusal(files: list[str], ipp: np.ndarray, along: np.ndarray, normal: np.ndarray, folder: Path,
                     allow_uneven: bool) -> None:
    """Raise the reason sorted slice positions are not one regular volume (duplicates, gaps, shear)."""
    gaps = np.diff(along)
    duplicates = np.flatnonzero(gaps < DUPLICATE_SLICE_MM)
    if len(duplicates):
        shown = format_values(
            [f"{Path(files[n]).name} and {Path(files[n + 1]).name} at {along[n]:.4g} mm along the slice normal "
             f"(position {format_vector(ipp[n])})" for n in duplicates], sep="; ")
        raise _series_error(
            f"{len(duplicates)} duplicated slice position(s): {shown}. Two images at one position (repeated "
            "acquisition, several echoes or phases in one series) cannot be one volume; keep one file per position",
            folder, "image.dicom_duplicate_slice", value=[float(along[n]) for n in duplicates[:10]])
    unit = float(gaps.min()) if allow_uneven else float(np.median(gaps))
    if allow_uneven:
        index = np.rint((along - along[0]) / unit).astype(int)
        residual = np.abs((along - along[0]) - index * unit)
        bad = np.flatnonzero(residual > SLICE_GAP_RTOL * unit)
        if len(bad):
            raise _series_error(
                f"slice positions along the normal {format_values(along, unit='mm')} are not whole multiples of "
                f"the smallest gap {unit:.4g} mm (e.g. {along[bad[0]]:.4g} mm, {residual[bad[0]]:.3g} mm off); "
                "irregular spacing cannot be placed on one grid without resampling acquired slices, which respond "
                "does not do", folder, "image.dicom_uneven_slices", value=[float(v) for v in along[:10]])
    else:
        _explain_uneven(files, along, gaps, unit, folder)
    _explain_shear(files, ipp, along, normal, unit, folder)


def _explain_uneven(files: list[str], along: np.ndarray, gaps: np.ndarray, unit: float, folder: Path) -> None:
    """Refuse gaps that differ from the nominal (median) gap, naming the missing positions."""
    bad = np.flatnonzero(np.abs(gaps - unit) > SLICE_GAP_RTOL * unit)
    if len(bad):
        shown = format_values([_gap_phrase(along, gaps, n, unit) for n in bad], sep="; ")
        raise _series_error(
            f"uneven slice spacing (nominal gap {unit:.4g} mm): {shown}. Pass allow_uneven_slices=True "
            "(CLI: --allow-uneven-slices) to place the slices at their true positions",
            folder, "image.dicom_uneven_slices", value=[float(along[n]) for n in bad[:10]])


def _explain_shear(files: list[str], ipp: np.ndarray, along: np.ndarray, normal: np.ndarray, unit: float,
                   folder: Path) -> None:
    """Refuse slices that are not stacked along their normal (gantry tilt, sheared stack)."""
    lateral = (ipp - ipp[0]) - np.outer(along - along[0], normal)
    offset = np.linalg.norm(lateral, axis=1)
    if offset.max() > SLICE_GAP_RTOL * unit + 1e-3:
        n = int(offset.argmax())
        raise _series_error(
            f"slices are not stacked along their normal: {Path(files[n]).name} is {offset[n]:.3g} mm sideways "
            "of the first slice's normal (gantry tilt or a sheared stack); resample it to an orthogonal grid first",
            folder, "image.dicom_sheared")


def _gap_phrase(along: np.ndarray, gaps: np.ndarray, n: int, nominal: float) -> str:
    ratio = float(gaps[n] / nominal)
    whole = int(np.rint(ratio))
    phrase = f"gap of {gaps[n]:.4g} mm between slice positions {along[n]:.4g} and {along[n + 1]:.4g} mm"
    if whole >= 2 and abs(ratio - whole) <= SLICE_GAP_RTOL * whole:
        absent = format_values([along[n] + m * nominal for m in range(1, whole)])
        phrase += f" ({whole - 1} slice(s) missing at {absent} mm)"
    return phrase


def read_series(folder: str | os.PathLike, *, allow_uneven_slices: bool = False,
                layout: SeriesLayout | None = None) -> sitk.Image:
    """Read a DICOM series folder checked by :func:`series_layout` (voxels via SimpleITK/GDCM)."""
    folder = Path(folder)
    layout = layout or series_layout(folder, allow_uneven_slices=allow_uneven_slices)
    g = layout.geometry
    try:
        if not layout.missing:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(list(layout.files))
            image = reader.Execute()
        else:
            slices = [sitk.GetArrayFromImage(sitk.ReadImage(f)) for f in layout.files]
            image = None
    except RuntimeError as exc:
        raise ImageFileError(f"cannot read the slice voxels ({str(exc).strip().splitlines()[-1]})",
                             code="image.truncated", file=str(folder)) from exc
    if image is None:
        image = _fill_missing(slices, layout)
    elif tuple(image.GetSize()) != g.size:
        raise ImageFileError(f"GDCM read a grid of size {image.GetSize()}, the headers describe {g.size}",
                             code="image.dicom_series", file=str(folder))
    image.SetOrigin(g.origin)
    image.SetSpacing(g.spacing)
    image.SetDirection(g.direction)
    return image


def _fill_missing(slices: list[np.ndarray], layout: SeriesLayout) -> sitk.Image:
    """Acquired slices at their grid positions; each missing slice linearly interpolated between neighbours."""
    dtype = np.result_type(*[s.dtype for s in slices])
    stack = np.concatenate(slices, axis=0).astype(np.float64)
    acquired = np.asarray(layout.slice_index)
    full = np.empty((layout.geometry.size[2], *stack.shape[1:]), np.float64)
    full[acquired] = stack
    for k in layout.missing:
        above = int(np.searchsorted(acquired, k))
        k0, k1 = acquired[above - 1], acquired[above]
        w = (k - k0) / (k1 - k0)
        full[k] = (1 - w) * stack[above - 1] + w * stack[above]
    if np.issubdtype(dtype, np.integer):
        full = np.rint(full)
    image = sitk.GetImageFromArray(full.astype(dtype))
    image.SetMetaData(INTERPOLATED_SLICES_KEY, " ".join(str(k) for k in layout.missing))
    return image


# --------------------------------------------------------------------------- SEG


@dataclass(frozen=True)
class Segment:
    """One segment of a DICOM SEG: a lesion.

    ``bbox`` are slices of the grid array (numpy order k, j, i) and ``mask`` the
    boolean segment cropped to them (``bbox`` is None for an empty segment).
    """

    number: int
    label: str
    tracking_id: str | None
    tracking_uid: str | None
    lesion_id: str
    bbox: tuple[slice, slice, slice] | None
    mask: np.ndarray

    @property
    def voxel_count(self) -> int:
        """Number of voxels in the segment."""
        return int(np.count_nonzero(self.mask))

    def info(self) -> dict[str, object]:
        """The segment's identifiers as lesion-table columns."""
        return {"segment_number": self.number, "segment_label": self.label,
                "tracking_id": self.tracking_id, "tracking_uid": self.tracking_uid}


@dataclass(frozen=True)
class SegMask:
    """A DICOM SEG read as per-segment binary masks on one grid (see the module docstring)."""

    file: str
    geometry: Geometry
    segments: tuple[Segment, ...]
    segmentation_type: str
    study_date: dt.date | None = None
    referenced_series_uids: tuple[str, ...] = field(default_factory=tuple)

    def _empty(self, dtype) -> np.ndarray:
        return np.zeros(self.geometry.size[::-1], dtype)

    def _image(self, array: np.ndarray) -> sitk.Image:
        image = sitk.GetImageFromArray(array)
        image.SetOrigin(self.geometry.origin)
        image.SetSpacing(self.geometry.spacing)
        image.SetDirection(self.geometry.direction)
        return image

    def overlaps(self) -> list[tuple[int, int, int]]:
        """``(segment a, segment b, voxels shared)`` for every pair of overlapping segments."""
        found = []
        for n, a in enumerate(self.segments):
            for b in self.segments[n + 1:]:
                if a.bbox is None or b.bbox is None:
                    continue
                box = tuple(slice(max(x.start, y.start), min(x.stop, y.stop)) for x, y in zip(a.bbox, b.bbox))
                if any(s.start >= s.stop for s in box):
                    continue
                ca = a.mask[tuple(slice(s.start - x.start, s.stop - x.start) for s, x in zip(box, a.bbox))]
                cb = b.mask[tuple(slice(s.start - x.start, s.stop - x.start) for s, x in zip(box, b.bbox))]
                shared = int(np.count_nonzero(ca & cb))
                if shared:
                    found.append((a.number, b.number, shared))
        return found

    def label_image(self) -> sitk.Image:
        """A label image of segment numbers (UInt16) — refused when segments overlap."""
        overlaps = self.overlaps()
        if overlaps:
            shown = format_values([f"segments {a} and {b} share {n} voxel(s)" for a, b, n in overlaps])
            raise MaskValueError(
                f"the SEG's segments overlap ({shown}), so it is not one label image; measure it with "
                "respond measure / respond.measure, which measure each segment as its own lesion",
                code="mask.seg_overlap", file=self.file, value=overlaps[:10])
        array = self._empty(np.uint16)
        for s in self.segments:
            if s.bbox is not None:
                array[s.bbox][s.mask] = s.number
        return self._image(array)

    def union_image(self) -> sitk.Image:
        """A binary UInt8 image of every segment together (e.g. a registration mask)."""
        array = self._empty(np.uint8)
        for s in self.segments:
            if s.bbox is not None:
                array[s.bbox][s.mask] = 1
        return self._image(array)


def segment_lesion_ids(numbers: Sequence[int], labels: Sequence[str], tracking_ids: Sequence[str | None]) -> list[str]:
    """Lesion ids of segments: TrackingID, else SegmentLabel, else the segment number.

    Ids must be unique within a scan: when two segments would get the same id,
    each of them gets ``"<id> #<segment number>"`` instead.
    """
    ids = []
    for number, label, tracking in zip(numbers, labels, tracking_ids):
        ids.append((tracking or "").strip() or (label or "").strip() or str(number))
    counts = {i: ids.count(i) for i in ids}
    return [f"{i} #{n}" if counts[i] > 1 else i for i, n in zip(ids, numbers)]


def read_seg(
    path: str | os.PathLike,
    *,
    grid: Geometry | None = None,
    geometry_atol: float | None = None,
    direction_atol: float | None = None,
    fractional_threshold: float = FRACTIONAL_THRESHOLD,
) -> SegMask:
    """Read a DICOM SEG as one binary mask per segment.

    Without ``grid`` the masks lie on the SEG's own grid (from the first to the
    last frame position; positions without a frame are empty). With ``grid``
    (the image the SEG was drawn on, e.g. its referenced series) every frame
    must lie on that grid: spacing and origin within ``geometry_atol`` mm and
    direction cosines within ``direction_atol`` (defaults: the
    :mod:`respond.io.geometry` tolerances), else
    :class:`~respond.errors.GeometryMismatchError` lists the differences. The
    frames are then placed on the grid without resampling (axes may be
    permuted or flipped).
    """
    geometry_atol = GEOMETRY_ATOL_MM if geometry_atol is None else geometry_atol
    direction_atol = DIRECTION_ATOL if direction_atol is None else direction_atol
    if not 0.0 < fractional_threshold <= 1.0:
        raise ValueError(f"fractional_threshold must be in (0, 1], got {fractional_threshold}")
    path = Path(path)
    check_file(path)
    file = str(path)
    if not is_dicom_seg(path):
        raise ImageFileError("not a DICOM SEG (no DICOM preamble or another SOP class)", code="image.dicom_seg",
                             file=file)
    seg = open_seg(path)
    numbers = list(seg.segment_numbers)
    descriptions = [seg.get_segment_description(n) for n in numbers]
    labels = [str(d.segment_label) for d in descriptions]
    tracking_ids = [d.tracking_id for d in descriptions]
    tracking_uids = [d.tracking_uid for d in descriptions]
    lesion_ids = segment_lesion_ids(numbers, labels, tracking_ids)
    seg_type = str(seg.SegmentationType)
    binary, seg_geometry = _seg_volume(seg, fractional_threshold, file)
    if grid is None:
        target, place = seg_geometry, None
    else:
        target = grid
        place = _placement(seg_geometry, grid, geometry_atol, direction_atol, file)
    segments = []
    for c, number in enumerate(numbers):
        box, mask = _segment_on_grid(binary[..., c], place, target, number, file)
        segments.append(Segment(number, labels[c], tracking_ids[c], tracking_uids[c], lesion_ids[c], box, mask))
    referenced = tuple(str(item.SeriesInstanceUID) for item in seg.get("ReferencedSeriesSequence", []))
    return SegMask(file, target, tuple(segments), seg_type, _header_date(seg, ("StudyDate",), file)[0], referenced)


def _seg_volume(seg, fractional_threshold: float, file: str) -> tuple[np.ndarray, Geometry]:
    """The SEG's segments as booleans (slices, rows, columns, segments) on a right-handed grid, and that grid."""
    seg_type = str(seg.SegmentationType)
    try:
        volume = seg.get_volume(combine_segments=False, rescale_fractional=False, allow_missing_positions=True)
    except (RuntimeError, ValueError) as exc:
        raise GeometryError(f"the SEG's frames do not form a regular 3D grid ({exc})", code="geometry.dicom_seg",
                            file=file) from exc
    array = np.asarray(volume.array)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if seg_type == "FRACTIONAL":
        maximum = float(seg.MaximumFractionalValue)
        binary = array >= fractional_threshold * maximum
    else:
        binary = array > 0
    affine = np.asarray(volume.affine, float)
    steps = affine[:3, [2, 1, 0]]  # index axes x = column, y = row, z = slice
    if np.linalg.det(steps) < 0:  # slices stored against the normal: flip to a right-handed grid
        binary = binary[::-1]
        affine[:3, 3] += steps[:, 2] * (binary.shape[0] - 1)
        steps[:, 2] *= -1
    spacing = np.linalg.norm(steps, axis=0)
    seg_geometry = Geometry(
        size=(int(binary.shape[2]), int(binary.shape[1]), int(binary.shape[0])),
        spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
        origin=tuple(float(v) for v in affine[:3, 3]),  # type: ignore[arg-type]
        direction=tuple(float(v) for v in (steps / spacing).ravel()),
        file=file,
    )
    return binary, seg_geometry


def _placement(seg: Geometry, grid: Geometry, atol: float, datol: float,
               file: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer map from SEG index (x, y, z) to grid index: ``grid = offset + matrix @ seg``."""
    seg_d, grid_d = seg.direction_matrix, grid.direction_matrix
    matrix = np.zeros((3, 3), int)
    matched = True
    for a in range(3):
        hits = [(b, s) for b in range(3) for s in (1, -1)
                if abs(seg.spacing[a] - grid.spacing[b]) <= atol and np.abs(seg_d[:, a] - s * grid_d[:, b]).max() <= datol]
        if len(hits) != 1 or matrix[hits[0][0]].any():
            matched = False
            break
        matrix[hits[0][0], a] = hits[0][1]
    if not matched:
        found = [f for f in grid.differences(seg, atol_mm=atol, direction_atol=datol) if not f.startswith("size")]
        raise GeometryMismatchError(
            "the SEG's grid does not match the image's: " + "; ".join(found or ["axes do not correspond"])
            + " (image vs SEG). A SEG is placed on its image without resampling",
            code="geometry.mismatch", file=file, value=found)
    steps = grid_d * np.asarray(grid.spacing)
    continuous = np.linalg.solve(steps, np.asarray(seg.origin) - np.asarray(grid.origin))
    offset = np.rint(continuous).astype(int)
    residual = steps @ (continuous - offset)
    if np.abs(residual).max() > atol:
        raise GeometryMismatchError(
            f"the SEG's frames lie between the image's voxels: its first voxel is {format_vector(residual)} mm from the "
            f"nearest image voxel (tolerance {atol} mm; SEG origin {format_vector(seg.origin)}, image origin "
            f"{format_vector(grid.origin)})", code="geometry.mismatch", file=file, value=residual.tolist())
    return offset, matrix


def _segment_on_grid(binary: np.ndarray, place, grid: Geometry, number: int,
                     file: str) -> tuple[tuple[slice, slice, slice] | None, np.ndarray]:
    """One segment's (box, cropped mask) on ``grid``; ``binary`` is in the SEG's (k, j, i) order."""
    if place is None:
        box = nonzero_box(binary)
        return (None, np.zeros((0, 0, 0), bool)) if box is None else (box, binary[box].copy())
    offset, matrix = place
    kji = np.argwhere(binary)
    if len(kji) == 0:
        return None, np.zeros((0, 0, 0), bool)
    xyz = offset + kji[:, ::-1] @ matrix.T
    size = np.asarray(grid.size)
    outside = np.any((xyz < 0) | (xyz >= size), axis=1)
    if outside.any():
        raise GeometryMismatchError(
            f"segment {number} has {int(outside.sum())} voxel(s) outside the image grid (size {grid.size})",
            code="geometry.mismatch", file=file)
    lo, hi = xyz.min(axis=0), xyz.max(axis=0) + 1
    box = tuple(slice(int(lo[a]), int(hi[a])) for a in (2, 1, 0))
    mask = np.zeros(tuple(int(hi[a] - lo[a]) for a in (2, 1, 0)), bool)
    local = xyz - lo
    mask[local[:, 2], local[:, 1], local[:, 0]] = True
    return box, mask  # type: ignore[return-value]


# --------------------------------------------------------------------------- dates


def _parse_da(value, attribute: str, file: str) -> dt.date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else _bad_da(text, attribute, file)
    except ValueError:
        return _bad_da(text, attribute, file)


def _bad_da(text: str, attribute: str, file: str):
    raise ImageFileError(f"{attribute} '{text}' is not a DICOM date YYYYMMDD", code="image.dicom_date", file=file,
                         value=text)


def _header_date(ds, attributes: Sequence[str], file: str) -> tuple[dt.date | None, str | None]:
    for attribute in attributes:
        date = _parse_da(ds.get(attribute, ""), attribute, file)
        if date is not None:
            return date, attribute
    return None, None


def study_date(path: str | os.PathLike) -> tuple[dt.date | None, str | None]:
    """The scan date of a DICOM SEG, DICOM file or series folder, and the attribute it came from.

    A series (or single image file): StudyDate, else SeriesDate, else
    AcquisitionDate of its first slice. A SEG: StudyDate only (its SeriesDate
    and ContentDate date the segmentation, not the scan). ``(None, None)`` when
    there is none.
    """
    import pydicom

    path = Path(path)
    if path.is_dir():
        first = series_files(path)[0]
        ds = pydicom.dcmread(first, stop_before_pixels=True, specific_tags=list(_HEADER_TAGS))
        return _header_date(ds, ("StudyDate", "SeriesDate", "AcquisitionDate"), str(path))
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:
        raise ImageFileError(f"cannot read the DICOM header: {exc}", code="image.unreadable", file=str(path)) from exc
    if str(ds.get("SOPClassUID", "")) in SEG_SOP_CLASSES:
        return _header_date(ds, ("StudyDate",), str(path))
    return _header_date(ds, ("StudyDate", "SeriesDate", "AcquisitionDate"), str(path))


def is_dicom(path: str | os.PathLike) -> bool:
    """True for a DICOM file or a folder holding DICOM files (a series)."""
    path = Path(path)
    if path.is_dir():
        return any(is_dicom_file(p) for p in sorted(path.iterdir())[:50])
    return is_dicom_file(path)
