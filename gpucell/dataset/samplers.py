"""DistributedSampler: each rank's share of a dataset, as MindSpore's ``mindspore.dataset.DistributedSampler``.

Shard ``d`` of ``n`` takes rows ``d, d + n, d + 2n, ...`` of the epoch's order (the same permutation
on every rank: drawn from the shared seed and the epoch). With the default ``offset=-1`` every shard
gets ``ceil(rows / n)`` rows, the last ones wrapping around to the start of the order, so all ranks
run the same number of steps (a rank with fewer would leave the others waiting in an all-reduce):
every row is seen once per epoch, and ``n * ceil(rows / n) - rows`` of them a second time. With
``offset >= 0`` the shards are uneven instead and cover the rows exactly once: row ``k`` goes to
shard ``(k + offset) % n``.

>>> from gpucell.dataset import DistributedSampler
>>> [DistributedSampler(2, d, shuffle=False).indices(5).tolist() for d in (0, 1)]
[[0, 2, 4], [1, 3, 0]]
>>> [DistributedSampler(2, d, shuffle=False, offset=0).indices(5).tolist() for d in (0, 1)]
[[0, 2, 4], [1, 3]]
"""

from __future__ import annotations

import numpy as np

from gpucell.dataset.pipeline import check_bool, check_int
from gpucell.random import get_seed

__all__ = ["DistributedSampler", "check_shards"]

_WHERE = "DistributedSampler"


def check_shards(where: str, num_shards, shard_id) -> tuple[int, int] | None:
    """``(num_shards, shard_id)`` checked as MindSpore checks them, or None when neither is given."""
    if num_shards is None and shard_id is None:
        return None
    if num_shards is None or shard_id is None:
        given, missing = ("num_shards", "shard_id") if shard_id is None else ("shard_id", "num_shards")
        raise ValueError(f"For '{where}', '{given}' is given but '{missing}' is None: give both or neither.")
    num_shards = check_int(where, "num_shards", num_shards, 1)
    shard_id = check_int(where, "shard_id", shard_id, 0)
    if shard_id >= num_shards:
        raise ValueError(f"For '{where}', 'shard_id' must be in [0, {num_shards - 1}] (num_shards={num_shards}), "
                         f"but got {shard_id}.")
    return num_shards, shard_id


class DistributedSampler:
    """``DistributedSampler(num_shards, shard_id, shuffle=True, num_samples=None, offset=-1)``.

    ``shuffle``: a new permutation each epoch, the same on every shard (drawn from ``seed``, by
    default ``gpucell.get_seed()`` when the sampler is made, and the epoch). ``num_samples``: at
    most that many rows per shard. ``offset``: -1 for even shards padded by wrapping around; a
    value >= 0 for uneven shards starting at shard ``offset`` (see the module docstring).
    """

    def __init__(self, num_shards, shard_id, shuffle: bool = True, num_samples=None, offset: int = -1, *,
                 seed: int | None = None):
        self.num_shards, self.shard_id = check_shards(_WHERE, num_shards, shard_id)
        self.shuffle = check_bool(_WHERE, "shuffle", shuffle)
        self.num_samples = None if num_samples is None else check_int(_WHERE, "num_samples", num_samples, 1)
        self.offset = check_int(_WHERE, "offset", offset, -1)
        if self.offset > self.num_shards:
            raise ValueError(f"For '{_WHERE}', 'offset' must be in [-1, num_shards={self.num_shards}], but got "
                             f"{self.offset}.")
        self.seed = get_seed() if seed is None else check_int(_WHERE, "seed", seed, 0, 2 ** 64 - 1)

    def _positions(self, num_rows: int) -> np.ndarray:
        """Positions in the epoch's order that this shard reads (MindSpore's DistributedSamplerRT)."""
        n, d = self.num_shards, self.shard_id
        if self.offset == -1:
            count = -(-num_rows // n)
            return (np.arange(count) * n + d) % num_rows
        offset = self.offset
        count = (num_rows + offset) // n + (d < (num_rows + offset) % n) - (d < offset)
        start = 1 if d < offset else 0  # position n * k + d - offset < 0 is skipped
        return np.arange(start, start + count) * n + d - offset

    def get_num_samples(self, num_rows: int) -> int:
        """Rows per epoch of this shard of a dataset of ``num_rows`` rows."""
        count = len(self._positions(num_rows)) if num_rows else 0
        return count if self.num_samples is None else min(count, self.num_samples)

    def indices(self, num_rows: int, epoch: int = 0) -> np.ndarray:
        """The row indices this shard reads in ``epoch``, in order."""
        if num_rows < 1:
            raise ValueError(f"For '{_WHERE}', the dataset must hold at least one row, but it holds {num_rows}.")
        order = (np.random.default_rng([self.seed, epoch]).permutation(num_rows) if self.shuffle
                 else np.arange(num_rows))
        picked = order[self._positions(num_rows)]
        return picked if self.num_samples is None else picked[:self.num_samples]

    def __repr__(self) -> str:
        return (f"DistributedSampler(num_shards={self.num_shards}, shard_id={self.shard_id}, shuffle={self.shuffle}, "
                f"num_samples={self.num_samples}, offset={self.offset})")
