"""Every example runs in quick mode and leaves the files it promises.

Each script runs in a subprocess, as a user would start it, with --quick and --out
pointing into a temporary folder; MINIMIXER_DATA is passed through, so with the
datasets present the scripts read them.

The two `train_mnist_*` scripts are the exception: they run with no dataset folder
and an empty download cache, which exercises their documented fallback to the bundled
digits. (With MNIST present, their quick run still evaluates the figures on all
10,000 test images, which takes minutes on a small machine.) A separate test checks
that outside --quick they refuse to fall back and stop with the loader's message.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

RUN_FIGURES = ["checkpoint.npz", "history.json", "curves.png", "confusion.png", "predictions.png",
               "patch_filters.png"]

# Files each example must write into --out in quick mode.
EXPECTED_OUTPUTS = {
    "train_mnist_convmixer.py": RUN_FIGURES + ["depthwise.png"],
    "train_mnist_mlpmixer.py": RUN_FIGURES + ["token_mixing.png"],
    "compare_mixers.py": ["comparison.png"],
    "scale_out_with_pytorch.py": ["checkpoint.npz", "pytorch_state_dict.pt", "history.json", "curves.png"],
    "patch_shuffle.py": ["shuffled_examples.png", "patch_shuffle.png"],
    "export_to_pytorch.py": ["checkpoint.npz", "convmixer-digits.pt"],  # needs torch
    "visualise_checkpoint.py": RUN_FIGURES + ["token_mixing.png"],
}
WITHOUT_DATA = {"train_mnist_convmixer.py", "train_mnist_mlpmixer.py"}
NEEDS_TORCH = {"export_to_pytorch.py", "scale_out_with_pytorch.py"}


def torch_installed():
    return importlib.util.find_spec("torch") is not None


def run_example(name, out, *extra_args, env_changes=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "minimixer-numba"))
    env.update(env_changes or {})
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run([sys.executable, str(EXAMPLES / name), "--out", str(out), *extra_args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def without_data(tmp_path):
    """Environment changes that hide every dataset folder: no MINIMIXER_DATA, an empty cache."""
    return {"MINIMIXER_DATA": None, "MINIMIXER_CACHE": str(tmp_path / "empty-cache")}


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUTS))
def test_example_runs_quick(name, tmp_path):
    if name in NEEDS_TORCH and not torch_installed():
        pytest.skip(f"{name} needs PyTorch, which is not installed")
    out = tmp_path / "out"
    changes = without_data(tmp_path) if name in WITHOUT_DATA else None
    result = run_example(name, out, "--quick", env_changes=changes)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for filename in EXPECTED_OUTPUTS[name]:
        path = out / filename
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {filename}"
    if name in WITHOUT_DATA:
        assert "uses the bundled digits" in result.stdout
    if name == "export_to_pytorch.py":
        check_export(result.stdout, out)
    if name == "visualise_checkpoint.py":
        check_visualise_given_run(out, tmp_path)


def check_export(stdout, out):
    """The .pt file and both logit checks."""
    assert "largest |logit difference|" in stdout
    assert "the same logits, bit for bit" in stdout


def test_export_without_torch_says_so_and_exits_1(tmp_path):
    # A sitecustomize module runs at start-up; a None entry in sys.modules makes
    # `import torch` fail and importlib.util.find_spec("torch") return None.
    hide = tmp_path / "no-torch"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text('import sys\nsys.modules["torch"] = None\n')
    pythonpath = os.pathsep.join([str(hide), str(ROOT)])
    result = run_example("export_to_pytorch.py", tmp_path / "out", "--quick",
                         env_changes={"PYTHONPATH": pythonpath})
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines() == [
        "error: this example needs PyTorch, which is not installed "
        "(install it with: pip install 'minimixer[torch]')"]
    assert not (tmp_path / "out").exists(), "nothing is trained when there is nothing to export to"


@pytest.mark.parametrize("name", sorted(WITHOUT_DATA))
def test_mnist_example_without_data_stops_with_the_loader_message(name, tmp_path):
    result = run_example(name, tmp_path / "out", env_changes=without_data(tmp_path))
    assert result.returncode == 1
    assert "MNIST train files not found" in result.stderr
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def check_visualise_given_run(run, tmp_path):
    """The quick run left a run directory: drawing it again by path writes the same figures."""
    for figure in run.glob("*.png"):
        figure.unlink()
    result = run_example("visualise_checkpoint.py", tmp_path / "unused", str(run / "checkpoint.npz"))
    assert result.returncode == 0, result.stderr[-3000:]
    for filename in ["curves.png", "confusion.png", "predictions.png", "patch_filters.png", "token_mixing.png"]:
        assert f"wrote {run / filename}" in result.stdout and (run / filename).is_file()
    assert not (tmp_path / "unused").exists(), "--out is only used by --quick without a run"

    missing = run_example("visualise_checkpoint.py", tmp_path / "unused", str(tmp_path / "no-such-run"))
    assert missing.returncode == 1 and "no checkpoint" in missing.stderr


def test_every_example_is_tested_and_listed_in_the_readme():
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))
    assert scripts == sorted(EXPECTED_OUTPUTS)
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in scripts:
        assert f"python examples/{name}" in readme, f"README.md gives no command for {name}"


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUTS))
def test_example_docstring_gives_its_command(name):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert text.startswith('"""'), "an example opens with a docstring"
    assert f"python examples/{name}" in text.split('"""')[1]
    assert "--quick" in text
