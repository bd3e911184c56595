"""Grade a class: find the submissions, check each in its own process, sum up.

Submissions are found from the paths given on the command line:

* a file is one submission;
* a folder holds submissions: every `.py` file in it or below (hidden folders and
  `__pycache__` skipped). A file inside a sub-folder belongs to the student named
  by that sub-folder (`class/alice/05_depthwise_conv.py` -> alice); a file directly
  in the folder names its student by its file name without the exercise part
  (`class/bob_depthwise_conv.py` -> bob, `class/carol.py` -> carol), or, when nothing
  is left (`alice/05_depthwise_conv.py` given as the folder `alice`), by the folder.

Each submission is checked by `isolation.check_isolated`, several at a time
(`jobs`, by default one per CPU core); every check has a time limit, so the whole
class takes bounded time: at most (checks × time limit) per submission, divided
among the workers.
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .isolation import Limits, check_isolated
from .registry import exercises, identify, student_name
from .report import CheckReport
from .runner import identification_problem

FLAGS = {"timeout": "T", "crashed": "X", "error": "E"}


@dataclass
class Submission:
    """One file to check: whose it is and which exercise it is (None: unknown)."""

    student: str
    path: Path
    exercise: str | None
    identified_by: str


def default_jobs() -> int:
    """One worker per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# ============================================================================ finding submissions
def collect(paths) -> list:
    """The submissions in `paths` (files and folders); UsageError if a path cannot be used."""
    found, seen = [], set()
    for given in map(Path, paths):
        for path, student in _files_in(given):
            key = path.resolve()
            if key in seen:
                continue
            seen.add(key)
            source = path.read_text(encoding="utf-8", errors="replace")
            exercise, how = identify(path, source)
            found.append(Submission(student, path, exercise, how))
    return found


def _files_in(given: Path) -> list:
    """[(file, student)] for one command-line path."""
    if not given.exists():
        raise UsageError(f"{given}: no such file or folder")
    if given.is_file():
        if given.suffix != ".py":
            raise UsageError(f"{given} is not a Python file; give exercise files (.py) or folders of them")
        return [(given, student_name(given.stem) or given.resolve().parent.name)]
    files = sorted(p for p in given.rglob("*.py") if _visible(p.relative_to(given)))
    if not files:
        raise UsageError(f"{given} holds no Python files; give exercise files or folders of submissions")
    pairs = []
    for path in files:
        parts = path.relative_to(given).parts
        student = parts[0] if len(parts) > 1 else (student_name(path.stem) or given.resolve().name)
        pairs.append((path, student))
    return pairs


def _visible(relative: Path) -> bool:
    return not any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


# ============================================================================ grading
def grade(submissions, limits: Limits, jobs: int, on_done=None) -> list:
    """Check every submission (`jobs` at a time); reports in the submissions' order.

    `on_done(report, finished_count)` is called as each one finishes. An interruption
    (Ctrl-C) ends the students' running processes at once, drops the submissions still
    waiting, and is raised again.
    """
    reports = [None] * len(submissions)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(_grade_one, s, limits, stop): i for i, s in enumerate(submissions)}
        for count, future in enumerate(as_completed(futures), 1):
            reports[futures[future]] = future.result()
            if on_done:
                on_done(reports[futures[future]], count)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return reports


def _grade_one(submission: Submission, limits: Limits, stop=None) -> CheckReport:
    problem = identification_problem(submission.exercise, exercises())
    if problem:
        report = CheckReport(path=str(submission.path), exercise=submission.exercise)
        report.problem, report.problem_hint = problem
    else:
        report = check_isolated(submission.path, submission.exercise, limits, stop)
    report.student, report.identified_by = submission.student, submission.identified_by
    report.path = str(submission.path)
    return report


# ============================================================================ summing up
def progress_line(report: CheckReport, count: int, total: int) -> str:
    """One line per finished submission: who, which exercise, how it went."""
    label = exercises()[report.exercise].label if report.exercise in exercises() else "?"
    head = f"[{count:>{len(str(total))}}/{total}] {report.student:<14} {label:<24}"
    if report.problem:
        return f"{head} cannot check: {report.problem}"
    verdict = f"{report.score()} passed" if report.passed else f"{report.score()} {report.status.upper()}"
    first = next((r for r in report.results if not r.passed), None)
    if first is not None:
        verdict += f": {first.name}"
    return f"{head} {verdict}  ({report.seconds:.1f} s)"


def summary_table(reports) -> str:
    """Students as rows, exercises as columns, each cell 'passed/total' plus a flag."""
    known = exercises()
    columns = sorted({r.exercise for r in reports if r.exercise in known}, key=lambda n: known[n].number)
    unknown = any(r.exercise not in known for r in reports)
    labels = [known[n].label for n in columns] + (["unknown"] if unknown else [])
    cells = {}
    for r in reports:
        column = known[r.exercise].label if r.exercise in known else "unknown"
        cells.setdefault((r.student, column), []).append(_cell(r))
    students = sorted({r.student for r in reports}, key=str.lower)
    width = max([7] + [len(s) for s in students]) + 2
    col_width = [max(len(label), *(len(" ".join(cells.get((s, label), ["-"]))) for s in students)) + 2
                 for label in labels]
    lines = ["student".ljust(width) + "".join(label.ljust(w) for label, w in zip(labels, col_width))]
    for s in students:
        lines.append(s.ljust(width) + "".join(" ".join(cells.get((s, label), ["-"])).ljust(w)
                                              for label, w in zip(labels, col_width)))
    lines.append("cells: checks passed/checks; flags: T time limit hit, X process died, "
                 "D uses minimixer's own implementation, E file could not be checked")
    return "\n".join(line.rstrip() for line in lines)


def _cell(report: CheckReport) -> str:
    if report.problem:
        return "E"
    flags = FLAGS.get(report.status, "")
    if any(r.mistake == "delegates" for r in report.results):
        flags += "D"
    return report.score() + (f" {flags}" if flags else "")


def totals_line(reports) -> str:
    statuses = Counter(r.status for r in reports)
    parts = [f"{statuses['passed']} of {len(reports)} submissions pass every check"]
    names = {"failed": "fail some check", "timeout": "hit a time limit", "crashed": "crashed the process",
             "error": "could not be checked"}
    parts += [f"{statuses[s]} {text}" for s, text in names.items() if statuses[s]]
    delegating = sum(any(c.mistake == "delegates" for c in r.results) for r in reports)
    if delegating:
        parts.append(f"{delegating} use minimixer's own implementation")
    return "; ".join(parts) + "."


def common_mistakes(reports, limit: int = 10) -> list:
    """[(students, exercise label, mistake key, nudge)] for the most frequent catalogued mistakes."""
    known = exercises()
    students, nudges = {}, {}
    for r in reports:
        for c in r.results:
            if c.mistake and c.mistake != "delegates" and r.exercise in known:
                key = (known[r.exercise].label, c.mistake)
                students.setdefault(key, set()).add(r.student)
                nudges.setdefault(key, c.nudge)
    ranked = sorted(students, key=lambda k: (-len(students[k]), k))
    return [(len(students[k]), k[0], k[1], nudges[k]) for k in ranked[:limit]]


# ============================================================================ files for the teacher
CSV_FIELDS = ["student", "file", "exercise", "submission_status", "check", "result", "passed",
              "mistake", "hint_level", "hint", "detail", "seconds"]


def csv_rows(reports, hints: str) -> list:
    """One row per check (one row per file that could not be checked)."""
    rows = []
    for r in reports:
        base = dict(student=r.student, file=r.path, exercise=r.exercise or "", submission_status=r.status,
                    hint_level=hints)
        if r.problem:
            rows.append(dict(base, check="(the file)", result="error", passed=0, mistake="",
                             hint=r.problem_hint, detail=r.problem, seconds=r.seconds))
        for c in r.results:
            rows.append(dict(base, check=c.name, result=c.status, passed=int(c.passed), mistake=c.mistake or "",
                             hint="" if c.passed else c.hint(hints), detail=c.detail, seconds=c.seconds))
    return rows


def write_csv(reports, path, hints: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(csv_rows(reports, hints))


def json_document(reports, hints: str, limits: Limits) -> dict:
    """The whole grading run: settings, totals, and every submission with every check."""
    submissions = []
    for r in reports:
        submissions.append(dict(
            student=r.student, file=r.path, exercise=r.exercise, identified_by=r.identified_by,
            status=r.status, passed=r.passed, score=r.score(), seconds=r.seconds,
            problem=r.problem, problem_hint=r.problem_hint or None,
            output=r.output, output_bytes=r.output_bytes,
            checks=[dict(name=c.name, status=c.status, passed=c.passed, detail=c.detail,
                         hint=None if c.passed else c.hint(hints), mistake=c.mistake, seconds=c.seconds)
                    for c in r.results]))
    statuses = Counter(r.status for r in reports)
    return dict(hint_level=hints, time_limit_per_check=limits.time_limit, memory_mb=limits.memory_mb,
                totals=dict(submissions=len(reports), **{s: statuses[s] for s in
                                                         ("passed", "failed", "timeout", "crashed", "error")}),
                submissions=submissions)


def write_json(reports, path, hints: str, limits: Limits) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(json_document(reports, hints, limits), file, indent=2, ensure_ascii=False)
        file.write("\n")
