"""Comparisons (eq ne lt le gt ge, i.e. == != < <= > >=) and argmax.

These have no gradient (a comparison is a step: its derivative is 0 wherever it
exists), so they are plain functions, not Functions, and they return plain NumPy
arrays: bool for comparisons, int64 indices for argmax. A Tensor only holds float32
or float64, and bools and indices are more useful as their real types:

* a bool mask indexes and counts: ``x.data[x > 0]``, ``(pred == y).sum()``, and
  ``(logits.argmax(axis=1) == labels).mean()`` is the accuracy;
* int64 indices index other arrays: ``class_names[logits.argmax(axis=1)]``;
* both still mix with Tensors as constants: ``x * (x > 0)`` keeps the positive part
  (and its gradient), ``ops.cross_entropy(logits, teacher.argmax(axis=1))`` works.

Operands broadcast as in arithmetic; each may be a Tensor, an array or a number.

Because ``==`` on a Tensor compares values (as in NumPy and PyTorch), so does
``t in some_list``: it raises for tensors of more than one element ("truth value is
ambiguous"). Test identity with ``any(t is u for u in some_list)``. Dicts and sets of
tensors are unaffected: a Tensor hashes and matches by identity there.
"""

import numpy as np

from ..autograd import Tensor
from .axes import normalise_axis
from .elementwise import _check_broadcast


def _values(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _compare(op: str, ufunc, a, b) -> np.ndarray:
    a, b = _values(a), _values(b)
    _check_broadcast(op, a, b)
    return np.asarray(ufunc(a, b))


def eq(a, b) -> np.ndarray:
    """a == b element-wise, as a bool array."""
    return _compare("eq", np.equal, a, b)


def ne(a, b) -> np.ndarray:
    """a != b element-wise, as a bool array."""
    return _compare("ne", np.not_equal, a, b)


def lt(a, b) -> np.ndarray:
    """a < b element-wise, as a bool array."""
    return _compare("lt", np.less, a, b)


def le(a, b) -> np.ndarray:
    """a <= b element-wise, as a bool array."""
    return _compare("le", np.less_equal, a, b)


def gt(a, b) -> np.ndarray:
    """a > b element-wise, as a bool array."""
    return _compare("gt", np.greater, a, b)


def ge(a, b) -> np.ndarray:
    """a >= b element-wise, as a bool array."""
    return _compare("ge", np.greater_equal, a, b)


def argmax(x, axis=None, keepdims=False) -> np.ndarray:
    """Index of the largest entry (the first one on ties), as an int64 array.

    axis=None indexes the flattened tensor (a 0-d array). With an axis, the indices run
    along it and the axis is removed, or kept with length 1 if keepdims.
    """
    x = _values(x)
    if axis is not None:
        axis = normalise_axis("argmax", axis, x.ndim) if x.ndim else None
    if x.size == 0 and (axis is None or x.shape[axis] == 0):
        raise ValueError(f"argmax: cannot take the argmax of an empty axis of shape {x.shape}")
    return np.asarray(np.argmax(x, axis=axis, keepdims=keepdims), dtype=np.int64)


def operator(fn):
    """`fn` as a Tensor operator method (``Tensor.__eq__`` and friends).

    An operand that is not numeric (None, a string, any other object) gives
    NotImplemented, so Python falls back to its default: ``t == None`` is False and
    ``t < None`` a TypeError, as for any object.
    """

    def method(self, other):
        if not (isinstance(other, Tensor) or np.asarray(other).dtype.kind in "biuf"):
            return NotImplemented
        return fn(self, other)

    method.__name__ = f"__{fn.__name__}__"
    method.__doc__ = fn.__doc__
    return method
