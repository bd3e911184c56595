"""Pictures of learned weights: patch filters, depthwise kernels, token mixing."""

import numpy as np
import pytest

from minimixer import models, viz


def _mosaic_of(fig):
    return np.asarray(fig.axes[0].images[0].get_array())


def _scaled(tile):
    return tile / np.abs(tile).max()


@pytest.mark.parametrize("which", ["convmixer", "mlpmixer"])
def test_patch_filters_tiles_are_weight_columns(which, tiny_convmixer, tiny_mlpmixer, tmp_path,
                                                assert_png_not_blank):
    model = tiny_convmixer if which == "convmixer" else tiny_mlpmixer
    fig = viz.plot_patch_filters(model, save=tmp_path / "filters.png")
    mosaic = _mosaic_of(fig)
    weight = model.patch_embed.weight.data  # (2*2*1, 8): 8 filters on a 3-column grid
    assert mosaic.shape == (3 * 3 - 1, 3 * 3 - 1)
    for d, (row, col) in {0: (0, 0), 4: (1, 1), 7: (2, 1)}.items():
        tile = mosaic[3 * row: 3 * row + 2, 3 * col: 3 * col + 2]
        np.testing.assert_allclose(tile, _scaled(weight[:, d].reshape(2, 2)), rtol=1e-5, atol=1e-6)
    assert_png_not_blank(tmp_path / "filters.png")


def test_patch_filters_rgb_and_patch_size_one(tmp_path, assert_png_not_blank):
    rgb = models.ConvMixer(dim=6, depth=1, kernel_size=3, patch_size=3, in_channels=3)
    fig = viz.plot_patch_filters(rgb, save=tmp_path / "rgb.png")
    mosaic = _mosaic_of(fig)
    assert mosaic.shape == (2 * 4 - 1, 3 * 4 - 1, 3)
    assert mosaic[:3, :3].min() == 0.0 and mosaic[:3, :3].max() == 1.0  # stretched per filter
    assert_png_not_blank(tmp_path / "rgb.png")

    pointwise_stem = models.ConvMixer(dim=8, depth=1, kernel_size=3, patch_size=1, in_channels=1)
    fig = viz.plot_patch_filters(pointwise_stem, save=tmp_path / "p1.png")
    np.testing.assert_allclose(_mosaic_of(fig), pointwise_stem.patch_embed.weight.data)
    assert_png_not_blank(tmp_path / "p1.png")


def test_depthwise_kernels_one_row_per_layer(tiny_convmixer, tmp_path, assert_png_not_blank):
    fig = viz.plot_depthwise_kernels(tiny_convmixer, channels=5, save=tmp_path / "dw.png")
    mosaic = _mosaic_of(fig)
    assert mosaic.shape == (2 * 4 - 1, 5 * 4 - 1)  # 2 blocks of 5 kernels, 3x3 each
    second_block = tiny_convmixer.blocks[1].spatial.fn[0].weight.data  # (3, 3, 8)
    np.testing.assert_allclose(mosaic[4:7, 8:11], _scaled(second_block[:, :, 2]), rtol=1e-5, atol=1e-6)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["block 0", "block 1"]
    assert_png_not_blank(tmp_path / "dw.png")


def test_depthwise_kernels_pick_layers_and_reject_mlpmixer(tiny_convmixer, tiny_mlpmixer):
    fig = viz.plot_depthwise_kernels(tiny_convmixer, layers=[1])
    assert _mosaic_of(fig).shape == (3, 8 * 4 - 1)  # channels=16 capped at the 8 there are
    with pytest.raises(ValueError, match="out of range"):
        viz.plot_depthwise_kernels(tiny_convmixer, layers=[2])
    with pytest.raises(ValueError, match="DepthwiseConv2d"):
        viz.plot_depthwise_kernels(tiny_mlpmixer)


def test_mean_spatial_frequency_orders_smooth_before_sharp():
    y, x = np.mgrid[0:8, 0:8]
    constant = np.ones((8, 8))
    slow_wave = np.cos(2 * np.pi * x / 8)
    checkerboard = (-1.0) ** (x + y)
    scores = viz.mean_spatial_frequency(np.stack([constant, slow_wave, checkerboard]))
    np.testing.assert_allclose(scores, [0.0, 1 / 8, np.sqrt(0.5)], atol=1e-12)


def test_token_mixing_sorted_by_frequency(tiny_mlpmixer, tmp_path, assert_png_not_blank):
    fig = viz.plot_token_mixing(tiny_mlpmixer, block=1, n=8, save=tmp_path / "tokens.png")
    weight = tiny_mlpmixer.blocks[1].token_mlp.fc1.weight.data  # (16 tokens, 8 units)
    pictures = weight.T.reshape(8, 4, 4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 8
    units = [int(ax.get_title().split(",")[0].split()[1]) for ax in shown]
    assert sorted(units) == list(range(8))
    scores = viz.mean_spatial_frequency(pictures)[units]
    assert np.all(np.diff(scores) >= 0)
    np.testing.assert_allclose(shown[0].images[0].get_array(), _scaled(pictures[units[0]]), rtol=1e-5,
                               atol=1e-6)
    assert_png_not_blank(tmp_path / "tokens.png")


def test_token_mixing_rejects_convmixer_and_bad_block(tiny_convmixer, tiny_mlpmixer):
    with pytest.raises(ValueError, match="TokenMixingMLP"):
        viz.plot_token_mixing(tiny_convmixer)
    with pytest.raises(ValueError, match="out of range"):
        viz.plot_token_mixing(tiny_mlpmixer, block=2)
