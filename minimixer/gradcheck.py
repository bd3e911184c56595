"""Check analytic gradients against finite differences, in float64.

`gradcheck(fn, *inputs)` builds a scalar loss ``L = sum(fn(*inputs) * G)`` with a fixed
random upstream gradient G (so every output entry matters, with a different weight),
then compares each input's analytic gradient dL/dx from `backward()` with the central
difference ``(L(x + h e_i) - L(x - h e_i)) / 2h``, entry by entry.

For large inputs, `random_projections=k` instead compares k directional derivatives:
``<dL/dx, v> ≈ (L(x + h v) - L(x - h v)) / 2h`` for random unit directions v, which
costs 2k forward passes however big x is.
"""

from __future__ import annotations

import numpy as np

from .autograd import Tensor, no_grad


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; the message shows where."""


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              seed: int = 0, random_projections: int | None = None) -> bool:
    """Return True if `fn`'s gradients match finite differences, else raise GradcheckError.

    `inputs` are Tensors (or arrays); every one with `requires_grad=True` is checked.
    They are converted to float64 copies first, so the check is not limited by float32.
    """
    inputs = [_float64_copy(x) for x in inputs]
    checked = [x for x in inputs if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    rng = np.random.default_rng(seed)
    upstream = rng.standard_normal(np.shape(fn(*inputs).data))

    def loss() -> float:
        with no_grad():
            return float(np.sum(fn(*inputs).data * upstream))

    out = fn(*inputs)
    for x in checked:
        x.grad = None
    out.backward(upstream)
    for position, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        if random_projections:
            _check_projections(loss, x, analytic, position, eps, atol, rtol, rng, random_projections)
        else:
            numeric = _numeric_gradient(loss, x, eps)
            _compare(analytic, numeric, position, atol, rtol)
    return True


def _float64_copy(x) -> Tensor:
    if isinstance(x, Tensor):
        return Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad, dtype=np.float64)
    return Tensor(np.asarray(x, dtype=np.float64), dtype=np.float64)


def _numeric_gradient(loss, x: Tensor, eps: float) -> np.ndarray:
    grad = np.zeros_like(x.data)
    flat, grad_flat = x.data.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = loss()
        flat[i] = original - eps
        minus = loss()
        flat[i] = original
        grad_flat[i] = (plus - minus) / (2 * eps)
    return grad


def _compare(analytic, numeric, position, atol, rtol):
    bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
    if not bad.any():
        return
    rows = [f"  index {tuple(int(i) for i in idx)}: analytic {analytic[tuple(idx)]:+.6e}  "
            f"numeric {numeric[tuple(idx)]:+.6e}" for idx in np.argwhere(bad)[:10]]
    worst = np.max(np.abs(analytic - numeric))
    raise GradcheckError(
        f"gradcheck: input {position} (shape {analytic.shape}): {int(bad.sum())} of "
        f"{bad.size} entries disagree (max abs diff {worst:.3e}, atol {atol}, rtol {rtol})\n"
        + "\n".join(rows)
    )


def _check_projections(loss, x, analytic, position, eps, atol, rtol, rng, count):
    original = x.data.copy()
    for k in range(count):
        direction = rng.standard_normal(x.shape)
        direction /= np.linalg.norm(direction)
        x.data[...] = original + eps * direction
        plus = loss()
        x.data[...] = original - eps * direction
        minus = loss()
        x.data[...] = original
        numeric = (plus - minus) / (2 * eps)
        predicted = float(np.sum(analytic * direction))
        if not np.isclose(predicted, numeric, atol=atol, rtol=rtol):
            raise GradcheckError(
                f"gradcheck: input {position} (shape {x.shape}), random direction {k}: "
                f"analytic directional derivative {predicted:+.6e} vs numeric {numeric:+.6e}"
            )
