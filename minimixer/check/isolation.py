"""Check a student's file in a separate process that cannot hang or break the checker.

`check_isolated(path, exercise, limits)` starts `python -m minimixer.check.child` in
its own session (process group), in an empty working folder, with one thread per
numerical library, and watches the events it writes:

* **time**: each check (and the import of the file) has a time limit. The child
  stops a check that overruns by itself (SIGALRM); if it cannot (a loop that
  catches everything, a long C call), the parent kills the whole process group
  a few seconds later and reports the check as timed out;
* **memory**: the child may grow its address space by `limits.memory_mb` at most,
  so a huge allocation raises MemoryError inside the student's code;
* **output**: what the student's code prints is kept up to `limits.output_kb` and
  counted beyond; no file the child writes may exceed 32 MB;
* **crashes**: a segfault, `os._exit` or a kill by the system becomes a "died"
  result for the check that was running; later checks are marked as not run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .registry import DEFAULT_TIME_LIMIT, exercises
from .report import CRASHED, SKIPPED, TIMEOUT, CheckReport, CheckResult
from .runner import OWN_WORK

GRACE = 3.0  # seconds the child gets beyond a limit to report the overrun itself
BETWEEN_CHECKS = 60.0  # seconds allowed between the end of one check and the start of the next
REPORTED_OUTPUT = 4000  # characters of printed output kept in the report
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds `minimixer`


@dataclass
class Limits:
    """What one student's process may use."""

    time_limit: float = DEFAULT_TIME_LIMIT  # seconds per check
    memory_mb: int = 2048  # address space the student's code may add
    output_kb: int = 64  # printed text kept
    startup: float = 120.0  # seconds for the child to start and begin importing the file


def check_isolated(path, exercise: str, limits: Limits | None = None, stop=None) -> CheckReport:
    """Run `check_file` on `path` in a limited child process; always returns a report.

    `stop` (a threading.Event) ends the child at once when set: grading a class stops
    every running submission that way when the teacher presses Ctrl-C.
    """
    limits = limits or Limits()
    path = Path(path).resolve()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minimixer-check-") as folder:
        folder = Path(folder)
        events_path, output_path, work = folder / "events.jsonl", folder / "output.txt", folder / "work"
        work.mkdir()
        events_path.touch()
        with open(output_path, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "minimixer.check.child", str(events_path), str(path), exercise,
                 str(limits.time_limit), str(limits.memory_mb), str(limits.output_kb)],
                cwd=work, env=child_environment(), stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)
            watch = _Watch(process, events_path, limits, stop)
            watch.run()
        report = _assemble(path, exercise, watch, output_path)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def child_environment() -> dict:
    """The parent's environment, with minimixer importable and one thread per library."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = "1"
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


class _Watch:
    """Follow the child's events; kill its process group when a deadline passes."""

    def __init__(self, process, events_path: Path, limits: Limits, stop=None):
        self.process, self.events_path, self.limits, self.stop = process, events_path, limits, stop
        self.events, self.current, self.killed = [], None, False
        self._offset, self._partial = 0, b""

    def run(self) -> None:
        deadline = time.monotonic() + self.limits.startup
        while True:
            for event in self._read():
                deadline = self._follow(event)
            if self.process.poll() is not None:
                self.events.extend(self._read())
                break
            if time.monotonic() > deadline or (self.stop is not None and self.stop.is_set()):
                self.killed = True
                break
            time.sleep(0.05)
        self._kill_group()
        self.process.wait()

    def _follow(self, event: dict) -> float:
        self.events.append(event)
        now = time.monotonic()
        if event.get("event") == "begin":
            self.current = event
            return now + (event.get("limit") or self.limits.time_limit) + GRACE
        if event.get("event") == "result":
            self.current = None
        return now + BETWEEN_CHECKS

    def _read(self) -> list:
        with open(self.events_path, "rb") as file:
            file.seek(self._offset)
            data = file.read()
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def _kill_group(self) -> None:
        """Kill the child's whole process group (also anything the student's code started)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _assemble(path: Path, exercise: str, watch: _Watch, output_path: Path) -> CheckReport:
    """The report: the child's own when it finished, else rebuilt from its events."""
    end = next((e for e in watch.events if e.get("event") == "end"), None)
    dropped = end.get("dropped_output", 0) if end else 0
    if end is not None:
        report = CheckReport.from_dict(end["report"])
    else:
        report = _partial_report(path, exercise, watch)
    report.path = str(path)
    report.output_bytes = output_path.stat().st_size + dropped
    report.output = output_path.read_bytes()[:REPORTED_OUTPUT].decode("utf-8", "replace")
    return report


def _partial_report(path: Path, exercise: str, watch: _Watch) -> CheckReport:
    spec = exercises()[exercise]
    report = CheckReport(path=str(path), exercise=exercise, title=spec.title)
    report.results = [CheckResult(**e["result"]) for e in watch.events if e.get("event") == "result"]
    why = _why_it_ended(watch)
    current = watch.current
    if current is None and not report.results:
        fatal = next((e["detail"] for e in watch.events if e.get("event") == "fatal"), "")
        report.problem = f"the checker's process {why} before it began{': ' + fatal if fatal else '.'}"
        return report
    if current is not None and current.get("phase") == "import":
        report.problem = f"importing the file: the process {why}."
        report.problem_hint = "is there an endless loop, or a huge computation, outside your functions?"
        return report
    if current is not None:
        status = TIMEOUT if watch.killed else CRASHED
        hint = ("an endless loop that even catches the checker's stop signal? look at your loops and "
                "`except` clauses." if watch.killed else
                "a crash of the process itself: os._exit, a signal, or the system ran out of memory.")
        report.results.append(CheckResult(current["name"], status, f"the process {why} during this check.", hint))
    done = {r.name for r in report.results}
    titles = [c.title for c in spec.checks] + ([OWN_WORK] if spec.graded else [])
    report.results += [CheckResult(t, SKIPPED, "not run: the process running your code had ended.")
                       for t in titles if t not in done]
    return report


def _why_it_ended(watch: _Watch) -> str:
    if watch.killed and watch.current is None:
        return "stopped answering and was stopped"
    if watch.killed:
        limit = watch.current.get("limit") or watch.limits.time_limit
        return f"was still running after {limit:g} s (+{GRACE:g} s) and was stopped"
    code = watch.process.returncode
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"ended early with exit code {code}"
