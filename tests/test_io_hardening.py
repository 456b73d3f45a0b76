"""Malformed NIfTI files and mask values (issue 17): each refused with an image.* / mask.* code, never a
traceback or a silent wrong answer. Every input is built here, small (no committed bombs)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from respond.errors import ImageFileError, MaskValueError
from respond.io.images import read_image
from respond.io.masks import read_mask


def nifti_bytes(data: np.ndarray | None = None, *, affine=None) -> bytearray:
    """A valid single-file NIfTI-1 (header + voxels) as bytes, to be broken on purpose."""
    if data is None:
        data = np.zeros((6, 7, 5), np.uint8)
        data[2:4, 2:5, 1:4] = 1
    image = nib.Nifti1Image(data, np.eye(4) if affine is None else affine)
    image.header.set_qform(image.affine, code=1)
    image.header.set_sform(image.affine, code=1)
    return bytearray(image.to_bytes())


def patch(raw: bytearray, offset: int, fmt: str, *values) -> bytearray:
    raw[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    return raw


def write(path: Path, raw: bytes) -> Path:
    path.write_bytes(gzip.compress(bytes(raw)) if path.name.endswith(".gz") else bytes(raw))
    return path


# --------------------------------------------------------------------------- headers (tracebacks before)


def test_unknown_datatype_code(tmp_path):
    path = write(tmp_path / "dt.nii", patch(nifti_bytes(), 70, "<h", 9999))
    with pytest.raises(ImageFileError, match="datatype code 9999 is not a NIfTI data type") as info:
        read_mask(path)
    assert info.value.code == "image.header"


@pytest.mark.parametrize("offset", [float("nan"), float("inf"), 348.0, 0.0])
def test_vox_offset_that_is_not_a_valid_byte_offset(tmp_path, offset):
    # ITK would read the voxels from byte 348 (0 → 348 too): the lesion moves, labels change.
    path = write(tmp_path / "off.nii.gz", patch(nifti_bytes(), 108, "<f", offset))
    with pytest.raises(ImageFileError, match=r"vox_offset .* at least 352") as info:
        read_image(path)
    assert info.value.code == "image.header"


def test_bad_magic(tmp_path):
    path = write(tmp_path / "magic.nii", patch(nifti_bytes(), 344, "4s", b"XY1\0"))
    with pytest.raises(ImageFileError, match="magic string .* would read the file as Analyze"):
        read_mask(path)


def test_invalid_quaternion(tmp_path):
    raw = patch(nifti_bytes(), 254, "<h", 0)  # sform off: the qform alone places the grid
    path = write(tmp_path / "quat.nii", patch(raw, 256, "<3f", 0.9, 0.9, 0.9))
    with pytest.raises(ImageFileError, match=r"quaternion .* is invalid \(b² \+ c² \+ d² = 2\.43 > 1\)"):
        read_mask(path)


def test_sform_voxel_sizes_disagreeing_with_pixdim(tmp_path):
    sform = np.diag([2.0, 2.0, 2.0, 1.0])  # pixdim says 1 mm: ITK only warns, and measures 2x smaller
    path = write(tmp_path / "sform.nii", patch(nifti_bytes(), 280, "<12f", *sform[:3].ravel()))
    with pytest.raises(ImageFileError, match=r"sform's voxel sizes \(2, 2, 2\) mm disagree with pixdim \(1, 1, 1\)"):
        read_mask(path)


# --------------------------------------------------------------------------- compressed stream


def random_mask_gz(tmp_path) -> tuple[Path, np.ndarray]:
    array = (np.random.default_rng(0).random((60, 60, 60)) > 0.9).astype(np.uint8)
    path = tmp_path / "m.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path), True)
    return path, array


@pytest.mark.parametrize("where", [0.5, 0.9])
def test_flipped_deflate_byte_is_refused_not_read_as_other_voxels(tmp_path, where):
    path, array = random_mask_gz(tmp_path)
    assert np.array_equal(sitk.GetArrayFromImage(read_mask(path)), array)
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * where)] ^= 0x10  # ITK alone reads this file as different voxels, without a word
    with pytest.raises(ImageFileError, match=r"compressed data is damaged \(.*incorrect data check\)") as info:
        flipped = tmp_path / "flip.nii.gz"
        flipped.write_bytes(bytes(raw))
        read_mask(flipped)
    assert info.value.code == "image.corrupt"


def test_trailing_garbage_after_the_gzip_stream(tmp_path):
    path, _ = random_mask_gz(tmp_path)
    bad = tmp_path / "trail.nii.gz"
    bad.write_bytes(path.read_bytes() + b"this is not gzip")
    with pytest.raises(ImageFileError, match="compressed data is damaged") as info:
        read_mask(bad)
    assert info.value.code == "image.corrupt"


def _flip_voxel_byte(raw: bytes) -> bytes:
    """The same .nii.gz with the compressed byte 90 % of the way in flipped (inside the voxels' stream)."""
    damaged = bytearray(raw)
    damaged[int(len(damaged) * 0.9)] ^= 0x10
    return bytes(damaged)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_the_crc_is_checked_against_the_voxels_itk_read(tmp_path, endian):
    # One decompression (ITK's) then the CRC-32 of the header bytes continued over the voxels,
    # big-endian files included (ITK swaps their bytes; the CRC is of the bytes as stored).
    array = np.random.default_rng(1).integers(-300, 300, size=(100, 100, 100)).astype(f"{endian}i2")  # 2 MB: ITK stops short of the trailer
    image = nib.Nifti1Image(array, np.eye(4), nib.Nifti1Header(endianness=endian))
    image.header.set_sform(np.eye(4), code=1)
    path = tmp_path / "v.nii.gz"
    nib.save(image, path)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(path)), array.astype("=i2").transpose(2, 1, 0))
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(_flip_voxel_byte(path.read_bytes()))
    with pytest.raises(ImageFileError, match="compressed data is damaged") as info:
        read_image(bad)
    assert info.value.code == "image.corrupt"
    # Stored (level 0) deflate blocks: a flipped byte leaves a valid stream that ITK reads without a word
    # as another voxel value; only the CRC-32 tells.
    stored = tmp_path / "stored.nii.gz"
    stored.write_bytes(_flip_voxel_byte(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=0)))
    with pytest.raises(ImageFileError, match="incorrect data check") as info:
        read_image(stored)
    assert info.value.code == "image.corrupt"


def test_multi_member_and_scaled_files_are_verified_in_full_and_read(tmp_path):
    # Where the trailer does not describe the whole stream (two gzip members) or ITK changed the values
    # (scl_slope), the CRC shortcut does not apply: the stream is decompressed in full, then accepted.
    raw = bytes(nifti_bytes(np.arange(6 * 7 * 5, dtype=np.int16).reshape(6, 7, 5)))
    members = tmp_path / "members.nii.gz"
    members.write_bytes(gzip.compress(raw[:400]) + gzip.compress(raw[400:]))
    expected = np.arange(6 * 7 * 5, dtype=np.int16).reshape(6, 7, 5).transpose(2, 1, 0)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(members)), expected)
    scaled = write(tmp_path / "scaled.nii.gz", patch(bytearray(raw), 112, "<2f", 2.0, 1.0))
    assert np.array_equal(sitk.GetArrayFromImage(read_image(scaled)), 2.0 * expected + 1.0)
    bad = tmp_path / "scaled_bad.nii.gz"
    bad.write_bytes(_flip_voxel_byte(scaled.read_bytes()))
    with pytest.raises(ImageFileError) as info:
        read_image(bad)
    assert info.value.code == "image.corrupt"


# --------------------------------------------------------------------------- huge images


def test_small_gz_declaring_2_gib_is_refused_before_decompressing(tmp_path):
    raw = nifti_bytes()
    raw = patch(raw, 40, "<8h", 3, 2048, 1024, 1024, 1, 1, 1, 1)  # 2 GiB of uint8
    path = tmp_path / "bomb.nii.gz"
    path.write_bytes(gzip.compress(bytes(raw) + bytes(1 << 20)))
    with pytest.raises(ImageFileError, match=r"2,147,483,648 voxels .* 2 GiB in memory, more than .* 1 GiB") as info:
        read_mask(path)
    assert info.value.code == "image.too_large"


def test_file_declaring_8_gib_of_float64_is_refused(tmp_path):
    raw = nifti_bytes(np.zeros((4, 4, 4), np.float64))
    raw = patch(raw, 40, "<8h", 3, 1024, 1024, 1024, 1, 1, 1, 1)  # 8 GiB of float64
    path = write(tmp_path / "big.nii", bytes(raw) + bytes(8 << 20))
    with pytest.raises(ImageFileError, match="8 GiB in memory") as info:
        read_image(path)
    assert info.value.code == "image.too_large"
    assert read_image(write(tmp_path / "ok.nii", nifti_bytes(np.zeros((4, 4, 4), np.float64)))).GetSize() == (4, 4, 4)


# --------------------------------------------------------------------------- mask values


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_voxels_are_seen_in_the_raw_file(tmp_path, bad):
    data = np.zeros((6, 7, 5), np.float32)
    data[2:4, 2:5, 1:4] = 1.0
    data[0, 0, 0] = bad  # ITK reads this voxel as 0
    path = write(tmp_path / "nan.nii.gz", nifti_bytes(data))
    with pytest.raises(MaskValueError, match=r"1 NaN or infinite voxel") as info:
        read_mask(path, allow_float_mask=True)
    assert info.value.code == "mask.values"
    data[0, 0, 0] = 0
    ok = read_mask(write(tmp_path / "ok.nii.gz", nifti_bytes(data)), allow_float_mask=True)
    assert int(sitk.GetArrayFromImage(ok).sum()) == 18


def test_huge_whole_number_float_label_is_refused_not_overflowed(tmp_path):
    data = np.zeros((6, 7, 5), np.float32)
    data[2:4, 2:5, 1:4] = 1e20  # cast to uint32 this became 0: the lesion vanished
    path = write(tmp_path / "big_label.nii", nifti_bytes(data))
    with pytest.raises(MaskValueError, match=r"label value\(s\) 1e\+20 larger than 4294967295") as info:
        read_mask(path, allow_float_mask=True)
    assert info.value.code == "mask.values"
    data[2:4, 2:5, 1:4] = 70000.0
    labels = sitk.GetArrayFromImage(read_mask(write(tmp_path / "l.nii", nifti_bytes(data)), allow_float_mask=True))
    assert set(np.unique(labels)) == {0, 70000}


def test_valid_slope_with_nan_intercept_is_a_header_error_not_a_traceback(tmp_path):
    """nibabel refuses a scaling with a finite scl_slope and a NaN scl_inter (HeaderDataError): respond reports
    it as a header problem of that file (found by the header fuzz suite)."""
    data = np.zeros((8, 8, 4), np.float32)
    data[2:5, 2:5, 1:3] = 1
    image = nib.Nifti1Image(data, np.diag([1.0, 1.0, 2.0, 1.0]))
    image.header.set_qform(image.affine, code=1)
    image.header.set_sform(image.affine, code=1)
    path = tmp_path / "mask.nii"
    nib.save(image, path)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<f", raw, 112, 1.0)           # scl_slope
    struct.pack_into("<f", raw, 116, float("nan"))  # scl_inter
    path.write_bytes(bytes(raw))
    with pytest.raises(ImageFileError, match="scl_inter") as caught:
        read_mask(path, allow_float_mask=True)
    assert caught.value.code == "image.header"
