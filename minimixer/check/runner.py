"""Run one exercise's checks on one file, in this process: `check_file`.

    report = check_file("lessons/exercises/05_depthwise_conv.py")
    report.passed                  # True when every check passed
    print(report.text())           # what passed, what failed, a nudge for each failure
    print(report.text("full"))     # ... the formula or the mistake's name instead

`check_file` imports the student's file and runs its code *in the calling process*:
right for a student checking their own work and for tests. The command line grades
other people's files through `minimixer.check.isolation`, which calls `check_file`
in a separate, time- and memory-limited process per file.

The steps: identify the exercise (see `registry`), read the file for references to
minimixer's own implementation of the graded piece (see `delegation`), import it with
tripwires in place, then run each check with an optional per-check time limit, and
finish with the "own work" check.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import delegation
from .registry import exercises, identify
from .report import CRASHED, FAILED, PASSED, SKIPPED, TIMEOUT, CheckReport, CheckResult
from .toolkit import CURRENT, NOT_WRITTEN, Failure, StudentFile, describe_crash, given_line_ranges

OWN_WORK = "does the graded part itself (no call to minimixer's own implementation)"


class CheckTimeout(BaseException):
    """The per-check time limit ran out (a BaseException: `except Exception` cannot swallow it)."""


def check_file(path, exercise: str | None = None, time_limit: float | None = None,
               on_event=None) -> CheckReport:
    """Check the exercise file at `path` and return the report.

    `exercise` overrides the identification; `time_limit` (seconds, main thread only)
    stops any one check that runs longer; `on_event(dict)` is told when each phase
    begins and each check ends (the isolated runner streams these to its parent).
    """
    path = Path(path)
    report = CheckReport(path=str(path))
    report.problem, report.problem_hint = path_problem(path)
    if report.problem:
        return report
    source = path.read_text(encoding="utf-8", errors="replace")
    known = exercises()
    report.exercise, report.identified_by = (exercise, "the command line") if exercise else identify(path, source)
    problem = identification_problem(report.exercise, known)
    if problem:
        report.problem, report.problem_hint = problem
        return report
    spec = known[report.exercise]
    report.title = spec.title
    started = time.perf_counter()
    with delegation.Tripwires(spec.graded):
        _run_checks(report, spec, path, source, time_limit, on_event or (lambda event: None))
    report.seconds = time.perf_counter() - started
    return report


def path_problem(path: Path) -> tuple:
    """(problem, hint) when `path` cannot be an exercise file, else (None, "")."""
    example = "e.g. lessons/exercises/05_depthwise_conv.py"
    if path.is_dir():
        return "it is a folder, not a file.", f"give one exercise file, {example}."
    if not path.exists():
        return "no such file.", f"check the path; the exercises are files like {example}."
    if path.suffix != ".py":
        return (f"it is not a Python file (its name ends in {path.suffix or 'no extension'!r}, "
                "not '.py')."), f"give your edited exercise file, {example}."
    return None, ""


def identification_problem(name, known) -> tuple | None:
    listed = ", ".join(known)
    if name is None:
        return ("the checker cannot tell which exercise this is: no `EXERCISE = \"...\"` line, "
                "no exercise name in the file name, and not the names any exercise defines.",
                f"add the line `EXERCISE = \"<name>\"` with one of: {listed}.")
    if name not in known:
        return f"unknown exercise {name!r}.", f"known exercises: {listed}."
    return None


def _run_checks(report, spec, path, source, time_limit, on_event) -> None:
    findings = delegation.static_findings(source, spec.graded)
    on_event({"event": "begin", "phase": "import", "limit": time_limit})
    try:
        with _time_limit(time_limit):
            module = _import_file(path)
    except CheckTimeout:
        report.problem = f"importing it took longer than {time_limit:g} s and was stopped."
        report.problem_hint = "is there an endless loop outside your functions?"
        return
    except BaseException as error:  # noqa: BLE001  (a syntax error, a failing import, sys.exit, ...)
        if isinstance(error, KeyboardInterrupt):
            raise
        report.problem = "importing it failed: " + _describe_import_error(error, path)
        report.problem_hint = ("fix this first; the file must import without errors (code that "
                               "runs the file belongs under `if __name__ == \"__main__\":`).")
        return
    try:
        missing = [name for name in spec.needs if not hasattr(module, name)]
        if missing:
            report.problem = f"the file defines no {', '.join(f'`{m}`' for m in missing)}."
            report.problem_hint = "keep the names of the skeleton: the checker calls them."
            return
        delegation.enter_on_student_functions(module, path)
        CURRENT.append(StudentFile(module, path, given_line_ranges(source, spec.given)))
        try:
            _run_each(report, spec, module, time_limit, on_event)
        finally:
            CURRENT.pop()
    finally:
        sys.modules.pop(module.__name__, None)
    if spec.graded:
        report.results.append(_own_work(findings, delegation.TRIPPED, any(r.passed for r in report.results)))
        on_event({"event": "result", "result": report.results[-1].__dict__})


def _run_each(report, spec, module, time_limit, on_event) -> None:
    stop = None
    for index, check in enumerate(spec.checks):
        if stop is None and check.after_passing and not all(r.passed for r in report.results):
            result = CheckResult(check.title, SKIPPED, "not run: the checks above must pass first "
                                 "(this one takes long).")
        elif stop is not None:
            result = CheckResult(check.title, SKIPPED, stop)
        else:
            limit = max(time_limit, check.time_limit or 0) if time_limit else None
            on_event({"event": "begin", "phase": "check", "index": index, "name": check.title, "limit": limit})
            result = run_one(check.title, check.run, module, limit)
            if result.status == TIMEOUT:
                stop = "not run: an earlier check ran out of time."
        report.results.append(result)
        on_event({"event": "result", "result": result.__dict__})


def run_one(title: str, run, module, time_limit: float | None = None) -> CheckResult:
    """Run one check; whatever the student's code does becomes a CheckResult."""
    started = time.perf_counter()
    result = _outcome(title, run, module, time_limit)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _outcome(title, run, module, time_limit) -> CheckResult:
    try:
        with np.errstate(all="ignore"), _time_limit(time_limit):
            run(module)
    except Failure as failure:
        key = getattr(failure.hint, "key", None)
        return CheckResult(title, FAILED, failure.detail, failure.hint.nudge, failure.hint.full, key)
    except delegation.DelegationDetected as error:
        return CheckResult(title, FAILED, delegation.explain(error.path), mistake="delegates")
    except CheckTimeout:
        return CheckResult(title, TIMEOUT, f"still running after {time_limit:g} s, so it was stopped.",
                           "an endless loop? look at the conditions of your `while` loops.")
    except NotImplementedError as error:
        return CheckResult(title, FAILED, _not_written(error), NOT_WRITTEN.nudge)
    except SystemExit as error:
        return CheckResult(title, FAILED, f"your code called sys.exit({error.code!r}).",
                           "return a value instead of exiting.")
    except MemoryError:
        return CheckResult(title, CRASHED, "your code ran out of memory (MemoryError).",
                           "an array far larger than the inputs? check the shapes you allocate.")
    except Exception as error:  # noqa: BLE001  (a crash anywhere in the student's code)
        return CheckResult(title, FAILED, "your code " + describe_crash(error))
    return CheckResult(title, PASSED)


def _not_written(error: NotImplementedError) -> str:
    """Name the unwritten function when the skeleton's `raise NotImplementedError("name")` does."""
    name = str(error.args[0]) if error.args else ""
    if name.replace(".", "_").isidentifier():
        return f"`{name}` is not written yet (it raises NotImplementedError)."
    return "not written yet (NotImplementedError)."


def _own_work(findings: list, tripped: list, anything_works: bool) -> CheckResult:
    """Passed when nothing refers to minimixer's graded code; judged once some check passes."""
    if not findings and not tripped:
        if not anything_works:
            return CheckResult(OWN_WORK, SKIPPED, "not judged yet: no other check passes.")
        return CheckResult(OWN_WORK, PASSED)
    lines = [f"line {line}: refers to minimixer's own `{delegation.short(path)}`" for line, path in findings]
    lines += [f"while the checks ran, your code called minimixer's own `{delegation.short(path)}`"
              for path in dict.fromkeys(tripped)]
    nudge = ("the exercise asks you to write this piece yourself; minimixer's version may be used "
             "to compare, under `if __name__ == \"__main__\":`.")
    return CheckResult(OWN_WORK, FAILED, "\n".join(lines), nudge, mistake="delegates")


@contextmanager
def _time_limit(seconds: float | None):
    """Raise CheckTimeout in the main thread after `seconds` (no limit: None, or another thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _import_file(path: Path):
    """Import a Python file by path (its name need not be a valid module name)."""
    name = "minimixer_exercise_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name; removed after the checks
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _describe_import_error(error: BaseException, path: Path) -> str:
    if isinstance(error, SyntaxError):
        return f"SyntaxError at line {error.lineno}: {error.msg}"
    if isinstance(error, SystemExit):
        return f"the file called sys.exit({error.code!r}) while being imported"
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"
