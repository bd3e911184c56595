"""Shared test fixtures: headless plotting, a fixed seed, and where the real data is."""

import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _seed_everything():
    import minimixer as mm

    mm.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def data_dir():
    """The directory of real datasets named by MINIMIXER_DATA; skip when it is absent."""
    path = os.environ.get("MINIMIXER_DATA")
    if not path or not os.path.isdir(path):
        pytest.skip("real datasets not available (set MINIMIXER_DATA to a data directory)")
    return path
