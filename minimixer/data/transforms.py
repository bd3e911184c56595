"""Batched image transforms for channels-last (N, H, W, C) arrays.

Each transform is called on a whole batch, ``transform(images, rng)``, where
``rng`` is a ``numpy.random.Generator``. Random transforms draw from it and
nothing else, so a seeded generator makes augmentation reproducible; the
``DataLoader`` hands each batch its own generator derived from its seed.
Deterministic transforms ignore ``rng``.

``RandomCrop`` and ``RandomHorizontalFlip`` only move pixels, so they work on
uint8 and float arrays alike (running them before ``ToFloat`` moves 4x fewer
bytes). ``Normalize`` expects float32 values in 0..1, i.e. after ``ToFloat``.
"""

import numpy as np

from ..errors import InputError, InputTypeError, require_int, require_real
from .datasets import canonical_name, info


def _check_batch(images, who):
    if images.ndim != 4:
        raise InputError(
            f"{who} works on a batch (N, H, W, C); got an array of shape {images.shape}"
        )


def _need_rng(rng, who):
    if not isinstance(rng, np.random.Generator):
        raise InputTypeError(
            f"{who} is random: call it as transform(images, rng) with a "
            "numpy.random.Generator, e.g. np.random.default_rng(0)"
        )


class ToFloat:
    """uint8 0..255 -> float32 0..1. Float input is taken as already scaled."""

    def __call__(self, images, rng=None):
        if images.dtype == np.uint8:
            return images.astype(np.float32) / np.float32(255)
        return images.astype(np.float32, copy=False)

    def __repr__(self):
        return "ToFloat()"


class Normalize:
    """``(x - mean) / std`` per channel, in float32."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise InputError("Normalize: mean and std need one value per channel")
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.std))):
            raise InputError("Normalize: mean and std must be finite numbers")
        if np.any(self.std <= 0):
            raise InputError("Normalize: std must be positive")

    def __call__(self, images, rng=None):
        _check_batch(images, "Normalize")
        if images.dtype != np.float32:
            raise InputTypeError(
                f"Normalize expects float32 images (use ToFloat first), got {images.dtype}"
            )
        if images.shape[-1] != self.mean.size:
            raise InputError(
                f"Normalize has {self.mean.size} channel(s), the images {images.shape[-1]}"
            )
        return (images - self.mean) / self.std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Zero-pad each image by ``padding`` then cut a random ``size`` x ``size`` window.

    Every image of the batch gets its own offsets. The crop is one gather:
    ``padded[n, top[n] + i, left[n] + j]`` for all n, i, j at once.
    """

    def __init__(self, size, padding=0):
        self.size = require_int("RandomCrop", "size", size)
        self.padding = require_int("RandomCrop", "padding", padding, minimum=0)

    def __call__(self, images, rng=None):
        _check_batch(images, "RandomCrop")
        _need_rng(rng, "RandomCrop")
        n, height, width, _ = images.shape
        pad = self.padding
        padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        if self.size > min(height, width) + 2 * pad:
            raise InputError(f"crop size {self.size} exceeds the padded image {padded.shape[1:3]}")
        top = rng.integers(0, height + 2 * pad - self.size + 1, size=n)
        left = rng.integers(0, width + 2 * pad - self.size + 1, size=n)
        steps = np.arange(self.size)
        rows = (top[:, None] + steps)[:, :, None]  # (n, size, 1)
        cols = (left[:, None] + steps)[:, None, :]  # (n, 1, size)
        return padded[np.arange(n)[:, None, None], rows, cols]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = require_real("RandomHorizontalFlip", "p", p, minimum=0.0, maximum=1.0)

    def __call__(self, images, rng=None):
        _check_batch(images, "RandomHorizontalFlip")
        _need_rng(rng, "RandomHorizontalFlip")
        flip = rng.random(len(images)) < self.p
        out = images.copy()
        out[flip] = images[flip, :, ::-1]
        return out

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Apply transforms in order, passing the same generator to each."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images, rng=None):
        for transform in self.transforms:
            images = transform(images, rng)
        return images

    def __repr__(self):
        inner = ", ".join(repr(transform) for transform in self.transforms)
        return f"Compose([{inner}])"


def default_transforms(name, train):
    """The standard pipeline for a dataset of ``minimixer.data``.

    * digits: ToFloat, Normalize (8x8 images leave no room for crops).
    * mnist: training adds RandomCrop(28, padding=2) first.
    * fashion-mnist: training adds RandomCrop(28, padding=2) and a horizontal flip.
    * cifar10: training adds RandomCrop(32, padding=4) and a horizontal flip.

    Digits are never flipped (a mirrored 2 or 7 is not a digit); a mirrored shirt,
    shoe or bag is still one, as a mirrored car or cat is.
    """
    name = canonical_name(name)
    facts = info(name)
    steps = []
    if train and name in ("mnist", "fashion-mnist"):
        steps.append(RandomCrop(28, padding=2))
    if train and name == "fashion-mnist":
        steps.append(RandomHorizontalFlip())
    if train and name == "cifar10":
        steps += [RandomCrop(32, padding=4), RandomHorizontalFlip()]
    steps += [ToFloat(), Normalize(facts.mean, facts.std)]
    return Compose(steps)
