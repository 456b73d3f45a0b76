"""Every DICOM SEG encoding pydicom can decode gives the same lesion table (issue 12.2).

The real liver SEG in nine encodings (../shared, skipped when absent), and
small SEGs re-encoded here (deflated frames, big endian, 1-bit RLE, deflated
dataset) so that a plain clone tests the decoders too.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.encaps import encapsulate
from pydicom.pixels import pack_bits
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGLosslessSV1,
    RLELossless,
)

from respond.errors import GeometryError, ImageFileError
from respond.io.dicom import read_seg
from respond.io.dicom_frames import DEFLATED_IMAGE_FRAME_COMPRESSION
from respond.measure import measure_mask
from respond.testing.dicom import write_dicom_seg, write_dicom_series

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom-seg"
ENCODINGS = ["liver.dcm", "liver_deflate.dcm", "liver_expb.dcm", "liver_j2k.dcm", "liver_nonbyte_aligned.dcm",
             "liver_nonbyte_aligned_deflate.dcm", "liver_nonbyte_aligned_j2k.dcm", "liver_nonbyte_aligned_rle.dcm",
             "liver_rle.dcm"]


@pytest.mark.shared_data
@pytest.mark.parametrize("with_image", [False, True])
@pytest.mark.parametrize("name", ENCODINGS)
def test_real_liver_seg_in_every_encoding_measures_like_the_plain_file(name, with_image):
    folder = SHARED / "liver-encodings"
    if not (folder / name).is_file() or not (SHARED / "ct-3slice").is_dir():
        pytest.skip("the shared DICOM SEG files are not next to the project")
    image = SHARED / "ct-3slice" if with_image else None
    expected = measure_mask(folder / "liver.dcm", image)
    got = measure_mask(folder / name, image)
    assert len(got) == 1 and got["voxel_count"].iloc[0] == 107098  # 36233 + 35645 + 35220 voxels on 3 frames
    pd.testing.assert_frame_equal(got, expected)


# --------------------------------------------------------------------------- SEGs built here


@pytest.fixture
def native_seg(tmp_path) -> tuple[Path, Path]:
    """A BINARY SEG of 15×14-voxel frames (210 bits: frames are not byte-aligned) and its series."""
    array = np.zeros((6, 14, 15), np.int16)
    array[1:5, 3:11, 2:12] = 100
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.8, 0.7, 2.0))
    image.SetOrigin((-20.0, 15.0, 30.0))
    write_dicom_series(image, tmp_path / "series")
    lesion = sitk.GetImageFromArray(((array > 0) & (np.indices(array.shape)[2] < 9)).astype(np.uint8))
    lesion.CopyInformation(image)
    return write_dicom_seg([lesion], tmp_path / "series", tmp_path / "seg.dcm"), tmp_path / "series"


def _frames(ds) -> list[bytes]:
    """Each frame's stored bytes (1-bit frames packed, each padded to whole bytes, as encapsulated frames are)."""
    pixels = np.asarray(ds.pixel_array).reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    return [pack_bits(frame.ravel()) for frame in pixels]


def _encapsulated(ds, frames: list[bytes], uid: str, path: Path) -> Path:
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def deflated_frames(seg: Path, out: Path) -> Path:
    # pydicom 3.0 does not know this (2024) transfer syntax: tell its writer, for this file only.
    entry = ("Deflated Image Frame Compression", "Transfer Syntax", "", "", "DeflatedImageFrameCompression")
    pydicom.uid.UID_dictionary[DEFLATED_IMAGE_FRAME_COMPRESSION] = entry
    try:
        return _deflated_frames(seg, out)
    finally:
        del pydicom.uid.UID_dictionary[DEFLATED_IMAGE_FRAME_COMPRESSION]


def _deflated_frames(seg: Path, out: Path) -> Path:
    ds = pydicom.dcmread(seg)
    deflate = [zlib.compressobj(9, zlib.DEFLATED, -15) for _ in range(int(ds.NumberOfFrames))]
    frames = [d.compress(f) + d.flush() for d, f in zip(deflate, _frames(ds))]
    return _encapsulated(ds, frames, DEFLATED_IMAGE_FRAME_COMPRESSION, out)


def rle_1bit(seg: Path, out: Path) -> Path:
    from pydicom.pixels import get_encoder

    ds = pydicom.dcmread(seg)
    encoder = get_encoder(RLELossless)
    frames = [encoder.encode(np.frombuffer(f, np.uint8).reshape(1, -1), rows=1, columns=len(f), samples_per_pixel=1,
                             number_of_frames=1, bits_allocated=8, bits_stored=8, photometric_interpretation="MONOCHROME2",
                             pixel_representation=0) for f in _frames(ds)]
    return _encapsulated(ds, frames, RLELossless, out)


def big_endian(seg: Path, out: Path) -> Path:
    ds = pydicom.dcmread(seg)  # 1-bit OB pixel data: the same bytes in either byte order
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out


def deflated_dataset(seg: Path, out: Path) -> Path:
    ds = pydicom.dcmread(seg)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out


@pytest.mark.parametrize("encode", [deflated_frames, rle_1bit, big_endian, deflated_dataset])
def test_reencoded_seg_measures_like_the_native_one(native_seg, tmp_path, encode):
    seg, series = native_seg
    encoded = encode(seg, tmp_path / f"{encode.__name__}.dcm")
    assert pydicom.dcmread(encoded, stop_before_pixels=True).file_meta.TransferSyntaxUID != \
        pydicom.dcmread(seg, stop_before_pixels=True).file_meta.TransferSyntaxUID
    for image in (None, series):
        expected = measure_mask(seg, image)
        assert expected["voxel_count"].iloc[0] == 4 * 8 * 7  # slices 1-4, rows 3-10, columns 2-8
        pd.testing.assert_frame_equal(measure_mask(encoded, image), expected)


def test_undecodable_encoding_names_the_transfer_syntax_under_an_image_code(native_seg, tmp_path):
    seg, series = native_seg
    ds = pydicom.dcmread(seg)
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    fake = _encapsulated(ds, [b"\xff\xd8 not a JPEG stream \xff\xd9"] * int(ds.NumberOfFrames), JPEGLosslessSV1,
                         tmp_path / "jpeg.dcm")
    for call in (lambda: read_seg(fake), lambda: measure_mask(fake, series)):
        with pytest.raises(ImageFileError, match=r"JPEG Lossless.*\(1\.2\.840\.10008\.1\.2\.4\.70\).*gdcmconv --raw") \
                as info:
            call()
        assert info.value.code == "image.dicom_encoding"
        assert not isinstance(info.value, GeometryError)
