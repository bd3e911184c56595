"""Real short training runs, checkpoints, resume equality and divergence handling."""

import json
import os
import signal

import numpy as np
import pytest

import minimixer as mm
from minimixer import data, models, nn
from minimixer.train import Recipe, TrainingDiverged, evaluate, fit, read_checkpoint


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", "train"), data.load("digits", "test")


def test_mlp_on_digits_reaches_95_percent(digits):
    """The first end-to-end run: a plain MLP (flatten -> 64 -> 10) on the digits."""
    train, test = digits
    mm.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    fit(model, train, test, Recipe(epochs=15, batch_size=32, lr=1e-2, weight_decay=0.0,
                                   label_smoothing=0.0), progress=False)
    _, accuracy, _ = evaluate(model, test, transform=data.default_transforms("digits", train=False))
    assert accuracy >= 0.95


@pytest.mark.parametrize("preset, threshold", [("convmixer-digits", 0.95), ("mlpmixer-digits", 0.93)])
def test_short_mixer_training_on_digits_passes_threshold(digits, preset, threshold):

    train, test = digits
    mm.manual_seed(0)
    model = models.create(preset)
    recipe = models.preset(preset).recipe
    recipe = Recipe(**{**recipe.__dict__, "epochs": min(recipe.epochs, 8)})
    history = fit(model, train, test, recipe, progress=False)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] >= threshold


def small_run(tmp_path, epochs, resume=None, seed=0, init_seed=None):
    train = data.load("digits", "train")
    train = type(train)(train[0][:256], train[1][:256])
    mm.manual_seed(seed if init_seed is None else init_seed)
    model = models.create("convmixer-digits")
    recipe = Recipe(epochs=epochs, batch_size=32, lr=3e-3, seed=seed)
    history = fit(model, train, None, recipe, out_dir=str(tmp_path), resume=resume, progress=False,
                  config=dict(models.preset_config("convmixer-digits"), preset="convmixer-digits"))
    return model, history


def test_ctrl_c_mid_epoch_then_resume_gives_the_same_weights(tmp_path, monkeypatch):
    straight, _ = small_run(tmp_path / "straight", epochs=3)

    # The same plan, with Ctrl-C (a real SIGINT) arriving during the 12th batch,
    # in the middle of the second epoch (256 images / 32 = 8 batches per epoch).
    import minimixer.train as train_module

    real_transforms, calls = train_module.default_transforms, []

    def transforms_with_ctrl_c(name, train):
        inner = real_transforms(name, train)

        def transform(images, rng=None):
            calls.append(1)
            if train and len(calls) == 12:
                os.kill(os.getpid(), signal.SIGINT)
            return inner(images, rng)

        return transform

    monkeypatch.setattr(train_module, "default_transforms", transforms_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        small_run(tmp_path / "split", epochs=3)
    monkeypatch.setattr(train_module, "default_transforms", real_transforms)
    _, meta, _ = read_checkpoint(tmp_path / "split" / "checkpoint.npz")
    assert meta["epoch"] == 1  # one complete epoch, the second one part-way

    # Resume into a model built with another seed: everything must come from the file.
    resumed, history = small_run(tmp_path / "split", epochs=3, init_seed=99,
                                 resume=str(tmp_path / "split" / "checkpoint.npz"))
    assert [r["epoch"] for r in history] == [1, 2, 3]
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_checkpoint_is_npz_without_pickle_and_history_files_exist(tmp_path):
    small_run(tmp_path, epochs=1)
    path = tmp_path / "checkpoint.npz"
    with np.load(path, allow_pickle=False) as archive:
        assert any(k.startswith("model/") for k in archive.files)
        assert any(k.startswith("optimizer/") for k in archive.files)
    state, meta, _ = read_checkpoint(path)
    assert meta["epoch"] == 1 and meta["config"]["preset"] == "convmixer-digits"
    assert json.loads((tmp_path / "history.json").read_text())[0]["epoch"] == 1
    assert (tmp_path / "history.csv").read_text().startswith("epoch,")
    assert not (tmp_path / "curves.png").exists(), "fit draws no figures; the CLI and show do"
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]


def test_training_imports_no_plotting_library():
    """Imports run one way (train -> viz, never back): fit needs no matplotlib."""
    import subprocess
    import sys

    script = ("import sys, minimixer.train, minimixer.cli; "
              "print('matplotlib' in sys.modules, 'minimixer.viz' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_nan_loss_stops_with_clear_message_and_keeps_last_checkpoint(tmp_path):
    model, _ = small_run(tmp_path, epochs=1)
    before = (tmp_path / "checkpoint.npz").read_bytes()
    train = data.load("digits", "train")
    bad = type(train)(train[0][:64], train[1][:64])
    with mm.no_grad():
        model.head.weight.data = np.full(model.head.weight.shape, np.nan)
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        fit(model, bad, None, Recipe(epochs=1, batch_size=32), out_dir=str(tmp_path), progress=False)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_is_one_line_per_epoch_unless_a_terminal_watches(capsys, monkeypatch, terminal):
    """In a log file or a pipe a redrawing bar would write a line per redraw."""
    import minimixer.train as train_module

    monkeypatch.setattr(train_module, "watched_terminal", lambda: terminal)
    train = data.load("digits", "train")
    train = type(train)(train[0][:256], train[1][:256])
    mm.manual_seed(0)
    fit(models.create("mlpmixer-digits"), train, None, Recipe(epochs=2, batch_size=32), progress=True)
    captured = capsys.readouterr()
    epoch_lines = [line for line in captured.out.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert ("\r" in captured.err) == terminal


# ---------------------------------------------------------------- BatchNorm recalibration


def test_recalibrated_statistics_are_the_average_over_the_batches(digits):
    """Three equal batches: each running mean becomes the mean of the three batch
    means, each running variance the mean of the three unbiased batch variances."""
    from minimixer.train import recalibrate_batch_norm
    images = np.random.default_rng(0).integers(0, 256, (96, 4, 4, 3)).astype(np.uint8)
    labels = np.zeros(96, dtype=np.int64)
    norm = nn.BatchNorm2d(3)
    model = nn.Sequential(norm)
    model.eval()
    used = recalibrate_batch_norm(model, (images, labels), batches=3, batch_size=32, seed=5)
    assert used == 3 and not model.training and norm.momentum == 0.1
    loader = data.DataLoader((images, labels), batch_size=32, shuffle=True, seed=5)
    batches = [x.reshape(-1, 3).astype(np.float64) for x, _ in loader]
    np.testing.assert_allclose(norm.running_mean, np.mean([b.mean(axis=0) for b in batches], axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(norm.running_var, np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0),
                               rtol=1e-5)


def test_after_recalibrating_on_one_batch_evaluation_matches_training_mode(digits):
    """A ConvMixer (its GELU -> BatchNorm pairs run as one op) recalibrated on a single
    batch normalises that batch in evaluation mode as in training mode, up to the
    unbiased variance's n / (n - 1)."""
    from minimixer.train import recalibrate_batch_norm
    images, labels = digits[0][0][:64], digits[0][1][:64]
    mm.manual_seed(0)
    model = models.create("convmixer-digits")
    x = data.default_transforms("digits", train=False)(images)
    with mm.no_grad():
        training_logits = model(x).data
    for _, buffer in model.named_buffers():
        buffer[...] = 7.0  # nonsense statistics, to be replaced
    assert recalibrate_batch_norm(model, (images, labels), batches=5, batch_size=64,
                                  transform=data.default_transforms("digits", train=False)) == 1
    model.eval()
    with mm.no_grad():
        evaluation_logits = model(x).data
    np.testing.assert_allclose(evaluation_logits, training_logits, rtol=2e-3, atol=2e-3)


def test_recalibrating_a_model_without_batch_norm_does_nothing(digits):
    from minimixer.train import recalibrate_batch_norm
    model = models.create("mlpmixer-digits")
    assert recalibrate_batch_norm(model, digits[0], batches=2) == 0
    with pytest.raises(mm.errors.InputError, match="batches"):
        recalibrate_batch_norm(model, digits[0], batches=0)
