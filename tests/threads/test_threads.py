"""Thread control for both pools: Numba kernels and NumPy's BLAS."""

import pytest

import minimixer as mm


def test_set_num_threads_sets_numba_and_blas():
    before_numba, before_blas = mm.get_num_threads(), mm.get_blas_threads()
    try:
        mm.set_num_threads(1)
        assert mm.get_num_threads() == 1
        if before_blas is not None:  # OpenBLAS found (NumPy's wheels ship it)
            assert mm.get_blas_threads() == 1
    finally:
        mm.set_num_threads(before_numba)
        if before_blas is not None:
            mm.set_blas_threads(before_blas)


def test_bad_thread_count_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        mm.set_num_threads(0)
