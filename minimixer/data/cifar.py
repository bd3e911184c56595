"""Reading CIFAR-10 batches: the python-pickle format and the binary format.

Both formats store each 32x32 colour image as one row of 3072 bytes in
channel-major order: 1024 red values, then 1024 green, then 1024 blue, each
plane row by row. ``rows_to_nhwc`` turns such rows into (N, 32, 32, 3) images.

* python format (``cifar-10-batches-py``): ``data_batch_1`` .. ``data_batch_5``
  and ``test_batch``, each a pickled dict (protocol 2, byte-string keys) with
  ``b"data"`` a (n, 3072) uint8 array and ``b"labels"`` a list of n ints.
* binary format (``cifar-10-batches-bin``): ``data_batch_1.bin`` ..
  ``data_batch_5.bin`` and ``test_batch.bin``, each a plain sequence of
  3073-byte records: one label byte, then the 3072 pixel bytes.

Unpickling a file can run arbitrary code, so the python batches go through
``SafeUnpickler``, which builds numpy arrays and plain Python values and
refuses everything else.
"""

import pickle
from pathlib import Path

import numpy as np

from .download import md5_of_file
from .errors import ChecksumError, DataFormatError, UnsafePickleError

IMAGE_BYTES = 3 * 32 * 32
RECORD_BYTES = 1 + IMAGE_BYTES
NUM_CLASSES = 10
OFFICIAL_BATCH_SIZE = 10_000

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)

# md5 of the official python-format batches (from the published tarball).
OFFICIAL_PYTHON_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


def _numpy_reconstruct():
    """The function numpy's pickles call to rebuild an array.

    It lives in ``numpy.core.multiarray`` in numpy 1.x and in
    ``numpy._core.multiarray`` in numpy 2; asking an array how it pickles
    itself finds it in either without importing a deprecated module.
    """
    return np.zeros(1).__reduce__()[0]


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and nothing else executable.

    A pickle names the functions it wants called (``GLOBAL`` opcodes) and the
    unpickler looks them up with ``find_class``. A CIFAR-10 batch needs exactly
    three: numpy's array reconstructor, ``numpy.ndarray`` and ``numpy.dtype``.
    Any other name, such as ``os.system`` in a malicious file, is refused
    before it is imported, so its code never runs.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch only needs "
                "numpy arrays (is this file really a CIFAR-10 batch?)"
            ) from None


def safe_unpickle(path):
    """Unpickle ``path`` with ``SafeUnpickler``; byte strings stay ``bytes``."""
    with open(path, "rb") as handle:
        try:
            return SafeUnpickler(handle, encoding="bytes").load()
        except UnsafePickleError as error:
            raise UnsafePickleError(f"{path}: {error}") from None
        except Exception as error:  # a damaged pickle can fail in many ways
            raise DataFormatError(f"{path}: not a readable pickle ({error})") from None


def rows_to_nhwc(rows):
    """(N, 3072) channel-major rows -> (N, 32, 32, 3) contiguous uint8 images."""
    images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images, dtype=np.uint8)


def read_python_batch(path):
    """Read one python-format batch: (images (n,32,32,3) uint8, labels (n,) int64)."""
    batch = safe_unpickle(path)
    if not isinstance(batch, dict):
        raise DataFormatError(f"{path}: expected a dict, found {type(batch).__name__}")
    data = _get_key(batch, "data", path)
    labels = _get_key(batch, "labels", path)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise DataFormatError(f"{path}: 'data' must be a uint8 numpy array")
    if data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        raise DataFormatError(
            f"{path}: 'data' has shape {data.shape}, expected (n, {IMAGE_BYTES})"
        )
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (data.shape[0],):
        raise DataFormatError(
            f"{path}: {labels.size} labels for {data.shape[0]} images"
        )
    _check_labels(labels, path)
    return rows_to_nhwc(data), labels


def _get_key(batch, key, path):
    """A batch dict's entry under a bytes key (as published) or a str key."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise DataFormatError(f"{path}: the batch has no {key!r} entry")


def read_binary_batch(path):
    """Read one binary-format batch: (images (n,32,32,3) uint8, labels (n,) int64)."""
    records = np.fromfile(path, dtype=np.uint8)
    if records.size == 0 or records.size % RECORD_BYTES:
        raise DataFormatError(
            f"{path}: {records.size:,} bytes is not a whole number of "
            f"{RECORD_BYTES}-byte records (1 label byte + {IMAGE_BYTES} pixel bytes); "
            "the file is truncated or not a CIFAR-10 .bin batch"
        )
    records = records.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    _check_labels(labels, path)
    return rows_to_nhwc(records[:, 1:]), labels


def _check_labels(labels, path):
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataFormatError(
            f"{path}: labels must lie in 0..{NUM_CLASSES - 1}, "
            f"found {labels.min()}..{labels.max()}"
        )


def batch_names(split, binary):
    """The batch file names of a split in the python or binary layout."""
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    return tuple(name + ".bin" for name in names) if binary else names


def read_folder(folder, split, binary):
    """Read all batches of ``split`` from a CIFAR-10 folder, binary layout or not.

    Returns (images, labels, official). ``official`` is true when every
    python batch matches its published md5. A python batch holding the full
    10,000 images but not matching its md5 raises ``ChecksumError``; smaller
    batches are accepted as a subset. The binary batches have no published
    per-file checksums, so they are checked for structure only and counted as
    official when they hold 10,000 images each.
    """
    reader = read_binary_batch if binary else read_python_batch
    images, labels, official = [], [], True
    for name in batch_names(split, binary):
        path = Path(folder) / name
        batch_images, batch_labels = reader(path)
        full = len(batch_labels) == OFFICIAL_BATCH_SIZE
        if not binary:
            matches = md5_of_file(path) == OFFICIAL_PYTHON_MD5[name]
            if full and not matches:
                raise ChecksumError(
                    f"{path}: holds 10,000 images like the official batch but its md5 "
                    f"differs from the official {OFFICIAL_PYTHON_MD5[name]}; "
                    "the file is damaged or modified, delete it and download again"
                )
            full = matches
        official = official and full
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels), official


def count_images(folder, split, binary):
    """How many images the batches of ``split`` in ``folder`` hold (None if absent)."""
    paths = [Path(folder) / name for name in batch_names(split, binary)]
    if not all(path.is_file() for path in paths):
        return None
    if binary:
        return sum(path.stat().st_size // RECORD_BYTES for path in paths)
    return sum(len(read_python_batch(path)[1]) for path in paths)
