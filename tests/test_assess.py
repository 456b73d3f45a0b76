"""`respond assess` end to end: a generated cohort, faults that cost one patient each, resume, Dask."""
from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

import respond
from respond.pipeline.patient import FAULT_VARIABLE
from respond.testing.cohort import write_cohort

TABLES = ("lesions", "matches", "registrations", "timepoints", "best_response", "targets", "events", "summary",
          "failures")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Twenty generated patients at 6 mm, assessed once with two workers."""
    folder = tmp_path_factory.mktemp("cohort")
    files = write_cohort(folder / "in", 20, spacing_mm=6.0)
    result = respond.assess(files.manifest, out=folder / "out", patients=files.patients, workers=2,
                            report=False, progress=False)
    return files, result, folder


def test_twenty_patients_end_to_end(cohort):
    files, result, folder = cohort
    assert result.n_failed == 0, result.failures.to_string()
    best = result.best_response
    assert len(best) == 40 and set(best.criteria) == {"recist1.1", "rano-bm"}
    tp = result.timepoints
    for pid, course in files.courses.items():
        mine = tp[(tp.patient_id == pid) & (tp.criteria == "recist1.1")].sort_values("date")
        last = mine.iloc[-1]
        if course == "distant":
            assert last.new_lesions == "yes" and last.overall_response == "PD", pid
        if course == "local":
            assert last.target_response == "PD", pid
        if course == "responder":
            assert best[(best.patient_id == pid) & (best.criteria == "recist1.1")].best_overall_response.iloc[0] \
                in ("CR", "PR"), pid
    for name in TABLES:
        assert (folder / "out" / f"{name}.csv").is_file()
    assert (folder / "out" / "parquet" / "timepoints.parquet").is_file()
    written = result.registrations.transform_file.dropna()
    assert len(written) >= 40
    assert all((folder / "out" / f).is_file() for f in written)
    assert result.run_info["counts"]["patients_assessed"] == 20


def _subset(files, folder: Path, patients: list[str]) -> Path:
    """A copy of some patients of the cohort (files and manifest) in ``folder``."""
    src = files.manifest.parent
    folder.mkdir(parents=True, exist_ok=True)
    for pid in patients:
        shutil.copytree(src / pid, folder / pid)
    manifest = pd.read_csv(files.manifest, dtype=str, keep_default_na=False)
    manifest[manifest.patient_id.isin(patients)].to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def _last_scan(manifest: Path, pid: str, column: str = "mask") -> Path:
    rows = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    return manifest.parent / rows[rows.patient_id == pid].sort_values("date")[column].iloc[-1]


def test_each_fault_costs_one_patient(cohort, tmp_path, monkeypatch):
    files, clean, _ = cohort
    pids = sorted(files.courses)[:6]
    manifest = _subset(files, tmp_path / "in", pids)
    corrupt, truncated, missing, mismatch, killed, healthy = pids
    _last_scan(manifest, corrupt).write_bytes(gzip.compress(b"\x00not an image" * 100))
    data = _last_scan(manifest, truncated).read_bytes()
    _last_scan(manifest, truncated).write_bytes(data[: len(data) // 2])
    _last_scan(manifest, missing).unlink()
    image_path = _last_scan(manifest, mismatch, "image")
    image = sitk.ReadImage(str(image_path))
    image.SetOrigin(tuple(np.array(image.GetOrigin()) + [0.0, 0.0, 3.0]))
    sitk.WriteImage(image, str(image_path))
    monkeypatch.setenv(FAULT_VARIABLE, f"kill:{killed}")

    result = respond.assess(manifest, out=tmp_path / "out", workers=2, report=False, progress=False)
    failures = result.failures.set_index("patient_id")
    assert sorted(failures.index) == sorted([corrupt, truncated, missing, mismatch, killed])
    assert failures.loc[missing, "stage"] == "manifest" and "not found" in failures.loc[missing, "message"]
    assert failures.loc[killed, "error_code"] == "batch.worker_died" and "SIGKILL" in failures.loc[killed, "message"]
    assert failures.loc[mismatch, "error_code"].startswith("geometry") and "origin" in failures.loc[mismatch, "message"]
    for pid in (corrupt, truncated):
        assert failures.loc[pid, "error_code"].startswith("image"), failures.loc[pid, "message"]
        assert _last_scan(manifest, pid).name in failures.loc[pid, "message"]
    # the healthy patient is complete and identical to the clean run
    for name in ("timepoints", "best_response", "lesions"):
        mine = getattr(result, name)
        theirs = getattr(clean, name)
        pd.testing.assert_frame_equal(
            mine[mine.patient_id == healthy].reset_index(drop=True).astype(str),
            theirs[theirs.patient_id == healthy].reset_index(drop=True).astype(str))
    on_disk = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert len(on_disk) == 5


def _tables(folder: Path) -> dict[str, str]:
    """Every table as text; registrations without their wall-time column (the only thing that may differ)."""
    tables = {name: (folder / f"{name}.csv").read_text(encoding="utf-8") for name in TABLES}
    registrations = pd.read_csv(folder / "registrations.csv", dtype=str, keep_default_na=False)
    tables["registrations"] = registrations.drop(columns="seconds").to_csv(index=False)
    return tables


def test_interrupted_run_resumes_to_identical_tables(cohort, tmp_path):
    files, _, _ = cohort
    pids = sorted(files.courses)[:5]
    manifest = _subset(files, tmp_path / "in", pids)
    cmd = [sys.executable, "-m", "respond.cli", "assess", str(manifest), "--no-report", "--no-progress"]
    subprocess.run(cmd + ["--out", str(tmp_path / "whole")], check=True, capture_output=True)

    out = tmp_path / "interrupted"
    run = subprocess.Popen(cmd + ["--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    cache = out / ".respond-cache"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(cache.glob("*.json"))) < 2 and run.poll() is None:
        time.sleep(0.05)
    try:
        os.killpg(run.pid, signal.SIGKILL)  # kill -9 of the run and its workers, mid-run
    except ProcessLookupError:  # a fast machine finished first: the resume below then reuses everything
        pass
    run.wait()
    for table in TABLES:  # a table that exists is complete: the kill left no half-written file under its name
        if (out / f"{table}.csv").exists():
            pd.read_csv(out / f"{table}.csv")

    resumed = subprocess.run(cmd + ["--out", str(out), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "reused from the previous run" in resumed.stdout
    assert _tables(out) == _tables(tmp_path / "whole")
    assert not list(out.rglob("*.part"))  # temporary files of the killed run are cleared


def test_dask_executor_gives_the_same_tables(cohort, tmp_path):
    pytest.importorskip("dask.distributed")
    files, clean, _ = cohort
    pids = sorted(files.courses)[:3]
    manifest = _subset(files, tmp_path / "in", pids)
    local = respond.assess(manifest, out=tmp_path / "local", workers=2, report=False, progress=False)
    dask = respond.assess(manifest, out=tmp_path / "dask", workers=2, executor="dask", report=False, progress=False)
    assert local.n_failed == dask.n_failed == 0
    assert _tables(tmp_path / "local") == _tables(tmp_path / "dask")


def test_resume_refuses_a_tampered_store_entry_and_recomputes_that_patient_only(cohort, tmp_path):
    import json

    files, clean, folder = cohort
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out)
    entries = sorted((out / ".respond-cache").glob("*.json"))
    assert len(entries) == 20 and not list((out / ".respond-cache").glob("*.pkl"))
    entry = json.loads(entries[0].read_text())
    lesions = entry["value"]["tables"]["lesions"]
    column = [c["name"] for c in lesions["columns"]].index("longest_diameter_mm")
    lesions["rows"][0][column] = "__import__('os').system('echo owned')"  # text where tables.py wants mm
    entries[0].write_text(json.dumps(entry))
    with pytest.warns(RuntimeWarning, match=f"{entry['patient_id']} refused"):
        resumed = respond.assess(files.manifest, out=out, patients=files.patients, workers=2, resume=True,
                                 report=False, progress=False)
    assert resumed.run_info["counts"]["patients_reused"] == 19
    pd.testing.assert_frame_equal(resumed.best_response, clean.best_response)
    assert json.loads(entries[0].read_text())["value"]["tables"]["lesions"]["rows"][0][column] != \
        lesions["rows"][0][column]  # the recomputed result replaced the tampered entry
