"""Every fast kernel also runs as plain Python (NUMBA_DISABLE_JIT=1), for debugging
and coverage: rerun this folder's tests that way in a subprocess.

Under that flag the tests marked ``needs_jit`` and the PyTorch oracle skip
themselves (see kernel_cases.py), so the rerun takes a few seconds.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_cases import NO_JIT

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(NO_JIT, reason="already running without the JIT")
def test_kernel_tests_pass_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    command = [sys.executable, "-m", "pytest", str(HERE), "-q", "-x", "-p", "no:cacheprovider",
               "--deselect", f"{HERE / 'test_without_jit.py'}::test_kernel_tests_pass_without_jit"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                            cwd=HERE.parent.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
