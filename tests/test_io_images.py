"""Every guard of respond.io (images, nifti, masks), made to fire on a broken-on-purpose file (made in tmp_path)."""
from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from respond.errors import GeometryError, GeometryMismatchError, ImageFileError, MaskValueError
from respond.io.geometry import Geometry
from respond.io.images import read_header, read_image
from respond.io.masks import load_pair, read_mask


def small_mask(dtype=np.uint8, spacing=(0.5, 0.6, 2.0), origin=(1.0, 2.0, 3.0)) -> sitk.Image:
    array = np.zeros((6, 7, 8), dtype)
    array[2:4, 2:5, 3:6] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def write(image: sitk.Image, path: Path, compress: bool = False) -> Path:
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


def write_nrrd(path: Path, *, directions: str, sizes=(4, 3, 2), dtype="unsigned char", data=None) -> Path:
    """A hand-written NRRD (text header + raw voxels), for headers no writer would produce."""
    n = int(np.prod(sizes))
    header = (
        "NRRD0004\n"
        f"type: {dtype}\n"
        f"dimension: {len(sizes)}\n"
        "space: left-posterior-superior\n"
        f"sizes: {' '.join(map(str, sizes))}\n"
        f"space directions: {directions}\n"
        f"kinds: {' '.join(['domain'] * len(sizes))}\n"
        "endian: little\n"
        "encoding: raw\n"
        "space origin: (0,0,0)\n\n"
    )
    payload = data if data is not None else np.ones(n, np.uint8).tobytes()
    path.write_bytes(header.encode() + payload)
    return path


# --------------------------------------------------------------------------- files


def test_missing_file(tmp_path):
    with pytest.raises(ImageFileError, match="not found") as info:
        read_mask(tmp_path / "nope.nii.gz")
    assert info.value.code == "image.missing" and info.value.file.endswith("nope.nii.gz")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.nrrd"
    path.touch()
    with pytest.raises(ImageFileError, match="0 bytes") as info:
        read_mask(path)
    assert info.value.code == "image.empty"


def test_unsupported_extension(tmp_path):
    path = tmp_path / "mask.png"
    path.write_bytes(b"\x89PNG....")
    with pytest.raises(ImageFileError, match="unsupported file type .png"):
        read_mask(path)


def test_wrong_content_for_extension(tmp_path):
    path = tmp_path / "mask.nrrd"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageFileError, match="cannot read the image header") as info:
        read_mask(path)
    assert "mask.nrrd" in str(info.value)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_truncated_nifti_is_refused_not_zero_filled(tmp_path, suffix):
    # ITK reads a truncated NIfTI without complaint and zero-fills: respond must not.
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray((rng.random((40, 40, 40)) > 0.5).astype(np.uint8))
    whole = write(image, tmp_path / f"whole{suffix}", compress=suffix == ".nii.gz")
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ImageFileError, match="truncated") as info:
        read_mask(cut)
    assert info.value.file.endswith(f"cut{suffix}")
    assert sitk.GetArrayViewFromImage(read_mask(whole)).sum() == sitk.GetArrayViewFromImage(image).sum()


def test_truncated_nifti_gzip_with_complete_stream_but_short_data(tmp_path):
    whole = write(small_mask(), tmp_path / "m.nii")
    data = whole.read_bytes()
    short = tmp_path / "short.nii.gz"
    short.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(ImageFileError, match="expected .* bytes"):
        read_mask(short)


@pytest.mark.parametrize("suffix,compress", [(".nrrd", False), (".nrrd", True), (".mha", False), (".mha", True)])
def test_truncated_nrrd_and_metaimage(tmp_path, suffix, compress):
    rng = np.random.default_rng(1)
    image = sitk.GetImageFromArray((rng.random((30, 30, 30)) > 0.5).astype(np.uint8))
    whole = write(image, tmp_path / f"whole{suffix}", compress=compress)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 2000])
    with pytest.raises(ImageFileError, match="truncated|cannot read") as info:
        read_mask(cut)
    assert info.value.file.endswith(f"cut{suffix}")


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "pixdim,shown", [((0.0, 0.6, 2.0), "0"), ((np.nan, 0.6, 2.0), "nan"), ((-0.5, 0.6, 2.0), "-0.5")]
)
def test_nifti_spacing_must_be_finite_and_positive(tmp_path, pixdim, shown):
    # ITK would silently replace these pixdims with the sform's scales or their absolute value.
    path = tmp_path / "bad.nii"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.diag([0.5, 0.6, 2.0, 1.0])), path)
    # Patch pixdim[1:4] in the stored header (float32 at byte 80); nibabel's writer would fix it.
    data = bytearray(path.read_bytes())
    data[80:92] = np.asarray(pixdim, "<f4").tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match=f"pixdim .*{shown}") as info:
        read_mask(path)
    assert info.value.code == "image.header"


def test_nifti_qform_sform_disagreement(tmp_path):
    img = nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.diag([1.0, 1.0, 1.0, 1.0]))
    sform = np.diag([1.0, 1.0, 1.0, 1.0])
    sform[:3, 3] = [0.0, 0.0, 5.0]  # 5 mm shift in the sform only
    img.set_sform(sform, code=2)
    img.set_qform(np.eye(4), code=1)
    path = tmp_path / "ambiguous.nii.gz"
    nib.save(img, path)
    with pytest.raises(ImageFileError, match="qform and sform disagree by up to 5 mm"):
        read_mask(path)


def test_nrrd_zero_spacing(tmp_path):
    path = write_nrrd(tmp_path / "zero.nrrd", directions="(0.5,0,0) (0,0,0) (0,0,2)")
    with pytest.raises((GeometryError, ImageFileError)) as info:
        read_mask(path)
    assert "zero.nrrd" in str(info.value)


def test_non_orthonormal_direction(tmp_path):
    path = write_nrrd(tmp_path / "sheared.nrrd", directions="(1,0,0) (0.3,1,0) (0,0,2)")
    with pytest.raises(GeometryError, match="not orthonormal") as info:
        read_mask(path)
    assert info.value.file.endswith("sheared.nrrd")
    # Explicit opt-in reads it.
    assert read_header(path, allow_non_orthonormal=True)[0].size == (4, 3, 2)


def test_geometry_object_lists_every_problem():
    with pytest.raises(GeometryError, match=r"spacing must be finite and positive.*origin must be finite"):
        Geometry((4, 4, 4), (1.0, float("nan"), 1.0), (0.0, float("inf"), 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(GeometryError, match="size must be three positive integers"):
        Geometry((4, 0, 4), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(GeometryError, match="spacing must be finite and positive.*-1"):
        Geometry((4, 4, 4), (1.0, -1.0, 1.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(GeometryError, match="direction must be 9 finite cosines"):
        Geometry((4, 4, 4), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, float("nan")))


def test_geometry_maps_indices_to_lps():
    g = Geometry((4, 4, 4), (0.5, 2.0, 3.0), (10.0, 20.0, 30.0), (1, 0, 0, 0, -1, 0, 0, 0, 1))
    assert g.index_to_physical([[2.0, 1.0, 1.0]]).tolist() == [[11.0, 18.0, 33.0]]
    assert g.voxel_volume_mm3 == 3.0


def test_4d_mask(tmp_path):
    path = tmp_path / "four.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.uint8), np.eye(4)), path)
    with pytest.raises(GeometryError, match=r"3D image, got 4D with size \(4, 4, 4, 2\)"):
        read_mask(path)


def test_2d_mask(tmp_path):
    path = tmp_path / "flat.nrrd"
    sitk.WriteImage(sitk.Image([5, 6], sitk.sitkUInt8), str(path))
    with pytest.raises(GeometryError, match=r"got 2D with size \(5, 6\)"):
        read_mask(path)


def test_multi_component_mask(tmp_path):
    m = small_mask()
    path = write(sitk.Compose([m, m]), tmp_path / "vector.nrrd")
    with pytest.raises(ImageFileError, match="2 components"):
        read_mask(path)


# --------------------------------------------------------------------------- values


def test_float_mask_refused_by_default_and_accepted_when_allowed(tmp_path):
    path = write(sitk.Cast(small_mask(), sitk.sitkFloat32), tmp_path / "float.nii.gz")
    with pytest.raises(MaskValueError, match=r"stored as 32-bit float \(values found: 0, 1\)") as info:
        read_mask(path)
    assert info.value.code == "mask.float"
    mask = read_mask(path, allow_float_mask=True)
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert sitk.GetArrayViewFromImage(mask).sum() == 18


def test_non_integer_float_labels_always_refused(tmp_path):
    image = sitk.Cast(small_mask(), sitk.sitkFloat32) * 0.5
    path = write(image, tmp_path / "prob.nrrd")
    with pytest.raises(MaskValueError, match="not labels .*: 0.5"):
        read_mask(path, allow_float_mask=True)


def test_negative_labels(tmp_path):
    image = sitk.Cast(small_mask(np.int16), sitk.sitkInt16) * -3
    path = write(image, tmp_path / "neg.nrrd")
    with pytest.raises(MaskValueError, match="negative labels -3") as info:
        read_mask(path)
    assert info.value.value == [-3]


def test_label_255_is_a_valid_label(tmp_path):
    path = write(small_mask() * 255, tmp_path / "m255.nrrd")
    assert sitk.GetArrayViewFromImage(read_mask(path)).max() == 255


# --------------------------------------------------------------------------- pairs


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda m: m.SetOrigin((1.0, 2.0, 3.0 + 2.0)), "origin"),
        (lambda m: m.SetSpacing((0.5, 0.6, 2.5)), "spacing"),
        (lambda m: m.SetDirection((1, 0, 0, 0, -1, 0, 0, 0, -1)), "direction"),
    ],
)
def test_image_mask_geometry_mismatch_names_the_field(tmp_path, change, field):
    image = write(small_mask(np.int16), tmp_path / "image.nrrd")
    mask = small_mask()
    change(mask)
    mask_path = write(mask, tmp_path / "mask.nrrd")
    with pytest.raises(GeometryMismatchError, match=field) as info:
        load_pair(image, mask_path)
    assert info.value.code == "geometry.mismatch"
    assert info.value.file.endswith("mask.nrrd")


def test_off_by_one_slice_mask_reports_size_and_origin(tmp_path):
    image = write(small_mask(np.int16), tmp_path / "image.nrrd")
    mask = small_mask()[:, :, 1:]  # RTSTRUCT-style: one slice short at the bottom
    expected = r"size \(8, 7, 6\) vs \(8, 7, 5\).*origin .*difference \(0, 0, 2\)"
    with pytest.raises(GeometryMismatchError, match=expected):
        load_pair(image, write(mask, tmp_path / "mask.nrrd"))


def test_mismatch_within_tolerance_is_accepted_and_snapped(tmp_path):
    image = write(small_mask(np.int16), tmp_path / "image.nrrd")
    mask = small_mask(origin=(1.0 + 5e-4, 2.0, 3.0))
    _, loaded = load_pair(image, write(mask, tmp_path / "mask.nrrd"))
    assert loaded.GetOrigin() == (1.0, 2.0, 3.0)
    with pytest.raises(GeometryMismatchError, match="origin"):
        load_pair(image, tmp_path / "mask.nrrd", geometry_atol=1e-4)


def test_allow_resample_mask_uses_nearest_neighbour(tmp_path):
    image = small_mask(np.int16)
    mask = small_mask() * 3
    mask.SetOrigin((1.0, 2.0, 1.0))  # one 2 mm slice lower
    _, resampled = load_pair(image, mask, allow_resample_mask=True)
    values = np.unique(sitk.GetArrayViewFromImage(resampled))
    assert set(values) == {0, 3}  # no interpolated labels
    assert resampled.GetOrigin() == image.GetOrigin()
    assert sitk.GetArrayViewFromImage(resampled)[1:3].sum() == 18 * 3  # shifted up by one slice


# --------------------------------------------------------------------------- DICOM


def write_dicom_series(folder: Path, image: sitk.Image, series_uid: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    direction = image.GetDirection()
    for k in range(image.GetDepth()):
        s = image[:, :, k]
        s.SetMetaData("0020|000e", series_uid)
        s.SetMetaData("0020|000d", "1.2.826.0.1.3680043.2.1125.1")
        s.SetMetaData("0008|0060", "CT")
        s.SetMetaData("0020|0013", str(k + 1))
        s.SetMetaData("0020|0032", "\\".join(map(str, image.TransformIndexToPhysicalPoint((0, 0, k)))))
        s.SetMetaData("0020|0037", "\\".join(map(str, direction[0:7:3] + direction[1:8:3])))
        s.SetMetaData("0018|0050", str(image.GetSpacing()[2]))
        writer.SetFileName(str(folder / f"{series_uid[-3:]}_{k:03d}.dcm"))
        writer.Execute(s)


def test_dicom_series_folder(tmp_path):
    image = sitk.Cast(small_mask(np.int16), sitk.sitkInt16)
    write_dicom_series(tmp_path / "series", image, "1.2.826.0.1.3680043.2.1125.2.101")
    loaded = read_mask(tmp_path / "series")
    assert loaded.GetSize() == image.GetSize()
    assert loaded.GetSpacing() == pytest.approx(image.GetSpacing())
    assert loaded.GetOrigin() == pytest.approx(image.GetOrigin())
    assert sitk.GetArrayViewFromImage(loaded).sum() == 18


def test_dicom_folder_with_two_series_or_none(tmp_path):
    image = sitk.Cast(small_mask(np.int16), sitk.sitkInt16)
    write_dicom_series(tmp_path / "two", image, "1.2.826.0.1.3680043.2.1125.2.101")
    write_dicom_series(tmp_path / "two", image, "1.2.826.0.1.3680043.2.1125.2.202")
    with pytest.raises(ImageFileError, match="holds 2 DICOM series"):
        read_mask(tmp_path / "two")
    (tmp_path / "none").mkdir()
    with pytest.raises(ImageFileError, match="no DICOM series"):
        read_mask(tmp_path / "none")


def test_tolerances_are_named_and_documented():
    from respond.io import geometry, nifti

    for module, name in ((geometry, "ORTHONORMAL_ATOL"), (geometry, "GEOMETRY_ATOL_MM"),
                         (geometry, "DIRECTION_ATOL"), (nifti, "QFORM_SFORM_VOXEL_FRACTION")):
        assert getattr(module, name) > 0


def test_multi_member_gzip_nifti_is_read_completely(tmp_path):
    # Two concatenated gzip members: the trailer holds only the second member's size.
    whole = write(small_mask(), tmp_path / "m.nii")
    data = whole.read_bytes()
    path = tmp_path / "multi.nii.gz"
    path.write_bytes(gzip.compress(data[:400]) + gzip.compress(data[400:]))
    assert sitk.GetArrayViewFromImage(read_mask(path)).sum() == 18
    cut = tmp_path / "multi_cut.nii.gz"
    cut.write_bytes(gzip.compress(data[:400]) + gzip.compress(data[400:])[:-30])
    with pytest.raises(ImageFileError, match="truncated"):
        read_mask(cut)


def test_huge_header_fails_before_reading_voxels(tmp_path):
    path = write_nrrd(tmp_path / "huge.nrrd", directions="(1,0,0) (0,1,0) (0,0,1)", sizes=(4096, 4096, 4096),
                      data=bytes(24))
    # The memory limit (bytes) fires first since issue 17: 64 GiB of uint8 > MAX_IMAGE_BYTES.
    with pytest.raises(ImageFileError, match=r"68,719,476,736 voxels .*, 64 GiB in memory, .*max_bytes") as info:
        read_mask(path)
    assert info.value.code == "image.too_large"
    with pytest.raises(ImageFileError, match="max_voxels = 10"):
        read_image(write_nrrd(tmp_path / "small.nrrd", directions="(1,0,0) (0,1,0) (0,0,1)"), max_voxels=10)
