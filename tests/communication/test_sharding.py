"""Dataset sharding for data-parallel training: DistributedSampler as MindSpore's (equal shards that
wrap around by default, exact uneven shards with an offset), and num_shards / shard_id on
GeneratorDataset, NumpySlicesDataset and ArrayLoader: the shards of an epoch cover the data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from gpucell.dataset import ArrayLoader, DistributedSampler, GeneratorDataset, NumpySlicesDataset


def _reference(num_rows: int, num_shards: int, shard_id: int, offset: int, order: np.ndarray) -> list[int]:
    """MindSpore's DistributedSamplerRT, written out as a loop over its counter."""
    if offset == -1:
        count, offset = -(-num_rows // num_shards), 0
    else:
        count = (num_rows + offset) // num_shards
        count += shard_id < (num_rows + offset) % num_shards
        count -= shard_id < offset
    out, cnt = [], 0
    while len(out) < count:
        position = num_shards * cnt + shard_id - offset
        cnt += 1
        if position >= 0:
            out.append(int(order[position % num_rows]))
    return out


@pytest.mark.parametrize("num_rows", [1, 5, 8, 11])
@pytest.mark.parametrize("num_shards", [1, 2, 3, 4])
@pytest.mark.parametrize("offset", [-1, 0, 1, 2])
def test_shards_follow_mindspores_sampler(num_rows, num_shards, offset):
    if offset > num_shards:
        pytest.skip("offset beyond num_shards")
    shards = []
    for shard_id in range(num_shards):
        sampler = DistributedSampler(num_shards, shard_id, shuffle=True, offset=offset, seed=11)
        got = sampler.indices(num_rows, epoch=3)
        order = np.random.default_rng([11, 3]).permutation(num_rows)  # the epoch's order, shared by all
        assert got.tolist() == _reference(num_rows, num_shards, shard_id, offset, order)
        assert sampler.get_num_samples(num_rows) == len(got)
        shards.append(got.tolist())
    seen = Counter(i for shard in shards for i in shard)
    assert set(seen) == set(range(num_rows))  # every row, every epoch
    if offset == -1:
        assert len({len(s) for s in shards}) == 1  # equal shards: the ranks step in lockstep
        assert sum(seen.values()) - num_rows == num_shards * -(-num_rows // num_shards) - num_rows
    else:
        assert all(c == 1 for c in seen.values())  # exactly once


def test_a_new_order_each_epoch_and_num_samples():
    sampler = DistributedSampler(2, 0, seed=1)
    assert sampler.indices(10, 0).tolist() != sampler.indices(10, 1).tolist()
    assert DistributedSampler(2, 0, shuffle=False, num_samples=2).indices(10).tolist() == [0, 2]
    assert DistributedSampler(2, 1, num_samples=2).get_num_samples(10) == 2


@pytest.mark.parametrize("args, error, match", [
    ((2, 2), ValueError, r"'shard_id' must be in \[0, 1\]"),
    ((0, 0), ValueError, r"'num_shards' must be in \[1, "),
    (("2", 0), TypeError, "'num_shards' must be an int"),
    ((2, None), ValueError, "'num_shards' is given but 'shard_id' is None"),
    ((2, 0, "yes"), TypeError, "'shuffle' must be a bool"),
    ((2, 0, True, 0), ValueError, r"'num_samples' must be in \[1, "),
    ((2, 0, True, None, 3), ValueError, r"'offset' must be in \[-1, num_shards=2\]"),
])
def test_bad_arguments_name_the_sampler(args, error, match):
    with pytest.raises(error, match=match) as info:
        DistributedSampler(*args)
    assert "For 'DistributedSampler'" in str(info.value)


def _rows(dataset) -> list[int]:
    return [int(row[0]) for row in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]


def test_generator_dataset_shards_cover_the_source():
    source = list(range(7))
    shards = [GeneratorDataset(source, ["x"], num_shards=3, shard_id=d, seed=4) for d in range(3)]
    rows = [_rows(ds) for ds in shards]
    assert [ds.get_dataset_size() for ds in shards] == [3, 3, 3]
    assert set(sum(rows, [])) == set(range(7)) and len(sum(rows, [])) == 9
    by_sampler = GeneratorDataset(source, ["x"], sampler=DistributedSampler(3, 1, seed=4))
    assert _rows(by_sampler) == rows[1]
    unshuffled = [_rows(GeneratorDataset(source, ["x"], num_shards=2, shard_id=d, shuffle=False)) for d in (0, 1)]
    assert unshuffled == [[0, 2, 4, 6], [1, 3, 5, 0]]
    with pytest.raises(ValueError, match="'sampler' and 'shuffle' cannot both be given"):
        GeneratorDataset(source, ["x"], sampler=DistributedSampler(2, 0), shuffle=True)
    with pytest.raises(ValueError, match="sharding needs a random-accessible 'source'"):
        GeneratorDataset(lambda: iter(source), ["x"], num_shards=2, shard_id=0)


def test_numpy_slices_and_array_loader_shards_cover_the_data():
    x = np.arange(10)
    slices = [NumpySlicesDataset(x, num_shards=4, shard_id=d, seed=2) for d in range(4)]
    rows = [sorted(int(b[0].asnumpy()) for b in ds) for ds in slices]
    assert [len(r) for r in rows] == [3, 3, 3, 3] and set(sum(rows, [])) == set(range(10))
    loaders = [ArrayLoader((x,), batch_size=2, shuffle=True, seed=2, num_shards=2, shard_id=d) for d in (0, 1)]
    assert [len(loader) for loader in loaders] == [3, 3]
    epoch = [np.concatenate([b.asnumpy() for (b,) in loader]) for loader in loaders]
    assert sorted(np.concatenate(epoch).tolist()) == list(range(10))  # 10 rows, 2 shards: exactly once
    again = [np.concatenate([b.asnumpy() for (b,) in loader]) for loader in loaders]
    assert not all(np.array_equal(a, b) for a, b in zip(epoch, again))  # a new split next epoch
    sampled = NumpySlicesDataset(x, sampler=DistributedSampler(3, 2, shuffle=False, offset=0))
    assert [int(b[0].asnumpy()) for b in sampled] == [2, 5, 8]
