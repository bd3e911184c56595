"""Figures of results and data: history, confusion matrix, predictions, patches, comparison."""

import numpy as np
import pytest

from minimixer import viz


def test_plot_history_writes_png(tmp_path, assert_png_not_blank):
    history = [dict(epoch=e, train_loss=2.0 / e, train_acc=0.5 + 0.1 * e, test_loss=2.2 / e,
                    test_acc=0.45 + 0.1 * e, lr=1e-3 / e) for e in (1, 2, 3)]
    fig = viz.plot_history(history, save=tmp_path / "curves.png", title="run")
    assert len(fig.axes) == 3
    assert_png_not_blank(tmp_path / "curves.png")


def test_confusion_matrix_counts_pairs(tmp_path, assert_png_not_blank):
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0, 2])
    fig = viz.plot_confusion_matrix(labels, predictions, class_names=["a", "b", "c"],
                                    save=tmp_path / "confusion.png")
    counts = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert "71.43%" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    assert_png_not_blank(tmp_path / "confusion.png")


def test_confusion_matrix_without_names_covers_all_classes():
    fig = viz.plot_confusion_matrix([0, 3], [3, 3])
    assert np.asarray(fig.axes[0].images[0].get_array()).shape == (4, 4)


@pytest.mark.parametrize("kind", ["uint8-gray", "float-rgb"])
def test_predictions_mark_mistakes_red(tmp_path, kind, assert_png_not_blank):
    rng = np.random.default_rng(0)
    if kind == "uint8-gray":
        images = rng.integers(0, 256, size=(12, 8, 8, 1), dtype=np.uint8)
    else:
        images = rng.normal(size=(12, 8, 8, 3)).astype(np.float32)
    labels = np.arange(12) % 3
    predictions = labels.copy()
    predictions[[1, 5, 6]] = (labels[[1, 5, 6]] + 1) % 3
    fig = viz.plot_predictions(images, labels, predictions, class_names=["x", "y", "z"], n=10,
                               save=tmp_path / "predictions.png")
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 10
    red = [ax for ax in titled if ax.title.get_color() == "red"]
    assert len(red) == 3  # mistakes 1, 5 and 6 are among the first 10
    assert "true: " in red[0].get_title()
    assert_png_not_blank(tmp_path / "predictions.png")


def test_patch_grid_pulls_patches_apart(tmp_path, assert_png_not_blank):
    image = np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4
    fig = viz.plot_patch_grid(image, 2, save=tmp_path / "patches.png")
    mosaic = np.asarray(fig.axes[1].images[0].get_array())
    gap = 1
    assert mosaic.shape == (4 * 2 + 3 * gap, 4 * 2 + 3 * gap)
    # patch (row 1, column 2) of the image sits at the same place in the mosaic
    np.testing.assert_allclose(mosaic[3:5, 6:8], image[2:4, 4:6, 0] / 255.0, rtol=1e-6)
    assert np.isnan(mosaic[2, 0])  # a gap between patch rows
    assert_png_not_blank(tmp_path / "patches.png")


def test_patch_grid_rgb_and_bad_size(tmp_path, assert_png_not_blank):
    image = np.random.default_rng(1).integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    viz.plot_patch_grid(image, 4, save=tmp_path / "rgb.png")
    assert_png_not_blank(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="not divisible"):
        viz.plot_patch_grid(image, 5)


def test_model_comparison_with_missing_values(tmp_path, assert_png_not_blank):
    rows = [dict(name="ConvMixer", params=21130, accuracy=0.97, step_ms=12.5),
            dict(name="MLP-Mixer", params=72714, accuracy=0.95),
            dict(name="tiny", params=500)]
    fig = viz.plot_model_comparison(rows, save=tmp_path / "compare.png")
    assert [ax.get_title() for ax in fig.axes] == ["parameters", "test accuracy", "train step (ms)"]
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert texts.count("n/a") == 2
    assert_png_not_blank(tmp_path / "compare.png")


def test_model_comparison_only_draws_known_metrics():
    fig = viz.plot_model_comparison([dict(name="a", accuracy=0.5), dict(name="b", accuracy=0.7)])
    assert [ax.get_title() for ax in fig.axes] == ["test accuracy"]
    with pytest.raises(ValueError):
        viz.plot_model_comparison([dict(name="a")])
