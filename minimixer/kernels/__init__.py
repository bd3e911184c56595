"""Raw array kernels (no autograd) in two interchangeable backends.

* ``reference`` -- plain NumPy, short and readable: the specification.
* ``fast``      -- Numba, the same functions and signatures, compiled and parallel.

Ops look the backend up on every call with ``current()``, so switching takes
effect immediately::

    from minimixer import kernels
    kernels.set_backend("numpy")        # or "numba" (the default)
    y = kernels.current().gelu_forward(x)

The default comes from the environment variable MINIMIXER_BACKEND
("numba" or "numpy"), else "numba".
"""

import os

import numba

from . import fast, reference

_BACKENDS = {"numba": fast, "numpy": reference}


def _check_name(name):
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(_BACKENDS)}")
    return name


_active = _check_name(os.environ.get("MINIMIXER_BACKEND", "numba"))


def set_backend(name):
    """Choose the kernels used from now on: "numba" (fast) or "numpy" (reference)."""
    global _active
    _active = _check_name(name)


def get_backend():
    """Name of the active backend, "numba" or "numpy"."""
    return _active


def current():
    """The active kernel module (``fast`` or ``reference``)."""
    return _BACKENDS[_active]


def set_num_threads(n):
    """Use n threads in the Numba kernels (1 <= n <= the number of cores Numba saw).

    Two thread pools share the CPU: Numba's (the kernels in ``fast``) and the
    BLAS library's (NumPy matmuls: linear layers, pointwise convs, patch
    embedding). They take turns -- an op runs either a Numba kernel or a
    matmul -- so both may use every core. What must not happen is more threads
    than cores *at once*, e.g. several training processes each using all
    cores, or BLAS threads still spinning while Numba threads start. On a
    2-core machine keep n <= 2 here and cap BLAS with the environment
    variable OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS / MKL_NUM_THREADS),
    which must be set before NumPy is first imported.
    """
    numba.set_num_threads(int(n))


def get_num_threads():
    """Number of threads the Numba kernels use."""
    return numba.get_num_threads()


__all__ = ["current", "fast", "get_backend", "get_num_threads", "reference", "set_backend",
           "set_num_threads"]
