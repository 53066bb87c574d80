"""The simulated device's ``cupy.cuda.nccl`` (gpucell/backend/sim/cuda/nccl.py): CuPy's names and
parameters, collectives as stream work (ordered by the race detector, recorded into a graph), one
rank without a world, and gpucell's NCCL path (communication/nccl.py) on top of it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import warnings

import numpy as np
import pytest

import gpucell.backend.sim as cp
from gpucell import backend, communication
from gpucell.backend.sim.cuda import nccl


@pytest.fixture(autouse=True)
def _clean():
    yield
    communication.release()


# -- CuPy's API --------------------------------------------------------------------------------------

def _cupy_nccl_api() -> tuple[set, dict]:
    """(names, {callable: parameter names}) of CuPy's compiled ``cupy_backends.cuda.libs.nccl``,
    read from the signatures Cython embeds in the extension (and its names where libnccl loads)."""
    try:
        spec = importlib.util.find_spec("cupy_backends.cuda.libs.nccl")
    except ImportError:
        spec = None
    if spec is None or spec.origin is None:
        pytest.skip("CuPy (with its NCCL extension) is not installed: nothing to compare with")
    # The signatures: Cython embeds them in the extension as text (its functions have none that
    # inspect can read, loaded or not).
    binary = open(spec.origin, "rb").read().decode("latin-1")
    names = set(re.findall(r"\b(NCCL_[A-Z0-9_]+)\b", binary))
    signatures = {}
    for owner, name, params in re.findall(r"\b(NcclCommunicator\.|)(\w+)\(([^()\n\x00]*)\)[\n\x00]", binary):
        parts = [p.strip().split(" ")[-1].split("=")[0] for p in params.split(",") if p.strip()]
        key = owner + name
        names.add(key)
        signatures[key] = [p for p in parts if p != "self"]
    names |= {"NcclError", "NcclCommunicator", "available"}
    try:  # where libnccl loads, the module's own names too
        module = importlib.import_module("cupy_backends.cuda.libs.nccl")
    except ImportError:
        module = None
    if module is not None:
        names |= set(dir(module)) | {f"NcclCommunicator.{n}" for n in dir(module.NcclCommunicator)}
    return names, signatures


def _sim_api() -> dict:
    api = {name: getattr(nccl, name) for name in nccl.__all__}
    api |= {f"NcclCommunicator.{n}": getattr(nccl.NcclCommunicator, n) for n in dir(nccl.NcclCommunicator)
            if not n.startswith("_")}
    return api


def test_the_simulated_nccl_offers_only_cupys_names_with_cupys_parameters():
    names, signatures = _cupy_nccl_api()
    ours = _sim_api()
    missing = sorted(set(ours) - names)
    assert not missing, f"the simulated NCCL offers names CuPy's does not: {missing}"
    assert signatures["NcclCommunicator"] == ["ndev", "commId", "rank", "config"]
    compared = 0
    for name, value in ours.items():
        if name in signatures and callable(value) and not isinstance(value, type):
            mine = [p for p in inspect.signature(value).parameters if p != "self"]
            assert mine == signatures[name], f"{name}{tuple(mine)} != CuPy's {tuple(signatures[name])}"
            compared += 1
    assert list(inspect.signature(nccl.NcclCommunicator).parameters) == signatures["NcclCommunicator"]
    assert compared >= 8  # allReduce, bcast, broadcast, destroy, ... and the module's functions


def test_the_simulated_nccl_is_imported_as_cupys_is():
    assert importlib.import_module("gpucell.backend.sim.cuda.nccl") is nccl
    assert nccl.available and isinstance(nccl.get_unique_id(), bytes) and len(nccl.get_unique_id()) == 128


# -- stream semantics --------------------------------------------------------------------------------

def _one_rank():
    return nccl.NcclCommunicator(1, nccl.get_unique_id(), 0)


def test_an_all_reduce_is_stream_work_that_the_race_detector_orders():
    comm = _one_rank()
    producer, consumer = cp.cuda.Stream(non_blocking=True), cp.cuda.Stream(non_blocking=True)
    with producer:
        x = cp.arange(6, dtype=cp.float32)
    with consumer:
        y = cp.zeros(6, cp.float32)
    consumer.synchronize()
    with pytest.raises(cp.RaceError, match="ncclAllReduce"):
        comm.allReduce(x.data.ptr, y.data.ptr, 6, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, consumer.ptr)
    consumer.wait_event(producer.record())
    comm.allReduce(x.data.ptr, y.data.ptr, 6, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, consumer.ptr)
    np.testing.assert_array_equal(y.get(stream=consumer), np.arange(6))  # the sum over one rank


def test_a_captured_all_reduce_runs_again_at_every_replay():
    comm = _one_rank()
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        x = cp.zeros(3, cp.float64)
        y = cp.zeros(3, cp.float64)
        s.begin_capture()
        comm.allReduce(x.data.ptr, y.data.ptr, 3, nccl.NCCL_FLOAT64, nccl.NCCL_SUM, s.ptr)
        graph = s.end_capture()
        for value in (2.0, 5.0):
            x.fill(value)
            graph.launch()
            np.testing.assert_array_equal(y.get(), np.full(3, value))


def test_broadcast_and_bad_calls():
    comm = _one_rank()
    x = cp.arange(4, dtype=cp.int32)
    y = cp.zeros(4, cp.int32)
    comm.broadcast(x.data.ptr, y.data.ptr, 4, nccl.NCCL_INT32, 0, cp.cuda.get_current_stream().ptr)
    np.testing.assert_array_equal(y.get(), np.arange(4))
    assert (comm.rank_id(), comm.size()) == (0, 1)
    with pytest.raises(nccl.NcclError, match="INVALID_ARGUMENT.*not in one live device allocation"):
        comm.allReduce(x.data.ptr, y.data.ptr, 10**9, nccl.NCCL_INT32, nccl.NCCL_SUM, 0)
    with pytest.raises(nccl.NcclError, match="root 1 of 1 ranks"):
        comm.bcast(x.data.ptr, 4, nccl.NCCL_INT32, 1, 0)
    with pytest.raises(TypeError, match="commId"):
        nccl.NcclCommunicator(1, tuple(nccl.get_unique_id()), 0)
    with pytest.raises(nccl.NcclError, match="mpiexec -n 2"):
        nccl.NcclCommunicator(2, nccl.get_unique_id(), 0)
    comm.destroy()
    with pytest.raises(nccl.NcclError, match="destroyed"):
        comm.bcast(x.data.ptr, 4, nccl.NCCL_INT32, 0, 0)


# -- gpucell's NCCL path ------------------------------------------------------------------------------

def test_the_unique_id_reaches_the_communicator_unchanged(monkeypatch):
    """CuPy 13 made a tuple of ints, CuPy 14 makes bytes: gpucell passes whatever it gets."""
    from gpucell.communication import nccl as gpucell_nccl

    seen = []

    class Module:
        available = True

        @staticmethod
        def get_unique_id():
            return (1, 2, 3)

        class NcclCommunicator:
            def __init__(self, ndev, commId, rank, config=None):
                seen.append((ndev, commId, rank))

            def destroy(self):
                seen.append("destroyed")

    monkeypatch.setattr(gpucell_nccl, "_module", lambda: Module)
    communication.init("mpi")
    comm = gpucell_nccl.communicator()
    assert gpucell_nccl.communicator() is comm  # one per group
    assert seen == [(1, (1, 2, 3), 0)]
    communication.release()
    assert seen[-1] == "destroyed"


def test_missing_libnccl_names_the_wheel_to_install(monkeypatch):
    try:
        import cupy
        with warnings.catch_warnings():  # CuPy warns, naming the wheel, when libnccl is missing
            warnings.simplefilter("ignore", UserWarning)
            import cupy.cuda.nccl as cupy_nccl
    except Exception as exc:  # noqa: BLE001 - any import failure: no CuPy to ask
        pytest.skip(f"needs CuPy installed ({exc})")
    if cupy_nccl.available:
        pytest.skip("this CuPy loads libnccl")
    from gpucell.backend.nccl import nccl_module

    monkeypatch.setattr(backend, "cupy", cupy)
    monkeypatch.setattr(backend, "gpu_available", lambda: True)
    with pytest.raises(ImportError, match=r"nvidia-nccl-cu12>=2\.18\.1,<3"):
        nccl_module()
