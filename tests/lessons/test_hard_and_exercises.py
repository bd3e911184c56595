"""The hard lessons run in quick mode.

Each `lessons/hard/*.py` runs with --quick in a subprocess, exits with 0 and writes
the figures it announces. The exercises and their checker are tested in tests/check/.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARD = ROOT / "lessons" / "hard"


# Figures each hard lesson must write in quick mode.
HARD_LESSON_FIGURES = {
    "01_formal_mixers.py": ["patch_embedding_as_conv.png", "separable_reach.png", "block_shapes.png"],
    "02_depthwise_three_ways.py": ["depthwise_timings.png"],
    "03_train_and_compare.py": ["comparison.png", "history_convmixer.png", "history_mlpmixer.png"],
    "04_what_they_learned.py": ["patch_filters_mlpmixer.png", "patch_filters_convmixer.png",
                                "patch_filters_mlpmixer_change.png",
                                "depthwise_kernels.png", "depthwise_kernels_change.png", "token_mixing.png",
                                "token_mixing_untrained.png", "token_mixing_change.png"],
    "05_patch_shuffle.py": ["shuffled_examples.png", "shuffle_accuracy.png"],
}


# ---------------------------------------------------------------------------- lessons
def _run_lesson(script: Path, out: Path, **env_changes) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", **env_changes)
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "minimixer-numba"))
    return subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", sorted(HARD_LESSON_FIGURES))
def test_hard_lesson_runs_quick(name, tmp_path):
    result = _run_lesson(HARD / name, tmp_path)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for figure in HARD_LESSON_FIGURES[name]:
        path = tmp_path / figure
        assert path.is_file() and path.stat().st_size > 1000, f"{name} did not write {figure}"


def test_training_lesson_falls_back_to_the_digits_without_mnist(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    result = _run_lesson(HARD / "05_patch_shuffle.py", tmp_path / "out", MINIMIXER_DATA=str(empty),
                         MINIMIXER_CACHE=str(empty))
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "bundled 8x8 UCI digits" in result.stdout
    assert "dataset: digits" in result.stdout
    assert (tmp_path / "out" / "shuffle_accuracy.png").is_file()


def test_every_hard_lesson_is_listed():
    assert sorted(p.name for p in HARD.glob("[0-9]*.py")) == sorted(HARD_LESSON_FIGURES)
