"""The batch runner: one process per patient; crashes, hangs and errors end as one failure each."""
from __future__ import annotations

import pytest

from respond.batch import Job, run_jobs

F = "respond.testing.faults:"


def _jobs(*spec):
    return [Job(pid, F + fn, {"patient_id": pid, **payload}, key=f"k-{pid}") for pid, fn, payload in spec]


def test_faults_become_failures_and_the_others_complete():
    jobs = _jobs(("A", "echo", {"x": 1}), ("CRASH", "crash", {}), ("HANG", "hang", {}),
                 ("BAD", "bad_file", {"file": "scan3.nii.gz"}), ("BUG", "bug", {}), ("B", "echo", {"x": 2}))
    out = {o.patient_id: o for o in run_jobs(jobs, workers=2, timeout_s=15, progress=False)}
    assert out["A"].value == {"patient_id": "A", "x": 1} and out["B"].value["x"] == 2
    assert out["CRASH"].failure["error_code"] == "batch.worker_died" and "SIGSEGV" in out["CRASH"].failure["message"]
    assert out["HANG"].failure["error_code"] == "batch.timeout"
    assert out["BAD"].failure["error_code"] == "image.unreadable" and "scan3.nii.gz" in out["BAD"].failure["message"]
    assert out["BUG"].failure["error_code"] == "internal.KeyError" and "faults.py" in out["BUG"].failure["message"]


def test_resume_reuses_results_and_retries_failures_only_when_asked(tmp_path):
    jobs = _jobs(("A", "echo", {"x": 1}), ("BAD", "bad_file", {}))
    first = run_jobs(jobs, cache_dir=tmp_path, progress=False)
    assert [o.cached for o in first] == [False, False]
    again = run_jobs(jobs, cache_dir=tmp_path, progress=False)  # no resume: everything recomputed
    assert [o.cached for o in again] == [False, False]
    resumed = run_jobs(jobs, cache_dir=tmp_path, resume=True, progress=False)
    assert [o.cached for o in resumed] == [True, True] and resumed[0].value == first[0].value
    assert resumed[1].failure == first[1].failure
    retried = run_jobs(jobs, cache_dir=tmp_path, resume=True, retry_failed=True, progress=False)
    assert [o.cached for o in retried] == [True, False]
    changed = [Job("A", F + "echo", {"x": 5}, key="k-A-changed")]
    assert run_jobs(changed, cache_dir=tmp_path, resume=True, progress=False)[0].value == {"x": 5}


def test_damaged_cache_entry_is_recomputed(tmp_path):
    jobs = _jobs(("A", "echo", {"x": 1}))
    (tmp_path / "k-A.json").write_bytes(b"not json")
    with pytest.warns(RuntimeWarning, match="refused"):
        out = run_jobs(jobs, cache_dir=tmp_path, resume=True, progress=False)
    assert out[0].ok and not out[0].cached


def test_dask_executor_gives_the_same_outcomes():
    pytest.importorskip("dask.distributed")
    jobs = _jobs(("A", "echo", {"x": 1}), ("BAD", "bad_file", {}), ("CRASH", "crash", {}))
    local = run_jobs(jobs, workers=2, progress=False)
    dask = run_jobs(jobs, workers=2, executor="dask", progress=False)
    assert [(o.patient_id, o.value, (o.failure or {}).get("error_code")) for o in local] == \
           [(o.patient_id, o.value, (o.failure or {}).get("error_code")) for o in dask]
