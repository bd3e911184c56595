"""The real files in MINIMIXER_DATA (skipped when the variable is unset)."""

import gzip
import pickletools
import warnings

import numpy as np
import pytest

from minimixer import data
from minimixer.data import cifar


def load_strict(name, split, folder):
    """Load the official files; any UnofficialDataWarning becomes an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", data.UnofficialDataWarning)
        return data.load(name, split, data_dir=folder, download=False)


def need(folder, relative):
    if not (folder / relative).exists():
        pytest.skip(f"{relative} not in MINIMIXER_DATA")


@pytest.fixture(scope="module")
def mnist(real_data):
    need(real_data, "mnist")
    return load_strict("mnist", "train", real_data), load_strict("mnist", "test", real_data)


@pytest.fixture(scope="module")
def fashion(real_data):
    need(real_data, "fashion-mnist")
    return (load_strict("fashion-mnist", "train", real_data),
            load_strict("fashion-mnist", "test", real_data))


def channel_statistics(images):
    """Mean and std per channel in 0..1 units, from a histogram of the 256 byte values."""
    values = np.arange(256) / 255.0
    means, stds = [], []
    for channel in range(images.shape[-1]):
        counts = np.bincount(images[..., channel].ravel(), minlength=256)
        mean = counts @ values / counts.sum()
        means.append(mean)
        stds.append(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))
    return np.array(means), np.array(stds)


def assert_statistics_match_info(name, images):
    facts = data.info(name)
    mean, std = channel_statistics(images)
    assert np.allclose(facts.mean, mean, atol=1e-4)
    assert np.allclose(facts.std, std, atol=1e-4)


def test_mnist(mnist):
    train, test = mnist
    assert train.images.shape == (60_000, 28, 28, 1) and test.images.shape == (10_000, 28, 28, 1)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert test.labels[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842,
                                                  5421, 5918, 6265, 5851, 5949]
    assert_statistics_match_info("mnist", train.images)


def test_fashion_mnist(fashion):
    train, test = fashion
    assert train.images.shape == (60_000, 28, 28, 1) and test.images.shape == (10_000, 28, 28, 1)
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert_statistics_match_info("fashion-mnist", train.images)


def test_decompressed_copy_still_verifies(real_data, mnist, tmp_path):
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        raw = gzip.decompress((real_data / "mnist" / (stem + ".gz")).read_bytes())
        (tmp_path / stem).write_bytes(raw)
    copy = load_strict("mnist", "test", tmp_path)
    assert np.array_equal(copy.images, mnist[1].images)
    assert np.array_equal(copy.labels, mnist[1].labels)


def test_fashion_files_in_an_mnist_folder_are_recognised(real_data, tmp_path):
    need(real_data, "fashion-mnist")
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "mnist" / name).symlink_to(real_data / "fashion-mnist" / name)
    with pytest.raises(data.ChecksumError, match="official Fashion-MNIST file"):
        data.load("mnist", "test", data_dir=tmp_path, download=False)


CIFAR_FOLDER = "cifar10-subset/cifar-10-batches-py"


def test_cifar_subset(real_data):
    need(real_data, CIFAR_FOLDER)
    folder = real_data / CIFAR_FOLDER
    sizes = [len(cifar.read_python_batch(folder / name)[1]) for name in cifar.TRAIN_BATCHES]
    assert sizes == [1102, 1017, 1017, 1329, 1017]
    expected = ("CIFAR-10 subset, 5,482 train / 1,017 test images, "
                f"checksums not official (in {folder})")
    loaded = {}
    for split in ("train", "test"):
        with pytest.warns(data.UnofficialDataWarning) as caught:
            loaded[split] = data.load("cifar10", split, data_dir=real_data, download=False)
        assert [str(w.message) for w in caught] == [expected]
    train, test = loaded["train"], loaded["test"]
    assert train.images.shape == (5482, 32, 32, 3) and test.images.shape == (1017, 32, 32, 3)
    assert train.labels[:6].tolist() == [6, 9, 9, 4, 1, 1]
    assert test.labels[:6].tolist() == [3, 8, 8, 0, 6, 6]
    assert_statistics_match_info("cifar10", train.images)


def test_cifar_real_pickles_use_numpy_1_names_and_load_safely(real_data):
    need(real_data, CIFAR_FOLDER)
    folder = real_data / CIFAR_FOLDER
    globals_used = {
        arg for op, arg, _ in pickletools.genops((folder / "test_batch").read_bytes())
        if op.name == "GLOBAL"
    }
    assert globals_used == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    meta = cifar.safe_unpickle(folder / "batches.meta")
    names = tuple(name.decode() for name in meta[b"label_names"])
    assert names == data.info("cifar10").class_names


def test_histogram_statistics_agree_with_numpy():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8)
    mean, std = channel_statistics(images)
    x = images.reshape(-1, 3) / 255.0
    assert np.allclose(mean, x.mean(axis=0)) and np.allclose(std, x.std(axis=0))
