"""gpucell.backend.philox against the Random123 known-answer vectors, and its counter scheme."""

from __future__ import annotations

import numpy as np
import pytest

from gpucell.backend import philox

# Random123 kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_known_answers(counter, key, expected):
    out = philox.philox4x32_10(np.array([counter], np.uint32), *key)
    assert out.dtype == np.uint32
    assert tuple(int(v) for v in out[0]) == expected


def test_vectorised_rows_are_independent():
    counters = np.array([k[0] for k in KAT], np.uint32)
    out = philox.philox4x32_10(counters, 0, 0)
    assert tuple(int(v) for v in out[0]) == KAT[0][2]
    assert philox.philox4x32_10(counters[1:2], 0, 0).tolist() == out[1:2].tolist()


def test_unit_u_is_word_u_mod_4_of_counter_offset_plus_u_div_4():
    seed, offset = 0x0123456789ABCDEF, 41
    words = philox.random_words(seed, offset, 10)
    for u in (0, 3, 4, 9):
        c = offset + u // 4
        block = philox.philox4x32_10(np.array([[c & 0xFFFFFFFF, c >> 32, 0, 0]], np.uint32),
                                     seed & 0xFFFFFFFF, seed >> 32)
        assert words[u] == block[0, u % 4]


def test_consecutive_launches_continue_the_stream():
    """Advancing the offset by counters_for(n) after n units is the same as drawing more at once."""
    whole = philox.random_words(7, 100, 16)
    first = philox.random_words(7, 100, 6)  # consumes 2 counters: units 6 and 7 are skipped
    second = philox.random_words(7, 100 + philox.counters_for(6), 8)
    assert first.tolist() == whole[:6].tolist()
    assert second.tolist() == whole[8:16].tolist()


def test_offset_wraps_modulo_2_to_the_64():
    last = (1 << 64) - 1
    words = philox.random_words(5, last, 8)
    assert words[4:].tolist() == philox.random_words(5, 0, 4).tolist()


def test_counters_for():
    assert [philox.counters_for(n) for n in (0, 1, 4, 5, 8)] == [0, 1, 1, 2, 2]


def test_bits_look_uniform():
    words = philox.random_words(1, 0, 1 << 16)
    mean_bit = np.unpackbits(words.view(np.uint8)).mean()
    assert abs(mean_bit - 0.5) < 0.01
