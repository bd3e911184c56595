"""The bundled digits: sizes, stratified split, determinism, value range, integrity."""

import hashlib
import shutil

import numpy as np
import pytest

from minimixer import data
from minimixer.data import digits

CSV_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_split_sizes_and_layout():
    train, test = data.load("digits", "train"), data.load("digits", split="test")
    assert train.images.shape == (1438, 8, 8, 1) and test.images.shape == (359, 8, 8, 1)
    assert train.images.dtype == np.uint8 and test.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and train.labels.shape == (1438,)
    assert len(train.labels) + len(test.labels) == 1797


def test_split_is_stratified_80_20():
    _, labels, is_test = digits.read_bundle()
    for digit in range(10):
        members = labels == digit
        assert is_test[members].sum() == round(0.2 * members.sum())
    test_counts = np.bincount(data.load("digits", "test").labels, minlength=10)
    assert test_counts.min() >= 35 and test_counts.max() <= 37


def test_split_is_the_documented_seeded_draw():
    _, labels, is_test = digits.read_bundle()
    assert np.array_equal(digits.stratified_test_mask(labels, seed=digits.SPLIT_SEED), is_test)
    assert not np.array_equal(digits.stratified_test_mask(labels, seed=1), is_test)


def test_loading_is_deterministic():
    first, second = data.load("digits"), data.load("digits")
    assert np.array_equal(first.images, second.images)
    assert np.array_equal(first.labels, second.labels)


def test_pixels_are_scaled_to_0_255():
    images = data.load("digits").images
    assert images.min() == 0 and images.max() == 255
    allowed = {round(v * 255 / 16) for v in range(17) if v != 8} | {128}
    assert set(np.unique(images).tolist()) <= allowed
    source, _, is_test = digits.read_bundle()
    expected = np.floor(source[~is_test].astype(np.float64) * 255 / 16 + 0.5)
    assert np.array_equal(images, expected.astype(np.uint8))


def test_info_statistics_match_the_training_split():
    facts = data.info("digits")
    x = data.load("digits").images / 255.0
    assert facts.image_shape == (8, 8, 1) and facts.num_classes == 10
    assert facts.mean[0] == pytest.approx(x.mean(), abs=1e-4)
    assert facts.std[0] == pytest.approx(x.std(), abs=1e-4)


def test_damaged_bundle_is_refused(tmp_path):
    copy = tmp_path / "digits.npz"
    shutil.copy(digits.BUNDLE_PATH, copy)
    content = bytearray(copy.read_bytes())
    content[len(content) // 2] ^= 0xFF
    copy.write_bytes(bytes(content))
    with pytest.raises(data.ChecksumError, match="digits.npz"):
        digits.read_bundle(copy)


def test_bundle_is_rebuilt_identically_from_the_source_csv(real_data, tmp_path):
    csv_path = real_data / "digits" / "digits.csv.gz"
    if not csv_path.is_file():
        pytest.skip("digits.csv.gz not in MINIMIXER_DATA")
    assert hashlib.sha256(csv_path.read_bytes()).hexdigest() == CSV_SHA256
    rebuilt_sha256 = digits.build_bundle(csv_path, tmp_path / "digits.npz")
    rebuilt = digits.read_bundle(tmp_path / "digits.npz", rebuilt_sha256)
    for new, shipped in zip(rebuilt, digits.read_bundle()):
        assert np.array_equal(new, shipped)
