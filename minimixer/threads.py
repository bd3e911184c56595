"""How many CPU threads minimixer uses: Numba's pool and the BLAS library's pool.

Two thread pools share the cores. Numba runs the kernels in `kernels.fast`; NumPy's
BLAS (OpenBLAS in NumPy's wheels) runs every matmul: linear layers, pointwise convs,
patch embedding. They take turns, so each may use all cores, but on a small machine a
pool that is still spinning, or two processes both using every core, can make a matmul
hundreds of times slower. `set_num_threads(n)` sets both pools to n.

NumPy offers no call to change the BLAS thread count, so `set_blas_threads` finds the
OpenBLAS library NumPy loaded and calls its own `openblas_set_num_threads` through
ctypes. Where that library is not OpenBLAS (MKL, Apple Accelerate) it does nothing
and returns False; the environment variables OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or
OMP_NUM_THREADS, set before Python starts, are the fallback.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np  # noqa: F401  (NumPy must be loaded for its BLAS to be found)

from . import kernels

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


@functools.lru_cache(maxsize=None)
def _openblas():
    """(setter, getter) of the OpenBLAS NumPy loaded, or (None, None)."""
    for path in _loaded_libraries():
        if "openblas" not in path.lower():
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(library, s) for s in _SETTERS if hasattr(library, s)), None)
        getter = next((getattr(library, g) for g in _GETTERS if hasattr(library, g)), None)
        if setter is not None and getter is not None:
            getter.restype = ctypes.c_int
            return setter, getter
    return None, None


def _loaded_libraries() -> list:
    """Paths of the shared libraries in this process (Linux; empty elsewhere)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:
        return []
    return sorted(paths)


def set_blas_threads(n: int) -> bool:
    """Let NumPy's matmuls use n threads; False if the BLAS could not be told."""
    setter, _ = _openblas()
    if setter is None:
        return False
    setter(int(n))
    return True


def get_blas_threads() -> int | None:
    """Threads NumPy's matmuls use, or None if the BLAS is not OpenBLAS."""
    _, getter = _openblas()
    return None if getter is None else int(getter())


def set_num_threads(n: int) -> None:
    """Use n threads for both Numba kernels and NumPy matmuls (1 <= n <= cores)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: need at least 1 thread, got {n}")
    kernels.set_num_threads(int(n))
    set_blas_threads(int(n))


def get_num_threads() -> int:
    """Threads the Numba kernels use (the BLAS count: `get_blas_threads`)."""
    return kernels.get_num_threads()
