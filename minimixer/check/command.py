"""`python -m minimixer check PATH...`: check one exercise file, or grade a whole class.

    python -m minimixer check lessons/exercises/05_depthwise_conv.py     one file: its full report
    python -m minimixer check submissions/ --csv grades.csv --json grades.json
    python -m minimixer check submissions/ --hints full --timeout 20 --jobs 4
    python -m minimixer check --list                                   the exercises (--hints full: their mistakes)

PATH is an exercise file or a folder of submissions (one file per submission, or one
sub-folder per student). Each file runs in its own process with a time limit per check
(--timeout, default 10 s; a check that trains a model keeps its own, longer budget) and
a memory limit (--memory-mb). The exercise of a file is read from its `EXERCISE = "..."`
line, else from its file name, else from the names it defines. lessons/TEACHING.md
shows a whole class's run and its reports.

With one submission the full report is printed; with several, one line per submission
as it finishes, then a table with one row per student and the most common mistakes
(--details prints every full report too). --hints chooses how much a failure's hint
gives away: `nudge` (default) says which property is violated and where to look,
`full` gives the formula or names the mistake.

Exit status: 0 every check of every submission passed; 1 some check failed, timed out
or crashed, or a file could not be checked (syntax error, unknown exercise); 2 a usage
error (a bad flag, a path that does not exist, a file that is not .py, a folder without
Python files, a report file in a folder that does not exist); 130 interrupted with
Ctrl-C (the running submissions are stopped at once; no report is written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from .classroom import (collect, common_mistakes, default_jobs, grade, progress_line, summary_table,
                        totals_line, write_csv, write_json)
from .isolation import Limits
from .registry import DEFAULT_TIME_LIMIT, exercises
from .report import HINT_LEVELS

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `check` flags, shared by `python -m minimixer check` and `python -m minimixer.check`."""
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="exercise files, or folders of submissions (one file per submission "
                             "or one sub-folder per student)")
    parser.add_argument("--hints", choices=HINT_LEVELS, default="nudge",
                        help="nudge (default): which property fails and where to look; "
                             "full: the formula or the mistake's name")
    parser.add_argument("--json", metavar="FILE", help="write every result to FILE as JSON")
    parser.add_argument("--csv", metavar="FILE", help="write one row per check to FILE as CSV")
    parser.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                        help=f"time limit of each check (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--memory-mb", type=_positive(int), default=Limits.memory_mb, metavar="MB",
                        help=f"memory a submission may allocate (default {Limits.memory_mb})")
    parser.add_argument("--jobs", type=_positive(int), default=None, metavar="N",
                        help="submissions checked at once (default: one per CPU core)")
    parser.add_argument("--details", action="store_true",
                        help="with several submissions, print every full report too")
    parser.add_argument("--list", action="store_true",
                        help="list the exercises (with --hints full: their catalogued mistakes)")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def run(args) -> int:
    """Carry out a parsed `check` command line; UsageError for paths that cannot work."""
    if args.list:
        print(exercise_list(args.hints == "full"))
        return EXIT_PASSED
    if not args.paths:
        raise UsageError("give exercise files or folders of submissions (or --list)")
    for report_path in filter(None, (args.json, args.csv)):
        if not Path(report_path).resolve().parent.is_dir():
            raise UsageError(f"cannot write {report_path}: its folder does not exist")
    submissions = collect(args.paths)
    limits = Limits(time_limit=args.timeout, memory_mb=args.memory_mb)
    jobs = args.jobs or default_jobs()
    single = len(submissions) == 1
    if not single:
        print(f"Checking {len(submissions)} submissions, {min(jobs, len(submissions))} at a time, "
              f"{args.timeout:g} s per check ...", flush=True)

    def done(report, count):
        if not single:
            print(progress_line(report, count, len(submissions)), flush=True)

    reports = grade(submissions, limits, jobs, on_done=done)
    _print_reports(reports, args, single)
    if args.json:
        write_json(reports, args.json, args.hints, limits)
        print(f"wrote {args.json}")
    if args.csv:
        write_csv(reports, args.csv, args.hints)
        print(f"wrote {args.csv}")
    return EXIT_PASSED if all(r.passed for r in reports) else EXIT_FAILED


def _print_reports(reports, args, single: bool) -> None:
    if single or args.details:
        for i, report in enumerate(reports):
            print(("\n" if i or not single else "") + report.text(args.hints))
    if single:
        return
    print()
    print(summary_table(reports))
    print(totals_line(reports))
    mistakes = common_mistakes(reports)
    if mistakes:
        print("Most common mistakes:")
        for count, label, key, nudge in mistakes:
            print(f"  {count:>3} student{'s' if count != 1 else ' '}  {label}  {key}: {nudge}")


def exercise_list(with_mistakes: bool = False) -> str:
    """The exercises, one per line, in ladder order; optionally each one's mistake catalogue."""
    lines = []
    for e in exercises().values():
        lines.append(f"{e.number:02d}  {e.level:<9}{e.name:<21}{e.title}  "
                     f"({len(e.checks)} checks, {len(e.mistakes)} catalogued mistakes)")
        if with_mistakes:
            lines += [f"      {key}: {m.full}" for key, m in e.mistakes.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    """`python -m minimixer.check ...`: the same as `python -m minimixer check ...`."""
    parser = argparse.ArgumentParser(prog="python -m minimixer check",
                                     description="Check classroom exercises: one file, or a class's folder.")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return run(args)
    except UsageError as error:
        print(f"minimixer check: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nminimixer check: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
