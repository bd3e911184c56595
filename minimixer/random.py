"""The library's random number generator, seeded by `manual_seed`.

Weight initialisation draws from one global NumPy Generator so that
`mm.manual_seed(0)` followed by building a model always gives the same weights.
"""

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator used for weight initialisation."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator


def get_state() -> dict:
    """The generator's state (plain dict, for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    _generator.bit_generator.state = state
