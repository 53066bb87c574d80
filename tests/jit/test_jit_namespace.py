"""``gpucell.jit`` is both the decorator and the module (issue 13): after ``import gpucell as ms``,
``@ms.jit`` / ``ms.jit(fn)`` decorate and ``ms.jit.cache_info()`` & co. reach the cache, while
``from gpucell.jit import ...`` keeps importing the plain names."""

from __future__ import annotations

import importlib
import inspect
import sys

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor


@pytest.fixture(autouse=True)
def fresh_cache():
    ms.jit.clear_cache()
    yield
    ms.jit.clear_cache()


def test_gpucell_jit_is_the_module_and_decorates():
    assert ms.jit is sys.modules["gpucell.jit"]
    assert importlib.import_module("gpucell.jit") is ms.jit
    assert callable(ms.jit)

    @ms.jit
    def bare(x):
        return x * 2

    @ms.jit()
    def called(x):
        return x + 1

    direct = ms.jit(lambda x: x - 1)
    for _ in range(2):  # trace, then replay
        np.testing.assert_array_equal(bare(Tensor([1.0])).asnumpy(), [2.0])
        np.testing.assert_array_equal(called(Tensor([1.0])).asnumpy(), [2.0])
        np.testing.assert_array_equal(direct(Tensor([1.0])).asnumpy(), [0.0])
    assert isinstance(bare, ms.jit.JitFunction)
    assert ms.jit.cache_info().plans == 3
    assert ms.jit.cache_info().hits == 3


def test_cache_functions_through_the_attribute():
    f = ms.jit(lambda x: x * 3)
    f(Tensor([1.0]))
    assert ms.jit.cache_info().plans == 1
    ms.jit.clear_cache()
    assert ms.jit.cache_info().plans == 0
    before = ms.jit.cache_info()
    try:
        ms.jit.set_cache_limits(maxsize=7)
        assert ms.jit.cache_info().maxsize == 7
    finally:
        ms.jit.set_cache_limits(maxsize=before.maxsize, max_bytes=before.max_bytes)
    assert ms.jit.cache_info().maxsize == before.maxsize


def test_calling_the_module_keeps_the_decorators_signature_and_checks():
    from gpucell.jit import jit

    assert inspect.isfunction(jit)
    assert inspect.signature(ms.jit) == inspect.signature(jit)
    with pytest.raises(TypeError, match="'jit'"):
        ms.jit(3)
    with pytest.raises(TypeError):
        ms.jit(lambda x: x, unknown=1)


def test_from_imports_still_give_the_plain_names():
    from gpucell import jit as from_package
    from gpucell.jit import CacheInfo, TraceError, cache_info, clear_cache, jit, set_cache_limits

    assert from_package is ms.jit
    assert cache_info is ms.jit.cache_info and clear_cache is ms.jit.clear_cache
    assert set_cache_limits is ms.jit.set_cache_limits and jit is ms.jit.jit
    assert isinstance(cache_info(), CacheInfo) and issubclass(TraceError, Exception)
    np.testing.assert_array_equal(from_package(lambda x: x * 2)(Tensor([2.0])).asnumpy(), [4.0])
