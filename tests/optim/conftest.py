"""Shared fixtures: parameters for the optimizer tests.

Optimizers only need `.data`, `.grad` and `.mark_dirty()`. The tests use the real
`minimixer.nn.Parameter`, keeping the dtype of the array they are given.
`StandInParameter` is the bare minimum, used where a test must count `mark_dirty` calls.
"""

import numpy as np
import pytest


class StandInParameter:
    """The smallest object an optimizer accepts; counts how often it is marked dirty."""

    def __init__(self, data):
        self.data = np.array(data, copy=True)
        self.grad = None
        self.dirty_count = 0

    def mark_dirty(self):
        self.dirty_count += 1


@pytest.fixture
def make_param():
    """Build a Parameter holding a private copy of `array`, with the array's dtype."""
    from minimixer.nn import Parameter

    return lambda array: Parameter(np.array(array, copy=True), dtype=np.asarray(array).dtype)


@pytest.fixture
def stand_in_param():
    return StandInParameter
