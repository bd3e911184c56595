"""Exercise 9 (hard): a training loop that reaches 90 % on the bundled digits.

The loop is first run on a *spy*: a linear classifier that records every forward pass
(which images, in which mode, with or without a graph) and an optimizer that records
the gradients it finds at every step. From those records the checks recompute, in
float64, what each step's gradient must be, and recognise the typical mistakes by the
gradient they leave behind: gradients that accumulate (no zero_grad), labels that do
not belong to their images, a summed loss, a softmax before the cross-entropy, a step
before the backward pass. Then `train` trains a small MLP-Mixer on the digits; its
test accuracy (computed by the checker) must reach 0.90 within 90 seconds.
"""

from __future__ import annotations

import time

import numpy as np

from .. import data, models
from ..autograd import Tensor, as_tensor, is_grad_enabled, no_grad
from ..nn.functional import cross_entropy
from ..nn.layers import Linear
from ..nn.module import Module
from ..optim import SGD, AdamW
from ..random import manual_seed
from .registry import Exercise
from .toolkit import Failure, Hint, call, close

EXERCISE = Exercise(
    number=9, name="training_loop", level="hard", title="a training loop that reaches 90 % on the digits",
    needs=("train_epoch", "accuracy", "train"),
    graded=("minimixer.train.fit", "minimixer.train._train_one_epoch", "minimixer.train.evaluate"))
check, mistake = EXERCISE.check, EXERCISE.mistake

TARGET_ACCURACY, TIME_BUDGET = 0.90, 90.0  # what `train` must reach on the digits test split, and how fast
ID_SCALE = 1024.0  # pixel (0, 0, 0) of image i holds (i + 1) / ID_SCALE: how the spy knows which image it sees

DROPPED_LAST = mistake(
    "loop_last_batch_dropped",
    "some images are never used in an epoch: count the batches when the number of images is not a "
    "multiple of batch_size.",
    "keep the last, smaller batch: `for start in range(0, n, batch_size): batch = order[start:start + batch_size]`.")
NOT_SHUFFLED = mistake(
    "loop_not_shuffled",
    "your batches visit the images in the order they are stored: what should `rng` be used for?",
    "take a random order each epoch: `order = rng.permutation(len(images))`, and index images and labels with it.")
SAME_ORDER = mistake(
    "loop_same_order_every_epoch",
    "your epochs visit the images in the same order each time: where does the randomness come from?",
    "draw the permutation from the `rng` you are given, once per epoch; a generator created inside "
    "train_epoch with a fixed seed repeats the same order.")
NO_TRAIN_MODE = mistake(
    "loop_no_train_mode",
    "the model ran in evaluation mode while training: a model left in eval mode by an evaluation "
    "stays there until told otherwise.",
    "call model.train() at the start of train_epoch (BatchNorm and dropout behave differently in the two modes).")
NO_ZERO_GRAD = mistake(
    "loop_no_zero_grad",
    "from the second step on, your gradients are too large: they still contain the earlier batches'.",
    "gradients accumulate: call optimizer.zero_grad() before each loss.backward().")
LABELS_MISMATCHED = mistake(
    "loop_labels_not_shuffled_with_images",
    "the gradient is that of the right images with the wrong labels: does each batch take its labels "
    "from the same positions as its images?",
    "index the labels with the same permutation as the images: labels[batch], not labels[start:end].")
LOSS_SUMMED = mistake(
    "loop_loss_summed",
    "your gradients are batch_size times too large: how does the loss combine the images of a batch?",
    "use the mean cross-entropy over the batch (F.cross_entropy's default), not the sum: the step "
    "size should not depend on the batch size.")
SOFTMAX_TWICE = mistake(
    "loop_softmax_before_cross_entropy",
    "your gradients are much smaller than they should be: what does the cross-entropy expect as its input?",
    "F.cross_entropy takes logits; the softmax is inside it. Applying softmax first squashes the gradients.")
STEP_BEFORE_BACKWARD = mistake(
    "loop_step_before_backward",
    "when optimizer.step() runs, the parameters do not hold this batch's gradient: check the order of "
    "the calls in your loop.",
    "per batch: forward, loss, optimizer.zero_grad(), loss.backward(), then optimizer.step().")
NO_STEP = mistake(
    "loop_no_step",
    "the parameters never change: which call applies the gradients?",
    "call optimizer.step() once per batch, after loss.backward().")
RETURNS_LAST = mistake(
    "loop_returns_last_batch_loss",
    "you return the loss of one batch: the epoch's loss is the mean over all its batches.",
    "add up the batch losses (loss.item(), times the batch size) and divide by the number of images.")
RETURNS_SUM = mistake(
    "loop_returns_loss_sum",
    "your epoch loss grows with the number of batches: average it.",
    "return the mean of the batch losses (weighted by batch size), not their sum.")
NO_EVAL_MODE = mistake(
    "accuracy_no_eval_mode",
    "your accuracy is measured with the model in training mode: which mode is for predictions?",
    "call model.eval() before predicting (BatchNorm then uses its running statistics, dropout is off).")
COUNT = mistake(
    "accuracy_count_not_fraction",
    "your accuracy is larger than 1: it should be a fraction.",
    "divide the number of correct predictions by the number of images.")
FIRST_BATCH = mistake(
    "accuracy_first_batch_only",
    "your accuracy only looks at some of the images: do you loop over all the batches?",
    "loop over every batch, `for start in range(0, len(images), batch_size)`, and count the correct "
    "predictions of all of them.")
RECORDS_GRAPH = mistake(
    "accuracy_records_graph",
    "the model recorded a graph for backward while only predicting: that costs memory and time for nothing.",
    "wrap the predictions in `with mm.no_grad():`.")

LOOP_HINT = Hint("print, for each batch, the indices of its images and the loss; check the order of "
                 "zero_grad, backward and step.",
                 "for each batch: logits = model(images[batch]); loss = F.cross_entropy(logits, labels[batch]); "
                 "optimizer.zero_grad(); loss.backward(); optimizer.step().")


# ============================================================================ the spy
class SpyModel(Module):
    """A linear classifier on 8×8 images that records every forward pass.

    In training mode it adds `train_bias` to its logits, so that predicting in the
    wrong mode shows in the accuracy.
    """

    def __init__(self, seed: int, train_bias: float = 0.0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.fc = Linear(64, 10)
        self.fc.weight.data = (0.5 * rng.standard_normal((64, 10))).astype(np.float32)
        self.fc.bias.data = (0.1 * rng.standard_normal(10)).astype(np.float32)
        self.train_bias = np.zeros(10, np.float32)
        self.train_bias[0] = train_bias
        self.calls = []

    def forward(self, x):
        x = as_tensor(x)
        pixels = np.asarray(x.data, dtype=np.float64).reshape(len(x.data), -1)
        self.calls.append(dict(ids=np.rint(pixels[:, 0] * ID_SCALE).astype(int) - 1, x=pixels,
                               w=self.fc.weight.data.astype(np.float64), b=self.fc.bias.data.astype(np.float64),
                               training=self.training, graph=is_grad_enabled()))
        logits = self.fc(x.reshape(len(x.data), 64))
        return logits + self.train_bias if self.training and self.train_bias.any() else logits


class SpyOptimizer(SGD):
    """SGD that records, at every step, the gradients it finds and which forward pass came last."""

    def __init__(self, model: SpyModel, lr: float = 0.05):
        super().__init__(model.parameters(), lr=lr)
        self.model, self.steps = model, []

    def step(self) -> None:
        grads = [None if p.grad is None else np.asarray(p.grad, np.float64).copy()
                 for p in (self.model.fc.weight, self.model.fc.bias)]
        self.steps.append(dict(grads=grads, calls=len(self.model.calls)))
        super().step()


def spy_images(n: int, seed: int) -> tuple:
    """n images whose pixel (0, 0, 0) names them, and random labels."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, 8, 8, 1)).astype(np.float32)
    images[:, 0, 0, 0] = (np.arange(n) + 1) / ID_SCALE
    return images, rng.integers(0, 10, n)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _logits(call_record):
    return call_record["x"] @ call_record["w"] + call_record["b"]


def _gradients(call_record, labels, scale=1.0, softmax_first=False) -> list:
    """[grad_w, grad_b] of the batch's cross-entropy (mean, times `scale`) at that forward pass."""
    z = _logits(call_record)
    inputs = _softmax(z) if softmax_first else z
    onehot = np.eye(10)[labels]
    d = (_softmax(inputs) - onehot) * scale / len(labels)
    if softmax_first:
        d = inputs * (d - (inputs * d).sum(axis=1, keepdims=True))
    return [call_record["x"].T @ d, d.sum(axis=0)]


def _loss(call_record, labels) -> float:
    z = _logits(call_record)
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def _run_epochs(module, epochs: int, n: int = 50, batch_size: int = 16, seed: int = 5):
    """The spy model, optimizer, labels and epoch boundaries after the student's train_epoch."""
    images, labels = spy_images(n, seed)
    model = SpyModel(seed)
    model.eval()
    optimizer = SpyOptimizer(model)
    rng = np.random.default_rng(seed)
    bounds, returned = [0], []
    for _ in range(epochs):
        returned.append(call(module, "train_epoch", model, optimizer, images, labels, batch_size, rng,
                             error_hint=LOOP_HINT))
        bounds.append(len(model.calls))
    return model, optimizer, labels, bounds, returned


# ============================================================================ the loop's checks
@check("train_epoch visits every image once per epoch, in batches, in a new random order each epoch")
def _visits(module):
    model, _, _, bounds, _ = _run_epochs(module, epochs=2)
    n, batch_size = 50, 16
    orders = []
    for first, last in zip(bounds, bounds[1:]):
        calls = model.calls[first:last]
        if not calls:
            raise Failure("train_epoch called the model on no batch at all.", LOOP_HINT)
        order = np.concatenate([c["ids"] for c in calls])
        sizes = [len(c["ids"]) for c in calls]
        if sorted(order.tolist()) != list(range(n)):
            if len(order) == n - n % batch_size and len(set(order.tolist())) == len(order):
                raise Failure(f"one epoch used {len(order)} of the {n} images (batches of {sizes}).", DROPPED_LAST)
            raise Failure(f"one epoch used {len(set(order.tolist()))} different images of {n}, {len(order)} in all "
                          f"(batches of {sizes}): every image must be used exactly once.", LOOP_HINT)
        if any(size != batch_size for size in sizes[:-1]):
            raise Failure(f"the batches had sizes {sizes}; with batch_size = {batch_size} they should be "
                          f"{[batch_size] * (n // batch_size) + [n % batch_size]}.", LOOP_HINT)
        if not all(c["training"] for c in calls):
            raise Failure("the model was in evaluation mode during training.", NO_TRAIN_MODE)
        orders.append(order)
    if np.array_equal(orders[0], np.arange(n)):
        raise Failure("the images were visited in their stored order, 0, 1, 2, ...", NOT_SHUFFLED)
    if np.array_equal(orders[0], orders[1]):
        raise Failure("both epochs visited the images in the same order.", SAME_ORDER)


@check("each step applies the gradient of its own batch's mean cross-entropy")
def _steps(module):
    model, optimizer, labels, _, _ = _run_epochs(module, epochs=1)
    if not optimizer.steps:
        raise Failure("optimizer.step() was never called.", NO_STEP)
    if len(optimizer.steps) != len(model.calls):
        raise Failure(f"{len(model.calls)} batches but {len(optimizer.steps)} optimizer steps: take one step "
                      "per batch.", LOOP_HINT)
    accumulated = [np.zeros((64, 10)), np.zeros(10)]
    for number, step in enumerate(optimizer.steps, 1):
        _expect_step(number, step, model.calls, labels, accumulated)


def _expect_step(number, step, calls, labels, accumulated) -> None:
    record = calls[step["calls"] - 1]
    right = _gradients(record, labels[record["ids"]])
    accumulated[0], accumulated[1] = accumulated[0] + right[0], accumulated[1] + right[1]
    got = step["grads"]
    if any(g is None for g in got):
        raise Failure(f"at step {number}, the parameters had no gradient.", STEP_BEFORE_BACKWARD)
    if _same(got, right):
        return
    start = (number - 1) * len(record["ids"])
    candidates = [(accumulated, NO_ZERO_GRAD),
                  (_gradients(record, labels[start:start + len(record["ids"])]), LABELS_MISMATCHED),
                  (_gradients(record, labels[record["ids"]], scale=len(record["ids"])), LOSS_SUMMED),
                  (_gradients(record, labels[record["ids"]], softmax_first=True), SOFTMAX_TWICE)]
    if number > 1:
        previous = calls[step["calls"] - 2]
        candidates.append((_gradients(previous, labels[previous["ids"]]), STEP_BEFORE_BACKWARD))
    hint = next((m for wrong, m in candidates if _same(got, wrong)), LOOP_HINT)
    raise Failure(f"at step {number}, the weight gradient differs from that of the batch's mean cross-entropy "
                  f"(largest difference {np.max(np.abs(got[0] - right[0])):.3g}).", hint)


def _same(got, wanted) -> bool:
    return all(close(g, w, rtol=1e-3, atol=1e-5) for g, w in zip(got, wanted))


@check("train_epoch returns the epoch's mean training loss")
def _returned_loss(module):
    model, _, labels, _, returned = _run_epochs(module, epochs=1)
    value = _as_number(returned[0])
    losses = [_loss(c, labels[c["ids"]]) for c in model.calls]
    sizes = [len(c["ids"]) for c in model.calls]
    means = (float(np.average(losses, weights=sizes)), float(np.mean(losses)))
    if any(abs(value - m) <= 1e-3 * max(1.0, abs(m)) for m in means):
        return
    hint = RETURNS_LAST if abs(value - losses[-1]) < 1e-4 else RETURNS_SUM if abs(value - sum(losses)) < 1e-3 \
        else LOOP_HINT
    raise Failure(f"train_epoch returned {value:.5g}; the epoch's mean loss was {means[0]:.5g}.", hint)


def _as_number(value) -> float:
    if isinstance(value, Tensor):
        value = value.data
    try:
        return float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise Failure(f"train_epoch returned {type(value).__name__} {value!r:.60}; expected a number.",
                      Hint("return the mean loss as a float: accumulate loss.item().")) from None


@check("accuracy: the fraction of correct predictions, in evaluation mode, without a graph")
def _accuracy(module):
    images, _ = spy_images(600, 11)
    model = SpyModel(11, train_bias=50.0)
    with no_grad():
        model.eval()
        predicted = model(images).data.argmax(axis=1)
        model.train()
        predicted_train = model(images).data.argmax(axis=1)
    labels = np.where(np.arange(600) < 400, predicted, (predicted + 1) % 10)  # the first batch is easier
    model.calls.clear()
    got = call(module, "accuracy", model, images, labels, error_hint=Hint(
        "predict with the model in evaluation mode, take the argmax of each row of logits, compare with the labels.",
        "model.eval(); with mm.no_grad(): logits = model(batch); correct += (logits.numpy().argmax(axis=1) == "
        "labels[batch]).sum(); return correct / len(images)."))
    value = _as_number(got)
    right = float(np.mean(predicted == labels))
    if abs(value - right) > 1e-6:
        wrong = [(float(np.mean(predicted_train == labels)), NO_EVAL_MODE), (right * 600, COUNT),
                 (float(np.mean(predicted[:256] == labels[:256])), FIRST_BATCH)]
        hint = next((m for w, m in wrong if abs(value - w) < 1e-6), None)
        raise Failure(f"accuracy returned {value:.5g}; the right answer is {right:.5g}.", hint)
    if any(c["graph"] for c in model.calls):
        raise Failure("the model recorded a graph for backward during accuracy().", RECORDS_GRAPH)


# ============================================================================ the real thing
def digits_model():
    """The small MLP-Mixer the training check trains (10,282 parameters)."""
    return models.MLPMixer(image_size=8, patch_size=2, in_channels=1, dim=32, depth=2, token_dim=16,
                           channel_dim=64, num_classes=10)


def digits_arrays(split: str) -> tuple:
    dataset = data.load("digits", split=split)
    return dataset.images.astype(np.float32) / 255.0, dataset.labels.astype(np.int64)


def _compile_kernels(images, labels) -> None:
    """One training step and one prediction on a throwaway model, so that compiling the
    Numba kernels (seconds, on a cold cache) does not count against the student's time."""
    model = digits_model()
    optimizer = AdamW(model.parameters(), lr=1e-3)
    cross_entropy(model(images), labels).backward()
    optimizer.step()
    model.eval()
    with no_grad():
        model(images)


@check(f"train() reaches {TARGET_ACCURACY:.0%} test accuracy on the bundled digits within {TIME_BUDGET:g} s",
       time_limit=TIME_BUDGET + 60, after_passing=True)
def _reaches_target(module):
    images, labels = digits_arrays("train")
    test_images, test_labels = digits_arrays("test")
    _compile_kernels(images[:16], labels[:16])
    manual_seed(0)
    model = digits_model()
    started = time.perf_counter()
    call(module, "train", model, images, labels, error_hint=LOOP_HINT)
    seconds = time.perf_counter() - started
    model.eval()
    with no_grad():
        predicted = model(test_images).data.argmax(axis=1)
    score = float(np.mean(predicted == test_labels))
    if score < TARGET_ACCURACY:
        raise Failure(f"after train(), the test accuracy is {score:.3f}; it must reach {TARGET_ACCURACY:.2f}.",
                      Hint("look at the losses train returns: do they fall steadily? Train longer or with a "
                           "larger learning rate.",
                           "AdamW with lr 3e-3, batches of 64 and 10 epochs reach about 0.95."))
    if seconds > TIME_BUDGET:
        raise Failure(f"train() took {seconds:.0f} s; the budget is {TIME_BUDGET:g} s.",
                      Hint("fewer epochs or larger batches; evaluate only when you need to.",
                           "10 epochs of batches of 64 take well under a minute."))
