# Reference solution of exercise 9 (a training loop). Check it with
#     python -m minimixer check lessons/exercises/solutions/09_training_loop.py
"""A training loop: shuffled batches, mean cross-entropy, zero_grad / backward / step.

The order inside the batch loop matters: the gradients of the previous batch are
cleared (zero_grad) before this batch's backward pass fills them, and step() comes
after backward, when the gradients belong to this batch. The permutation indexes the
images and the labels together, so each label stays with its image. Evaluation uses
eval mode (BatchNorm and dropout switch to their inference behaviour) and no_grad
(no graph is recorded, so no memory is kept for a backward pass that never comes).

With AdamW at lr 3e-3, batches of 64 and 10 epochs, the checker's small MLP-Mixer
reaches about 0.95 test accuracy on the digits in well under a minute.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

import minimixer as mm  # noqa: E402
from minimixer import optim  # noqa: E402
from minimixer.nn import functional as F  # noqa: E402

EXERCISE = "training_loop"

EPOCHS = 10
BATCH_SIZE = 64
LR = 3e-3


def train_epoch(model, optimizer, images, labels, batch_size, rng):
    """One pass over the data in a random order; returns the epoch's mean training loss."""
    model.train()
    order = rng.permutation(len(images))
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.item()) * len(batch)
    return total / len(order)


def accuracy(model, images, labels, batch_size=256):
    """The fraction of images whose largest logit is their label (evaluation mode, no graph)."""
    model.eval()
    correct = 0
    with mm.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(images[start:start + batch_size]).numpy()
            correct += int((logits.argmax(axis=1) == labels[start:start + batch_size]).sum())
    return correct / len(images)


def train(model, images, labels, seed=0):
    """Train `model` for EPOCHS epochs with AdamW; returns the list of epoch losses."""
    optimizer = optim.AdamW(model.parameters(), lr=LR)
    rng = np.random.default_rng(seed)
    return [train_epoch(model, optimizer, images, labels, BATCH_SIZE, rng) for _ in range(EPOCHS)]


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
