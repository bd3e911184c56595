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

from .transforms import ToFloat


class DataLoader:
    """Iterate over ``(x, y)`` mini-batches of a dataset, one epoch per ``for`` loop.

    ``dataset`` is a ``Dataset`` or any pair ``(images, labels)`` of arrays
    with the same first dimension. Each batch is ``x`` float32 (B, H, W, C) and
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
        images, labels = dataset
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
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
        batch = int(state["batch"])
        if not 0 <= batch <= len(self):
            raise ValueError(f"batch {batch} is outside 0..{len(self)}")
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
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
