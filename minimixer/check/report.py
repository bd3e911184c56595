"""What the checker found out about one file: a `CheckReport` of `CheckResult`s.

Reports travel as plain dictionaries between the process that runs a student's code
and the one that grades (`as_dict` / `from_dict`), and end up as text for the student,
rows of a CSV file or entries of a JSON file for the teacher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

HINT_LEVELS = ("nudge", "full")

# status of one check
PASSED, FAILED, TIMEOUT, CRASHED, SKIPPED = "passed", "failed", "timeout", "crashed", "skipped"
_LABELS = {PASSED: "PASS", FAILED: "FAIL", TIMEOUT: "TIME", CRASHED: "DIED", SKIPPED: "SKIP"}


@dataclass
class CheckResult:
    """The outcome of one check: its title, status, what happened and the hints."""

    name: str
    status: str = PASSED
    detail: str = ""
    nudge: str = ""
    full: str = ""
    mistake: str | None = None  # the catalogued mistake recognised, if any
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def hint(self, level: str = "nudge") -> str:
        """The hint shown at `level`: the nudge, or the full hint (the nudge when there is none)."""
        return (self.full or self.nudge) if level == "full" else self.nudge


@dataclass
class CheckReport:
    """Everything the checker found out about one file.

    `problem` is set (and `results` empty or partial) when the file could not be
    checked: it does not exist, does not import, names no known exercise, or its
    process was stopped while importing. `output` holds what the student's code
    printed (truncated) when it ran in a separate process.
    """

    path: str
    exercise: str | None = None
    student: str = ""
    title: str = ""
    identified_by: str = ""
    results: list = field(default_factory=list)
    problem: str | None = None
    problem_hint: str = ""
    output: str = ""
    output_bytes: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.problem is None and bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> list:
        return [r for r in self.results if not r.passed]

    @property
    def status(self) -> str:
        """passed, failed, timeout, crashed or error (could not be checked)."""
        if self.problem is not None:
            return "error"
        for special in (TIMEOUT, CRASHED):
            if any(r.status == special for r in self.results):
                return special
        return PASSED if self.passed else FAILED

    def score(self) -> str:
        return f"{sum(r.passed for r in self.results)}/{len(self.results)}"

    def text(self, hints: str = "nudge") -> str:
        """The report in plain words, one line per check and a hint under each failure."""
        lines = [self._heading()]
        if self.problem:
            lines.append(f"  cannot check this file: {self.problem}")
            if self.problem_hint:
                lines.append(f"  hint: {self.problem_hint}")
        previous = None
        for r in self.results:
            lines.append(f"  {_LABELS.get(r.status, r.status.upper())}  {r.name}")
            if r.passed:
                continue
            shown = (r.detail, r.hint(hints))
            if shown == previous:
                lines.append("        (the same as above)")
                continue
            lines.extend("        " + line for line in r.detail.splitlines())
            if shown[1]:
                lines.append(f"        hint: {shown[1]}")
            previous = shown
        if self.output_bytes:
            lines.append(f"  (your code printed {self.output_bytes:,} bytes"
                         + (", shown in the JSON report)" if self.output else ")"))
        if self.results:
            count = sum(r.passed for r in self.results)
            verdict = "all checks passed." if self.passed else "not there yet."
            lines.append(f"{count} of {len(self.results)} checks passed: {verdict}")
            if hints == "nudge" and any(r.full and r.full != r.nudge for r in self.failures):
                lines.append("(stuck? `--hints full` shows the formula or names the mistake)")
        return "\n".join(lines)

    def _heading(self) -> str:
        head = f"Checking {self.path}"
        if self.exercise:
            head += f"  (exercise {self.exercise!r}" + (f": {self.title})" if self.title else ")")
        return head

    __str__ = text

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CheckReport":
        data = dict(data)
        data["results"] = [CheckResult(**r) for r in data.get("results", [])]
        return cls(**data)
