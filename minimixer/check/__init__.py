"""The classroom exercise checker: does a student's code agree with minimixer's own?

    python -m minimixer check lessons/exercises/05_depthwise_conv.py
    python -m minimixer check submissions/ --csv grades.csv      a whole class (see `command`)

Layout: `runner` runs one exercise's checks on one file (`check_file`); `isolation`
does that in a separate, limited process; `classroom` finds a class's submissions,
grades them in parallel and writes the reports; `command` is the command line.
Each exercise is one module, `exNN_<name>.py`, found by that naming convention
(`registry`): its checks, its catalogue of typical mistakes with graded hints, and
the list of minimixer functions the student must not delegate to (`delegation`).
`toolkit` is what those modules write their checks with.

From Python:

    report = check_file("lessons/exercises/05_depthwise_conv.py")    # in this process
    report.passed; report.results; print(report.text("full"))
"""

from .command import main, run
from .registry import EXERCISES, Exercise, exercises, find_exercise, identify
from .report import CheckReport, CheckResult
from .runner import check_file
from .toolkit import Failure, Hint, Mistake

exercises()  # discover the exercise modules now, so EXERCISES is filled

__all__ = ["main", "run", "check_file", "EXERCISES", "Exercise", "exercises", "find_exercise", "identify",
           "CheckReport", "CheckResult", "Failure", "Hint", "Mistake"]
