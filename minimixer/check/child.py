"""The process that runs one student's file (internal; started by `isolation`).

    python -m minimixer.check.child EVENTS STUDENT_FILE EXERCISE TIME_LIMIT MEMORY_MB OUTPUT_KB

It limits itself first -- address space (the memory the student's code may add), file
size, how much printed text is kept -- then runs `check_file` and writes one JSON line
per event to EVENTS (each flushed at once, so the parent sees how far it got even if
this process is killed). It ends with `os._exit`, so no thread or exit handler the
student's code left behind can keep it alive.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import traceback

FILE_SIZE_LIMIT = 32 << 20  # bytes any one file written by this process may reach


class CappedStream(io.TextIOBase):
    """A text stream that passes on the first `cap` characters and counts the rest."""

    def __init__(self, target, counter: dict, cap: int):
        super().__init__()
        self.target, self.counter, self.cap = target, counter, cap

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = max(0, self.cap - self.counter["kept"])
        kept = text[:room]
        if kept:
            try:
                self.target.write(kept)
            except OSError:
                pass
        self.counter["kept"] += len(kept)
        self.counter["dropped"] += len(text) - len(kept)
        return len(text)

    def flush(self) -> None:
        try:
            self.target.flush()
        except OSError:
            pass


def limit_resources(memory_mb: int) -> None:
    """At most `memory_mb` more address space than now; no file over FILE_SIZE_LIMIT."""
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing
    for kind, value in ((resource.RLIMIT_AS, _address_space() + (memory_mb << 20)),
                        (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)):
        try:
            _, hard = resource.getrlimit(kind)
            resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
        except (ValueError, OSError):
            pass


def _address_space() -> int:
    """This process's current virtual memory size in bytes (0 when unknown)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main(argv) -> None:
    events_path, student, exercise, time_limit, memory_mb, output_kb = argv
    counter = {"kept": 0, "dropped": 0}
    sys.stdout = CappedStream(sys.__stdout__, counter, int(output_kb) * 1024)
    sys.stderr = CappedStream(sys.__stderr__, counter, int(output_kb) * 1024)
    from .runner import check_file  # the heavy imports happen before the limits

    limit_resources(int(memory_mb))
    with open(events_path, "a", encoding="utf-8") as events:
        def emit(event: dict) -> None:
            events.write(json.dumps(event, default=str) + "\n")
            events.flush()

        try:
            report = check_file(student, exercise=exercise, time_limit=float(time_limit), on_event=emit)
            emit({"event": "end", "report": report.as_dict(), "dropped_output": counter["dropped"]})
        except BaseException as error:  # noqa: BLE001  (report it; the parent decides)
            emit({"event": "fatal", "detail": "".join(traceback.format_exception_only(type(error), error))})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
