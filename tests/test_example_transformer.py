"""examples/transformer_classifier.py trains to its stated accuracy, eagerly and under ms.jit, on the
CPU and on the GPU (the simulated device where there is no real one)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gpucell.jit import clear_cache

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "transformer_classifier.py"


def _load():
    spec = importlib.util.spec_from_file_location("transformer_classifier", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load()


def test_the_label_is_the_majority_token_and_padding_is_masked():
    tokens, mask, labels = example.make_data(64, seed=3)
    assert tokens.shape == mask.shape == (64, example.LENGTH) and labels.shape == (64,)
    assert np.array_equal(mask, tokens == example.PAD) and mask.sum(1).max() <= example.LENGTH - 5
    for row, label in zip(tokens, labels):
        counts = np.bincount(row[row != example.PAD], minlength=example.CLASSES + 1)
        assert counts.argmax() == label + 1 and counts.max() > (row != example.PAD).sum() / 2


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_trains_to_the_stated_accuracy(device, jit):
    clear_cache()
    accuracy = example.train(jit=jit, verbose=False)
    clear_cache()
    assert accuracy >= example.TARGET_ACCURACY, f"{device} {'jit' if jit else 'eager'}: accuracy {accuracy:.3f}"
