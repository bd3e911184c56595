"""minimixer: MLP-Mixer and ConvMixer from scratch, in NumPy, accelerated with Numba.

    import minimixer as mm
    x = mm.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # array([[2., 4.]], dtype=float32)

Sub-packages: `nn` (layers), `optim` (optimizers and schedules), `data` (datasets and
loader), `models` (the two Mixers and presets). `kernels` holds the raw array code in
two interchangeable backends; `set_backend` chooses between them.
"""

__version__ = "0.1.0"

import os

# OpenBLAS (NumPy's matmuls) keeps its idle threads spinning for ~0.1 s after each
# product, which slows the Numba kernel that usually runs next by up to 2x on a small
# machine. This makes them sleep at once. OpenBLAS reads it when NumPy is first
# imported, so it takes effect when minimixer is imported first (as by
# `python -m minimixer`); a value you set yourself wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .allocator import keep_freed_memory

keep_freed_memory()  # large arrays are reused instead of re-faulted every step; see allocator.py

from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, sum_to, tensor, to_dot
from . import ops  # noqa: F401  (gives Tensor its operators)
from .gradcheck import GradcheckError, gradcheck
from .kernels import get_backend, set_backend
from .threads import get_blas_threads, get_num_threads, set_blas_threads, set_num_threads
from .random import manual_seed
from . import nn, optim, data  # noqa: E402

__all__ = [
    "Function", "Tensor", "enable_grad", "is_grad_enabled", "no_grad", "sum_to", "tensor",
    "to_dot", "gradcheck", "GradcheckError", "get_backend", "set_backend", "get_num_threads",
    "set_num_threads", "get_blas_threads", "set_blas_threads", "manual_seed", "nn", "optim", "data",
]
