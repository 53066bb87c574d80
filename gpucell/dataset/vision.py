"""``gpucell.dataset.vision``: the image transforms of MindSpore's tutorials, on NumPy arrays.

``Rescale(rescale, shift)``, ``Normalize(mean, std, is_hwc=True)`` and ``HWC2CHW()`` are callables
for ``Dataset.map``: each takes one image (a NumPy array, as a dataset row holds it) and returns a
new array; Rescale and Normalize return float32, as MindSpore's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HWC2CHW", "Normalize", "Rescale"]


def _numbers(where: str, arg: str, values) -> np.ndarray:
    seq = values if isinstance(values, (list, tuple)) else [values]
    if not seq or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seq):
        raise TypeError(f"For '{where}', '{arg}' must be a number or a non-empty list/tuple of numbers, "
                        f"but got {values!r}.")
    return np.asarray(seq, np.float32)


class Rescale:
    """``Rescale(rescale, shift)``: ``image * rescale + shift`` as float32."""

    def __init__(self, rescale: float, shift: float):
        self.rescale = float(_numbers("Rescale", "rescale", rescale)[0])
        self.shift = float(_numbers("Rescale", "shift", shift)[0])

    def __call__(self, img):
        return (np.asarray(img, np.float32) * np.float32(self.rescale) + np.float32(self.shift)).astype(np.float32)


class Normalize:
    """``Normalize(mean, std, is_hwc=True)``: ``(image - mean) / std`` per channel, as float32.

    The channel axis is the last one (HWC) or, with ``is_hwc=False``, the first (CHW); a 2-D image
    is one channel. ``mean`` and ``std`` hold one value per channel (or one for all).
    """

    def __init__(self, mean, std, is_hwc: bool = True):
        self.mean = _numbers("Normalize", "mean", mean)
        self.std = _numbers("Normalize", "std", std)
        if len(self.mean) != len(self.std):
            raise ValueError(f"For 'Normalize', 'mean' and 'std' must have the same length, but got "
                             f"{len(self.mean)} and {len(self.std)}.")
        if (self.std <= 0).any():
            raise ValueError(f"For 'Normalize', 'std' must be positive, but got {std!r}.")
        self.is_hwc = bool(is_hwc)

    def __call__(self, img):
        image = np.asarray(img, np.float32)
        if image.ndim not in (2, 3):
            raise RuntimeError(f"For 'Normalize', the image must be 2-D (HW) or 3-D, but got shape {image.shape}.")
        channels = 1 if image.ndim == 2 else image.shape[-1 if self.is_hwc else 0]
        if len(self.mean) not in (1, channels):
            raise RuntimeError(f"For 'Normalize', 'mean' and 'std' hold {len(self.mean)} values, but the image "
                               f"of shape {image.shape} has {channels} channels.")
        shape = (-1,) if image.ndim == 2 or self.is_hwc else (-1, 1, 1)
        mean, std = self.mean.reshape(shape), self.std.reshape(shape)
        if image.ndim == 2:
            mean, std = mean[0], std[0]
        return ((image - mean) / std).astype(np.float32)


class HWC2CHW:
    """``HWC2CHW()``: an (H, W, C) image to (C, H, W); an (H, W) image to (1, H, W)."""

    def __call__(self, img):
        image = np.asarray(img)
        if image.ndim == 2:
            return np.ascontiguousarray(image[None])
        if image.ndim != 3:
            raise RuntimeError(f"For 'HWC2CHW', the image must be 2-D or 3-D (HWC), but got shape {image.shape}.")
        return np.ascontiguousarray(image.transpose(2, 0, 1))
