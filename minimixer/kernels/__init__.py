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

Numba's worker threads (OpenMP) are told to sleep as soon as a kernel ends
(OMP_WAIT_POLICY=PASSIVE, unless you set it yourself): by default they spin
for a while, and on a machine with few cores the spinning threads slow down
the NumPy matmul that usually comes next (measured: 30 % slower matmuls, and
milliseconds per kernel launch when the machine is busy). See
``set_num_threads`` for the BLAS side.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when Numba starts its threads

import numba  # noqa: E402

from . import fast, reference  # noqa: E402

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
    matmul -- so both may use every core. What must not happen is more
    threads than cores *at once*:

    * several training processes each using all cores;
    * idle threads of one pool still spinning while the other pool works.
      Numba's threads are set to sleep at once (see the module docstring).
      OpenBLAS's threads spin for about 0.1 s after each matmul, which makes
      the next Numba kernel up to 2x slower; start Python with
      OPENBLAS_THREAD_TIMEOUT=4 to make them sleep at once too.

    On a 2-core machine keep n <= 2 here and cap BLAS with the environment
    variable OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS / MKL_NUM_THREADS).
    BLAS reads its variables when NumPy is first imported, so set them in the
    shell or before ``import numpy``. Small jobs (see ``fast._launch``) run on
    one thread whatever n is.
    """
    numba.set_num_threads(int(n))


def get_num_threads():
    """Number of threads the Numba kernels use."""
    return numba.get_num_threads()


__all__ = ["current", "fast", "get_backend", "get_num_threads", "reference", "set_backend",
           "set_num_threads"]
