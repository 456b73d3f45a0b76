"""Property-based bad-input suite: NIfTI masks with mutated header fields through `respond measure`.

A small valid mask (one box lesion) is written with nibabel; one or more
header fields are then set to arbitrary values (datatype, dims, pixdim,
vox_offset, qform/sform codes and parameters, magic, scaling), or the
gzip stream is damaged. `respond measure` must answer with a lesion table
(exit 0) or a coded error (exit 2), never a traceback or a hang.
Bounded sizes keep each example small: huge declared images are the subject
of their own tests.
"""
from __future__ import annotations

import gzip
import itertools

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz_settings, run_cli
from respond.cli import main

_counter = itertools.count()

#: Traceback this suite still finds in the NIfTI reader (io area): a valid scl_slope with a NaN
#: scl_inter raises nibabel's HeaderDataError from respond.io.nifti.nonfinite_voxel_count.
#: (Unknown datatypes, invalid quaternions and damaged gzip streams, found earlier, are fixed.)


def _mask() -> nib.Nifti1Image:
    data = np.zeros((12, 12, 5), np.uint8)
    data[3:9, 4:8, 1:4] = 1
    affine = np.diag([0.8, 0.8, 2.0, 1.0])
    image = nib.Nifti1Image(data, affine)
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    return image


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                   st.sampled_from([0.0, -1.0, 1e-30, 1e30, 0.8, 2.0]))
FIELDS = {
    "datatype": st.one_of(st.sampled_from([2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280, 128, 32, 2304]),
                          st.integers(-32768, 32767)),
    "bitpix": st.integers(-32768, 32767),
    "vox_offset": st.one_of(floats, st.sampled_from([0.0, 348.0, 344.0, 352.0, 356.0, 10**6])),
    "qform_code": st.integers(-32768, 32767),
    "sform_code": st.integers(-32768, 32767),
    "quatern_b": floats, "quatern_c": floats, "quatern_d": floats,
    "qoffset_x": floats, "qoffset_z": floats,
    "scl_slope": floats, "scl_inter": floats,
    "magic": st.sampled_from([b"n+1", b"ni1", b"n+2", b"abc", b""]),
    "sizeof_hdr": st.sampled_from([348, 540, 0, 1]),
    "xyzt_units": st.integers(0, 255),
}


def _write(tmp_path, image: nib.Nifti1Image, fields: dict, damage: tuple | None) -> object:
    folder = tmp_path / f"ex{next(_counter)}"
    folder.mkdir()
    header = image.header.copy()
    header["vox_offset"] = 352
    raw = header.binaryblock
    for name, value in fields.items():
        arr = header.structarr
        try:
            arr[name] = value
        except (OverflowError, ValueError, TypeError):
            continue
    block = header.structarr.tobytes()
    assert len(block) == len(raw)
    body = np.asanyarray(image.dataobj).tobytes(order="F")
    plain = block + b"\x00" * 4 + body
    data = gzip.compress(plain)
    if damage is not None:
        position, replacement, length = damage
        buffer = bytearray(data)
        at = position % (len(buffer) + 1)
        buffer[at:at + length] = replacement
        data = bytes(buffer)
    path = folder / "mask.nii.gz"
    path.write_bytes(data)
    return path


def _measure(tmp_path, path):
    out = path.parent / "lesions.csv"
    outcome = run_cli(main, ["measure", path, "--out", out])
    if outcome.exit_code == 0:
        assert out.is_file()
        pd.read_csv(out)
    return outcome


def test_the_unmutated_mask_measures_one_lesion(tmp_path):
    outcome = _measure(tmp_path, _write(tmp_path, _mask(), {}, None))
    assert outcome.exit_code == 0, outcome.output
    table = pd.read_csv(tmp_path / "ex0" / "lesions.csv")
    assert len(table) == 1 and abs(table["longest_diameter_mm"].iloc[0] - np.hypot(5, 3) * 0.8) < 1.5


@fuzz_settings(40)
@given(fields=st.dictionaries(st.sampled_from(sorted(FIELDS)), st.none(), min_size=1, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELDS[k] for k in keys})))
def test_mutated_header_fields_never_end_in_a_traceback(tmp_path, fields):
    _measure(tmp_path, _write(tmp_path, _mask(), fields, None))


@fuzz_settings(25)
@given(dims=st.lists(st.integers(-5, 40), min_size=8, max_size=8),
       pixdim=st.lists(floats, min_size=8, max_size=8))
def test_mutated_dims_and_spacing_never_end_in_a_traceback(tmp_path, dims, pixdim):
    _measure(tmp_path, _write(tmp_path, _mask(), {"dim": dims, "pixdim": pixdim}, None))


@fuzz_settings(30)
@given(damage=st.tuples(st.integers(0, 10_000), st.binary(max_size=4), st.integers(0, 4)))
def test_damaged_gzip_stream_never_ends_in_a_traceback(tmp_path, damage):
    _measure(tmp_path, _write(tmp_path, _mask(), {}, damage))
