"""real, imag and conj: the parts of a complex tensor (Complex64 / Complex128), as MindSpore's ops.

A real input is accepted as MindSpore accepts it: ``real`` and ``conj`` give its values, ``imag``
gives zeros. Gradients flow through ``real`` (and through ``conj`` / ``imag`` of a real input);
gpucell differentiates real-valued tensors only, so a backward that would have to produce a complex
gradient raises instead of returning a wrong one.

>>> import numpy as np, gpucell as ms
>>> z = ms.Tensor(np.array([1 + 2j, 3 - 4j], np.complex64))
>>> z
Tensor(shape=[2], dtype=Complex64, value= [1+2j, 3-4j])
>>> ms.ops.real(z), ms.ops.imag(z).dtype
(Tensor(shape=[2], dtype=Float32, value= [ 1.00000000e+00,  3.00000000e+00]), gpucell.float32)
>>> abs(z).asnumpy()
array([2.236068, 5.      ], dtype=float32)
"""

from __future__ import annotations

from gpucell.backend import array_module
from gpucell.ops._dispatch import Op, apply
from gpucell.ops._util import check_tensor

__all__ = ["real", "imag", "conj", "REAL", "IMAG", "CONJ"]


def _real(a):
    return array_module(a).real(a).copy()  # a copy: the output never aliases the input's buffer


def _imag(a):
    return array_module(a).imag(a).copy()


def _conj(a):
    return array_module(a).conj(a).copy() if a.dtype.kind == "c" else a.copy()


def _identity_backward(ctx, g):
    # The engine casts g back to the input's dtype: a real-valued gradient of a complex input keeps
    # its real part, which is right for real() (d Re(z) / d Re(z) = 1).
    return g


def _real_only(name: str, real_backward):
    def backward(ctx, g):
        if ctx.dtype(0).kind == "c":
            raise NotImplementedError(
                f"For '{name}', gradients through complex tensors are not supported: gpucell "
                f"differentiates real-valued tensors only (the gradient of {name} of a complex value "
                f"is complex).")
        return real_backward(ctx, g)
    return backward


REAL = Op("Real", _real, backward=_identity_backward, saves="none")
# imag of a real tensor is the constant 0: no gradient reaches its input.
IMAG = Op("Imag", _imag, backward=_real_only("Imag", lambda ctx, g: None), saves="none")
CONJ = Op("Conj", _conj, backward=_real_only("Conj", _identity_backward), saves="none")


def real(input):
    """The real part of ``input`` (Complex64 -> Float32, Complex128 -> Float64); a real input's values."""
    return apply(REAL, check_tensor("real", "input", input))


def imag(input):
    """The imaginary part of ``input`` (Complex64 -> Float32, Complex128 -> Float64); zeros for a real input."""
    return apply(IMAG, check_tensor("imag", "input", input))


def conj(input):
    """The complex conjugate of ``input``; a real input's values."""
    return apply(CONJ, check_tensor("conj", "input", input))
