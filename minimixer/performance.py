"""Every performance setting of minimixer, in one place, with one opt-out.

A training step on a small CPU alternates between two kinds of work: NumPy matmuls,
run by the BLAS library's thread pool (OpenBLAS in NumPy's wheels), and minimixer's
Numba kernels, run by Numba's pool (OpenMP). Each pool may use every core because
they take turns. Three defaults of those libraries waste that turn-taking, and one
default of the C library wastes memory traffic:

1. **OpenBLAS threads spin** for about 0.1 s after each matmul, stealing the cores from
   the Numba kernel that runs next (measured: up to 2x slower kernels on 2 cores).
   ``OPENBLAS_THREAD_TIMEOUT=4`` makes them sleep at once.
2. **OpenMP threads spin** after each kernel the same way, slowing the next matmul
   (measured: ~30 % slower matmuls). ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep.
3. **glibc returns large freed blocks to the kernel** (each array over 128 KiB is its
   own ``mmap``), so every step pays again for page faults and for zeroed pages
   (measured: adding two 32 MiB arrays into a new array 10-16 ms, into a reused one
   4-9 ms). Raising malloc's mmap and trim thresholds keeps them in the heap for reuse;
   the process then keeps its peak memory between steps.

Why at import: OpenBLAS reads its variable when NumPy is first imported and OpenMP
when Numba starts its threads, so (1) and (2) only work if they are set before either
happens; (3) helps every array allocated afterwards. `apply_import_settings()` is
therefore called by ``import minimixer`` — import minimixer before NumPy for (1). A
variable you set yourself always wins. To switch all three off, start Python with
``MINIMIXER_PERFORMANCE_SETTINGS=0``.

Thread counts are the other setting: `set_num_threads(n)` gives both pools n threads.
NumPy has no call for the BLAS count, so `set_blas_threads` finds the OpenBLAS library
NumPy loaded and calls its own ``openblas_set_num_threads`` through ctypes; where the
BLAS is another library (MKL, Apple Accelerate) it returns False, and the variables
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS / OMP_NUM_THREADS, set before Python starts,
are the way. Never run several training processes that each use every core.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

OPT_OUT_VARIABLE = "MINIMIXER_PERFORMANCE_SETTINGS"
THREAD_VARIABLES = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "PASSIVE"}

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_ONE_GIB = 1 << 30


def enabled() -> bool:
    """False when the user opted out with MINIMIXER_PERFORMANCE_SETTINGS=0."""
    return os.environ.get(OPT_OUT_VARIABLE, "1") != "0"


def apply_import_settings() -> dict:
    """Apply settings (1)-(3) of the module docstring unless opted out; says what it did."""
    if not enabled():
        return {"variables": {}, "keep_freed_memory": False}
    variables = {}
    for name, value in THREAD_VARIABLES.items():
        if name not in os.environ:
            os.environ[name] = variables[name] = value
    return {"variables": variables, "keep_freed_memory": keep_freed_memory()}


def keep_freed_memory(limit_bytes: int = _ONE_GIB) -> bool:
    """Serve blocks up to `limit_bytes` from the heap and never trim it (setting 3).

    True if applied; False when opted out or without glibc (macOS, Windows, musl).
    """
    if not enabled():
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return (bool(mallopt(_M_MMAP_THRESHOLD, limit_bytes))
            and bool(mallopt(_M_TRIM_THRESHOLD, 2 * limit_bytes - 1)))


# ----------------------------------------------------------------------- thread counts
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


def set_num_threads(n: int) -> None:
    """Use n threads for both the Numba kernels and NumPy's matmuls (1 <= n <= cores).

    Small jobs (see ``kernels.fast._launch``) run on one thread whatever n is.
    """
    import numba

    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"set_num_threads: need a whole number of threads >= 1, got {n!r}")
    if int(n) > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"set_num_threads: {n} threads asked for, but this machine offers "
                         f"{numba.config.NUMBA_NUM_THREADS}")
    numba.set_num_threads(int(n))
    set_blas_threads(int(n))


def get_num_threads() -> int:
    """Threads the Numba kernels use (the BLAS count: `get_blas_threads`)."""
    import numba

    return numba.get_num_threads()


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


@functools.lru_cache(maxsize=None)
def _openblas():
    """(setter, getter) of the OpenBLAS that NumPy loaded, or (None, None)."""
    import numpy  # noqa: F401  (NumPy must be loaded for its BLAS to be found)

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
