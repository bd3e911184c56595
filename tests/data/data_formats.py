"""Writers of tiny dataset files in the exact published formats, for the tests."""

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np


# ------------------------------------------------------------------ idx files


def idx_bytes(array, magic):
    """An idx file's bytes: magic, big-endian dimensions, then the uint8 data."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path, array, magic, gz=True):
    data = idx_bytes(array, magic)
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_idx_split(folder, split, num, gz=True, seed=0):
    """Write the images and labels idx files of one split; return the arrays."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=num, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    write_idx(Path(folder) / f"{prefix}-images-idx3-ubyte", images, 0x803, gz)
    write_idx(Path(folder) / f"{prefix}-labels-idx1-ubyte", labels, 0x801, gz)
    return images, labels


# ------------------------------------------------------------------ CIFAR-10


class Python2StylePickler(pickle._Pickler):
    """Pickle bytes as Python 2 ``str`` opcodes, as the published batches do.

    Python 3 pickles ``bytes`` at protocol 2 as a call to ``_codecs.encode``;
    the CIFAR-10 files, written by Python 2, use SHORT_BINSTRING / BINSTRING.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes_as_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes_as_py2_str


def python2_pickle(obj):
    buffer = io.BytesIO()
    Python2StylePickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def nhwc_to_rows(images):
    """(N, 32, 32, 3) -> (N, 3072) channel-major rows, the CIFAR-10 layout."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def random_cifar(num, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=num)
    return images, labels


def write_cifar_python_batch(path, images, labels, batch_label=b"training batch"):
    batch = {
        b"batch_label": batch_label,
        b"labels": [int(label) for label in labels],
        b"data": nhwc_to_rows(images),
    }
    Path(path).write_bytes(python2_pickle(batch))


def write_cifar_binary_batch(path, images, labels):
    records = np.concatenate(
        [np.asarray(labels, dtype=np.uint8)[:, None], nhwc_to_rows(images)], axis=1
    )
    Path(path).write_bytes(records.tobytes())


TRAIN_SIZES = (3, 2, 2, 4, 2)
TEST_SIZE = 3


def write_cifar_folder(folder, binary=False):
    """Five small training batches and a test batch; returns (train, test) arrays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".bin" if binary else ""
    writer = write_cifar_binary_batch if binary else write_cifar_python_batch
    train_parts = []
    for number, size in enumerate(TRAIN_SIZES, start=1):
        images, labels = random_cifar(size, seed=number)
        writer(folder / f"data_batch_{number}{suffix}", images, labels)
        train_parts.append((images, labels))
    test = random_cifar(TEST_SIZE, seed=99)
    writer(folder / f"test_batch{suffix}", *test)
    train = tuple(np.concatenate(part) for part in zip(*train_parts))
    return train, test
