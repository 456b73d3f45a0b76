"""How respond.evaluate scales with scans per patient and with patients (issue 17).

Three synthetic lesion tables (two lung lesions per scan, sizes drifting
slowly so that every rule runs), evaluated under RECIST 1.1 and RANO-BM from
a DataFrame (table validation, criteria, endpoints; nothing written):

1. one patient with N scan dates (N = 1,000, 2,000, 4,000): time per scan
   should stay flat (linear), not grow with N (quadratic);
2. N one-row patients (N = 2,000 and 10,000): time per patient flat;
3. 10,000 patients × 6 visits (the target: under 30 s on the 2-core machine).

Reproduce: ``python benchmarks/bench_criteria_scale.py`` (``--quick`` for a
smaller run). Ratios in the same run matter more than seconds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time

import pandas as pd

import respond


def _table(patients: int, scans: int, lesions: int = 2) -> pd.DataFrame:
    start = dt.date(2020, 1, 1)
    rows = []
    for p in range(patients):
        for s in range(scans):
            date = (start + dt.timedelta(days=56 * s)).isoformat()
            for k in range(lesions):
                size = 30.0 + 5.0 * ((s + k + p) % 4)  # stays in SD: never PD, never PR
                rows.append({"patient_id": f"P{p:05d}", "date": date, "lesion_id": f"L{k}",
                             "organ": "lung" if k % 2 == 0 else "brain", "longest_diameter_mm": size,
                             "short_axis_mm": size / 2, "n_slices": 4})
    return pd.DataFrame(rows)


def _time(frame: pd.DataFrame) -> tuple[float, float]:
    """Wall and CPU seconds of one evaluation (CPU time depends less on the load of a shared machine)."""
    criteria = [respond.load_criteria("recist1.1"), respond.load_criteria("rano-bm")]
    t0, c0 = time.perf_counter(), time.process_time()
    result = respond.evaluate(frame, criteria=criteria)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(result.failures) == 0, result.failures.head()
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    args = parser.parse_args()
    _time(_table(5, 3))  # warm-up: imports, preset loading
    scale = 0.25 if args.quick else 1.0
    print("| case | rows | seconds | CPU seconds | per scan or patient, ms |")
    print("|---|---|---|---|---|")
    for n in (1000, 2000, 4000):
        n = int(n * scale)
        frame = _table(1, n)
        s, cpu = _time(frame)
        print(f"| 1 patient × {n} scan dates | {len(frame)} | {s:.2f} | {cpu:.2f} | {1000 * s / n:.2f} |", flush=True)
    for n in (2000, 10000):
        n = int(n * scale)
        frame = _table(n, 1, lesions=1)
        s, cpu = _time(frame)
        print(f"| {n} one-row patients | {len(frame)} | {s:.2f} | {cpu:.2f} | {1000 * s / n:.2f} |", flush=True)
    n = int(10000 * scale)
    frame = _table(n, 6)
    s, cpu = _time(frame)
    print(f"| {n} patients × 6 visits | {len(frame)} | {s:.2f} | {cpu:.2f} | {1000 * s / n:.2f} |", flush=True)


if __name__ == "__main__":
    main()
