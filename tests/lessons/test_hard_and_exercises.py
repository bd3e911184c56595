"""The hard lessons run in quick mode, and the exercise checker judges fairly.

Lessons: each `lessons/hard/*.py` runs with --quick in a subprocess, exits with 0 and
writes the figures it announces.

Checker: every reference solution passes, every untouched skeleton fails with
"not written yet", and a plausible wrong answer for each exercise fails with a hint
that names the mistake.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minimixer import check

ROOT = Path(__file__).resolve().parents[2]
HARD = ROOT / "lessons" / "hard"
EXERCISES = ROOT / "lessons" / "exercises"
SOLUTIONS = EXERCISES / "solutions"

SKELETONS = sorted(EXERCISES.glob("0*.py"))
REFERENCE_SOLUTIONS = sorted(SOLUTIONS.glob("0*.py"))

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


# ---------------------------------------------------------------------------- checker: solutions, skeletons
def test_there_is_a_solution_for_every_skeleton():
    assert [p.name for p in SKELETONS] == [p.name for p in REFERENCE_SOLUTIONS]
    assert len(SKELETONS) == len(check.EXERCISES)


@pytest.mark.parametrize("path", REFERENCE_SOLUTIONS, ids=lambda p: p.stem)
def test_reference_solution_passes(path):
    report = check.check_file(path)
    assert report.passed, report.text()
    assert check.main([str(path)]) == 0


@pytest.mark.parametrize("path", SKELETONS, ids=lambda p: p.stem)
def test_skeleton_fails_as_not_written(path, capsys):
    report = check.check_file(path)
    assert not report.passed and report.problem is None
    assert any("not written yet" in r.detail for r in report.failures), report.text()
    assert check.main([str(path)]) == 1
    assert "not written yet" in capsys.readouterr().out


def test_each_exercise_is_named_in_its_skeleton():
    names = {check.find_exercise(p.read_text()) for p in SKELETONS}
    assert names == set(check.EXERCISES)


# ---------------------------------------------------------------------------- checker: wrong answers
HEADER = "import numpy as np\nfrom minimixer import Function\n" \
         "from minimixer.kernels.reference import gelu_forward as gelu\n"


def _write(tmp_path, exercise: str, body: str) -> Path:
    path = tmp_path / f"attempt_{exercise}.py"
    path.write_text(HEADER + f'EXERCISE = "{exercise}"\n' + textwrap.dedent(body))
    return path


def _failing_hints(path) -> str:
    report = check.check_file(path)
    assert report.problem is None, report.text()
    assert not report.passed, f"a wrong answer passed:\n{report.text()}"
    return " ".join(r.hint for r in report.failures)


TANH_FORWARD = """
class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ({},)
"""

MATMUL = """
class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return {}
"""


def test_tanh_backward_with_a_sign_error(tmp_path):
    path = _write(tmp_path, "backward_rule", TANH_FORWARD.format("-g * (1 - y * y)")
                  + MATMUL.format("g @ b.T, a.T @ g"))
    report = check.check_file(path)
    assert not report.passed
    assert all(r.passed for r in report.results if r.name.startswith("MatMul")), report.text()
    hints = " ".join(r.hint for r in report.failures)
    assert "sign is flipped" in hints
    assert any("gradcheck" in r.name and "disagree" in r.detail for r in report.failures), report.text()


def test_tanh_backward_using_x_instead_of_y(tmp_path):
    body = TANH_FORWARD.replace("ctx.save_for_backward(y)", "ctx.save_for_backward(x)")
    path = _write(tmp_path, "backward_rule",
                  body.format("g * (1 - y * y)") + MATMUL.format("g @ b.T, a.T @ g"))
    assert "you used x where the saved output belongs" in _failing_hints(path)


def test_matmul_backward_missing_transposes(tmp_path):
    path = _write(tmp_path, "backward_rule", TANH_FORWARD.format("g * (1 - y * y)")
                  + MATMUL.format("g @ b, a @ g"))
    report = check.check_file(path)
    square = next(r for r in report.results if r.name.startswith("MatMul: square"))
    assert not square.passed and "transpose is missing" in square.hint, report.text()
    rectangular = next(r for r in report.results if "(3×4) @ (4×5)" in r.name)
    assert not rectangular.passed and "dA = grad_out @ Bᵀ" in rectangular.hint
    assert "line" in rectangular.detail  # the crash is located in the student's file


def test_matmul_backward_gradients_in_the_wrong_order(tmp_path):
    path = _write(tmp_path, "backward_rule", TANH_FORWARD.format("g * (1 - y * y)")
                  + MATMUL.format("a.T @ g, g @ b.T"))
    assert "in the order" in _failing_hints(path)


def test_token_mixing_without_the_transpose(tmp_path):
    path = _write(tmp_path, "token_mixing", """
        def token_mixing(x, w1, b1, w2, b2):
            return gelu(x @ w1 + b1) @ w2 + b2
    """)
    report = check.check_file(path)
    square = next(r for r in report.results if "S = C" in r.name)
    assert not square.passed and "channel axis" in square.hint, report.text()


def test_token_mixing_not_transposed_back(tmp_path):
    path = _write(tmp_path, "token_mixing", """
        def token_mixing(x, w1, b1, w2, b2):
            return gelu(x.transpose(0, 2, 1) @ w1 + b1) @ w2 + b2
    """)
    report = check.check_file(path)
    assert "shape" in report.failures[0].detail
    assert "transpose the result back" in _failing_hints(path)


def test_token_mixing_with_approximate_gelu(tmp_path):
    path = _write(tmp_path, "token_mixing", """
        def token_mixing(x, w1, b1, w2, b2):
            t = x.transpose(0, 2, 1)
            return (gelu(t @ w1 + b1, "tanh") @ w2 + b2).transpose(0, 2, 1)
    """)
    assert "tanh approximation" in _failing_hints(path)


DEPTHWISE = """
def depthwise_conv2d(x, w, b=None):
    k = w.shape[0]
    before = {before}
    xpad = np.pad(x, ((0, 0), (before, k - 1 - before), (before, k - 1 - before), (0, 0)))
    kernel = {kernel}
    height, width = x.shape[1], x.shape[2]
    y = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            y += xpad[:, i:i + height, j:j + width, :] * kernel[i, j]
    return y if b is None else y + b
"""


def test_depthwise_with_a_transposed_kernel(tmp_path):
    path = _write(tmp_path, "depthwise_conv", DEPTHWISE.format(before="(k - 1) // 2",
                                                               kernel="w.transpose(1, 0, 2)"))
    assert "kernel is transposed" in _failing_hints(path)


def test_depthwise_with_a_flipped_kernel(tmp_path):
    path = _write(tmp_path, "depthwise_conv", DEPTHWISE.format(before="(k - 1) // 2", kernel="w[::-1, ::-1]"))
    assert "cross-correlation" in _failing_hints(path)


def test_depthwise_padding_on_the_wrong_side_for_even_k(tmp_path):
    path = _write(tmp_path, "depthwise_conv", DEPTHWISE.format(before="k // 2", kernel="w"))
    report = check.check_file(path)
    failed = {r.name for r in report.failures}
    assert failed and all("even kernel" in name for name in failed), report.text()
    assert all("bottom/right" in r.hint for r in report.failures)


def test_depthwise_without_padding(tmp_path):
    path = _write(tmp_path, "depthwise_conv", """
        def depthwise_conv2d(x, w, b=None):
            k = w.shape[0]
            h, v = x.shape[1] - k + 1, x.shape[2] - k + 1
            y = sum(x[:, i:i + h, j:j + v, :] * w[i, j] for i in range(k) for j in range(k))
            return y if b is None else y + b
    """)
    assert "'same' padding" in _failing_hints(path)


MIXER_BLOCK = """
def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias

def mlp(x, w1, b1, w2, b2):
    return gelu(x @ w1 + b1) @ w2 + b2

def mixer_block(x, p):
    def token(y):
        return mlp(y, p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
                   p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"])
    def channel(y):
        return mlp(y, p["channel_mlp.fc1.weight"], p["channel_mlp.fc1.bias"],
                   p["channel_mlp.fc2.weight"], p["channel_mlp.fc2.bias"])
    def norm1(y):
        return layer_norm(y, p["norm1.weight"], p["norm1.bias"])
    def norm2(y):
        return layer_norm(y, p["norm2.weight"], p["norm2.bias"])
    T = lambda y: y.transpose(0, 2, 1)
{body}
"""


def _block(body: str) -> str:
    return MIXER_BLOCK.format(body=textwrap.indent(textwrap.dedent(body), "    "))


def test_mixer_block_without_the_transpose(tmp_path):
    path = _write(tmp_path, "mixer_block", _block("""
        x = x + token(norm1(x))
        return x + channel(norm2(x))
    """))
    report = check.check_file(path)
    square = next(r for r in report.results if "S = C" in r.name)
    assert not square.passed and "transpose" in square.hint, report.text()


def test_mixer_block_normalising_after_the_transpose(tmp_path):
    path = _write(tmp_path, "mixer_block", _block("""
        x = x + T(token(norm1(T(x))))
        return x + channel(norm2(x))
    """))
    assert "before* the transpose" in _failing_hints(path)


def test_mixer_block_missing_a_skip_connection(tmp_path):
    path = _write(tmp_path, "mixer_block", _block("""
        x = x + T(token(T(norm1(x))))
        return channel(norm2(x))
    """))
    assert "skip connection of the channel-mixing step" in _failing_hints(path)


def test_mixer_block_post_norm(tmp_path):
    path = _write(tmp_path, "mixer_block", _block("""
        x = norm1(x + T(token(T(x))))
        return norm2(x + channel(x))
    """))
    assert "post-norm" in _failing_hints(path)


# ---------------------------------------------------------------------------- checker: odd files
def test_file_without_marker_is_reported(tmp_path):
    path = tmp_path / "no_marker.py"
    path.write_text("def depthwise_conv2d(x, w, b=None):\n    return x\n")
    report = check.check_file(path)
    assert report.problem and "EXERCISE" in report.problem
    assert check.main([str(path)]) == 2


def test_file_with_a_syntax_error_is_reported(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text('EXERCISE = "depthwise_conv"\ndef depthwise_conv2d(x, w, b=None:\n    return x\n')
    report = check.check_file(path)
    assert report.problem and "SyntaxError at line 2" in report.problem


def test_function_returning_none_gets_a_hint(tmp_path):
    path = _write(tmp_path, "depthwise_conv", """
        def depthwise_conv2d(x, w, b=None):
            y = x * 1
    """)
    assert "forget the `return`" in _failing_hints(path)


def test_list_and_usage(capsys):
    assert check.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in check.EXERCISES)
    assert check.main([]) == 2
