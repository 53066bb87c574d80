"""``AllReduce`` as an op: the gradients of every rank summed (or averaged), in size-capped buckets.

An op, so a jitted training step records it like any other: on the CPU its plan replays the MPI
all-reduce each call; on the GPU under NCCL it is captured into the step's CUDA graph (queued on
the current stream, as NCCL allows), and under MPI on the GPU (host staging, which synchronizes)
it is not capturable and runs between the captured segments. Its backward is the same all-reduce:
each rank's output is the sum of every rank's input, so each input's gradient is the sum of every
rank's output gradient.
"""

from __future__ import annotations

from gpucell.communication import buckets, collectives
from gpucell.ops._dispatch import Op, apply

__all__ = ["ALL_REDUCE", "all_reduce_tensors"]


def _forward(*arrays, mean: bool, degree: int, cap_bytes: int, nccl: bool):
    reduced = buckets.all_reduce_arrays(arrays, "sum", cap_bytes)
    if mean:
        reduced = [r / r.dtype.type(degree) for r in reduced]
    return tuple(reduced)


def _backward(ctx, *grads):
    return apply(ALL_REDUCE, *grads, **ctx.attrs)


def _capturable(attrs: dict) -> bool:
    return attrs["nccl"]


ALL_REDUCE = Op("AllReduce", _forward, backward=_backward, multi_output=True, saves="none", capturable=_capturable)


def all_reduce_tensors(tensors, mean: bool, degree: int, cap_bytes: int) -> tuple:
    """``tensors`` summed over the ranks (divided by ``degree`` when ``mean``), as new Tensors."""
    tensors = tuple(tensors)
    if not tensors:
        return ()
    nccl = collectives.uses_nccl(tensors[0]._data)
    outputs = apply(ALL_REDUCE, *tensors, mean=mean, degree=degree, cap_bytes=cap_bytes, nccl=nccl)
    return outputs
