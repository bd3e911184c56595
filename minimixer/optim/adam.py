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

    def step(self) -> None:
        """Update every parameter that has a gradient, in place, then mark it dirty.

        A small model has dozens of small parameters (biases, norm weights), and calling
        the update kernel once per parameter would cost more in call overhead than the
        update itself. So parameters below `BATCH_LIMIT` elements that share a dtype and
        a step count are copied into one flat array, updated by one kernel call and
        copied back; larger ones are updated where they are.
        """
        for group in self.param_groups:
            batches = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                self._count_step(p, state)
                if p.data.size >= self.BATCH_LIMIT:
                    self._update_arrays(group, state["step"], p.data, p.grad, state["exp_avg"],
                                        state["exp_avg_sq"])
                else:
                    batches.setdefault((p.data.dtype, state["step"]), []).append((p, state))
            for (dtype, step), members in batches.items():
                self._update_together(group, step, dtype, members)
            for p in group["params"]:
                if p.grad is not None:
                    p.mark_dirty()

    BATCH_LIMIT = 1 << 16

    def update(self, param, state: dict, group: dict) -> None:
        """One parameter's update on its own (what `step` does for large parameters)."""
        self._count_step(param, state)
        self._update_arrays(group, state["step"], param.data, param.grad, state["exp_avg"],
                            state["exp_avg_sq"])

    @staticmethod
    def _count_step(param, state: dict) -> None:
        """Create the moment buffers on the first update; count the update."""
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(param.data.shape, param.data.dtype)
            state["exp_avg_sq"] = np.zeros(param.data.shape, param.data.dtype)
        state["step"] += 1

    def _update_together(self, group: dict, step: int, dtype, members: list) -> None:
        """Update several parameters with one kernel call on flat copies of their arrays."""
        def flat(arrays):
            return np.concatenate([np.asarray(a, dtype).reshape(-1) for a in arrays])

        params = [p.data for p, _ in members]
        exp_avgs = [state["exp_avg"] for _, state in members]
        exp_avg_sqs = [state["exp_avg_sq"] for _, state in members]
        flat_arrays = [flat(params), flat([p.grad for p, _ in members]), flat(exp_avgs), flat(exp_avg_sqs)]
        self._update_arrays(group, step, *flat_arrays)
        for targets, source in zip((params, exp_avgs, exp_avg_sqs), flat_arrays[:1] + flat_arrays[2:]):
            offset = 0
            for target in targets:
                target[...] = source[offset:offset + target.size].reshape(target.shape)
                offset += target.size

    def _update_arrays(self, group: dict, step: int, data, grad, exp_avg, exp_avg_sq) -> None:
        """The update rule of the class docstring, in place on data and the two moments."""
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not self.decoupled_weight_decay:
            if weight_decay != 0:
                grad = grad + weight_decay * data
            weight_decay = 0.0
        kernels.current().adamw_update(data, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps,
                                       weight_decay, step)


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
