"""Checks shared by both models: clear errors instead of shape crashes or NaN logits."""

import inspect

import numpy as np

from ..autograd import Tensor
from ..errors import InputError, InputTypeError, MinimixerError, require_int

# Channels-first batches are a common slip: say so when the shape looks like one.
_CHANNELS_FIRST_HINT = " (this looks channels-first; use images.transpose(0, 2, 3, 1))"


def as_image_batch(model_name: str, images, image_size, in_channels: int) -> Tensor:
    """Return `images` as a float Tensor (N, H, W, C) after checking it.

    `image_size` is an int (square images required) or None (any size works).
    Arrays of integers or bools are converted to float32 (as `mm.tensor` does);
    other dtypes raise InputTypeError. Wrong shapes, an empty batch and NaN or
    infinite pixels raise InputError.
    """
    if not isinstance(images, Tensor):
        images = Tensor._wrap(_as_float_array(model_name, images))
    _check_shape(model_name, images.shape, image_size, in_channels)
    if not np.all(np.isfinite(images.data)):
        finite_per_image = np.isfinite(images.data).reshape(len(images), -1).all(axis=1)
        bad = int(np.flatnonzero(~finite_per_image)[0])
        raise InputError(f"{model_name}: the images hold NaN or infinite values (first in image {bad}); "
                         "check the data and the transforms")
    return images


def _as_float_array(model_name: str, images) -> np.ndarray:
    array = images if isinstance(images, np.ndarray) else np.asarray(images)
    if array.dtype.kind not in "buif":
        raise InputTypeError(f"{model_name}: expected images as an array of numbers, got dtype "
                             f"{array.dtype} ({type(images).__name__})")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    return array


def _check_shape(model_name: str, shape: tuple, image_size, in_channels: int) -> None:
    expected_hw = "H, W" if image_size is None else f"{image_size}, {image_size}"
    expected = f"(N, {expected_hw}, {in_channels})"
    wrong_rank = len(shape) != 4
    wrong_size = image_size is not None and not wrong_rank and shape[1:3] != (image_size, image_size)
    if wrong_rank or wrong_size or shape[-1] != in_channels:
        hint = _CHANNELS_FIRST_HINT if len(shape) == 4 and shape[1] == in_channels else ""
        raise InputError(
            f"{model_name}: expected images of shape {expected} (channels last), got {shape}{hint}"
        )
    if shape[0] == 0:
        raise InputError(f"{model_name}: the batch is empty (shape {shape}); give at least one image")


def check_sizes(model_name: str, depth: int, **sizes) -> None:
    """Every size in `sizes` must be a positive integer and `depth` a non-negative one."""
    for name, value in sizes.items():
        require_int(model_name, name, value)
    require_int(model_name, "depth", depth, minimum=0)


def _model_classes() -> dict:
    """The model classes a config may name: the presets' table.

    Imported by name: ``from . import presets`` would give the `models.presets()`
    function, which shadows the module of the same name in this package.
    """
    from .presets import MODEL_CLASSES

    return MODEL_CLASSES


def model_from_config(config: dict, who: str):
    """Build a model from `model.config` plus its class name under "model".

    Unlike `models.from_config`, every problem (no "model" key, an unknown class, an
    unknown or missing argument) is an InputError naming `who` and what is accepted.
    """
    classes = _model_classes()
    if not isinstance(config, dict):
        raise InputTypeError(f"{who}: the model config must be a dict, got {type(config).__name__}")
    config = dict(config)
    name = config.pop("model", None)
    if not isinstance(name, str) or name not in classes:
        raise InputError(f"{who}: unknown model {name!r} in the config; expected one of "
                         f"{', '.join(classes)} under the key 'model'")
    parameters = inspect.signature(classes[name]).parameters
    unknown = sorted(set(config) - set(parameters))
    missing = [p.name for p in parameters.values() if p.default is inspect.Parameter.empty
               and p.name not in config]
    problems = ([f"unknown keys {unknown}"] if unknown else []) + \
               ([f"missing keys {missing}"] if missing else [])
    if problems:
        raise InputError(f"{who}: the {name} config has {' and '.join(problems)}; "
                         f"{name} takes: {', '.join(parameters)}")
    try:
        return classes[name](**config)
    except MinimixerError:
        raise
    except (ValueError, TypeError) as error:  # a constructor's own complaint about a value
        raise InputError(f"{who}: {error}") from None
