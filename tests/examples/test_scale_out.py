"""examples/scale_out_with_pytorch.py: 2 processes under torchrun train as one, and come back.

One short run of the example under `python -m torch.distributed.run --nproc_per_node 2`
(4 steps on the bundled digits, gloo on the CPU) is shared by the tests below. They
check that both processes trained in sync (identical weights at the end), that the
minimixer model brought back gives the logits of the PyTorch weights the script saved,
and that the minimixer command line reads the checkpoint it wrote. Further tests run the
script as a single plain process, continuing from that checkpoint, and without PyTorch.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minimixer as mm  # noqa: E402
from minimixer import data  # noqa: E402
from minimixer.interop.torch import torch_conv_mixer  # noqa: E402
from minimixer.train import load_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "scale_out_with_pytorch.py"
STEPS, BATCH = 4, 32


def environment(**changes):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "minimixer-numba"))
    env.update(changes)
    return env


def run(command, **env_changes):
    return subprocess.run(command, cwd=ROOT, env=environment(**env_changes), capture_output=True,
                          text=True, timeout=600)


def assert_succeeded(result):
    assert result.returncode == 0, (f"exit {result.returncode}:\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    """(completed process, run directory) of the example under torchrun with 2 processes."""
    out = tmp_path_factory.mktemp("scale-out") / "run"
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                  str(SCRIPT), "--model", "convmixer-digits", "--epochs", "1", "--steps", str(STEPS),
                  "--batch-size", str(BATCH), "--out", str(out)])
    assert_succeeded(result)
    return result, out


def test_two_processes_train_in_sync(two_process_run):
    result, _ = two_process_run
    assert f"world size 2 (backend {'nccl' if torch.cuda.is_available() else 'gloo'}" in result.stdout
    assert f"batch {BATCH} per process = {2 * BATCH} per step" in result.stdout
    digests = dict(re.findall(r"^rank (\d): weights sha256 ([0-9a-f]{64})$", result.stdout, re.MULTILINE))
    assert sorted(digests) == ["0", "1"], result.stdout
    assert digests["0"] == digests["1"], "the two processes ended with different weights"


def test_brought_back_model_gives_the_saved_torch_logits(two_process_run):
    _, out = two_process_run
    model, meta = load_model(out)
    model.eval()
    torch_model = torch_conv_mixer(**model.config)
    torch_model.load_state_dict(torch.load(out / "pytorch_state_dict.pt"))
    torch_model.eval()

    test = data.load("digits", "test")
    images = data.default_transforms("digits", train=False)(test.images[:128])
    with torch.no_grad():
        theirs = torch_model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
    with mm.no_grad():
        ours = model(images).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)

    assert meta["config"]["dataset"] == "digits" and meta["config"]["preset"] == "convmixer-digits"
    assert meta["config"]["recipe"]["extra"]["world_size"] == 2
    assert [record["epoch"] for record in meta["history"]] == [1]
    assert meta["history"][0]["steps"] == STEPS


def test_minimixer_evaluates_the_checkpoint(two_process_run):
    _, out = two_process_run
    result = run([sys.executable, "-m", "minimixer", "evaluate", "--checkpoint", str(out)])
    assert_succeeded(result)
    assert "convmixer-digits on digits test set (359 images)" in result.stdout


def test_one_plain_process_continues_from_a_checkpoint(two_process_run, tmp_path):
    _, start = two_process_run
    out = tmp_path / "continued"
    result = run([sys.executable, str(SCRIPT), "--checkpoint", str(start), "--epochs", "1", "--steps", "2",
                  "--out", str(out)])
    assert_succeeded(result)
    assert "world size 1" in result.stdout
    _, meta = load_model(out)
    assert [record["epoch"] for record in meta["history"]] == [1, 2], "the history goes on"


def test_without_torch_says_so_in_one_line_and_exits_1(tmp_path):
    # A sitecustomize module runs at start-up; a None entry in sys.modules makes
    # `import torch` fail as if PyTorch were not installed.
    hide = tmp_path / "no-torch"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text('import sys\nsys.modules["torch"] = None\n')
    result = run([sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path / "out")],
                 PYTHONPATH=os.pathsep.join([str(hide), str(ROOT)]))
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines() == [
        "error: this example needs PyTorch, which is not installed "
        "(install it with: pip install 'minimixer[torch]')"]
    assert not (tmp_path / "out").exists()
