"""The batch runner: one process per patient; crashes, hangs and errors end as one failure each."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from respond.batch import Job, forkserver, run_jobs

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


linux_only = pytest.mark.skipif(not forkserver.available(), reason="patients are forked from a server on Linux only")


@linux_only
def test_patients_are_forked_from_one_server_with_the_worker_settings():
    out = run_jobs(_jobs(("A", "process_facts", {}), ("B", "process_facts", {})), workers=2, progress=False)
    parents = {o.value["parent_pid"] for o in out}
    assert len(parents) == 1 and os.getpid() not in parents  # both forked by the same start-up server
    assert [o.value["itk_threads"] for o in out] == [1, 1]  # the batch's ITK thread cap reached the fork


@linux_only
def test_a_lost_server_costs_no_patient():
    jobs = _jobs(("A", "kill_parent", {"x": 1}), ("B", "echo", {"x": 2}), ("C", "process_facts", {}))
    out = run_jobs(jobs, workers=1, timeout_s=60, progress=False)
    assert out[0].value == {"patient_id": "A", "x": 1} and out[1].value == {"patient_id": "B", "x": 2}
    assert out[2].value["parent_pid"] == os.getpid()  # started afresh once the server was gone


def test_costliest_patients_start_first_and_outcomes_keep_the_jobs_order():
    jobs = [Job(pid, F + "process_facts", {}, key=f"k-{pid}", cost=cost) for pid, cost in (("A", 1), ("B", 3), ("C", 2))]
    out = run_jobs(jobs, workers=1, progress=False)
    assert [o.patient_id for o in out] == ["A", "B", "C"]
    started = {o.patient_id: o.value["started"] for o in out}
    assert started["B"] < started["C"] < started["A"]


def test_a_script_without_a_main_guard_can_run_a_batch(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text("from respond.batch import Job, run_jobs\n"
                      "out = run_jobs([Job('A', 'respond.testing.faults:echo', {'x': 1}, key='k')], progress=False)\n"
                      "print(out[0].value)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'x': 1}"
