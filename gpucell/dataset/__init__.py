"""gpucell.dataset: in-memory data loading for training loops, and the bundled digits dataset.

MindSpore users know ``mindspore.dataset``; this keeps the part a training loop touches:
``NumpySlicesDataset(...)`` and ``GeneratorDataset(source, column_names)``, chained with ``map``,
``shuffle``, ``batch`` and ``repeat``; ``create_tuple_iterator`` / ``create_dict_iterator``,
``get_dataset_size``; ``num_shards`` / ``shard_id`` and ``DistributedSampler`` for data-parallel
training; plus ``ArrayLoader``, a plain batch iterator with seeded per-epoch shuffling.
"""

from gpucell.dataset.digits import NUM_CLASSES, load_digits, load_digits_split
from gpucell.dataset.generator import GeneratorDataset
from gpucell.dataset.loader import ArrayLoader, NumpySlicesDataset
from gpucell.dataset.pipeline import Dataset
from gpucell.dataset.samplers import DistributedSampler

__all__ = ["NUM_CLASSES", "ArrayLoader", "Dataset", "DistributedSampler", "GeneratorDataset", "NumpySlicesDataset",
           "load_digits", "load_digits_split"]
