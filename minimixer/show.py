"""`show_run`: write the standard figures of a training run next to its checkpoint.

    from minimixer.show import show_run
    show_run("runs/convmixer-digits")      # or ".../checkpoint.npz"

writes, into the run directory:

    curves.png          loss, accuracy and learning rate per epoch (from the history)
    confusion.png       confusion matrix on the test set of the run's dataset
    predictions.png     test images with predicted labels, mistakes in red
    patch_filters.png   the patch-embedding filters
    depthwise.png       the depthwise kernels            (ConvMixer)
    token_mixing.png    the token-mixing weights        (MLP-Mixer)
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from . import data
from .nn.mixer_layers import DepthwiseConv2d, PatchEmbed, TokenMixingMLP
from .train import checkpoint_path, evaluate, load_model
from .viz import (plot_confusion_matrix, plot_depthwise_kernels, plot_history,
                  plot_patch_filters, plot_predictions, plot_token_mixing)

PREDICTIONS_SHOWN = 32


def show_run(path, data_dir=None) -> list[str]:
    """Write the standard figures of the run at `path`; returns the paths written.

    `path` is a run directory (holding checkpoint.npz) or a checkpoint file; the
    figures go into the checkpoint's directory. The test set of the run's dataset is
    loaded with `data.load(..., data_dir=data_dir)` to draw the confusion matrix and
    the predictions.
    """
    checkpoint = checkpoint_path(path)
    model, meta = load_model(checkpoint)
    model.eval()
    run_dir = os.path.dirname(os.path.abspath(checkpoint))
    config = meta.get("config", {})
    name = config.get("preset") or config.get("model", type(model).__name__)
    written = []

    def save(figure, filename):
        target = os.path.join(run_dir, filename)
        figure.savefig(target, dpi=100)
        plt.close(figure)
        written.append(target)

    if meta.get("history"):
        save(plot_history(meta["history"], title=name), "curves.png")
    if any(isinstance(m, PatchEmbed) for m in model.modules()):
        save(plot_patch_filters(model), "patch_filters.png")
    if any(isinstance(m, DepthwiseConv2d) for m in model.modules()):
        save(plot_depthwise_kernels(model), "depthwise.png")
    if any(isinstance(m, TokenMixingMLP) for m in model.modules()):
        save(plot_token_mixing(model), "token_mixing.png")

    if "dataset" in config:
        dataset = config["dataset"]
        test_set = data.load(dataset, "test", data_dir=data_dir)
        _, accuracy, predictions = evaluate(model, test_set,
                                            transform=data.default_transforms(dataset, train=False))
        class_names = data.info(dataset).class_names
        save(plot_confusion_matrix(test_set.labels, predictions, class_names), "confusion.png")
        chosen = pick_examples(test_set.labels, predictions, PREDICTIONS_SHOWN)
        wrong = int(np.sum(test_set.labels[chosen] != predictions[chosen]))
        title = (f"{name} on the {dataset} test set (accuracy {accuracy:.2%}): "
                 f"{len(chosen)} images, {wrong} of them mistakes (red)")
        save(plot_predictions(test_set.images[chosen], test_set.labels[chosen], predictions[chosen],
                              class_names, n=len(chosen), title=title), "predictions.png")
    return written


def pick_examples(labels, predictions, n: int) -> np.ndarray:
    """Indices of up to `n` test images: up to half of them mistakes, the rest correct.

    The first images of a test set are often all right; mixing in mistakes makes the
    figure say something. Indices stay in test-set order.
    """
    wrong = np.flatnonzero(labels != predictions)
    right = np.flatnonzero(labels == predictions)
    wrong_count = min(len(wrong), max(n // 2, n - len(right)))
    chosen = np.concatenate([wrong[:wrong_count], right[: n - wrong_count]])
    return np.sort(chosen)
