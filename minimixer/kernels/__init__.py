"""Raw array kernels (no autograd) in two interchangeable backends.

* ``reference`` -- plain NumPy, short and readable: the specification.
* ``fast``      -- Numba, the same functions and signatures, compiled and parallel.

Both use ``_checks`` (the argument checks, so both raise the same errors). The
reference takes erf from ``_erf`` (Chebyshev interpolants; NumPy has no erf ufunc);
the fast GELU takes its float32 exp and normal CDF from ``_float32_math`` (written
without library calls, so the loops vectorise).

Ops look the backend up on every call with ``current()``, so switching takes
effect immediately::

    from minimixer import kernels
    kernels.set_backend("numpy")        # or "numba" (the default)
    y = kernels.current().gelu_forward(x)

The default comes from the environment variable MINIMIXER_BACKEND
("numba" or "numpy"), else "numba".

Thread counts and the other speed settings live in ``minimixer.performance``.
"""

import os

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


__all__ = ["current", "fast", "get_backend", "reference", "set_backend"]
