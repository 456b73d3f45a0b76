"""Lists in io error messages are capped: the first five values and the count (issue 12.5)."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from respond.errors import ImageFileError, MaskValueError, format_values
from respond.io.images import read_image
from respond.io.masks import check_mask_values
from respond.testing.dicom import write_dicom_series


def test_format_values_shows_five_and_the_count():
    assert format_values(range(161)) == "0, 1, 2, 3, 4, … (161 values)"
    assert format_values([0.5, 2.25], unit="mm") == "0.5 mm, 2.25 mm"
    assert format_values(["a", "b"], sep="; ") == "a; b"
    assert format_values(np.array([2**40, 7], np.int64)) == "1099511627776, 7"
    assert format_values([]) == ""


def test_many_missing_slices_are_not_all_printed(tmp_path):
    image = sitk.GetImageFromArray(np.zeros((30, 4, 5), np.int16))
    write_dicom_series(image, tmp_path / "s", omit_slices=range(5, 25))  # one gap of 20 missing slices
    with pytest.raises(ImageFileError, match=r"20 slice\(s\) missing at 5, 6, 7, 8, 9, … \(20 values\) mm") as info:
        read_image(tmp_path / "s")
    assert info.value.code == "image.dicom_uneven_slices"
    assert " 10, " not in str(info.value)


def test_many_bad_mask_values_are_not_all_printed():
    array = (np.arange(4 * 5 * 6, dtype=np.float32) + 0.5).reshape(4, 5, 6)  # 120 non-integer values
    with pytest.raises(MaskValueError, match=r"0\.5, 1\.5, 2\.5, 3\.5, 4\.5, … \(120 values\)") as info:
        check_mask_values(sitk.GetImageFromArray(array))
    assert "5.5" not in str(info.value)
