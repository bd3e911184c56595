"""DataLoader: batching, seeded shuffling per epoch, drop_last, exact resume."""

import json

import numpy as np
import pytest

from minimixer import data
from minimixer.data import transforms as T


def toy_dataset(num=10):
    images = np.arange(num * 4 * 4, dtype=np.uint8).reshape(num, 4, 4, 1)
    return data.Dataset(images, np.arange(num) % 10)


def batches(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


def test_batches_shapes_dtypes_and_order():
    dataset = toy_dataset(10)
    loader = data.DataLoader(dataset, batch_size=4)
    assert len(loader) == 3
    served = batches(loader)
    assert [len(y) for _, y in served] == [4, 4, 2]
    x, y = served[0]
    assert x.dtype == np.float32 and x.shape == (4, 4, 4, 1) and y.dtype == np.int64
    assert np.array_equal(np.concatenate([y for _, y in served]), dataset.labels)
    assert np.allclose(x, dataset.images[:4] / 255.0)


def test_drop_last():
    loader = data.DataLoader(toy_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(y) for _, y in loader] == [4, 4]
    assert len(data.DataLoader(toy_dataset(3), batch_size=4, drop_last=True)) == 0


def test_shuffle_is_a_seeded_permutation_redrawn_each_epoch():
    dataset = toy_dataset(50)
    loader = data.DataLoader(dataset, batch_size=8, shuffle=True, seed=3)
    epoch0 = np.concatenate([y for _, y in loader])
    epoch1 = np.concatenate([y for _, y in loader])
    assert loader.epoch == 2
    order0, order1 = loader.epoch_order(0), loader.epoch_order(1)
    assert sorted(order0) == list(range(50)) and sorted(order1) == list(range(50))
    assert not np.array_equal(order0, order1)
    assert np.array_equal(epoch0, dataset.labels[order0])
    assert np.array_equal(epoch1, dataset.labels[order1])

    same_seed = data.DataLoader(dataset, batch_size=8, shuffle=True, seed=3)
    assert np.array_equal(np.concatenate([y for _, y in same_seed]), epoch0)
    other_seed = data.DataLoader(dataset, batch_size=8, shuffle=True, seed=4)
    assert not np.array_equal(other_seed.epoch_order(0), order0)


def test_a_loop_left_early_restarts_the_same_epoch():
    loader = data.DataLoader(toy_dataset(20), batch_size=5, shuffle=True, seed=0)
    first = next(iter(loader))
    assert loader.epoch == 0
    again = next(iter(loader))
    assert np.array_equal(first[1], again[1])


def augmenting_loader(dataset):
    transform = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip(), T.ToFloat()])
    return data.DataLoader(dataset, batch_size=3, shuffle=True, seed=7, transform=transform)


def test_state_dict_resumes_with_the_same_next_batches():
    dataset = toy_dataset(16)
    original = augmenting_loader(dataset)
    batches(original)  # epoch 0
    iterator = iter(original)
    for _ in range(2):
        next(iterator)
    state = json.loads(json.dumps(original.state_dict()))  # plain ints only
    assert state == {"seed": 7, "epoch": 1, "batch": 2}
    expected = [(x.copy(), y.copy()) for x, y in iterator] + batches(original)

    resumed = augmenting_loader(dataset)
    resumed.load_state_dict(state)
    served = batches(resumed) + batches(resumed)
    assert len(served) == len(expected) == (len(original) - 2) + len(original)
    for (x, y), (x_expected, y_expected) in zip(served, expected):
        assert np.array_equal(y, y_expected)
        assert np.array_equal(x, x_expected)


def test_state_saved_after_a_finished_epoch_starts_the_next_one():
    loader = data.DataLoader(toy_dataset(9), batch_size=3, shuffle=True, seed=1)
    served = list(iter(loader))  # the loop ran to its end: epoch 0 is finished
    assert loader.state_dict() == {"seed": 1, "epoch": 1, "batch": 0}
    resumed = data.DataLoader(toy_dataset(9), batch_size=3, shuffle=True, seed=1)
    resumed.load_state_dict({"seed": 1, "epoch": 0, "batch": 3})
    assert resumed.epoch == 1
    assert np.array_equal(next(iter(resumed))[1], next(iter(loader))[1])
    assert len(served) == 3


def test_transform_sees_the_raw_batch_and_the_output_is_float32():
    seen = []

    def record(images, rng):
        seen.append((images.dtype, isinstance(rng, np.random.Generator)))
        return images

    x, _ = next(iter(data.DataLoader(toy_dataset(4), batch_size=2, transform=record)))
    assert seen == [(np.uint8, True)] and x.dtype == np.float32 and x.max() <= 1.0


def test_default_transforms_with_real_digits():
    train = data.load("digits")
    loader = data.DataLoader(train, batch_size=64, shuffle=True,
                             transform=data.default_transforms("digits", train=True))
    x, y = next(iter(loader))
    assert x.shape == (64, 8, 8, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert abs(float(x.mean())) < 0.2 and 0.8 < float(x.std()) < 1.2


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(toy_dataset(), batch_size=0)
    with pytest.raises(ValueError, match="labels"):
        data.DataLoader((np.zeros((3, 2, 2, 1)), np.zeros(2)), batch_size=1)
    loader = data.DataLoader(toy_dataset(10), batch_size=4)
    with pytest.raises(ValueError, match="outside"):
        loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 9})
