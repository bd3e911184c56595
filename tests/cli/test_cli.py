"""Command-line smoke tests (quick mode) and argument errors."""

import os
import subprocess
import sys

import pytest

from minimixer.cli import main


def test_presets_lists_all_with_counts(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "convmixer-cifar10" in out and "4,360,970" in out


def test_train_quick_then_evaluate_the_checkpoint(tmp_path, capsys):
    assert main(["train", "--quick", "--out", str(tmp_path), "--model", "convmixer-digits"]) == 0
    run_dir = tmp_path / "convmixer-digits"
    for name in ("checkpoint.npz", "history.json", "history.csv", "curves.png"):
        assert (run_dir / name).exists(), name
    out = capsys.readouterr().out
    assert "test acc" in out
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert main(["show", str(run_dir)]) == 0
    for name in ("confusion.png", "predictions.png", "patch_filters.png", "depthwise.png"):
        assert (run_dir / name).stat().st_size > 1000, name


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--quick", "--resume", "--out", str(tmp_path), "--model", "mlpmixer-digits"]) == 1
    assert "--resume: no checkpoint" in capsys.readouterr().err


def test_a_run_folder_is_refused_then_resumed_or_replaced(tmp_path, capsys):
    argv = ["train", "--quick", "--out", str(tmp_path), "--model", "convmixer-digits"]
    assert main(argv) == 0
    checkpoint = tmp_path / "convmixer-digits" / "checkpoint.npz"
    first = checkpoint.read_bytes()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already holds a checkpoint" in err and "--force" in err
    assert checkpoint.read_bytes() == first  # nothing was overwritten

    assert main(argv + ["--resume"]) == 0  # the saved plan is complete: nothing to train
    assert checkpoint.read_bytes() == first
    assert main(argv + ["--force", "--seed", "1"]) == 0
    assert checkpoint.read_bytes() != first


def test_ctrl_c_is_one_line_and_status_130(tmp_path, capsys, monkeypatch):
    import minimixer.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fit", interrupted)
    assert main(["train", "--quick", "--out", str(tmp_path), "--model", "convmixer-digits"]) == 130
    assert capsys.readouterr().err.strip() == "minimixer train: interrupted"


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "must be a positive integer"),
    (["train", "--model", "resnet"], "invalid choice"),
    (["train", "--bogus"], "unrecognized arguments"),
    ([], "required"),
])
def test_bad_flags_get_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "minimixer", "train", "--help"],
                            capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert result.returncode == 0
    assert "--data-dir" in result.stdout and "--quick" in result.stdout


def test_check_command_passes_a_solution_and_fails_a_skeleton(capsys):
    root = os.path.join(os.path.dirname(__file__), "..", "..", "lessons", "exercises")
    assert main(["check", os.path.join(root, "solutions", "05_depthwise_conv.py")]) == 0
    assert main(["check", os.path.join(root, "05_depthwise_conv.py")]) != 0
    assert "depthwise" in capsys.readouterr().out.lower()


def test_a_preset_trains_another_dataset_with_that_datasets_recipe(tmp_path):
    """`--dataset fashion-mnist` on an MNIST preset follows the preset's Fashion recipe."""
    from minimixer import models
    from minimixer.cli import build_parser, plan_run

    for preset in ("convmixer-mnist", "mlpmixer-mnist"):
        record = models.preset(preset)
        fashion = record.recipe_for("fashion-mnist")
        assert fashion != record.recipe and record.recipe_for("mnist") == record.recipe
        args = build_parser().parse_args(["train", "--out", str(tmp_path), "--dataset", "fashion-mnist"])
        assert plan_run(preset, args).recipe == fashion
        args = build_parser().parse_args(["train", "--out", str(tmp_path), "--dataset", "fashion-mnist",
                                          "--epochs", "1"])
        assert plan_run(preset, args).recipe.epochs == 1
    assert models.preset("convmixer-digits").recipe_for("mnist") == models.preset("convmixer-digits").recipe


def test_output_into_a_closed_pipe_ends_quietly():
    """`python -m minimixer presets | head -0`: the reader has gone before the output comes."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "minimixer", "presets"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
