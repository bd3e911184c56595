"""minimixer.performance: the settings applied on import, their opt-out, thread counts."""

import json
import os
import subprocess
import sys

import pytest

import minimixer as mm
from minimixer import performance

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

VARIABLES_SCRIPT = """
import json, os, minimixer
print(json.dumps({name: os.environ.get(name) for name in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")}))
"""


def _run(script: str, **env_changes) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY", performance.OPT_OUT_VARIABLE)}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env=env).stdout


def test_import_sets_the_thread_variables():
    assert json.loads(_run(VARIABLES_SCRIPT)) == performance.THREAD_VARIABLES


def test_a_variable_set_by_the_user_wins():
    seen = json.loads(_run(VARIABLES_SCRIPT, OMP_WAIT_POLICY="ACTIVE"))
    assert seen["OMP_WAIT_POLICY"] == "ACTIVE"


def test_one_variable_opts_out_of_every_setting(monkeypatch):
    seen = json.loads(_run(VARIABLES_SCRIPT, **{performance.OPT_OUT_VARIABLE: "0"}))
    assert seen == {"OPENBLAS_THREAD_TIMEOUT": None, "OMP_WAIT_POLICY": None}
    monkeypatch.setenv(performance.OPT_OUT_VARIABLE, "0")
    assert performance.keep_freed_memory() is False
    assert performance.apply_import_settings() == {"variables": {}, "keep_freed_memory": False}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_reused_arrays_stop_faulting_in_fresh_pages():
    tuned = int(_run(FAULTS_SCRIPT))
    default = int(_run(FAULTS_SCRIPT, **{performance.OPT_OUT_VARIABLE: "0"}))
    assert tuned < 9, f"{tuned} page faults with the setting"
    assert default > tuned, f"{default} page faults without the setting, {tuned} with"


def test_set_num_threads_sets_numba_and_blas():
    before_numba, before_blas = mm.get_num_threads(), mm.get_blas_threads()
    try:
        mm.set_num_threads(1)
        assert mm.get_num_threads() == 1
        if before_blas is not None:  # OpenBLAS found (NumPy's wheels ship it)
            assert mm.get_blas_threads() == 1
    finally:
        mm.set_num_threads(before_numba)
        if before_blas is not None:
            mm.set_blas_threads(before_blas)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, 10_000])
def test_bad_thread_count_is_refused(bad):
    with pytest.raises(ValueError, match="set_num_threads"):
        mm.set_num_threads(bad)


def test_subpackages_are_reachable_from_the_top_level():
    script = ("import sys, minimixer as mm; assert 'minimixer.models' not in sys.modules; "
              "print(mm.models.create('convmixer-digits').num_parameters())")
    assert _run(script).strip() == "21130"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        mm.nonexistent  # noqa: B018
