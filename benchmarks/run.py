"""Run every benchmark in turn (``make bench``); each prints its own figures."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_measure.py", "bench_registration.py", "bench_assess.py", "bench_criteria_scale.py")

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"=== {name}", flush=True)
        subprocess.run([sys.executable, str(HERE / name)], check=True)
