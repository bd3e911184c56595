"""MNIST-format (idx) loading on tiny files written in the published format."""

import gzip
import warnings

import numpy as np
import pytest
from data_formats import idx_bytes, write_idx, write_idx_split

from minimixer import data


def load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        return data.load(*args, **kwargs)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("gz", [True, False])
def test_gzipped_and_plain_idx_load_identically(tmp_path, name, gz):
    images, labels = write_idx_split(tmp_path / name, "test", 7, gz=gz)
    loaded = load_quietly(name, "test", data_dir=tmp_path, download=False)
    assert loaded.images.shape == (7, 28, 28, 1) and loaded.images.dtype == np.uint8
    assert loaded.labels.dtype == np.int64
    assert np.array_equal(loaded.images[..., 0], images)
    assert np.array_equal(loaded.labels, labels)


@pytest.mark.parametrize("layout", ["", "mnist", "MNIST/raw"])
def test_folder_layouts(tmp_path, layout):
    _, labels = write_idx_split(tmp_path / layout, "train", 5)
    assert np.array_equal(load_quietly("mnist", data_dir=tmp_path, download=False).labels, labels)


def test_search_order_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    for root, num in (("given", 3), ("env", 4), ("cache", 5)):
        write_idx_split(tmp_path / root / "mnist", "test", num)
    monkeypatch.setenv("MINIMIXER_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("MINIMIXER_CACHE", str(tmp_path / "cache"))
    assert len(load_quietly("mnist", "test", data_dir=tmp_path / "given").labels) == 3
    assert len(load_quietly("mnist", "test").labels) == 4
    monkeypatch.delenv("MINIMIXER_DATA")
    assert len(load_quietly("mnist", "test").labels) == 5


def test_subset_is_reported_with_both_split_sizes(idx_folder):
    folder = idx_folder[0]
    with pytest.warns(data.UnofficialDataWarning) as caught:
        data.load("mnist", "test", data_dir=folder.parent, download=False)
    message = str(caught[0].message)
    assert message.startswith("MNIST subset, 50 train / 20 test images, checksums not official")
    assert str(folder) in message and "\n" not in message
    assert caught[0].filename == __file__  # points at the caller of load()


def test_wrong_magic_number(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.zeros((4, 28, 28), np.uint8), 0x803)
    expected = r"t10k-labels-idx1-ubyte\.gz.*magic.*0x00000801"
    with pytest.raises(data.DataFormatError, match=expected):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_truncated_body(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4, gz=False)
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    expected = r"t10k-images-idx3-ubyte: truncated.*\(4, 28, 28\)"
    with pytest.raises(data.DataFormatError, match=expected):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_trailing_bytes(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4, gz=False)
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(data.DataFormatError, match="2 unexpected bytes"):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_damaged_gzip_stream(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4)
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(data.DataFormatError, match="t10k-images-idx3-ubyte.gz: damaged gzip"):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_images_and_labels_disagree(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8), 0x801)
    with pytest.raises(data.DataFormatError, match="4 images but .* 3 labels"):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_label_out_of_range(tmp_path):
    write_idx_split(tmp_path / "mnist", "test", 4)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.full(4, 10, np.uint8), 0x801)
    with pytest.raises(data.DataFormatError, match="labels must lie in 0..9"):
        load_quietly("mnist", "test", data_dir=tmp_path, download=False)


def test_official_size_with_wrong_checksum_is_an_error(tmp_path):
    """10,000 test images claim to be the official file, so they must verify."""
    folder = tmp_path / "mnist"
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10_000, 28, 28), np.uint8), 0x803)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(10_000, np.uint8), 0x801)
    expected = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    with pytest.raises(data.ChecksumError, match=f"t10k-images-idx3-ubyte.gz.*sha256.*{expected}"):
        data.load("mnist", "test", data_dir=tmp_path, download=False)


def test_missing_files_message_says_how_to_get_them(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("fashion-mnist", "train", data_dir=tmp_path, download=False)
    message = str(caught.value)
    for hint in ("train-images-idx3-ubyte", "--data-dir", "MINIMIXER_DATA", "download=True",
                 str(tmp_path / "fashion-mnist"), "fashion-mnist.s3"):
        assert hint in message


def test_a_missing_labels_file_is_not_found(tmp_path):
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8), 0x803)
    expected = r"mnist \(incomplete: no t10k-labels-idx1-ubyte\)"
    with pytest.raises(data.DatasetNotFoundError, match=expected):
        data.load("mnist", "test", data_dir=tmp_path, download=False)


def test_idx_bytes_helper_matches_the_published_header():
    header = idx_bytes(np.zeros((60000, 28, 28), np.uint8), 0x803)[:16]
    assert header == bytes.fromhex("00000803 0000ea60 0000001c 0000001c")
    assert gzip.decompress(gzip.compress(header)) == header
