"""minimixer.allocator: the malloc tuning applied on import."""

import os
import subprocess
import sys

import pytest

from minimixer.allocator import keep_freed_memory

# Allocate and fill a 40 MiB array ten times; print the page faults of the last nine.
FAULTS_SCRIPT = """
import resource, numpy as np, minimixer
def fill():
    np.ones(10 * 2**20, np.float32)
fill()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(9):
    fill()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(keep: str) -> int:
    env = dict(os.environ, MINIMIXER_KEEP_FREED_MEMORY=keep)
    result = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], capture_output=True, text=True,
                            check=True, env=env)
    return int(result.stdout)


def test_opting_out_with_the_environment_variable(monkeypatch):
    monkeypatch.setenv("MINIMIXER_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_reused_arrays_stop_faulting_in_fresh_pages():
    tuned, default = _page_faults("1"), _page_faults("0")
    assert tuned < 9, f"{tuned} page faults with the tuning"
    assert default > tuned, f"{default} page faults without the tuning, {tuned} with"
