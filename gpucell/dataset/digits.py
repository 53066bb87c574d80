"""The 8x8 handwritten digits, shipped inside the package: a real dataset that needs no download.

1797 grey-scale images of the digits 0-9, 8x8 pixels, each pixel an integer 0..16 (the number of
set pixels in a 4x4 block of a 32x32 bitmap). Origin: the test part of the UCI "Optical Recognition
of Handwritten Digits" dataset (E. Alpaydin and C. Kaynak, 1998; UCI Machine Learning Repository,
licensed CC BY 4.0), exported once from scikit-learn's bundled copy
(``sklearn.datasets.load_digits``; scikit-learn is BSD-3-Clause). scikit-learn is not needed at run
time. ``_data/digits.npz`` holds ``images`` (uint8, (1797, 64)), ``labels`` (uint8) and ``is_test``
(bool): a fixed, stratified test split of 20% of each class (359 images), drawn once and stored,
so every run and every NumPy version sees the same split.

>>> from gpucell.dataset import load_digits, load_digits_split
>>> images, labels = load_digits()
>>> images.shape, images.dtype, labels.dtype, float(images.max())
((1797, 64), dtype('float32'), dtype('int32'), 1.0)
>>> (x_train, y_train), (x_test, y_test) = load_digits_split(as_image=True)
>>> x_train.shape, x_test.shape
((1438, 1, 8, 8), (359, 1, 8, 8))
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["NUM_CLASSES", "load_digits", "load_digits_split"]

NUM_CLASSES = 10
_cache: dict[str, np.ndarray] = {}


def _raw() -> dict[str, np.ndarray]:
    if not _cache:
        source = resources.files("gpucell.dataset").joinpath("_data", "digits.npz")
        with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            _cache.update({key: npz[key] for key in ("images", "labels", "is_test")})
    return _cache


def _shape(images: np.ndarray, as_image: bool) -> np.ndarray:
    scaled = images.astype(np.float32) / np.float32(16.0)
    return scaled.reshape(-1, 1, 8, 8) if as_image else scaled


def load_digits(as_image: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: float32 pixels in [0, 1], shape (1797, 64) or, with ``as_image``,
    (1797, 1, 8, 8) (NCHW, for Conv2d); int32 labels 0..9. Fresh arrays on every call."""
    raw = _raw()
    return _shape(raw["images"], as_image), raw["labels"].astype(np.int32)


def load_digits_split(as_image: bool = False) -> tuple[tuple[np.ndarray, np.ndarray],
                                                        tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: the fixed stratified split (1438 / 359)."""
    images, labels = load_digits(as_image)
    test = _raw()["is_test"]
    return (images[~test], labels[~test]), (images[test], labels[test])
