"""Batched transforms: shapes, dtypes, what each one does, reproducibility."""

import numpy as np
import pytest

from minimixer import data
from minimixer.data import transforms as T


def rng(seed=0):
    return np.random.default_rng(seed)


def uint8_batch(shape=(6, 8, 8, 3), seed=0):
    return rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_to_float():
    images = uint8_batch()
    x = T.ToFloat()(images)
    assert x.dtype == np.float32 and x.shape == images.shape
    assert np.allclose(x * 255, images)
    already = np.full((1, 2, 2, 1), 0.5, np.float32)
    assert T.ToFloat()(already) is already


def test_normalize_per_channel_in_float32():
    x = T.ToFloat()(uint8_batch())
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.25, 0.5]
    y = T.Normalize(mean, std)(x)
    assert y.dtype == np.float32
    assert np.allclose(y, (x - np.array(mean)) / np.array(std), atol=1e-6)
    with pytest.raises(ValueError, match="channel"):
        T.Normalize([0.5], [0.5])(x)
    with pytest.raises(TypeError, match="ToFloat"):
        T.Normalize(mean, std)(uint8_batch())


def test_random_crop_cuts_windows_of_the_zero_padded_images():
    images = uint8_batch((20, 8, 8, 3))
    out = T.RandomCrop(8, padding=2)(images, rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets = set()
    for n in range(len(images)):
        matches = [(top, left) for top in range(5) for left in range(5)
                   if np.array_equal(padded[n, top:top + 8, left:left + 8], out[n])]
        assert matches, f"image {n} is not a window of its padded image"
        offsets.add(matches[0])
    assert len(offsets) > 5  # each image gets its own offset


def test_random_crop_smaller_window_and_float_input():
    x = T.ToFloat()(uint8_batch((4, 8, 8, 1)))
    out = T.RandomCrop(5)(x, rng())
    assert out.shape == (4, 5, 5, 1) and out.dtype == np.float32
    assert np.array_equal(T.RandomCrop(8)(x, rng()), x)  # no padding, full size: identity


def test_random_transforms_are_reproducible_and_need_a_generator():
    images = uint8_batch()
    crop = T.RandomCrop(8, padding=4)
    assert np.array_equal(crop(images, rng(5)), crop(images, rng(5)))
    assert not np.array_equal(crop(images, rng(5)), crop(images, rng(6)))
    with pytest.raises(TypeError, match="Generator"):
        crop(images)
    with pytest.raises(ValueError, match="batch"):
        crop(images[0], rng())


def test_horizontal_flip():
    images = uint8_batch((200, 4, 4, 2))
    assert np.array_equal(T.RandomHorizontalFlip(p=1.0)(images, rng()), images[:, :, ::-1])
    assert np.array_equal(T.RandomHorizontalFlip(p=0.0)(images, rng()), images)
    out = T.RandomHorizontalFlip()(images, rng())
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 60 < sum(flipped) < 140


@pytest.mark.parametrize("name, shape", [("digits", (8, 8, 1)), ("mnist", (28, 28, 1)),
                                         ("fashion-mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))])
@pytest.mark.parametrize("train", [True, False])
def test_default_transforms(name, shape, train):
    pipeline = data.default_transforms(name, train=train)
    kinds = [type(step).__name__ for step in pipeline.transforms]
    assert kinds[-2:] == ["ToFloat", "Normalize"]
    assert ("RandomHorizontalFlip" in kinds) == (train and name in ("fashion-mnist", "cifar10"))
    assert ("RandomCrop" in kinds) == (train and name != "digits")
    out = pipeline(uint8_batch((5, *shape)), rng())
    assert out.shape == (5, *shape) and out.dtype == np.float32
    assert "Compose([" in repr(pipeline)
