"""Adam and AdamW: per-parameter step sizes from running gradient moments."""

import math

import numpy as np

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
    Everything is computed in the parameter's dtype, with one temporary array.
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
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                data *= 1.0 - lr * weight_decay
            else:
                grad = grad + weight_decay * data
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * np.square(grad)

        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
        update = np.sqrt(exp_avg_sq)          # becomes the denominator, then the update
        update /= bias_correction2_sqrt
        update += eps
        np.divide(exp_avg, update, out=update)
        update *= step_size
        data -= update


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
