"""Datasets, mini-batches and augmentation, in plain NumPy.

    from minimixer import data
    train = data.load("digits")                  # Dataset(images, labels)
    test = data.load("digits", split="test")
    loader = data.DataLoader(train, batch_size=64, shuffle=True, seed=0,
                             transform=data.default_transforms("digits", train=True))
    for x, y in loader:                          # x float32 (B, 8, 8, 1), y int64 (B,)
        ...

Datasets: ``names()`` lists them ("digits", "mnist", "fashion-mnist",
"cifar10"); ``info(name)`` gives shapes, class names and the normalisation
statistics. Images are always uint8 (N, H, W, C) with values 0..255, labels
int64. The digits ship with the package; the others are read from a folder you
name (``data_dir=``, ``--data-dir``, ``$MINIMIXER_DATA``) or downloaded into
``~/.cache/minimixer`` — see ``minimixer.data.datasets`` for the details.
"""

from . import transforms
from .datasets import Dataset, DatasetInfo, info, load, names, search_roots
from .download import cache_dir
from .errors import (
    ChecksumError,
    DataFormatError,
    DatasetNotFoundError,
    DownloadError,
    UnofficialDataWarning,
    UnsafePickleError,
)
from .loader import DataLoader
from .transforms import default_transforms

__all__ = [
    "ChecksumError",
    "DataFormatError",
    "DataLoader",
    "Dataset",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DownloadError",
    "UnofficialDataWarning",
    "UnsafePickleError",
    "cache_dir",
    "default_transforms",
    "info",
    "load",
    "names",
    "search_roots",
    "transforms",
]
