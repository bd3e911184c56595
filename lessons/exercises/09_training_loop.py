# Exercise 9: a training loop.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/09_training_loop.py
# or run this file directly: python lessons/exercises/09_training_loop.py
# The checker first runs your loop on a tiny model that records every batch and
# every optimizer step, then trains a small MLP-Mixer with your `train` on the
# bundled digits: it must reach 90 % test accuracy within 90 seconds.
"""Write the loop that trains a model: batches, loss, gradients, steps.

`minimixer.train.fit` does all this for the command line; here you write it yourself
from the pieces of easy lesson 3 and moderate lesson 1 (do not call `fit`).

1. `train_epoch(model, optimizer, images, labels, batch_size, rng)`: one pass over
   the data.
   * Put the model in training mode (`model.train()`).
   * Visit every image exactly once, in a new random order each epoch: take a fresh
     permutation from `rng` (`rng.permutation(n)`), and cut it into batches of
     `batch_size` (the last batch may be smaller; keep it).
   * For each batch: logits = model(batch of images); loss = the mean cross-entropy
     of the logits against the batch's labels (`F.cross_entropy(logits, labels)`; it
     takes logits, the softmax is inside); then optimizer.zero_grad(),
     loss.backward(), optimizer.step().
   * Return the mean training loss of the epoch, as a float.
2. `accuracy(model, images, labels, batch_size=256)`: the fraction (0 to 1) of images
   whose largest logit is at their label. In evaluation mode (`model.eval()`), and
   without recording a graph (`with mm.no_grad():`), in batches.
3. `train(model, images, labels, seed=0)`: create the optimizer (AdamW over
   `model.parameters()`) and an `np.random.default_rng(seed)`, and call
   `train_epoch` EPOCHS times. Return the list of epoch losses. Tune EPOCHS,
   BATCH_SIZE and LR below until your model is good enough.

Images are float32 arrays (N, 8, 8, 1) scaled to 0..1, labels int arrays (N,).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402,F401

import minimixer as mm  # noqa: E402,F401
from minimixer import optim  # noqa: E402,F401
from minimixer.nn import functional as F  # noqa: E402,F401

EXERCISE = "training_loop"

EPOCHS = 10
BATCH_SIZE = 64
LR = 3e-3


def train_epoch(model, optimizer, images, labels, batch_size, rng):
    """One pass over the data in a random order; returns the epoch's mean training loss."""
    # YOUR CODE
    raise NotImplementedError("train_epoch")


def accuracy(model, images, labels, batch_size=256):
    """The fraction of images whose largest logit is their label (evaluation mode, no graph)."""
    # YOUR CODE
    raise NotImplementedError("accuracy")


def train(model, images, labels, seed=0):
    """Train `model` for EPOCHS epochs with AdamW; returns the list of epoch losses."""
    # YOUR CODE
    raise NotImplementedError("train")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
