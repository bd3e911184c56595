"""Differentiable operations, one family per file, each a `Function`.

This module also gives `Tensor` its operators (`+`, `*`, `@`, indexing, ...) and
methods (`.sum()`, `.reshape()`, `.relu()`, ...), all of which call the functions here.

Families:
    elementwise  add sub mul div neg pow exp log sqrt tanh relu sigmoid leaky_relu
                 abs maximum minimum clip (alias clamp)
    reduce       sum mean max
    shape        reshape flatten squeeze unsqueeze permute transpose getitem
                 concatenate stack
    linalg       matmul linear
    softmax      softmax log_softmax logsumexp
    activation   gelu linear_gelu                      (kernels: reference / fast)
    loss         cross_entropy (fused softmax + NLL)   (kernels)
                 mse_loss
    dropout      dropout                               (masks from minimixer.random)
    compare      eq ne lt le gt ge argmax              (no gradient: NumPy bool/int64 arrays)
    conv         patchify unpatchify depthwise_conv2d      (kernels)
                 patch_embed pointwise_conv2d          (linalg.linear)
                 convmixer_block_inference             (kernels; evaluation only, no graph)
    conv2d       conv2d: stride, padding, groups       (kernels: im2col / col2im)
    norm         layer_norm batch_norm gelu_batch_norm (kernels)
    pool         global_avg_pool max_pool2d avg_pool2d (kernels: the 2d pools)

In every file each `Function` class comes first and the function that calls it
right after. The ops marked (kernels) subclass `KernelFunction`, whose `ctx.kernels`
is the backend that ran the forward pass.
"""

from ..autograd import Tensor
from .elementwise import add, sub, mul, div, neg, pow, exp, log, sqrt, tanh, relu
from .elementwise import sigmoid, leaky_relu, abs, maximum, minimum, clip, clamp
from .reduce import sum, mean, max
from .shape import (reshape, flatten, squeeze, unsqueeze, permute, transpose, getitem,
                    concatenate, stack)
from .linalg import matmul, linear
from .softmax import softmax, log_softmax, logsumexp
from .activation import gelu, linear_gelu
from .loss import cross_entropy, mse_loss
from .dropout import dropout
from .compare import eq, ne, lt, le, gt, ge, argmax
from .compare import operator as _operator
from .conv import (patchify, unpatchify, patch_embed, depthwise_conv2d, pointwise_conv2d,
                   convmixer_block_inference)
from .norm import layer_norm, batch_norm, gelu_batch_norm
from .pool import global_avg_pool, max_pool2d, avg_pool2d
from .conv2d import conv2d


def _swap(fn):
    """Operator with the operands reversed (for `2 - x`, `2 / x`, ...)."""
    return lambda self, other: fn(other, self)


def _bind_tensor_methods():
    T = Tensor
    T.__add__, T.__radd__ = add, _swap(add)
    T.__sub__, T.__rsub__ = sub, _swap(sub)
    T.__mul__, T.__rmul__ = mul, _swap(mul)
    T.__truediv__, T.__rtruediv__ = div, _swap(div)
    T.__pow__, T.__rpow__ = pow, _swap(pow)
    T.__matmul__, T.__rmatmul__ = matmul, _swap(matmul)
    T.__neg__ = neg
    T.__getitem__ = getitem
    T.__abs__ = abs
    # Comparisons return NumPy bool arrays (see compare.py); hashing stays by identity.
    T.__eq__, T.__ne__ = _operator(eq), _operator(ne)
    T.__lt__, T.__le__ = _operator(lt), _operator(le)
    T.__gt__, T.__ge__ = _operator(gt), _operator(ge)
    for fn in (sigmoid, abs, maximum, minimum, clip, logsumexp, argmax, eq, ne, lt, le, gt, ge):
        setattr(T, fn.__name__, fn)
    T.clamp = clamp
    for fn in (exp, log, sqrt, tanh, relu, sum, mean, max, reshape, flatten, squeeze,
               unsqueeze, permute, transpose,
               softmax, log_softmax, gelu):
        setattr(T, fn.__name__, fn)
    T.T = property(lambda self: transpose(self))


_bind_tensor_methods()
