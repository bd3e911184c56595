"""Fixtures for the data tests (the file writers live in data_formats.py).

Every test runs with its own empty cache directory, without MINIMIXER_DATA
(tests that want the real data ask for ``real_data``), and with downloads
switched off unless the test serves them itself.
"""

import os
import urllib.error
from pathlib import Path

import pytest
from data_formats import write_idx_split

from minimixer.data import download

REAL_DATA = os.environ.get("MINIMIXER_DATA")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """A private cache, no MINIMIXER_DATA, and no network."""
    monkeypatch.setenv("MINIMIXER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MINIMIXER_DATA", raising=False)

    def no_network(url, timeout=None):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download, "urlopen", no_network)


@pytest.fixture(scope="session")
def real_data():
    """The real data directory named by MINIMIXER_DATA; skip when absent."""
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        pytest.skip("real datasets not available (set MINIMIXER_DATA)")
    return Path(REAL_DATA)


@pytest.fixture
def idx_folder(tmp_path):
    """A tiny MNIST-like folder: 50 train and 20 test images, gzipped."""
    folder = tmp_path / "root" / "mnist"
    train = write_idx_split(folder, "train", 50, seed=1)
    test = write_idx_split(folder, "test", 20, seed=2)
    return folder, train, test
