"""MNIST-shaped data without a download: the 8x8 digits gpucell ships, drawn as 28x28 images.

Each sample is what ``MnistDataset`` yields: ``image`` uint8 (28, 28, 1) HWC in [0, 255] and
``label`` a uint32 scalar. The 8x8 digit is upscaled 3x (24x24) and padded by 2 pixels, so the
tutorials' ``nn.Dense(28*28, 512)`` networks and transforms run unchanged and can learn.
"""

import numpy as np

from gpucell.dataset import load_digits_split


class MnistLike:
    """Random-accessible source for ``GeneratorDataset(source, column_names=["image", "label"])``."""

    def __init__(self, split="train", num_samples=None):
        """``split``: 'train' (1438 samples) or 'test' (359), or a tutorial's path such as
        'MNIST_Data/test' (its last part names the split)."""
        (x_train, y_train), (x_test, y_test) = load_digits_split(as_image=True)
        test = split.rstrip("/").split("/")[-1] == "test"
        images, labels = (x_test, y_test) if test else (x_train, y_train)
        if num_samples is not None:
            images, labels = images[:num_samples], labels[:num_samples]
        big = np.kron(images[:, 0], np.ones((3, 3), np.float32))           # (N, 24, 24)
        big = np.pad(big, ((0, 0), (2, 2), (2, 2)))                          # (N, 28, 28)
        self._images = np.round(big * 255.0).astype(np.uint8)[..., None]     # (N, 28, 28, 1)
        self._labels = labels.astype(np.uint32)

    def __getitem__(self, index):
        return self._images[index], self._labels[index]

    def __len__(self):
        return len(self._labels)
