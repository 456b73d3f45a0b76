"""--resume never unpickles: the per-patient store is JSON data, validated on load; a tampered entry is refused."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import pickle
import warnings

import pandas as pd
import pytest

from respond.batch import Job, run_jobs
from respond.pipeline.cache import CacheEntryError, decode_patient_result, encode_patient_result

F = "respond.testing.faults:"


class _Exploit:
    """Unpickling this runs ``os.system`` (what a malicious cache entry would do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _job(pid="A", key="k-A"):
    return Job(pid, F + "echo", {"patient_id": pid, "x": 1}, key=key)


def test_a_pickle_planted_in_the_store_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"
    store = tmp_path / "store"
    store.mkdir()
    payload = pickle.dumps(_Exploit(marker))
    (store / "k-A.json").write_bytes(payload)  # where the entry lives now
    (store / "k-A.pkl").write_bytes(payload)  # where older versions kept it
    with pytest.warns(RuntimeWarning, match="refused"):
        out = run_jobs([_job()], cache_dir=store, resume=True, progress=False)
    assert not marker.exists()
    assert out[0].ok and not out[0].cached and out[0].value == {"patient_id": "A", "x": 1}
    stored = json.loads((store / "k-A.json").read_text())  # the recomputed outcome replaced it, as data
    assert stored["value"] == {"patient_id": "A", "x": 1} and stored["format"] == "respond-outcome/1"


@pytest.mark.parametrize("edit", [
    lambda e: e.update(patient_id="B"),                 # another patient's result
    lambda e: e.update(key="k-other"),                  # other inputs
    lambda e: e.update(extra=1),                        # unknown field
    lambda e: e.update(failure={"stage": 1}),          # malformed failure
    lambda e: e.update(format="respond-outcome/0"),     # another format
])
def test_an_entry_that_does_not_validate_is_refused(tmp_path, edit):
    jobs = [_job()]
    run_jobs(jobs, cache_dir=tmp_path, progress=False)
    path = tmp_path / "k-A.json"
    entry = json.loads(path.read_text())
    edit(entry)
    path.write_text(json.dumps(entry))
    with pytest.warns(RuntimeWarning, match="refused"):
        out = run_jobs(jobs, cache_dir=tmp_path, resume=True, progress=False)
    assert out[0].ok and not out[0].cached


def test_an_untouched_entry_is_reused_without_warning(tmp_path):
    jobs = [_job()]
    first = run_jobs(jobs, cache_dir=tmp_path, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = run_jobs(jobs, cache_dir=tmp_path, resume=True, progress=False)
    assert again[0].cached and again[0].value == first[0].value


def _patient_result():
    lesions = pd.DataFrame({
        "patient_id": ["P1", "P1"], "date": [dt.date(2024, 1, 5), dt.date(2024, 3, 1)],
        "lesion_id": ["L1", "L1"], "organ": ["brain", "brain"],
        "longest_diameter_mm": [12.345678901234567, math.nan], "n_slices": [3, 0],
        "touches_edge": [False, True], "equivocal": [None, True],
    })
    matches = pd.DataFrame({"patient_id": ["P1"], "date": [dt.date(2024, 3, 1)], "lesion_id": ["L1"],
                            "source_label": ["1"], "status": ["matched"], "overlap": [0.5], "distance_mm": [1.25]})
    empty = pd.DataFrame({"patient_id": pd.Series(dtype=object)})
    return {"lesions": lesions, "matches": matches, "registrations": empty, "failures": empty,
            "seconds": {"read": 0.5, "register": 1.0}}


def test_patient_result_round_trips_exactly_through_json():
    value = _patient_result()
    back = decode_patient_result(json.loads(json.dumps(encode_patient_result(value), allow_nan=False)))
    pd.testing.assert_frame_equal(back["lesions"], value["lesions"])
    pd.testing.assert_frame_equal(back["matches"], value["matches"])
    assert back["lesions"]["date"].iloc[0] == dt.date(2024, 1, 5)
    assert back["lesions"]["longest_diameter_mm"].iloc[0] == 12.345678901234567  # every digit kept
    assert back["seconds"] == {"read": 0.5, "register": 1.0}


def _tamper(path, value):
    data = json.loads(json.dumps(encode_patient_result(_patient_result())))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    (("tables", "lesions", "rows", 0, 4), "__import__('os').system('x')", "str value"),  # text in a float column
    (("tables", "lesions", "rows", 0, 1), "2024-01-05", "str value"),                    # an untagged date
    (("tables", "lesions", "rows", 0, 1), {"date": "2024-13-45"}, "unexpected cell"),    # not a date
    (("tables", "lesions", "rows", 0, 5), 2.5, "float value"),                           # n_slices not whole
    (("tables", "lesions", "rows", 0, 5), True, "bool value"),                           # n_slices a bool
    (("tables", "lesions", "rows", 0, 6), "False", "str value"),                         # a bool as text
    (("tables", "lesions", "columns", 0, "dtype"), "complex128", "malformed column"),
    (("tables", "lesions", "rows", 0), ["P1"], "does not have"),
    (("tables", "registrations"), {"py/object": "os.system"}, "not a stored table"),
    (("seconds", "read"), "1", "seconds"),
])
def test_decoding_refuses_cells_that_do_not_fit_tables_py(path, value, message):
    with pytest.raises(CacheEntryError, match=message):
        decode_patient_result(_tamper(path, value))


def test_decoding_refuses_a_missing_or_extra_table():
    data = json.loads(json.dumps(encode_patient_result(_patient_result())))
    del data["tables"]["matches"]
    with pytest.raises(CacheEntryError, match="expected"):
        decode_patient_result(data)
