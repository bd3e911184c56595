"""exp and the normal CDF in float32 without library calls, so GELU loops vectorise.

``math.exp`` and ``math.erf`` inside a Numba loop are calls into the C library, one
element at a time, and a call stops LLVM from turning the loop into SIMD code. The
GELU kernels therefore use the two functions below for float32, written with only
+, *, /, floor and a bit pattern. float64 (what gradient checks use) keeps
``math.erf`` and ``math.exp``; `normal_cdf_and_gaussian` picks per dtype when Numba
compiles the kernel, so a float32 kernel contains no float64 work at all.

**exp(a)** = 2^n * e^r with n = round(a / ln 2) and |r| <= ln(2) / 2: e^r is a
degree-6 polynomial (error ~1e-8), and 2^n is written straight into the exponent
bits of a float32 (`two_to_the`). Arguments are clamped to [-80, 88], inside
float32's normal range.

**Phi(v)**, the standard normal CDF, from erfc(t) with t = |v| / sqrt 2:

    erfc(t) = exp(-t^2) * s * Q(s),   s = 1 / (1 + t / 2),

where Q is a degree-9 polynomial fitted (Chebyshev interpolation) to
erfcx(t) / s = erfc(t) exp(t^2) (1 + t / 2), a smooth function of s on [0, 1].
Then Phi(v) = erfc(t) / 2 for v < 0 and 1 - erfc(t) / 2 for v >= 0. Measured against
double precision, the relative error of GELU(x) = x Phi(x) is below 6e-7 for x > -2
and below 1e-6 for x > -5 (float32 rounding of v^2 sets that floor); further out GELU
is within 1e-11 of 0. The factor exp(-v^2 / 2) is the normal density's, which GELU's
backward needs too (relative error below 1e-6 for |v| < 5): one exp per element
serves both.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

# ------------------------------------------------------------------ fitted polynomials


def _monomial_coefficients(f, a, b, degree):
    """Coefficients (highest power first, for Horner) of the Chebyshev interpolant of
    the scalar function f on [a, b], as a polynomial in the original variable."""
    chebyshev = np.polynomial.chebyshev.Chebyshev.interpolate(np.vectorize(f), degree, domain=[a, b])
    return chebyshev.convert(kind=np.polynomial.Polynomial).coef[::-1].astype(np.float32)


def _scaled_erfc(t):
    """erfcx(t) = erfc(t) exp(t^2), for t >= 0, to double precision.

    Below 10 from math.erfc; above, erfc(t) underflows relative to exp(t^2), so the
    asymptotic series 1/(t sqrt pi) * (1 - 1/(2t^2) + 3/(4t^4) - ...) takes over
    (its eighth term is below 1e-12 there).
    """
    if t < 10.0:
        return math.erfc(t) * math.exp(t * t)
    total, term = 1.0, 1.0
    for k in range(1, 8):
        term *= -(2 * k - 1) / (2 * t * t)
        total += term
    return total / (t * math.sqrt(math.pi))


_ERFC_STRETCH = 0.5  # s = 1 / (1 + _ERFC_STRETCH * t)


def _erfc_factor(s):
    """Q(s) = erfcx(t) / s with t = (1/s - 1) / _ERFC_STRETCH; at s = 0 its limit."""
    if s <= 0.0:
        return _ERFC_STRETCH / math.sqrt(math.pi)
    return _scaled_erfc((1.0 / s - 1.0) / _ERFC_STRETCH) / s


ERFC_POLYNOMIAL = _monomial_coefficients(_erfc_factor, 0.0, 1.0, 9)
EXP_POLYNOMIAL = _monomial_coefficients(math.exp, -math.log(2) / 2, math.log(2) / 2, 6)
_LN2_HIGH = np.float32(0.693359375)  # ln 2 split in two (Cody and Waite): n * _LN2_HIGH
_LN2_LOW = np.float32(-2.12194440e-4)  # is exact for the n that occur, so r keeps its bits

# ------------------------------------------------------------------ 2^n from its bits


def two_to_the(n):
    """2.0 ** n as float32, for a float32 n holding a whole number in [-126, 127]."""
    return np.float32(math.ldexp(1.0, int(n)))


@intrinsic
def _float32_power_of_two(typingctx, n):
    """Compiled form of `two_to_the`: the float32 whose exponent field is n + 127.

    A float32 is sign (1 bit) | exponent + 127 (8 bits) | fraction (23 bits); with a
    zero sign and fraction it is exactly 2^n. LLVM emits an integer add, a shift and a
    reinterpretation of the bits: no call, so the loop around it still vectorises.
    """
    int32 = ir.IntType(32)

    def codegen(context, builder, signature, args):
        exponent = builder.add(builder.fptosi(args[0], int32), ir.Constant(int32, 127))
        return builder.bitcast(builder.shl(exponent, ir.Constant(int32, 23)), ir.FloatType())

    return types.float32(types.float32), codegen


@overload(two_to_the, inline="always")
def _two_to_the_compiled(n):
    if n == types.float32:
        return lambda n: _float32_power_of_two(n)
    return None


# ------------------------------------------------------------------ the two functions


@njit(inline="always")
def _horner(coefficients, x):
    """coefficients[0] x^k + ... + coefficients[k], by Horner's rule."""
    total = coefficients[0]
    for k in range(1, coefficients.shape[0]):
        total = total * x + coefficients[k]
    return total


@njit(inline="always")
def exp_float32(a):
    """exp(a) for float32 a, call-free (see the module docstring); a clamped to [-80, 88]."""
    a = min(max(a, np.float32(-80.0)), np.float32(88.0))
    n = np.floor(a * np.float32(1.0 / math.log(2)) + np.float32(0.5))
    r = (a - n * _LN2_HIGH) - n * _LN2_LOW
    return _horner(EXP_POLYNOMIAL, r) * two_to_the(n)


@njit(inline="always")
def normal_cdf_and_gaussian_float32(v):
    """(Phi(v), exp(-v^2 / 2)) for float32 v, call-free (see the module docstring)."""
    gaussian = exp_float32(np.float32(-0.5) * (v * v))  # = exp(-t^2), one rounding fewer
    t = abs(v) * np.float32(math.sqrt(0.5))
    s = np.float32(1.0) / (np.float32(1.0) + np.float32(_ERFC_STRETCH) * t)
    half_erfc = np.float32(0.5) * gaussian * s * _horner(ERFC_POLYNOMIAL, s)
    cdf = np.float32(1.0) - half_erfc if v >= np.float32(0.0) else half_erfc
    return cdf, gaussian


def normal_cdf_and_gaussian(v):
    """(Phi(v), exp(-v^2 / 2)): the normal CDF and the unscaled normal density.

    float32: the call-free version above; float64: math.erf and math.exp.
    """
    if isinstance(v, np.float32):
        return normal_cdf_and_gaussian_float32(v)
    return 0.5 * (1.0 + math.erf(v * math.sqrt(0.5))), math.exp(-0.5 * v * v)


@overload(normal_cdf_and_gaussian, inline="always")
def _normal_cdf_and_gaussian_compiled(v):
    if v == types.float32:
        return lambda v: normal_cdf_and_gaussian_float32(v)

    def exact(v):
        return 0.5 * (1.0 + math.erf(v * math.sqrt(0.5))), math.exp(-0.5 * v * v)

    return exact


def exp_in_dtype(a):
    """exp(a) in a's dtype: the call-free float32 version, or math.exp for float64."""
    if isinstance(a, np.float32):
        return exp_float32(a)
    return math.exp(min(a, 709.0))


@overload(exp_in_dtype, inline="always")
def _exp_in_dtype_compiled(a):
    if a == types.float32:
        return lambda a: exp_float32(a)
    return lambda a: math.exp(min(a, 709.0))
