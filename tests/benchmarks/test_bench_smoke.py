"""benchmarks/bench_train.py runs end to end in its quick mode and writes a complete report.

No timing assertions: the numbers only have to exist and be positive. The run starts
with thread-pool and allocator variables set, as a minimixer user's shell might have
them, to show that the PyTorch worker never sees them. It uses one thread: that keeps
it quick on a busy machine, where a 2-thread PyTorch step slows down many times over
(its OpenMP threads spin-wait for a core another process holds).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"
POLLUTED = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4", "OMP_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2"}


def torch_installed():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(SCRIPT), "--quick", "--threads", "1", "--presets", "convmixer-digits",
               "--repeats", "1", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, **POLLUTED),
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "RESULTS.md").read_text()


def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_report_describes_the_run(report):
    results, markdown = report
    assert "--quick" in results["command"]
    assert results["quick"] is True
    assert results["threads"] == 1
    assert results["machine"]["logical cores"] >= 1
    assert positive(results["sgemm"]["gflops"])
    assert len(results["load_average"]["start"]) == 3
    assert results["parent_imports"] == {"minimixer": False, "torch": False, "numpy": False}
    assert "Quick run" in markdown and "convmixer-digits" in markdown


def test_minimixer_times_and_rates_are_positive(report):
    preset = report[0]["presets"]["convmixer-digits"]
    assert preset["batch_size"] == 64 and preset["input_shape"] == [64, 8, 8, 1]
    assert preset["params"] == 21_130
    assert positive(preset["forward_gflop"])
    for kind in ("train", "inference"):
        row = preset["frameworks"]["minimixer"][kind]
        assert len(row["runs_ms"]) == 1
        for key in ("ms", "images_per_s", "gflops", "pct_sgemm"):
            assert positive(row[key]), (kind, key, row[key])
    hello = preset["workers"]["minimixer"]
    assert hello["imports_minimixer"] and not hello["imports_torch"]


def test_torch_workers_run_with_pytorch_defaults(report):
    if not torch_installed():
        pytest.skip("PyTorch not installed: the report shows minimixer alone")
    preset = report[0]["presets"]["convmixer-digits"]
    assert set(preset["frameworks"]) == {"minimixer", "torch", "torch_cl"}
    for name in ("torch", "torch_cl"):
        hello = preset["workers"][name]
        assert hello["imports_minimixer"] is False
        assert hello["params"] == 21_130
        for variable in POLLUTED:
            assert variable not in hello["environment"], variable
        assert hello["malloc_variables"] == []
        assert positive(preset["frameworks"][name]["train"]["ms"])
        assert positive(preset["frameworks"][name]["inference"]["ms"])
        assert preset["memory"][name]["imports_minimixer"] is False
    for key in ("train_vs_torch", "train_vs_torch_cl", "train_vs_best", "inference_vs_best", "memory_vs_best"):
        assert positive(preset["ratios"][key]), key
    assert preset["ratios"]["train_best"] in ("torch", "torch_cl")


def test_memory_startup_fit_profile_and_targets(report):
    results = report[0]
    preset = results["presets"]["convmixer-digits"]
    memory = preset["memory"]["minimixer"]
    assert math.isfinite(memory["step_mb"]) and positive(memory["peak_rss_mb"])
    assert memory["peak_rss_mb"] >= memory["step_mb"]
    startup = results["startup"]["convmixer-digits"]
    assert startup["cold"] is None  # quick mode skips compiling into an empty cache
    for key in ("process_to_first_step_s", "import_s", "first_step_s", "second_step_s"):
        assert positive(startup["warm"][key]), key
    fit = results["fit"]["convmixer-digits"]
    assert positive(fit["fit_images_per_s"]) and positive(fit["gap"]["fit_per_benchmark"])
    for part in ("data", "step", "extras", "back_to_back_step"):
        assert positive(fit["parts"][part]["median_ms"]), part
    for key in ("profile", "inference_profile"):
        assert preset[key]["top"] and positive(preset[key]["total_ms"])
        assert all(row["calls"] > 0 for row in preset[key]["top"])
    targets = results["targets"]
    assert any(t["what"].startswith("warm cache") for t in targets)
    assert all(t["met"] in (True, False) for t in targets)


def test_runs_minimixer_alone_without_torch(tmp_path):
    """--no-torch is the run a machine without PyTorch gets (there, the fixture above is it)."""
    if not torch_installed():
        pytest.skip("PyTorch not installed: the fixture's run already had no PyTorch")
    command = [sys.executable, str(SCRIPT), "--quick", "--no-torch", "--threads", "1",
               "--presets", "mlpmixer-digits", "--repeats", "1", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    preset = results["presets"]["mlpmixer-digits"]
    assert set(preset["frameworks"]) == {"minimixer"} and set(preset["memory"]) == {"minimixer"}
    assert results["machine"]["PyTorch"] == "not used"
    assert [t["what"] for t in results["targets"]] == ["warm cache: process start → first step done"]
    assert "torch NCHW ms" not in (tmp_path / "RESULTS.md").read_text()
