"""Adam and AdamW: per-parameter step sizes from running gradient moments.

The update itself is the `adamw_update` kernel of the active backend
(``minimixer.kernels``): NumPy in ``reference.py``, one fused pass in ``fast.py``.
"""

import numpy as np

from .. import kernels
from ..errors import InputError, require_real
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam as in `torch.optim.Adam` (weight decay is an L2 term added to the gradient).

    For each parameter p with gradient g, at step t = 1, 2, ...:

        g = g + weight_decay * p                    (Adam only; AdamW decays p directly)
        m = beta1 * m + (1 - beta1) * g             (running mean of gradients)
        v = beta2 * v + (1 - beta2) * g * g         (running mean of squared gradients)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The two `1 - beta**t` factors undo the bias of m and v towards their zero start.
    Everything is computed in the parameter's dtype, by the `adamw_update` kernel
    (with no decoupled decay for Adam: its L2 term is already in the gradient).
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict) -> None:
        super().check_hyperparameters(group)
        name = type(self).__name__
        betas = group["betas"]
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise InputError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")
        group["betas"] = tuple(require_real(name, f"betas[{i}]", beta, minimum=0.0, maximum=1.0,
                                            include_maximum=False) for i, beta in enumerate(betas))
        group["eps"] = require_real(name, "eps", group["eps"], minimum=0.0)

    def update(self, param, state: dict, group: dict) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        data, grad = param.data, param.grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(data.shape, data.dtype)
            state["exp_avg_sq"] = np.zeros(data.shape, data.dtype)
        if not self.decoupled_weight_decay:
            if weight_decay != 0:
                grad = grad + weight_decay * data
            weight_decay = 0.0
        state["step"] += 1
        kernels.current().adamw_update(data, grad, state["exp_avg"], state["exp_avg_sq"], lr,
                                       beta1, beta2, eps, weight_decay, state["step"])


class AdamW(Adam):
    """AdamW as in `torch.optim.AdamW`: Adam with *decoupled* weight decay.

    Instead of adding weight_decay * p to the gradient (where Adam's scaling would
    shrink it for parameters with large gradients), each step first shrinks the
    parameter directly: p = p * (1 - lr * weight_decay). Then the plain Adam step.
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
