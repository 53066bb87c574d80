"""set_context's MindSpore keys beyond device and mode: pynative_synchronize acts, the others are
checked, kept and announced once as having no effect; bad values change nothing."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, backend, context
from gpucell.ops._dispatch import hooks


@pytest.fixture
def ctx():
    """Restores every context setting, the notices given and the op observers."""
    settings, noticed, observers = dict(context._settings), set(context._noticed), hooks.observers
    device = backend.get_device()
    context._noticed.clear()
    yield
    context._settings.clear()
    context._settings.update(settings)
    context._noticed.clear()
    context._noticed.update(noticed)
    hooks.observers = observers
    backend.set_device(device)


def test_every_key_reads_back_what_was_set(ctx):
    values = {"max_call_depth": 80, "pynative_synchronize": True, "save_graphs": 2, "save_graphs_path": "./ir",
              "enable_graph_kernel": True, "jit_config": {"jit_level": "O1"}, "memory_optimize_level": "O1",
              "deterministic": "ON", "max_device_memory": "3.5GB", "mempool_block_size": "2GB",
              "runtime_num_threads": 4, "op_timeout": 60, "jit_syntax_level": context.STRICT,
              "gpu_config": {"conv_fprop_algo": "performance", "matmul_allow_tf32": True}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ms.set_context(**values)
    for key, value in values.items():
        assert ms.get_context(key) == value, key
    ms.set_context(pynative_synchronize=False)


def test_unset_keys_read_mindspores_defaults(ctx):
    for key in ("max_call_depth", "pynative_synchronize", "save_graphs", "memory_optimize_level", "jit_config"):
        context._settings.pop(key, None)
    assert ms.get_context("max_call_depth") == 1000
    assert ms.get_context("pynative_synchronize") is False
    assert ms.get_context("save_graphs") == 0
    assert ms.get_context("memory_optimize_level") == "O0"
    assert ms.get_context("jit_config") == {}


def test_a_key_without_effect_says_so_once(ctx):
    with pytest.warns(UserWarning) as caught:
        ms.set_context(save_graphs=True, save_graphs_path="./graphs")
    assert [str(w.message).split(":")[0] for w in caught] == [
        "For 'set_context', 'save_graphs' is accepted for MindSpore code but has no effect in gpucell",
        "For 'set_context', 'save_graphs_path' is accepted for MindSpore code but has no effect in gpucell"]
    assert "gpucell builds no graph IR" in str(caught[0].message)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ms.set_context(save_graphs=1, save_graphs_path="./graphs")   # both noticed already
        ms.set_context(max_call_depth=1000, enable_graph_kernel=False)  # MindSpore's defaults: nothing to say
    assert [str(w.message) for w in caught] == []


def test_the_notice_points_at_the_callers_line(ctx):
    with pytest.warns(UserWarning) as caught:
        ms.set_context(max_call_depth=50)
    assert caught[0].filename == __file__
    assert "sys.setrecursionlimit" in str(caught[0].message)


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"max_call_depth": 0}, ValueError, "the 'max_call_depth' must be greater than 0, but got 0"),
    ({"max_call_depth": "10"}, TypeError, "the 'max_call_depth' must be an int, but got '10'"),
    ({"max_call_depth": True}, TypeError, "the 'max_call_depth' must be an int, but got True"),
    ({"pynative_synchronize": 1}, TypeError, "the 'pynative_synchronize' must be a bool, but got 1"),
    ({"save_graphs": 4}, ValueError, r"the 'save_graphs' must be in \[0, 3\], but got 4"),
    ({"save_graphs": "yes"}, TypeError, "the 'save_graphs' must be a bool or an int"),
    ({"save_graphs_path": ""}, ValueError, "the 'save_graphs_path' must be a non-empty str"),
    ({"save_graphs_path": 3}, TypeError, "the 'save_graphs_path' must be a str"),
    ({"enable_graph_kernel": "True"}, TypeError, "the 'enable_graph_kernel' must be a bool"),
    ({"jit_config": "O1"}, TypeError, "the 'jit_config' must be a dict"),
    ({"jit_config": {"jit_level": "O3"}}, ValueError,
     r"'jit_config\['jit_level'\]' must be one of \['O0', 'O1', 'O2'\]"),
    ({"jit_config": {"level": "O1"}}, ValueError,
     r"the keys of 'jit_config' must be in \['infer_boost', 'jit_level'\]"),
    ({"jit_config": {"jit_level": "O1", "infer_boost": "on"}}, ValueError,
     "'jit_config' can set 'infer_boost' to 'on' only with 'jit_level' 'O0'"),
    ({"memory_optimize_level": "O2"}, ValueError, r"the 'memory_optimize_level' must be one of \['O0', 'O1'\]"),
    ({"deterministic": True}, ValueError, r"the 'deterministic' must be one of \['ON', 'OFF'\], but got True"),
    ({"max_device_memory": "3.5G"}, ValueError, "the 'max_device_memory' must be a str of a number of GB"),
    ({"max_device_memory": "0.0GB"}, ValueError, "the 'max_device_memory' must be more than '0GB'"),
    ({"mempool_block_size": "0.5GB"}, ValueError, "the 'mempool_block_size' must be at least '1GB'"),
    ({"runtime_num_threads": -1}, ValueError, "the 'runtime_num_threads' must be greater than or equal to 0"),
    ({"jit_syntax_level": 3}, ValueError, r"the 'jit_syntax_level' must be one of \[0, 1, 2\]"),
    ({"gpu_config": {"conv_fprop_algo": "fastest"}}, ValueError, r"'gpu_config\['conv_fprop_algo'\]' must be one of"),
    ({"gpu_config": {"matmul_allow_tf32": 1}}, ValueError, r"'gpu_config\['matmul_allow_tf32'\]' must be one of"),
    ({"enable_profiling": True}, ValueError, r"unknown keys \['enable_profiling'\]"),
])
def test_bad_values_are_refused_by_name(ctx, kwargs, error, fragment):
    with pytest.raises(error, match=rf"For 'set_context', {fragment}"):
        ms.set_context(**kwargs)


def test_a_bad_key_changes_nothing_else(ctx):
    before = {k: ms.get_context(k) for k in ("device_target", "mode", "max_call_depth", "pynative_synchronize")}
    observers = hooks.observers
    with pytest.raises(ValueError, match="'mode' must be"):
        ms.set_context(max_call_depth=5, pynative_synchronize=True, mode=7)
    with pytest.raises(ValueError, match="'max_call_depth' must be greater than 0"):
        ms.set_context(device_target="CPU", pynative_synchronize=True, max_call_depth=0)
    assert {k: ms.get_context(k) for k in before} == before
    assert hooks.observers == observers


def test_get_context_names_the_known_keys():
    with pytest.raises(ValueError, match=r"For 'get_context', unknown key 'colour'; expected one of "
                                         r"\[.*'max_call_depth'"):
        ms.get_context("colour")


# -- pynative_synchronize --------------------------------------------------------------------------
def _count_syncs(monkeypatch) -> list:
    calls = []
    real = context._synchronize_device

    def counting(array):
        calls.append(type(array).__module__)
        real(array)

    monkeypatch.setattr(context, "_synchronize_device", counting)
    return calls


def test_pynative_synchronize_waits_after_every_gpu_op(ctx, device, monkeypatch):
    calls = _count_syncs(monkeypatch)
    ms.set_context(pynative_synchronize=True)
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = ((x * 2.0) + 1.0).sum(axis=1)
    np.testing.assert_allclose(y.asnumpy(), [9.0, 27.0])
    if device == "GPU":
        assert len(calls) >= 3  # the multiply, the add and the sum, at least
    else:
        assert calls == []
    count = len(calls)
    ms.set_context(pynative_synchronize=False)
    assert context._synchronize_after_op not in hooks.observers
    (x * 3.0).asnumpy()
    assert len(calls) == count


def test_turning_it_on_twice_installs_one_observer(ctx):
    ms.set_context(pynative_synchronize=True)
    ms.set_context(pynative_synchronize=True)
    assert hooks.observers.count(context._synchronize_after_op) == 1
    ms.set_context(pynative_synchronize=False)
    assert context._synchronize_after_op not in hooks.observers


@pytest.mark.gpu
def test_an_asynchronous_error_surfaces_in_the_op_that_caused_it(ctx, monkeypatch):
    if not backend.simulated():
        pytest.skip("needs the simulated device to inject a deferred CUDA error")
    from gpucell.backend.sim import _device

    pending = []  # a kernel "failed" on the device; CUDA reports it at the next synchronization

    def synchronize(self):
        if pending:
            raise RuntimeError(pending.pop())

    monkeypatch.setattr(_device.Device, "synchronize", synchronize)
    backend.set_device("GPU")
    x = Tensor(np.ones(4, np.float32))
    ms.set_context(pynative_synchronize=True)
    pending.append("cudaErrorIllegalAddress: an illegal memory access was encountered")
    with pytest.raises(RuntimeError, match="illegal memory access") as info:
        x * 2.0
    assert info.traceback[-1].name == "synchronize"
    assert any(entry.frame.code.name == "test_an_asynchronous_error_surfaces_in_the_op_that_caused_it"
               and "x * 2.0" in str(entry.statement) for entry in info.traceback)


@pytest.mark.gpu
def test_a_jitted_step_still_captures_with_synchronize_on(ctx):
    jit_module = sys.modules["gpucell.jit"]
    backend.set_device("GPU")
    ms.set_context(pynative_synchronize=True)

    @ms.jit
    def step(x):
        return (x * 2.0 + 1.0).sum()

    x = Tensor(np.arange(4, dtype=np.float32))
    captures = jit_module.cache_info().captures
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a failed capture warns and falls back
        results = [float(step(x).asnumpy()) for _ in range(3)]
    assert results == [16.0, 16.0, 16.0]
    assert jit_module.cache_info().captures > captures
