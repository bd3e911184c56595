"""Data for the hard lessons: MNIST when it is on disk, otherwise the bundled digits.

MNIST is looked for where `minimixer.data.load` looks (a `--data-dir`, the folder in
$MINIMIXER_DATA, the cache) but never downloaded here, so a lesson runs offline. When
it is absent the lesson says so and uses the 1,797 bundled 8×8 digits instead; every
lesson is written for both (patch sizes and kernels follow the image size).
"""

from minimixer import data

PATCH_SIZE = {"mnist": 4, "digits": 2}  # 7×7 = 49 tokens on MNIST, 4×4 = 16 on the digits


def load_mnist_or_digits(train_size: int | None = None, test_size: int | None = None):
    """(name, train, test): MNIST if found locally, else the digits; optionally the first n images.

    The first n images of MNIST are close to class-balanced, so a slice is a fair sample.
    """
    try:
        train = data.load("mnist", "train", download=False)
        test = data.load("mnist", "test", download=False)
        name = "mnist"
    except data.DatasetNotFoundError:
        print("MNIST was not found (searched --data-dir, $MINIMIXER_DATA and the cache), so this lesson\n"
              "uses the bundled 8x8 UCI digits instead. To use MNIST, set MINIMIXER_DATA to a folder\n"
              "holding the four MNIST .gz files (in it or in a mnist/ subfolder).")
        train, test = data.load("digits", "train"), data.load("digits", "test")
        name = "digits"
    train = data.Dataset(train.images[:train_size], train.labels[:train_size])
    test = data.Dataset(test.images[:test_size], test.labels[:test_size])
    print(f"dataset: {name}, {len(train.labels):,} training and {len(test.labels):,} test images "
          f"of {train.images.shape[1]}x{train.images.shape[2]} pixels")
    return name, train, test
