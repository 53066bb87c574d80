"""gpucell.dataset: in-memory data loading for training loops, and the bundled digits dataset.

MindSpore users know ``mindspore.dataset``; this keeps the part a training loop touches:
``NumpySlicesDataset(...).batch(n)``, ``create_tuple_iterator`` / ``create_dict_iterator``,
``get_dataset_size``, plus ``ArrayLoader``, a plain batch iterator with seeded per-epoch shuffling.
"""

from gpucell.dataset.digits import NUM_CLASSES, load_digits, load_digits_split
from gpucell.dataset.loader import ArrayLoader, NumpySlicesDataset

__all__ = ["NUM_CLASSES", "ArrayLoader", "NumpySlicesDataset", "load_digits", "load_digits_split"]
