"""Tiny models and a tiny trained run for the figure tests, plus a "not blank" check."""

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

import minimixer as mm
from minimixer import data, models
from minimixer.train import Recipe, fit

# A figure with content has clearly varying pixels; an empty white canvas has none.
PIXEL_VARIANCE_FLOOR = 1e-3


def _assert_png_not_blank(path):
    pixels = mpimg.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    variance = float(np.var(pixels[..., :3]))
    assert variance > PIXEL_VARIANCE_FLOOR, f"{path} looks blank (pixel variance {variance:.2e})"


@pytest.fixture
def assert_png_not_blank():
    """Check that a file is a readable PNG whose pixels vary (something was drawn)."""
    return _assert_png_not_blank


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def numpy_backend():
    """The plain NumPy kernels: these tests look at figures, not at speed or compilation."""
    previous = mm.get_backend()
    mm.set_backend("numpy")
    yield
    mm.set_backend(previous)


@pytest.fixture
def tiny_convmixer():
    return models.ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=2, in_channels=1)


@pytest.fixture
def tiny_mlpmixer():
    return models.MLPMixer(image_size=8, patch_size=2, in_channels=1, dim=8, depth=2, token_dim=8,
                           channel_dim=16)


def train_tiny_run(model, out_dir):
    """One short epoch on a slice of the digits, written to `out_dir` as fit does."""
    train, test = data.load("digits"), data.load("digits", split="test")
    train = data.Dataset(train.images[:128], train.labels[:128])
    test = data.Dataset(test.images[:64], test.labels[:64])
    fit(model, train, test, recipe=Recipe(epochs=1, batch_size=32), dataset_name="digits",
        out_dir=str(out_dir), progress=False, config=dict(model.config, model=type(model).__name__))
    return out_dir


@pytest.fixture(scope="module")
def convmixer_run(tmp_path_factory):
    previous = mm.get_backend()
    mm.set_backend("numpy")
    mm.manual_seed(0)
    model = models.ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=2, in_channels=1)
    try:
        return train_tiny_run(model, tmp_path_factory.mktemp("convmixer_run"))
    finally:
        mm.set_backend(previous)


@pytest.fixture(scope="module")
def mlpmixer_run(tmp_path_factory):
    previous = mm.get_backend()
    mm.set_backend("numpy")
    mm.manual_seed(0)
    model = models.MLPMixer(image_size=8, patch_size=2, in_channels=1, dim=8, depth=2, token_dim=8,
                            channel_dim=16)
    try:
        return train_tiny_run(model, tmp_path_factory.mktemp("mlpmixer_run"))
    finally:
        mm.set_backend(previous)
