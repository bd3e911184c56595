"""The same expressions in PyTorch give the same values and gradients."""

import numpy as np
import pytest

import minimixer as mm
from minimixer import ops

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)


def pair(*shape, low=-1.0, high=1.0):
    v = rng.uniform(low, high, size=shape)
    return (mm.tensor(v, requires_grad=True, dtype=np.float64),
            torch.tensor(v, requires_grad=True, dtype=torch.float64))


EXPRESSIONS = [
    ("polynomial", lambda m, a, b: ((a * b + a**2) / (b * b + 1.0) - a).sum(), ((3, 4), (3, 4))),
    ("broadcast_matmul", lambda m, a, b: m.tanh(a @ b).mean(), ((2, 3, 4), (4, 5))),
    ("softmax_max", lambda m, a, b: (m.softmax(a, -1) * b).sum() + a.max(), ((3, 6), (3, 6))),
    ("exp_log_sqrt", lambda m, a, b: (m.log(m.exp(a) + 1) * m.sqrt(b * b + 1)).sum(), ((5,), (5,))),
    ("reshape_transpose", lambda m, a, b: ((a.reshape(4, 3) @ b.transpose(0, 1)) ** 2).sum(), ((3, 4), (2, 3))),
]


class _MM:
    tanh, softmax, log, exp, sqrt = ops.tanh, ops.softmax, ops.log, ops.exp, ops.sqrt


class _Torch:
    tanh, exp, log, sqrt = torch.tanh, torch.exp, torch.log, torch.sqrt

    @staticmethod
    def softmax(x, axis):
        return torch.softmax(x, axis)


@pytest.mark.parametrize("name, expr, shapes", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expression_matches_torch(name, expr, shapes):
    (ma, ta), (mb, tb) = pair(*shapes[0]), pair(*shapes[1])
    mine, theirs = expr(_MM, ma, mb), expr(_Torch, ta, tb)
    mine.backward()
    theirs.backward()
    np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ma.grad, ta.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mb.grad, tb.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cross_entropy_matches_torch():
    (ml, tl) = pair(6, 5)
    labels = rng.integers(0, 5, size=6)
    mine = ops.cross_entropy(ml, labels, label_smoothing=0.1)
    theirs = torch.nn.functional.cross_entropy(tl, torch.tensor(labels), label_smoothing=0.1)
    mine.backward()
    theirs.backward()
    np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ml.grad, tl.grad.numpy(), rtol=1e-8, atol=1e-12)
