"""minimixer: MLP-Mixer and ConvMixer from scratch, in NumPy, accelerated with Numba.

    import minimixer as mm
    x = mm.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # array([[2., 4.]], dtype=float32)

Sub-packages: `nn` (layers), `optim` (optimizers and schedules), `data` (datasets and
loader), `models` (the two Mixers and presets). `kernels` holds the raw array code in
two interchangeable backends; `set_backend` chooses between them. `performance` holds
every speed setting (thread counts, and what happens at import).

`models`, `train`, `viz`, `interop` and the other modules are imported on first use
(`mm.models.create(...)` works without importing `minimixer.models` yourself), so
`import minimixer` stays quick.
"""

__version__ = "0.1.0"

from . import performance

performance.apply_import_settings()  # before NumPy and Numba start their threads: see performance.py

from .autograd import (Function, Tensor, enable_grad, graph, is_grad_enabled, no_grad, sum_to, tensor,
                       to_dot)
from . import ops  # noqa: F401  (gives Tensor its operators)
from .gradcheck import GradcheckError, gradcheck
from .kernels import get_backend, set_backend
from .performance import get_blas_threads, get_num_threads, set_blas_threads, set_num_threads
from .random import manual_seed
from . import nn, optim, data  # noqa: E402

__all__ = [
    "Function", "Tensor", "enable_grad", "is_grad_enabled", "no_grad", "sum_to", "tensor",
    "to_dot", "graph", "gradcheck", "GradcheckError", "get_backend", "set_backend", "get_num_threads",
    "set_num_threads", "get_blas_threads", "set_blas_threads", "manual_seed", "nn", "optim", "data",
    "models", "performance",
]

_LAZY_SUBMODULES = ("models", "train", "viz", "show", "interop", "check", "cli")


def __getattr__(name):
    """Import a submodule the first time it is used as an attribute (`mm.models`)."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
