"""DistributedGradReducer: the gradients of data-parallel training, summed or averaged over the ranks.

>>> import gpucell as ms
>>> from gpucell import nn
>>> from gpucell.communication import init
>>> init()  # a world of one without mpiexec
>>> net = nn.Dense(2, 1)
>>> reducer = nn.DistributedGradReducer(net.trainable_params(), mean=True)
>>> grads = reducer(tuple(ms.ops.ones_like(p) for p in net.trainable_params()))
>>> [g.shape for g in grads]
[(1, 2), (1,)]
"""

from __future__ import annotations

from gpucell.communication import auto_parallel, management
from gpucell.communication.all_reduce_op import all_reduce_tensors
from gpucell.nn.cell import Cell

__all__ = ["DistributedGradReducer"]


class DistributedGradReducer(Cell):
    """All-reduces a tuple of gradients (one per entry of ``parameters``) in size-capped flat buckets:
    MPI on the CPU, NCCL on the GPU (on the current stream; captured when the step is jitted).

    ``mean``: divide the sum by ``degree`` (None: the auto-parallel context's ``gradients_mean``).
    ``degree``: the divisor (None: the world's size). ``bucket_cap_mb``: the most megabytes one
    all-reduce carries (gpucell's knob; MindSpore fuses by ``fusion_type``).
    """

    def __init__(self, parameters, mean: bool | None = None, degree: int | None = None, fusion_type: int = 1,
                 group: str | None = None, bucket_cap_mb: float = 25.0):
        super().__init__(auto_prefix=False)
        self._parameters = tuple(parameters)
        if mean is None:
            mean = auto_parallel.get_auto_parallel_context("gradients_mean")
        if not isinstance(mean, bool):
            raise TypeError(f"For 'DistributedGradReducer', the 'mean' must be a bool or None, but got {mean!r}.")
        if degree is None:
            degree = management.get_group_size(group)
        if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
            raise ValueError(f"For 'DistributedGradReducer', the 'degree' must be an int >= 1, but got {degree!r}.")
        if not bucket_cap_mb > 0:
            raise ValueError(f"For 'DistributedGradReducer', the 'bucket_cap_mb' must be > 0, but got "
                             f"{bucket_cap_mb!r}.")
        management.get_rank(group)  # checks init() was called and the group exists
        self.mean = mean
        self.degree = degree
        self.fusion_type = fusion_type
        self.group = group
        self.cap_bytes = int(bucket_cap_mb * 2**20)

    def construct(self, grads):
        grads = tuple(grads)
        if len(grads) != len(self._parameters):
            raise ValueError(f"For 'DistributedGradReducer', expected {len(self._parameters)} gradients (one per "
                             f"parameter), but got {len(grads)}.")
        # One op for all the buckets: a jitted step records it (captured on the GPU under NCCL).
        return all_reduce_tensors(grads, self.mean, self.degree, self.cap_bytes)
