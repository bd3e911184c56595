"""``DataLoader``: turn a ``Dataset`` into shuffled float32 mini-batches.

Randomness without hidden state
-------------------------------
The loader keeps no random generator between batches. The order of epoch
``e`` is drawn from a generator seeded with ``(seed, e)``, and the augmentation
of batch ``b`` of that epoch from one seeded with ``(seed, e, b)``:

    order     = default_rng(SeedSequence(seed, spawn_key=(e,))).permutation(N)
    batch rng = default_rng(SeedSequence(seed, spawn_key=(e, b + 1)))

So the whole random state is three integers, the seed, the epoch and the
number of batches already delivered in it, which ``state_dict()`` returns and
``load_state_dict()`` restores: a resumed run gets exactly the batches the
uninterrupted run would have got, and every epoch has a fresh order.
"""

import math

import numpy as np

from ..errors import InputError, InputTypeError, require_int
from .transforms import ToFloat


def _split_dataset(dataset):
    """(images, labels) of a Dataset or any pair; InputTypeError otherwise."""
    try:
        images, labels = dataset
    except (TypeError, ValueError):
        raise InputTypeError(f"DataLoader: dataset must be a pair (images, labels), "
                             f"got {type(dataset).__name__}") from None
    return images, labels


def _checked_images(images):
    """Images as an ndarray of numbers, with no NaN or infinity in a float array."""
    array = images if isinstance(images, np.ndarray) else np.asarray(images)
    if array.ndim == 0 or array.dtype.kind not in "buif":
        raise InputTypeError(f"DataLoader: images must be an array of numbers with one image per "
                             f"row, got {type(images).__name__} of dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        finite_per_image = np.isfinite(array).reshape(len(array), -1).all(axis=1)
        raise InputError(f"DataLoader: the images hold NaN or infinite values (first in image "
                         f"{int(np.flatnonzero(~finite_per_image)[0])})")
    return array


def _checked_labels(labels):
    """Labels as int64 (N,): whole, non-negative numbers; never silently truncated."""
    array = np.asarray(labels)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        raise InputTypeError(f"DataLoader: labels must be a 1-D array of class indices, got "
                             f"shape {array.shape} and dtype {array.dtype}")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        if not np.all(whole):
            at = int(np.flatnonzero(~whole)[0])
            raise InputError(f"DataLoader: labels must be whole numbers (class indices), "
                             f"found {array[at]} at index {at}")
    if array.size and array.min() < 0:
        at = int(np.argmin(array))
        raise InputError(f"DataLoader: labels must be >= 0, found {array[at]} at index {at}")
    return array.astype(np.int64)


class DataLoader:
    """Iterate over ``(x, y)`` mini-batches of a dataset, one epoch per ``for`` loop.

    ``dataset`` is a ``Dataset`` or any pair ``(images, labels)`` of arrays
    with the same first dimension, at least one image, images of numbers (float
    images free of NaN and infinity) and labels that are whole non-negative
    numbers; ``batch_size`` is a positive int and ``seed`` a non-negative int.
    Anything else raises ``InputError`` (a ValueError) or ``InputTypeError``
    (a TypeError) naming the argument. Each batch is ``x`` float32 (B, H, W, C) and
    ``y`` int64 (B,). ``transform(images, rng)`` receives the raw batch (uint8
    for the datasets of ``minimixer.data``); whatever it returns is converted to
    float32, uint8 results being scaled to 0..1 as ``ToFloat`` does. Without a
    transform the batch is just ``ToFloat()``-ed.

    A ``for`` loop that runs to the end finishes the epoch and the next loop
    starts the following one, with a new order when ``shuffle`` is true. A
    loop left early (``break``) does not count: the next loop restarts the same
    epoch from its first batch, unless ``load_state_dict`` said otherwise.
    Iterate with one loop at a time.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=0, drop_last=False, transform=None):
        images, labels = _split_dataset(dataset)
        self.images = _checked_images(images)
        self.labels = _checked_labels(labels)
        if len(self.images) != len(self.labels):
            raise InputError(f"DataLoader: {len(self.images)} images but {len(self.labels)} labels")
        if len(self.labels) == 0:
            raise InputError("DataLoader: the dataset is empty (0 images)")
        self.batch_size = require_int("DataLoader", "batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.seed = require_int("DataLoader", "seed", seed, minimum=0)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.epoch = 0
        self._batches_done = 0  # batches of the current epoch already delivered
        self._resume_at = 0  # where the next loop starts (set by load_state_dict)

    def __len__(self):
        """The number of batches in one epoch."""
        if self.drop_last:
            return len(self.labels) // self.batch_size
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self):
        epoch, start = self.epoch, self._resume_at
        self._resume_at = 0
        order = self.epoch_order(epoch)
        for batch in range(start, len(self)):
            chosen = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            x = self._prepare(self.images[chosen], self._batch_rng(epoch, batch))
            self._batches_done = batch + 1
            yield x, self.labels[chosen]
        self.epoch = epoch + 1
        self._batches_done = 0

    def epoch_order(self, epoch):
        """The sample indices of ``epoch`` in the order they are served."""
        if not self.shuffle:
            return np.arange(len(self.labels))
        sequence = np.random.SeedSequence(self.seed, spawn_key=(epoch,))
        return np.random.default_rng(sequence).permutation(len(self.labels))

    def _batch_rng(self, epoch, batch):
        sequence = np.random.SeedSequence(self.seed, spawn_key=(epoch, batch + 1))
        return np.random.default_rng(sequence)

    def _prepare(self, images, rng):
        if self.transform is not None:
            images = self.transform(images, rng)
        return ToFloat()(images)

    def state_dict(self):
        """Where the loader stands, as plain ints: seed, epoch, batches done in it."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self._batches_done}

    def load_state_dict(self, state):
        """Continue from ``state``: the next loop serves batch ``state["batch"]`` of
        epoch ``state["epoch"]`` onward, exactly as the saved run would have."""
        who = "DataLoader.load_state_dict"
        if not isinstance(state, dict) or set(state) != {"seed", "epoch", "batch"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise InputError(f"{who}: expected the keys ['batch', 'epoch', 'seed'], got {got}")
        seed, epoch, batch = (require_int(who, key, np.asarray(state[key]).item(), minimum=0)
                              for key in ("seed", "epoch", "batch"))
        if batch > len(self):
            raise InputError(f"{who}: batch {batch} is outside 0..{len(self)} "
                             f"(was the state saved with another batch size or dataset?)")
        self.seed = seed
        self.epoch = epoch
        if batch == len(self):  # the saved epoch was complete
            self.epoch, batch = self.epoch + 1, 0
        self._batches_done = batch
        self._resume_at = batch

    def __repr__(self):
        return (
            f"DataLoader({len(self.labels)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
            f"transform={self.transform!r})"
        )
