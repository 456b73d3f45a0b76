"""Run one job per patient, each in its own process, so that no patient can stop a batch.

- **Isolation**: every patient runs in a process of its own. A native crash
  (segmentation fault in a library), an out-of-memory kill or a hang ends
  that process only: the patient gets a row in the failures table and the
  batch goes on. On Linux the process is forked from a start-up server that
  has imported the jobs' modules once (:mod:`respond.batch.forkserver`), so
  it starts in milliseconds; elsewhere it is a fresh
  ``python -m respond.batch.child``.
- **Timeout**: a patient still running after ``timeout_s`` seconds is killed
  and recorded as ``batch.timeout``.
- **Resume**: each patient's outcome is stored in ``cache_dir`` under a key
  that hashes its inputs, the configuration and the respond version; a
  resumed run (after Ctrl-C, ``kill -9`` or a crash) reuses them and computes
  only what is missing or changed. Failures are reused too unless
  ``retry_failed``. Outcomes are written atomically, so a killed run never
  leaves a half-written one. The store holds JSON data only, validated on
  load: whoever can write into the output folder cannot make a resumed run
  execute anything (pickle is used only between this process and the
  workers it starts, through files in a private temporary folder).
- **Reproducible**: workers run ITK single-threaded by default, so that a
  patient's registration — and so every table — is the same bit for bit on
  every run; parallelism comes from running patients side by side.
- **Executors**: ``local`` keeps up to ``workers`` processes running on this
  machine; ``dask`` submits each patient to a ``dask.distributed`` cluster,
  where it again runs in its own process.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Final, Iterable, Sequence

from respond.batch import forkserver
from respond.batch.jobs import Job, Outcome
from respond.batch.progress import progress_bar
from respond.errors import MissingDependencyError
from respond.io.writers import atomic_write

#: Seconds between checks of running worker processes.
POLL_INTERVAL_S: Final = 0.05


@dataclass
class _Running:
    job: Job
    process: Any  # subprocess.Popen, or forkserver.ForkedProcess
    job_file: Path
    result_file: Path
    stderr_file: Path
    started: float = field(default_factory=time.monotonic)


#: Format tag of a stored outcome; an entry without it is refused.
CACHE_FORMAT: Final = "respond-outcome/1"
#: Keys of a stored outcome (JSON object).
_ENTRY_KEYS: Final = frozenset({"format", "patient_id", "key", "failure", "seconds", "value"})
#: Keys of a stored failure.
_FAILURE_KEYS: Final = frozenset({"stage", "error_code", "message"})


def _identity(value: Any) -> Any:
    return value


def _cache_file(cache_dir: Path | None, job: Job) -> Path | None:
    return None if cache_dir is None else cache_dir / f"{job.key}.json"


def _entry(outcome: Outcome, job: Job, encode: Callable[[Any], Any]) -> str:
    """A stored outcome as JSON text: data only, never code."""
    return json.dumps({"format": CACHE_FORMAT, "patient_id": outcome.patient_id, "key": job.key,
                       "failure": outcome.failure, "seconds": outcome.seconds,
                       "value": None if not outcome.ok else encode(outcome.value)}, allow_nan=False)


def _parse_entry(text: str, job: Job, decode: Callable[[Any], Any]) -> Outcome:
    """The outcome stored in ``text``; ValueError when it is not exactly what :func:`_entry` writes for ``job``."""
    data = json.loads(text)
    if not isinstance(data, dict) or set(data) != _ENTRY_KEYS or data["format"] != CACHE_FORMAT:
        raise ValueError("not a stored outcome of this respond version")
    if data["patient_id"] != job.patient_id or data["key"] != job.key:
        raise ValueError("stored for another patient or other inputs")
    failure = data["failure"]
    if failure is not None and (not isinstance(failure, dict) or set(failure) != _FAILURE_KEYS
                                or not all(isinstance(v, str) for v in failure.values())):
        raise ValueError("malformed failure")
    if not isinstance(data["seconds"], (int, float)):
        raise ValueError("malformed seconds")
    value = decode(data["value"]) if failure is None else None
    return Outcome(job.patient_id, value=value, failure=failure, seconds=float(data["seconds"]), cached=True)


def _load_cached(path: Path | None, job: Job, *, retry_failed: bool,
                 decode: Callable[[Any], Any] = _identity) -> Outcome | None:
    """The stored outcome of ``job``, or None when there is none, it is refused, or a failure is to be retried.

    A stored entry is JSON validated field by field (and ``decode`` validates
    the value): anything else — a damaged, tampered or foreign file — is
    refused with a warning and the patient is computed again. Nothing stored
    is ever executed or unpickled.
    """
    if path is None or not path.is_file():
        return None
    try:
        outcome = _parse_entry(path.read_text(encoding="utf-8"), job, decode)
    except Exception as exc:  # noqa: BLE001 - a bad entry is recomputed, never trusted
        warnings.warn(f"stored result {path.name} of patient {job.patient_id} refused ({exc}); "
                      "the patient is computed again", RuntimeWarning, stacklevel=3)
        return None
    if not outcome.ok and retry_failed:
        return None
    return outcome


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _worker_env(threads: int | None) -> dict[str, str]:
    """Environment of a worker: ITK's thread count capped at ``threads``."""
    env = dict(os.environ)
    if threads is not None:
        env["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(threads)
        env.setdefault("OMP_NUM_THREADS", str(threads))
    return env


def _job_files(job: Job, scratch: Path) -> tuple[Path, Path, Path]:
    """The job pickled into a new file of ``scratch``, and the names of its result and standard-error files."""
    fd, name = tempfile.mkstemp(prefix="job-", suffix=".pkl", dir=scratch)
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(job, handle)
    job_file = Path(name)
    return job_file, job_file.with_suffix(".result.pkl"), job_file.with_suffix(".stderr.txt")


def _start(job: Job, scratch: Path, threads: int | None = None) -> _Running:
    job_file, result, stderr = _job_files(job, scratch)
    with stderr.open("wb") as err:  # a file, not a pipe: a chatty worker can never block
        process = subprocess.Popen(
            [sys.executable, "-m", "respond.batch.child", str(job_file), str(result)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=_worker_env(threads),
        )
    return _Running(job, process, job_file, result, stderr)


def _start_forked(job: Job, scratch: Path, server: forkserver.StartupServer) -> _Running | None:
    """The job in a process forked by ``server``; None when the server cannot fork one."""
    job_file, result, stderr = _job_files(job, scratch)
    process = server.fork(job_file, result, stderr, job_file.with_suffix(".status"))
    if process is None:
        job_file.unlink(missing_ok=True)
        return None
    return _Running(job, process, job_file, result, stderr)


def _finish(run: _Running, *, timed_out: bool, timeout_s: float | None) -> Outcome:
    seconds = time.monotonic() - run.started
    pid = run.job.patient_id
    stderr = run.stderr_file.read_text(errors="replace").strip() if run.stderr_file.is_file() else ""
    try:
        if timed_out:
            return Outcome(pid, failure={
                "stage": "batch", "error_code": "batch.timeout",
                "message": f"patient {pid} still running after {timeout_s:g} s and was stopped; "
                           "raise --timeout if its scans are large"}, seconds=seconds)
        if run.result_file.is_file():
            with run.result_file.open("rb") as handle:
                outcome: Outcome = pickle.load(handle)
            outcome.seconds = seconds
            return outcome
        code = run.process.returncode
        how = f"was killed by {_signal_name(code)}" if code < 0 else f"exited with code {code}"
        tail = f"; last output: {stderr.splitlines()[-1][:300]}" if stderr else ""
        return Outcome(pid, failure={
            "stage": "batch", "error_code": "batch.worker_died",
            "message": f"the worker process of patient {pid} {how} without a result "
                       f"(a native crash or out of memory){tail}"}, seconds=seconds)
    finally:
        for path in (run.job_file, run.result_file, run.stderr_file, run.job_file.with_suffix(".status")):
            path.unlink(missing_ok=True)


def _store(outcome: Outcome, job: Job, path: Path | None, encode: Callable[[Any], Any]) -> None:
    if path is not None and not outcome.cached:
        text = _entry(outcome, job, encode)
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def require_executor(executor: str) -> None:
    """Check, before any work, that ``executor`` can run here.

    Raises :class:`~respond.errors.MissingDependencyError` naming the extra to
    install when the dask executor's dependencies are missing, and ValueError
    for an unknown executor.
    """
    if executor == "local":
        return
    if executor != "dask":
        raise ValueError(f"unknown executor {executor!r}; use 'local' or 'dask'")
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "the dask executor needs dask.distributed, which is not installed: "
            "pip install 'respond[distributed]'", code="setup.missing_dependency") from None


def run_jobs(
    jobs: Sequence[Job],
    *,
    workers: int = 1,
    timeout_s: float | None = None,
    cache_dir: str | Path | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    executor: str = "local",
    scheduler: Any = None,
    progress: bool | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    threads_per_worker: int | None = 1,
    encode: Callable[[Any], Any] = _identity,
    decode: Callable[[Any], Any] = _identity,
) -> list[Outcome]:
    """Run every job in its own process; outcomes in the order of ``jobs``.

    Every outcome is stored in ``cache_dir`` (when given). With ``resume``,
    stored outcomes of the same key are reused: successes always, failures
    unless ``retry_failed``. ``scheduler`` (dask executor): a scheduler
    address or a ``dask.distributed.Client``; a local cluster of ``workers``
    processes when None. ``progress``: show a progress bar (default: only on
    an interactive terminal outside CI). ``on_outcome`` is called as each
    patient finishes. ``threads_per_worker`` caps ITK's threads in each
    worker (default 1: ITK's multi-threaded registration is not bit-for-bit
    reproducible, and parallelism comes from the workers); None leaves
    ITK's default. ``encode`` turns a job's value into JSON data for the
    store and ``decode`` turns it back, validating it (raise on anything
    unexpected: the entry is then refused and the job run again); the
    default stores values that are JSON data already.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    require_executor(executor)
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    outcomes = _reusable(jobs, cache, retry_failed=retry_failed, decode=decode) if resume else {}
    pending = sorted((i for i in range(len(jobs)) if i not in outcomes), key=lambda i: -jobs[i].cost)
    with progress_bar(total=len(jobs), initial=len(outcomes), enabled=progress) as bar:
        def done(i: int, outcome: Outcome) -> None:
            outcomes[i] = outcome
            _store(outcome, jobs[i], _cache_file(cache, jobs[i]), encode)
            bar.update(1)
            if on_outcome is not None:
                on_outcome(outcome)

        if executor == "local":
            _run_local(jobs, pending, workers, timeout_s, done, threads_per_worker)
        elif executor == "dask":
            _run_dask(jobs, pending, workers, timeout_s, scheduler, done, threads_per_worker)
        else:
            raise ValueError(f"unknown executor {executor!r}; use 'local' or 'dask'")
    return [outcomes[i] for i in range(len(jobs))]


def _reusable(jobs: Sequence[Job], cache: Path | None, *, retry_failed: bool,
              decode: Callable[[Any], Any]) -> dict[int, Outcome]:
    """The stored outcomes that a resumed run reuses, by job index."""
    found = {}
    for i, job in enumerate(jobs):
        hit = _load_cached(_cache_file(cache, job), job, retry_failed=retry_failed, decode=decode)
        if hit is not None:
            found[i] = hit
    return found


def _run_local(jobs: Sequence[Job], pending: list[int], workers: int, timeout_s: float | None,
               done: Callable[[int, Outcome], None], threads: int | None) -> None:
    queue = list(pending)
    running: dict[int, _Running] = {}
    server = _startup_server(jobs, pending, threads)
    with tempfile.TemporaryDirectory(prefix="respond-batch-") as scratch:
        try:
            while queue or running:
                while queue and len(running) < workers:
                    i = queue.pop(0)
                    forked = None if server is None else _start_forked(jobs[i], Path(scratch), server)
                    if forked is None and server is not None:  # the server was lost: fresh processes from now on
                        server.stop()
                        server = None
                    running[i] = forked or _start(jobs[i], Path(scratch), threads=threads)
                for i, run in list(running.items()):
                    timed_out = timeout_s is not None and time.monotonic() - run.started > timeout_s
                    if timed_out:
                        run.process.kill()
                        run.process.wait()
                    elif run.process.poll() is None:
                        continue
                    del running[i]
                    done(i, _finish(run, timed_out=timed_out, timeout_s=timeout_s))
                time.sleep(POLL_INTERVAL_S)
        finally:  # Ctrl-C or an error: no orphan workers
            for run in running.values():
                run.process.kill()
                run.process.wait()
            if server is not None:
                server.close()


def _startup_server(jobs: Sequence[Job], pending: list[int],
                    threads: int | None) -> forkserver.StartupServer | None:
    """A server forking this batch's patients, preloaded with their jobs' modules; None where not used."""
    if not pending or not forkserver.available():
        return None
    modules = sorted({jobs[i].function.partition(":")[0] for i in pending})
    return forkserver.StartupServer.start(modules, _worker_env(threads))


def run_isolated(job: Job, timeout_s: float | None = None, threads: int | None = 1) -> Outcome:
    """Run one job in a child process and wait for it (used on Dask workers)."""
    with tempfile.TemporaryDirectory(prefix="respond-job-") as scratch:
        run = _start(job, Path(scratch), threads=threads)
        try:
            run.process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()
            timed_out = True
        return _finish(run, timed_out=timed_out, timeout_s=timeout_s)


def _run_dask(jobs: Sequence[Job], pending: list[int], workers: int, timeout_s: float | None,
              scheduler: Any, done: Callable[[int, Outcome], None], threads: int | None) -> None:
    require_executor("dask")
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = not isinstance(scheduler, Client)
    if isinstance(scheduler, Client):
        client = scheduler
    elif scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(run_isolated, jobs[i], timeout_s, threads, key=f"respond-{jobs[i].key}-{i}",
                                 pure=False): i
                   for i in pending}
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the Dask worker itself was lost
                outcome = Outcome(jobs[i].patient_id, failure={
                    "stage": "batch", "error_code": "batch.worker_died",
                    "message": f"the Dask worker running patient {jobs[i].patient_id} failed: {exc}"})
            done(i, outcome)
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def outcomes_failures(outcomes: Iterable[Outcome]) -> list[dict]:
    """The failure rows (with patient_id) of the outcomes that failed."""
    return [{"patient_id": o.patient_id, **o.failure} for o in outcomes if not o.ok]
