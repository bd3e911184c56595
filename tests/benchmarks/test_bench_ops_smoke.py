"""benchmarks/bench_ops.py runs end to end in its quick mode and names every op.

No timing assertions: it only has to run and report each op with a time.
"""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ops.py"
OPS = ["patch_embed", "depthwise_conv2d", "pointwise_conv2d", "gelu", "batch_norm (train)",
       "layer_norm", "global_avg_pool", "cross_entropy", "adamw_update"]


def test_quick_run_reports_every_op(tmp_path):
    out = tmp_path / "RESULTS_ops.md"
    command = [sys.executable, str(SCRIPT), "--quick", "--rounds", "1", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = result.stdout + (out.read_text() if out.exists() else "")
    for op in OPS:
        assert f"| {op} |" in report, f"{op} missing from the report"
