"""Input checks shared by both models: a clear ValueError instead of a shape crash."""

import numpy as np

from ..autograd import Tensor


def as_image_batch(model_name: str, images, image_size, in_channels: int) -> Tensor:
    """Return `images` as a float Tensor (N, H, W, C) after checking its shape.

    `image_size` is an int (square images required) or None (any size works).
    """
    if not isinstance(images, Tensor):
        array = np.asarray(images)
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32)
        images = Tensor._wrap(array)
    shape = images.shape
    expected_hw = "H, W" if image_size is None else f"{image_size}, {image_size}"
    expected = f"(N, {expected_hw}, {in_channels})"
    wrong_rank = len(shape) != 4
    wrong_size = image_size is not None and not wrong_rank and shape[1:3] != (image_size, image_size)
    if wrong_rank or wrong_size or shape[-1] != in_channels:
        raise ValueError(
            f"{model_name}: expected images of shape {expected} (channels last), got {shape}"
        )
    return images
