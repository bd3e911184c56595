"""benchmarks/bench_train.py runs end to end in its quick mode and writes a complete report.

No timing assertions: the numbers only have to exist and be positive.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def _torch_installed():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(SCRIPT), "--quick", "--presets", "convmixer-digits", "--repeats", "1",
               "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "RESULTS.md").read_text()


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_report_describes_the_run(report):
    results, markdown = report
    assert "--quick" in results["command"]
    assert results["quick"] is True
    assert results["threads"] == 2
    assert results["machine"]["logical cores"] >= 1
    assert _positive(results["sgemm"]["gflops"])
    assert len(results["load_average"]["start"]) == 3
    assert "Quick run" in markdown and "convmixer-digits" in markdown


def test_minimixer_times_and_rates_are_positive(report):
    preset = report[0]["presets"]["convmixer-digits"]
    assert preset["batch_size"] == 64 and preset["input_shape"] == [64, 8, 8, 1]
    assert preset["params"] == 21_130
    assert len(preset["load_average_1min"]) == 2
    assert _positive(preset["forward_gflop"])
    for kind in ("train", "inference"):
        row = preset["frameworks"]["minimixer"][kind]
        assert len(row["runs_ms"]) == 1
        for key in ("ms", "images_per_s", "gflops", "pct_sgemm"):
            assert _positive(row[key]), (kind, key, row[key])


def test_torch_columns_and_ratios(report):
    if not _torch_installed():
        pytest.skip("PyTorch not installed: the report shows minimixer alone")
    preset = report[0]["presets"]["convmixer-digits"]
    assert set(preset["frameworks"]) == {"minimixer", "torch", "torch_cl"}
    for name in ("torch", "torch_cl"):
        assert _positive(preset["frameworks"][name]["train"]["ms"])
        assert _positive(preset["frameworks"][name]["inference"]["ms"])
    for key in ("train_vs_torch", "inference_vs_torch", "train_vs_torch_cl", "inference_vs_torch_cl",
                "memory_vs_torch"):
        assert _positive(preset["ratios"][key]), key
    assert _positive(preset["memory"]["torch"]["peak_rss_mb"])


def test_memory_startup_profile_and_targets(report):
    results = report[0]
    preset = results["presets"]["convmixer-digits"]
    memory = preset["memory"]["minimixer"]
    assert math.isfinite(memory["step_mb"]) and _positive(memory["peak_rss_mb"])
    assert memory["peak_rss_mb"] >= memory["step_mb"]
    startup = results["startup"]["convmixer-digits"]
    assert startup["cold"] is None  # quick mode skips compiling into an empty cache
    for key in ("process_to_first_step_s", "import_s", "first_step_s", "second_step_s"):
        assert _positive(startup["warm"][key]), key
    for key in ("profile", "inference_profile"):
        assert preset[key]["top"] and _positive(preset[key]["total_ms"])
        assert all(row["calls"] >= 1 for row in preset[key]["top"])
    targets = results["targets"]
    assert any(t["what"].startswith("warm start") for t in targets)
    assert all(t["met"] in (True, False) for t in targets)
