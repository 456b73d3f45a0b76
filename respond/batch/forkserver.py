"""A start-up server that forks patients' processes: isolation without paying the imports again.

A fresh Python process spends about 1.7 s importing numpy, pandas, scipy,
SimpleITK and respond before a patient's work starts. The server
(``python -m respond.batch.forkserver MODULE ...``) imports the jobs' modules
once and then forks one process per patient on request, so each patient
still runs in a process of its own (a crash, an out-of-memory kill or a
timeout ends that patient only) but starts in milliseconds.

The server runs no job and starts no ITK thread: every fork starts from the
same clean state, and it is started with the same environment (ITK's
thread cap) as a fresh worker would be. It is used on Linux only, where
forking a process that has loaded these libraries is well trodden; elsewhere
every patient is a fresh ``python -m respond.batch.child``.

Protocol, one line each way per patient: the parent writes a JSON list
``[job_file, result_file, stderr_file, status_file]``; the server forks,
answers with the child's pid, and when the child ends writes its exit code
(negative: the signal that killed it, as :class:`subprocess.Popen` says it)
atomically to ``status_file``. The server ends when its input closes.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

#: Seconds the parent waits for the server to import its modules and fork the first patient.
START_TIMEOUT_S: Final = 300.0
#: Seconds between checks while waiting for a forked patient to end.
WAIT_POLL_S: Final = 0.01


def sigkill_code() -> int:
    """Exit code reported for a patient whose end was not seen (the server itself was lost)."""
    return -signal.SIGKILL


def available() -> bool:
    """Whether patients are forked from a start-up server on this platform (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class ForkedProcess:
    """A patient's process forked by the server, seen through the part of ``Popen`` the runner uses."""

    def __init__(self, pid: int, status_file: Path, server: "StartupServer") -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._status_file = status_file
        self._server = server

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        if self.returncode is None:
            if self._status_file.is_file():
                self.returncode = int(self._status_file.read_text())
            elif not self._server.alive() and not _pid_running(self.pid):
                self.returncode = sigkill_code()  # the server was lost: its children's ends go unseen
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"respond patient process {self.pid}", timeout or 0.0)
            time.sleep(WAIT_POLL_S)
        return self.returncode  # type: ignore[return-value]


def _pid_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie nobody reaps counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class StartupServer:
    """The parent's handle on a running server (start it with :meth:`start`, end it with :meth:`close`)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._process = process
        self._first = True

    @classmethod
    def start(cls, modules: list[str], env: dict[str, str]) -> "StartupServer":
        """Start a server that imports ``modules`` (in the background: :meth:`fork` waits for it)."""
        process = subprocess.Popen([sys.executable, "-m", "respond.batch.forkserver", *modules],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=env)
        return cls(process)

    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self, job_file: Path, result_file: Path, stderr_file: Path,
             status_file: Path) -> ForkedProcess | None:
        """A new patient process running the job in ``job_file``; None when the server cannot fork one."""
        request = json.dumps([str(job_file), str(result_file), str(stderr_file), str(status_file)])
        try:
            self._process.stdin.write(request.encode() + b"\n")
            self._process.stdin.flush()
            wait = START_TIMEOUT_S if self._first else 60.0
            ready, _, _ = select.select([self._process.stdout], [], [], wait)
            line = self._process.stdout.readline() if ready else b""
        except (BrokenPipeError, OSError, ValueError):
            return None
        self._first = False
        if not line.strip().isdigit():
            self.stop()
            return None
        return ForkedProcess(int(line), status_file, self)

    def stop(self) -> None:
        """Kill a server that no longer answers; its running children go on (their ends are seen by pid)."""
        if self.alive():
            self._process.kill()
        self._process.wait()

    def close(self) -> None:
        """End the server (its running children, if any, are the caller's to stop first)."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# --------------------------------------------------------------------------------------------------
# The server's side


def _write_status(path: str, code: int) -> None:
    part = f"{path}.part"
    with open(part, "w", encoding="ascii") as handle:
        handle.write(str(code))
    os.replace(part, path)


def _reap(status_files: dict[int, str]) -> None:
    """Collect every ended child and write its exit code where the parent looks for it."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        path = status_files.pop(pid, None)
        if path is not None:
            _write_status(path, os.waitstatus_to_exitcode(status))


def _run_child(job_file: str, result_file: str, stderr_file: str) -> None:
    """In the forked child: default signals, no access to the server's pipes, then the job; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        from respond.batch.child import run_forked

        run_forked(job_file, result_file, stderr_file)
        code = 0
    finally:
        os._exit(code)


def serve(modules: list[str]) -> None:
    """The server's loop: import ``modules``, then fork a child per request line until input ends."""
    for name in ["respond.batch.child", *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the job reports it when its process imports the module
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    status_files: dict[int, str] = {}
    signal.signal(signal.SIGCHLD, lambda *_: _reap(status_files))
    requests = sys.stdin.buffer
    while line := requests.readline():
        job_file, result_file, stderr_file, status_file = json.loads(line)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # register the pid before its end is reaped
        pid = os.fork()
        if pid == 0:
            _run_child(job_file, result_file, stderr_file)
        status_files[pid] = status_file
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid, path in list(status_files.items()):
        _, status = os.waitpid(pid, 0)
        _write_status(path, os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    serve(sys.argv[1:])
