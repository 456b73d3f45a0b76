"""Write synthetic DICOM series and DICOM SEG files from SimpleITK images.

Tests use these to check that respond reads DICOM exactly as the equivalent
NIfTI, and users can use them to try the DICOM inputs without patient data.
Series are written with pydicom (one single-frame file per slice, signed
16-bit pixels, rescale 1/0), segmentations with highdicom
(:class:`highdicom.seg.Segmentation`). Nothing here is meant for clinical
export.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

#: SOP class of the written slices (MR Image Storage).
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def _ds_number(value: float) -> str:
    """A decimal string (VR DS, at most 16 characters) for ``value``."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def write_dicom_series(
    image: sitk.Image,
    folder: str | os.PathLike,
    *,
    study_date: str | None = "20240115",
    series_date: str | None = None,
    patient_id: str = "P001",
    omit_slices: Sequence[int] = (),
    duplicate_slices: Sequence[int] = (),
    study_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
) -> list[Path]:
    """Write ``image`` (3D scalar) as a DICOM MR series, one file per slice, into ``folder``.

    Geometry is exact: ImagePositionPatient of slice ``k`` is the physical
    position of voxel (0, 0, k), ImageOrientationPatient holds the first two
    direction columns, PixelSpacing is ``(spacing_y, spacing_x)`` (row
    spacing, column spacing). ``omit_slices`` leaves those slice indices out (a
    missing slice); ``duplicate_slices`` writes those slices twice (a
    duplicated slice). Dates are DICOM DA strings ``YYYYMMDD`` (``None``:
    attribute left empty). Returns the files written, in slice order.
    """
    from pydicom.uid import generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = np.rint(sitk.GetArrayFromImage(image)).astype(np.int16)
    uids = {"StudyInstanceUID": study_uid or generate_uid(), "SeriesInstanceUID": generate_uid(),
            "FrameOfReferenceUID": frame_of_reference_uid or generate_uid()}
    dates = {"StudyDate": study_date or "",
             "SeriesDate": series_date if series_date is not None else (study_date or "")}
    written = []
    copies = [k for k in range(array.shape[0]) if k not in set(omit_slices)]
    copies += [k for k in duplicate_slices]
    for number, k in enumerate(copies, start=1):
        ds = _new_instance()
        _set_patient_and_study(ds, uids, dates, patient_id, number)
        _set_slice(ds, image, array[k], int(k))
        path = folder / f"slice_{number:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def _new_instance():
    """An empty MR Image Storage dataset with its file meta information (new SOP instance UID, explicit VR
    little endian)."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def _set_patient_and_study(ds, uids: dict[str, str], dates: dict[str, str], patient_id: str,
                           number: int) -> None:
    """Patient, study and series attributes of slice ``number`` (InstanceNumber, from 1): ``uids`` and
    ``dates`` are keyword → value (DA strings ``YYYYMMDD``)."""
    for keyword, uid in uids.items():
        setattr(ds, keyword, uid)
    ds.PositionReferenceIndicator = ""
    ds.PatientID = patient_id
    ds.PatientName = "Phantom^Synthetic"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDate = dates["StudyDate"]
    ds.StudyTime = "120000"
    ds.SeriesDate = dates["SeriesDate"]
    ds.Modality = "MR"
    ds.Manufacturer = "respond.testing"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number


def _set_slice(ds, image: sitk.Image, pixels: np.ndarray, k: int) -> None:
    """Geometry (mm, patient coordinates) and pixels (signed 16-bit, rescale 1/0) of slice index ``k``."""
    spacing = image.GetSpacing()
    direction = np.asarray(image.GetDirection(), float).reshape(3, 3)
    position = image.TransformIndexToPhysicalPoint((0, 0, k))
    ds.ImagePositionPatient = [_ds_number(v) for v in position]
    ds.ImageOrientationPatient = [_ds_number(v) for v in (*direction[:, 0], *direction[:, 1])]
    ds.PixelSpacing = [_ds_number(spacing[1]), _ds_number(spacing[0])]
    ds.SliceThickness = _ds_number(spacing[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()


def write_dicom_seg(
    segments: Sequence[sitk.Image],
    series_folder: str | os.PathLike,
    path: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
    tracking_ids: Sequence[str | None] | None = None,
    fractional: bool = False,
    omit_empty_frames: bool = True,
) -> Path:
    """Write a DICOM SEG of ``segments`` drawn on the DICOM series in ``series_folder``.

    Each segment is an image on the grid the series was written from (see
    :func:`write_dicom_series`): binary (non-zero = in the segment) or, with
    ``fractional=True``, fractions in [0, 1] stored as FRACTIONAL with
    MaximumFractionalValue 255. Slices missing from the series are skipped.
    ``labels`` are the SegmentLabels (default ``"Lesion 1"``, …);
    ``tracking_ids`` the TrackingIDs (each with a new TrackingUID), ``None``
    for none. Returns ``path``.
    """
    import highdicom as hd
    import pydicom
    from pydicom.uid import generate_uid

    files = sorted(Path(series_folder).glob("*.dcm"))
    sources = [pydicom.dcmread(f) for f in files]
    pixel_array, seg_type = _seg_pixels(segments, sources, fractional)
    labels = list(labels) if labels is not None else [f"Lesion {n}" for n in range(1, len(segments) + 1)]
    tracking_ids = list(tracking_ids) if tracking_ids is not None else [None] * len(segments)
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=pixel_array,
        segmentation_type=seg_type,
        segment_descriptions=_segment_descriptions(labels, tracking_ids),
        series_instance_uid=generate_uid(),
        series_number=100,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="respond.testing",
        manufacturer_model_name="synthetic",
        software_versions="0",
        device_serial_number="0",
        omit_empty_frames=omit_empty_frames,
    )
    path = Path(path)
    seg.save_as(path)
    return path


def _seg_pixels(segments: Sequence[sitk.Image], sources: list, fractional: bool):
    """The SEG pixel array (frames of the ``sources`` slices × rows × columns × segments) and its type.

    Each source slice is matched to the segments' slice index by its
    ImagePositionPatient; binary segments are non-zero voxels (uint8 0/1),
    fractional ones are clipped to [0, 1] (float32).
    """
    import highdicom as hd

    reference = segments[0]
    slices = []
    for ds in sources:
        index = reference.TransformPhysicalPointToContinuousIndex([float(v) for v in ds.ImagePositionPatient])
        slices.append(int(np.rint(index[2])))
    stack = np.stack([sitk.GetArrayFromImage(s) for s in segments], axis=-1)[slices]
    if fractional:
        return np.clip(stack.astype(np.float32), 0.0, 1.0), hd.seg.SegmentationTypeValues.FRACTIONAL
    return (stack != 0).astype(np.uint8), hd.seg.SegmentationTypeValues.BINARY


def _segment_descriptions(labels: list[str], tracking_ids: list[str | None]) -> list:
    """One manually drawn neoplasm segment description per label, numbered from 1 (TrackingUID new per
    TrackingID)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    descriptions = []
    for number, (label, tracking_id) in enumerate(zip(labels, tracking_ids), start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            tracking_id=tracking_id,
            tracking_uid=generate_uid() if tracking_id is not None else None,
        ))
    return descriptions
