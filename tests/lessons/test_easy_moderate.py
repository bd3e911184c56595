"""The easy and moderate lessons run in quick mode and write the figures they announce.

Each lesson is a script full of assertions (equivalences, accuracy thresholds, growth
rates), so running it is the test: it must exit with 0 and leave its figures behind.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minimixer import data

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"

# Figures each lesson must write in quick mode.
LESSON_FIGURES = {
    "easy/01_painting_with_blocks.py": ["digit_blocks.png", "shuffled_blocks.png", "block_sizes.png"],
    "easy/02_two_tools.py": ["two_tools.png", "neighbours.png", "who_listens.png"],
    "easy/03_train_a_mixer.py": ["training_curves.png", "predictions.png", "mistakes.png",
                                 "confusion_matrix.png", "token_mixing.png"],
    "moderate/01_automatic_differentiation.py": ["diamond_graph.png", "swish_backward.png",
                                                 "finite_difference_error.png"],
    "moderate/02_table_and_transpose.py": ["table_and_transpose.png", "dependency.png"],
    "moderate/03_mixing_as_convolution.py": ["token_mixing_kernels.png", "mixing_matrices.png"],
    "moderate/04_cost_of_mixing.py": ["cost_growth.png", "cost_ratio.png"],
    "moderate/05_sequences.py": ["digit_as_sequence.png", "sequence_vs_image.png", "time_mixing.png"],
}


def _mnist_available() -> bool:
    try:
        data.load("mnist", split="test", download=False)
    except data.DatasetNotFoundError:
        return False
    return True


def _expected_figures(name: str) -> list:
    figures = list(LESSON_FIGURES[name])
    if name == "easy/01_painting_with_blocks.py" and _mnist_available():
        figures.append("mnist_blocks.png")  # only drawn when the MNIST files are present
    return figures


def _run_lesson(script: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "minimixer-numba"))
    return subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", sorted(LESSON_FIGURES))
def test_lesson_runs_quick(name, tmp_path):
    result = _run_lesson(LESSONS / name, tmp_path)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for figure in _expected_figures(name):
        path = tmp_path / figure
        assert path.is_file() and path.stat().st_size > 1000, f"{name} did not write {figure}"


def test_every_easy_and_moderate_lesson_is_listed():
    found = sorted(f"{p.parent.name}/{p.name}" for level in ("easy", "moderate")
                   for p in (LESSONS / level).glob("[0-9]*.py"))
    assert found == sorted(LESSON_FIGURES)


@pytest.mark.parametrize("name", sorted(LESSON_FIGURES))
def test_lesson_is_a_notebook_with_try_this(name):
    text = (LESSONS / name).read_text(encoding="utf-8")
    assert text.startswith("# %% [markdown]"), "a lesson opens with a prose cell"
    assert text.count("# %%") >= 4, "a lesson is split into cells"
    assert "## Try this" in text, "a lesson ends with things to try"
    assert "parse_args(" in text and "save(" in text
