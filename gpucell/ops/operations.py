"""MindSpore's ``mindspore.ops.operations`` path: the Primitive classes, constructed with their
attributes and then called.

>>> import gpucell as ms
>>> from gpucell.ops import operations as P
>>> P.ReLU()(ms.Tensor([-1.0, 2.0])).asnumpy()
array([0., 2.], dtype=float32)
"""

from gpucell.ops import primitives as _primitives

# Every Primitive class, under the names gpucell.ops.primitives exports (one list, kept there).
__all__ = list(_primitives.__all__)
globals().update({name: getattr(_primitives, name) for name in __all__})
