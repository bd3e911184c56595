"""CIFAR-10 loading on tiny batches in the published pickle and binary formats."""

import os
import pickle
import pickletools
import shlex
import warnings

import numpy as np
import pytest
from data_formats import (
    TEST_SIZE,
    TRAIN_SIZES,
    python2_pickle,
    random_cifar,
    write_cifar_binary_batch,
    write_cifar_folder,
    write_cifar_python_batch,
)

from minimixer import data
from minimixer.data import cifar


def load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        return data.load(*args, **kwargs)


@pytest.mark.parametrize("binary", [False, True])
def test_batches_load_as_nhwc(tmp_path, binary):
    layout = "cifar-10-batches-bin" if binary else "cifar-10-batches-py"
    train, test = write_cifar_folder(tmp_path / layout, binary=binary)
    for split, (images, labels) in (("train", train), ("test", test)):
        loaded = load_quietly("cifar10", split, data_dir=tmp_path, download=False)
        assert loaded.images.shape == (len(labels), 32, 32, 3)
        assert loaded.images.dtype == np.uint8 and loaded.images.flags.c_contiguous
        assert loaded.labels.dtype == np.int64
        assert np.array_equal(loaded.images, images)
        assert np.array_equal(loaded.labels, labels)


def test_channel_major_rows_become_channels_last():
    """Row layout: 1024 red, 1024 green, 1024 blue values, each plane row by row."""
    row = np.zeros((1, 3072), np.uint8)
    row[0, 0] = 1  # red, top-left
    row[0, 1024 + 31] = 2  # green, top-right
    row[0, 2048 + 32] = 3  # blue, second row, first column
    image = cifar.rows_to_nhwc(row)[0]
    assert image[0, 0, 0] == 1 and image[0, 31, 1] == 2 and image[1, 0, 2] == 3
    assert image.sum() == 6


def test_test_pickles_use_the_published_python2_opcodes(tmp_path):
    write_cifar_python_batch(tmp_path / "b", *random_cifar(2, seed=0))
    opcodes = {op.name for op, _, _ in pickletools.genops((tmp_path / "b").read_bytes())}
    assert {"SHORT_BINSTRING", "BINSTRING"} <= opcodes
    batch = pickle.loads((tmp_path / "b").read_bytes(), encoding="bytes")
    assert set(batch) == {b"batch_label", b"labels", b"data"}


@pytest.mark.parametrize("layout", ["", "cifar10", "cifar10/cifar-10-batches-py",
                                    "cifar10-subset/cifar-10-batches-py", "cifar-10-batches-bin"])
def test_folder_layouts(tmp_path, layout):
    _, test = write_cifar_folder(tmp_path / layout, binary=layout.endswith("bin"))
    assert np.array_equal(load_quietly("cifar10", "test", data_dir=tmp_path).labels, test[1])


def test_subset_is_reported_in_one_line(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    for split in ("train", "test"):
        with pytest.warns(data.UnofficialDataWarning) as caught:
            data.load("cifar10", split, data_dir=tmp_path, download=False)
        expected = f"CIFAR-10 subset, {sum(TRAIN_SIZES)} train / {TEST_SIZE} test images, "
        assert str(caught[0].message) == expected + f"checksums not official (in {folder})"


def test_the_subset_warning_can_be_silenced(tmp_path):
    write_cifar_folder(tmp_path / "cifar-10-batches-py")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=data.UnofficialDataWarning)
        data.load("cifar10", "test", data_dir=tmp_path)


def test_official_checksums_give_no_warning(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    official = {name: data.download.md5_of_file(folder / name)
                for name in cifar.OFFICIAL_PYTHON_MD5}
    monkeypatch.setattr(cifar, "OFFICIAL_PYTHON_MD5", official)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(data.load("cifar10", "test", data_dir=tmp_path).labels) == TEST_SIZE


def test_full_size_batch_with_wrong_md5_is_an_error(tmp_path, monkeypatch):
    write_cifar_folder(tmp_path / "cifar-10-batches-py")
    monkeypatch.setattr(cifar, "OFFICIAL_BATCH_SIZE", TEST_SIZE)  # pretend 3 images is "full"
    with pytest.raises(data.ChecksumError, match="test_batch.*40351d587109b95175f43aff81a1287e"):
        data.load("cifar10", "test", data_dir=tmp_path)


class RunsAShellCommand:
    """Unpickling this runs ``touch <marker>``, as a malicious batch could."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    marker = tmp_path / "marker"
    payload = python2_pickle({b"labels": [0], b"data": RunsAShellCommand(marker)})
    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(data.UnsafePickleError, match=r"test_batch.*(posix|os)\.system"):
        data.load("cifar10", "test", data_dir=tmp_path)
    assert not marker.exists()
    # The payload is real: an ordinary unpickler does run the command.
    pickle.loads(payload, encoding="bytes")
    assert marker.exists()


def test_garbage_pickle(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    (folder / "test_batch").write_bytes(b"\x80\x02}q\x00(U\x04data")  # cut short
    with pytest.raises(data.DataFormatError, match="test_batch: not a readable pickle"):
        load_quietly("cifar10", "test", data_dir=tmp_path)


def test_pickle_with_wrong_row_length(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    batch = {b"labels": [1, 2], b"data": np.zeros((2, 1024), np.uint8)}
    (folder / "test_batch").write_bytes(python2_pickle(batch))
    with pytest.raises(data.DataFormatError, match=r"test_batch: 'data' has shape \(2, 1024\)"):
        load_quietly("cifar10", "test", data_dir=tmp_path)


def test_truncated_binary_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_folder(folder, binary=True)
    path = folder / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataFormatError, match="test_batch.bin.*3073-byte records"):
        load_quietly("cifar10", "test", data_dir=tmp_path)


def test_binary_label_out_of_range(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_folder(folder, binary=True)
    images, _ = random_cifar(2, seed=5)
    write_cifar_binary_batch(folder / "test_batch.bin", images, [3, 12])
    with pytest.raises(data.DataFormatError, match="test_batch.bin: labels must lie in 0..9"):
        load_quietly("cifar10", "test", data_dir=tmp_path)


def test_missing_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_folder(folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("cifar10", "train", data_dir=tmp_path, download=False)
    for hint in (f"{folder} (incomplete: no data_batch_3)", "MINIMIXER_DATA", "--data-dir",
                 "cs.toronto.edu"):
        assert hint in str(caught.value)
    assert len(load_quietly("cifar10", "test", data_dir=tmp_path).labels) == TEST_SIZE
