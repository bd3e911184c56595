"""The dataset catalogue: ``load``, ``info`` and ``names``.

Every dataset comes back in one convention: images uint8 (N, H, W, C) with values
0..255, channels last; labels int64 (N,). The digits ship inside the package; the
others are found in ``data_dir``, then ``$MINIMIXER_DATA``, then the cache, or
downloaded there with checksums. Where exactly files are looked for and what is
verified: ``minimixer/data/README.md``.
"""

import hashlib
import os
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import cifar, digits, idx
from .download import cache_dir, download_file
from ..errors import InputError
from .errors import (
    ChecksumError,
    DatasetNotFoundError,
    DataFormatError,
    DownloadError,
    UnofficialDataWarning,
)

DATA_ENV = "MINIMIXER_DATA"
SPLITS = ("train", "test")


class Dataset(NamedTuple):
    """One split of a dataset: images uint8 (N, H, W, C) 0..255, labels int64 (N,)."""

    images: np.ndarray
    labels: np.ndarray


class DatasetInfo(NamedTuple):
    """Facts about a dataset.

    ``mean`` and ``std`` are per channel, in 0..1 units (pixel / 255), over all
    pixels of the training images: the values ``Normalize`` needs.
    ``num_train`` / ``num_test`` are the sizes of the full official splits.
    """

    name: str
    image_shape: tuple
    num_classes: int
    class_names: tuple
    mean: tuple
    std: tuple
    num_train: int
    num_test: int
    license: str


# mean/std: computed with float64 over every pixel of the training split,
# x = images / 255, mean = x.mean(axis=(0, 1, 2)), std = x.std(axis=(0, 1, 2)),
# from the files in the project's data folder, rounded to 4 decimals.
#  * digits: the 1,438 images of the bundled training split, after scaling to 0..255.
#  * mnist, fashion-mnist: the official 60,000 training images.
#  * cifar10: only a 5,482-image subset of the training set was at hand; the
#    values published for the full 50,000 images are mean (0.4914, 0.4822,
#    0.4465), std (0.2470, 0.2435, 0.2616), within 0.003 of these.
_INFO = {
    "digits": DatasetInfo(
        "digits", (8, 8, 1), 10, tuple("0123456789"),
        (0.3055,), (0.3759,), 1438, 359, "CC BY 4.0",
    ),
    "mnist": DatasetInfo(
        "mnist", (28, 28, 1), 10, tuple("0123456789"),
        (0.1307,), (0.3081,), 60_000, 10_000, "CC BY-SA 3.0",
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", (28, 28, 1), 10,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        (0.2860,), (0.3530,), 60_000, 10_000, "MIT",
    ),
    "cifar10": DatasetInfo(
        "cifar10", (32, 32, 3), 10,
        ("airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"),
        (0.4939, 0.4846, 0.4482), (0.2480, 0.2444, 0.2621), 50_000, 10_000,
        "no licence stated; free for research (A. Krizhevsky, 2009)",
    ),
}

_ALIASES = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


def names():
    """The names ``load`` and ``info`` accept."""
    return list(_INFO)


def info(name):
    """The ``DatasetInfo`` of a dataset (no file is read)."""
    return _INFO[canonical_name(name)]


def canonical_name(name):
    """``"Fashion_MNIST"`` -> ``"fashion-mnist"``; ValueError for an unknown name."""
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _INFO:
        raise InputError(f"unknown dataset {name!r}; valid names: {', '.join(_INFO)}")
    return key


def load(name, split="train", data_dir=None, download=True):
    """Load one split of a dataset as a ``Dataset(images, labels)``.

    ``name`` is one of ``names()``; ``split`` is ``"train"`` or ``"test"``.
    The digits are read from the package (``data_dir`` and ``download`` are
    ignored); see ``minimixer.data.digits`` for their fixed stratified split.
    The other datasets are searched for as described in this module's
    docstring and, when absent and ``download`` is true, downloaded into the
    cache. Raises ``DatasetNotFoundError``, ``DataFormatError``,
    ``ChecksumError`` or ``DownloadError`` with a message naming the file; a
    ``data_dir`` that is not an existing folder raises ``DatasetNotFoundError``
    at once (a typo there would otherwise start a download).
    """
    name = canonical_name(name)
    if split not in SPLITS:
        raise InputError(f"split must be 'train' or 'test', not {split!r}")
    if data_dir is not None and name != "digits":
        _check_data_dir(data_dir)
    if name == "digits":
        images, labels = digits.load_split(split)
    elif name == "cifar10":
        images, labels = _load_cifar(split, data_dir, download)
    else:
        images, labels = _load_idx(name, split, data_dir, download)
    return Dataset(images, labels)


# ---------------------------------------------------------------- searching


def _check_data_dir(data_dir):
    """A data_dir the user named must be an existing folder."""
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"data_dir {path} does not exist; name the folder that "
                                   "holds the datasets (see minimixer.data.datasets)")
    if not path.is_dir():
        raise DatasetNotFoundError(f"data_dir {path} is a file, not a folder of datasets")


def search_roots(data_dir=None):
    """The root directories searched, in order: data_dir, $MINIMIXER_DATA, cache."""
    roots = [] if data_dir is None else [Path(data_dir).expanduser()]
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]).expanduser())
    roots.append(cache_dir())
    return roots


def _folders(subfolders, data_dir):
    """Every candidate folder: each root joined with each subfolder, then the root."""
    for root in search_roots(data_dir):
        for sub in subfolders:
            yield root / sub
        yield root


def _other(split):
    return "test" if split == "train" else "train"


def _searched_entry(folder, missing, total):
    """How a searched folder is listed in the not-found message."""
    if 0 < len(missing) < total:
        return f"{folder} (incomplete: no {', '.join(missing)})"
    return str(folder)


def _not_found(title, split, wanted, searched, name, source):
    return DatasetNotFoundError(
        f"{title} {split} files not found ({', '.join(wanted)}).\n"
        f"Searched: {', '.join(searched)}.\n"
        f"Put the files in one of those folders, pass data_dir=... "
        f"(--data-dir on the command line) or set {DATA_ENV}=..., "
        f"or call load({name!r}, download=True) to download them from {source} "
        f"into {cache_dir()}."
    )


def _note_unofficial(title, split, count, other_count, folder):
    """Warn that ``folder`` holds well-formed but unofficial data.

    ``other_count`` is the size of the other split in the same folder (None
    when it is absent), so that loading either split gives the same message.
    """
    counts = {split: count, _other(split): other_count}
    found = " / ".join(
        f"{counts[name]:,} {name}" for name in SPLITS if counts[name] is not None
    )
    warnings.warn(
        f"{title} subset, {found} images, checksums not official (in {folder})",
        UnofficialDataWarning,
        stacklevel=5,  # warn -> _note_unofficial -> _read_*_split -> _load_* -> load -> caller
    )


# ---------------------------------------------------------------- MNIST-like


@dataclass(frozen=True)
class OfficialIdx:
    """What the official release of one idx file looks like."""

    count: int
    sha256: str  # of the decompressed file
    gz_md5: str  # of the published .gz


@dataclass(frozen=True)
class IdxDataset:
    """An MNIST-like dataset: display title, folder names, download mirrors, files."""

    title: str
    subfolders: tuple
    mirrors: tuple
    files: dict


_IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_IDX_DATASETS = {
    "mnist": IdxDataset(
        title="MNIST",
        subfolders=("mnist", "MNIST/raw"),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        files={
            "train-images-idx3-ubyte": OfficialIdx(
                60_000,
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ),
            "train-labels-idx1-ubyte": OfficialIdx(
                60_000,
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "d53e105ee54ea40749a09fcbcd1e9432",
            ),
            "t10k-images-idx3-ubyte": OfficialIdx(
                10_000,
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "9fb629c4189551a2d022fa330f9573f3",
            ),
            "t10k-labels-idx1-ubyte": OfficialIdx(
                10_000,
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        },
    ),
    "fashion-mnist": IdxDataset(
        title="Fashion-MNIST",
        subfolders=("fashion-mnist", "FashionMNIST/raw"),
        # The Zalando bucket's website endpoint only speaks http; the md5 check
        # protects the content.
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files={
            "train-images-idx3-ubyte": OfficialIdx(
                60_000,
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ),
            "train-labels-idx1-ubyte": OfficialIdx(
                60_000,
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "25c81989df183df01b3e8a0aad5dffbe",
            ),
            "t10k-images-idx3-ubyte": OfficialIdx(
                10_000,
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "bef4ecab320f06d8554ea6380940ec79",
            ),
            "t10k-labels-idx1-ubyte": OfficialIdx(
                10_000,
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        },
    ),
}


def _find_idx_files(folder, split):
    """(paths found, stems missing) for the images and labels files of ``split``."""
    found, missing = [], []
    for stem in _IDX_STEMS[split]:
        options = [folder / (stem + ".gz"), folder / stem]
        path = next((option for option in options if option.is_file()), None)
        if path is None:
            missing.append(stem)
        else:
            found.append(path)
    return found, missing


def _load_idx(name, split, data_dir, allow_download):
    spec = _IDX_DATASETS[name]
    searched = []
    for folder in _folders(spec.subfolders, data_dir):
        paths, missing = _find_idx_files(folder, split)
        if not missing:
            return _read_idx_split(name, split, folder, paths)
        searched.append(_searched_entry(folder, missing, total=2))
    if not allow_download:
        wanted = [stem + "[.gz]" for stem in _IDX_STEMS[split]]
        raise _not_found(spec.title, split, wanted, searched, name, spec.mirrors[0])
    folder = cache_dir() / name
    for stem in _IDX_STEMS[split]:
        destination = folder / (stem + ".gz")
        if not destination.is_file():  # a previous run may have fetched it already
            urls = [mirror + stem + ".gz" for mirror in spec.mirrors]
            _download_with_hint(urls, destination, spec.files[stem].gz_md5)
    return _read_idx_split(name, split, folder, _find_idx_files(folder, split)[0])


def _read_idx_split(name, split, folder, paths):
    images_path, labels_path = paths
    images, images_official = _read_idx_file(name, images_path, idx.IMAGES_MAGIC)
    labels, labels_official = _read_idx_file(name, labels_path, idx.LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataFormatError(
            f"{images_path} holds {len(images):,} images but {labels_path} "
            f"holds {len(labels):,} labels"
        )
    _check_image_size(name, images, images_path)
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{labels_path}: labels must lie in 0..9, found {labels.max()}")
    if not (images_official and labels_official):
        other_paths, other_missing = _find_idx_files(folder, _other(split))
        other_count = None if other_missing else idx.read_idx_count(other_paths[1])
        _note_unofficial(_IDX_DATASETS[name].title, split, len(labels), other_count, folder)
    return images[..., np.newaxis], labels.astype(np.int64)


def _check_image_size(name, images, path):
    """The images of an idx file must have the dataset's height and width."""
    height, width = _INFO[name].image_shape[:2]
    if images.ndim != 3 or images.shape[1:] != (height, width):
        found = "x".join(str(n) for n in images.shape[1:]) or "scalar"
        raise DataFormatError(
            f"{path}: holds {found} images, but {_IDX_DATASETS[name].title} images are "
            f"{height}x{width} (is this file from another dataset?)"
        )


def _read_idx_file(name, path, magic):
    """Parse one idx file; verify it when it has the official size. -> (array, official)."""
    data = idx.read_idx_bytes(path)
    array = idx.parse_idx(data, path, magic)
    stem = path.name.removesuffix(".gz")
    official = _IDX_DATASETS[name].files[stem]
    if len(array) != official.count:
        return array, False
    digest = hashlib.sha256(data).hexdigest()
    if digest != official.sha256:
        raise ChecksumError(
            f"{path}: holds {official.count:,} items like the official file but the "
            f"sha256 of its decompressed bytes is {digest}, expected {official.sha256}"
            f"{_guess_other_dataset(name, stem, digest)}; delete it and download again"
        )
    return array, True


def _guess_other_dataset(name, stem, digest):
    """A hint when a file is the official file of the *other* MNIST-like dataset."""
    for other, spec in _IDX_DATASETS.items():
        if other != name and spec.files[stem].sha256 == digest:
            return f" (this is the official {spec.title} file: put it in a {other!r} folder)"
    return ""


def _download_with_hint(urls, destination, md5):
    try:
        download_file(urls, destination, md5)
    except DownloadError as error:
        raise DownloadError(
            f"{error}\nWithout network access, copy the files yourself and pass "
            f"data_dir=... (--data-dir on the command line) or set {DATA_ENV}=..."
        ) from None


# ---------------------------------------------------------------- CIFAR-10

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
_CIFAR_SUBFOLDERS = tuple(
    prefix + layout
    for layout in ("cifar-10-batches-py", "cifar-10-batches-bin")
    for prefix in ("", "cifar10/", "cifar10-subset/")
) + ("cifar10",)


def _missing_cifar_batches(folder, split):
    """(binary, missing): the more complete layout of ``folder`` and the batches of
    ``split`` it lacks. The python layout wins a tie."""
    missing_per_layout = [
        (binary, [name for name in cifar.batch_names(split, binary)
                  if not (folder / name).is_file()])
        for binary in (False, True)
    ]
    return min(missing_per_layout, key=lambda layout: len(layout[1]))


def _load_cifar(split, data_dir, allow_download):
    searched = []
    for folder in _folders(_CIFAR_SUBFOLDERS, data_dir):
        binary, missing = _missing_cifar_batches(folder, split)
        if not missing:
            return _read_cifar_split(split, folder, binary)
        searched.append(_searched_entry(folder, missing, len(cifar.batch_names(split, False))))
    if not allow_download:
        wanted = list(cifar.batch_names(split, False)) + ["(or the .bin batches)"]
        raise _not_found("CIFAR-10", split, wanted, searched, "cifar10", CIFAR_URL)
    folder = _download_cifar()
    return _read_cifar_split(split, folder, binary=False)


def _read_cifar_split(split, folder, binary):
    images, labels, official = cifar.read_folder(folder, split, binary)
    if not official:
        other_count = cifar.count_images(folder, _other(split), binary)
        _note_unofficial("CIFAR-10", split, len(labels), other_count, folder)
    return images, labels


def _download_cifar():
    """Download and unpack the python tarball into ``<cache>/cifar-10-batches-py``."""
    cache = cache_dir()
    tarball = cache / "cifar-10-python.tar.gz"
    _download_with_hint([CIFAR_URL], tarball, CIFAR_TARBALL_MD5)
    folder = cache / "cifar-10-batches-py"
    extract_cifar_tarball(tarball, folder)
    tarball.unlink()
    return folder


def extract_cifar_tarball(tarball, folder):
    """Copy the batches out of the python tarball into ``folder``.

    Only the known member names are read and the output names are chosen
    here, so a crafted archive cannot write outside ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = cifar.TRAIN_BATCHES + cifar.TEST_BATCHES + ("batches.meta",)
    with tarfile.open(tarball, "r:gz") as archive:
        for name in wanted:
            try:
                member = archive.getmember("cifar-10-batches-py/" + name)
            except KeyError:
                raise DataFormatError(f"{tarball}: no cifar-10-batches-py/{name} inside") from None
            partial = folder / (name + ".part")
            partial.write_bytes(archive.extractfile(member).read())
            os.replace(partial, folder / name)
