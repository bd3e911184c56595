"""The UCI handwritten digits, shipped inside the package.

Source: the "Optical Recognition of Handwritten Digits" data set of the UCI
machine-learning repository (E. Alpaydin, C. Kaynak, 1998, licence CC BY 4.0),
the 1,797-image part that scikit-learn distributes: 8x8 grey images with
values 0..16, ten balanced classes (174 to 183 images each).

The bundle ``digits.npz`` next to this file holds

* ``images``  uint8 (1797, 8, 8, 1), the source values 0..16,
* ``labels``  uint8 (1797,), the digit 0..9,
* ``is_test`` bool (1797,), the fixed train/test split described below.

It is made from the CSV by ``build_bundle`` and its sha256 is checked on every
load. The source has no official train/test split, so the bundle stores one:
for each class separately, ``round(0.2 * n_class)`` images are drawn for the
test split with ``numpy.random.default_rng(SPLIT_SEED)`` (``SPLIT_SEED = 0``,
classes visited in order 0..9, ``Generator.permutation`` of the class's image
indices, the first ones go to test). That gives 1,438 training and 359 test
images with every class in the same 80/20 proportion. Storing the split, rather
than redrawing it at load time, keeps it identical on every numpy version.

``load_split`` scales the pixels to 0..255 with ``round(v * 255 / 16)`` so that
every dataset of ``minimixer.data`` shares the uint8 0..255 convention.
"""

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from .errors import ChecksumError, DataFormatError

BUNDLE_PATH = Path(__file__).with_name("digits.npz")
BUNDLE_SHA256 = "a729f58025f76d01971cc33693ef6bb2372ac3f9992579d0b56c8c63168287b7"
SPLIT_SEED = 0
TEST_FRACTION = 0.2
SOURCE_MAX = 16

# v -> round(v * 255 / 16) for v = 0..16, rounding halves up (8 -> 128).
_TO_255 = np.floor(np.arange(SOURCE_MAX + 1) * 255 / SOURCE_MAX + 0.5).astype(np.uint8)


def load_split(split):
    """The train or test split: (images (n,8,8,1) uint8 0..255, labels (n,) int64)."""
    images, labels, is_test = read_bundle()
    keep = is_test if split == "test" else ~is_test
    return _TO_255[images[keep]], labels[keep].astype(np.int64)


def read_bundle(path=BUNDLE_PATH, expected_sha256=BUNDLE_SHA256):
    """Read the bundle after checking its sha256: (images 0..16, labels, is_test)."""
    content = Path(path).read_bytes()
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected_sha256:
        raise ChecksumError(
            f"{path}: sha256 {actual} differs from the recorded {expected_sha256}; "
            "the installed package is damaged, reinstall minimixer"
        )
    with np.load(io.BytesIO(content), allow_pickle=False) as arrays:
        return arrays["images"], arrays["labels"], arrays["is_test"]


def read_csv(csv_path):
    """Parse the source CSV (gzip or plain): (images (1797,8,8,1) 0..16, labels)."""
    opener = gzip.open if str(csv_path).endswith(".gz") else open
    with opener(csv_path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise DataFormatError(f"{csv_path}: expected rows of 64 pixels + 1 label")
    if table[:, :64].min() < 0 or table[:, :64].max() > SOURCE_MAX:
        raise DataFormatError(f"{csv_path}: pixel values must lie in 0..{SOURCE_MAX}")
    images = table[:, :64].reshape(-1, 8, 8, 1).astype(np.uint8)
    return images, table[:, 64].astype(np.uint8)


def stratified_test_mask(labels, seed=SPLIT_SEED, test_fraction=TEST_FRACTION):
    """Boolean mask choosing ``round(test_fraction * n_c)`` test images per class c."""
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        num_test = int(round(test_fraction * len(members)))
        is_test[rng.permutation(members)[:num_test]] = True
    return is_test


def build_bundle(csv_path, out_path=BUNDLE_PATH):
    """Write the bundle from the source CSV and return its sha256.

    The .npz is written with fixed zip timestamps so the same CSV gives the
    same bytes. After rebuilding, copy the returned sha256 into
    ``BUNDLE_SHA256``.
    """
    images, labels = read_csv(csv_path)
    arrays = {"images": images, "labels": labels, "is_test": stratified_test_mask(labels)}
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            entry = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(entry, buffer.getvalue(), compresslevel=9)
    return hashlib.sha256(Path(out_path).read_bytes()).hexdigest()
