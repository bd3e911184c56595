"""The PyTorch side of bench_train.py is what a PyTorch user runs.

Its models (benchmarks/torch_models.py) have minimixer's parameter counts, and its
worker process never imports minimixer nor inherits the thread-pool and allocator
variables minimixer sets for itself.
"""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_train  # noqa: E402  (standard library only: imports neither framework)

from minimixer import models  # noqa: E402


def test_worker_environment_drops_thread_and_allocator_variables():
    base = {"PATH": "/usr/bin", "OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4",
            "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "MALLOC_TRIM_THRESHOLD_": "1"}
    assert bench_train.worker_environment(base) == {"PATH": "/usr/bin"}


@pytest.mark.parametrize("preset", models.presets())
def test_torch_models_have_minimixer_parameter_counts(preset):
    pytest.importorskip("torch")
    import torch_models

    torch_model = torch_models.build(models.preset_config(preset))
    assert torch_models.num_parameters(torch_model) == models.create(preset).num_parameters()


def test_torch_worker_imports_no_minimixer_and_sees_no_minimixer_settings(monkeypatch):
    pytest.importorskip("torch")
    for name, value in {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4",
                        "MALLOC_ARENA_MAX": "2"}.items():
        monkeypatch.setenv(name, value)
    config = models.preset_config("mlpmixer-digits")
    spec = dict(preset="mlpmixer-digits", threads=1, config=config, input_shape=[4, 8, 8, 1],
                label_smoothing=0.1, lr=1e-3, weight_decay=0.05, layout="nchw")
    worker = bench_train.Worker("torch", "torch", spec)
    try:
        hello = worker.wait_ready()
        reply = worker.ask("train")
    finally:
        worker.close()
    assert hello["imports_minimixer"] is False and hello["imports_torch"] is True
    assert "OMP_WAIT_POLICY" not in hello["environment"]
    assert "OPENBLAS_THREAD_TIMEOUT" not in hello["environment"]
    assert hello["malloc_variables"] == []
    assert hello["params"] == models.create("mlpmixer-digits").num_parameters()
    assert reply["seconds"] > 0
