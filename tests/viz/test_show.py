"""Models from checkpoints, and show_run writing a run's standard figures."""

import json
import os

import numpy as np
import pytest

from minimixer import viz
from minimixer.show import pick_examples, show_run
from minimixer.train import load_model, read_checkpoint


def test_load_model_rebuilds_the_checkpoint(convmixer_run):
    model, meta = load_model(str(convmixer_run))
    state, _, _ = read_checkpoint(os.path.join(convmixer_run, "checkpoint.npz"))
    assert meta["config"]["model"] == "ConvMixer"
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[name])
    fig = viz.plot_depthwise_kernels(convmixer_run / "checkpoint.npz")
    assert fig.axes[0].images


def test_load_model_explains_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_model(str(tmp_path))
    meta = {"config": {"dataset": "digits"}, "history": []}
    np.savez(tmp_path / "checkpoint.npz", **{"meta/json": np.array(json.dumps(meta))})
    with pytest.raises(ValueError, match="unknown model None"):
        load_model(tmp_path)


def test_show_run_convmixer(convmixer_run, assert_png_not_blank):
    written = show_run(str(convmixer_run))
    names = sorted(os.path.basename(p) for p in written)
    assert names == ["confusion.png", "curves.png", "depthwise.png", "patch_filters.png",
                     "predictions.png"]
    for path in written:
        assert os.path.dirname(path) == str(convmixer_run)
        assert_png_not_blank(path)


def test_show_run_mlpmixer_from_checkpoint_file(mlpmixer_run, assert_png_not_blank):
    written = show_run(os.path.join(mlpmixer_run, "checkpoint.npz"))
    names = sorted(os.path.basename(p) for p in written)
    assert names == ["confusion.png", "curves.png", "patch_filters.png", "predictions.png",
                     "token_mixing.png"]
    for path in written:
        assert_png_not_blank(path)


def test_pick_examples_mixes_mistakes_in():
    labels = np.zeros(100, dtype=np.int64)
    predictions = labels.copy()
    predictions[[3, 50, 70]] = 1
    chosen = pick_examples(labels, predictions, 8)
    assert len(chosen) == 8 and np.all(np.diff(chosen) > 0)
    assert {3, 50, 70} <= set(chosen.tolist())
    mostly_wrong = pick_examples(labels, np.ones(100, dtype=np.int64), 8)
    assert len(mostly_wrong) == 8
