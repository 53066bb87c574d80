"""The NCCL path against CuPy 14's real ``cupy.cuda.nccl`` and NCCL's rules (a review's regressions).

The simulated NCCL and gpucell's calls were written together, so a misreading of CuPy's API would
be in both: here the simulator's constants, unique id and constructor checks are compared with the
installed CuPy's (no GPU needed to import it or to make a unique id), gpucell's calls are bound to
the real module's parameter order, and NCCL's documented rules are checked on the simulator:
empty collectives are discarded, complex and bool buffers travel as NCCL types, a communicator's
buffers and streams are on its device, two ranks never share a GPU, and no captured graph outlives
the communicator it replays.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpucell as ms
import gpucell.backend.sim as cp
from gpucell import _config, backend, communication, nn
from gpucell.backend.sim.cuda import nccl as sim_nccl
from gpucell.communication import management
from gpucell.communication import nccl as gpucell_nccl
from gpucell.communication.all_reduce_op import all_reduce_tensors
from tests.communication.test_data_parallel import _mpiexec
from tests.nn.nn_testing import host, on

SCRIPT = Path(__file__).with_name("nccl_review_script.py")


def _real_nccl():
    """CuPy's ``cupy.cuda.nccl`` with libnccl loaded, or a skip saying what is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # CuPy warns, naming the wheel, without libnccl
            module = importlib.import_module("cupy.cuda.nccl")
    except Exception as exc:  # noqa: BLE001 - any import failure: nothing to compare with
        pytest.skip(f"needs CuPy installed ({exc})")
    if not module.available:
        pytest.skip("this CuPy finds no libnccl: pip install nvidia-nccl-cu12")
    return module


# -- the simulator against the real module -----------------------------------------------------------

def test_the_simulated_constants_are_cupys():
    real = _real_nccl()
    names = [n for n in sim_nccl.__all__ if n.startswith("NCCL_")]
    assert {"NCCL_FLOAT32", "NCCL_BFLOAT16", "NCCL_SUM", "NCCL_AVG", "NCCL_UINT64"} <= set(names)
    assert {n: getattr(sim_nccl, n) for n in names} == {n: getattr(real, n) for n in names}
    # and the numbers nccl.h gives them, so a renumbering in either would show here
    assert (real.NCCL_FLOAT32, real.NCCL_BFLOAT16, real.NCCL_FLOAT16, real.NCCL_SUM) == (7, 9, 6, 0)
    assert sim_nccl.get_build_version() == real.get_build_version()  # 22501 for CuPy 14.2's cuda12x wheel


def test_the_unique_id_and_the_constructor_checks_are_cupys():
    real = _real_nccl()
    real_id = real.get_unique_id()  # ncclGetUniqueId needs no GPU
    assert type(real_id) is bytes and type(sim_nccl.get_unique_id()) is bytes
    assert len(real_id) == len(sim_nccl.get_unique_id()) == 128
    for bad, kind in ((tuple(real_id), TypeError), (real_id[:10], ValueError)):
        with pytest.raises(kind) as expected:
            real.NcclCommunicator(1, bad, 0)
        with pytest.raises(kind) as simulated:
            sim_nccl.NcclCommunicator(1, bad, 0)
        assert str(simulated.value) == str(expected.value)


def test_nccl_errors_read_as_cupys():
    real = _real_nccl()
    for status in (4, 5):  # ncclInvalidArgument, ncclInvalidUsage
        ours, theirs = sim_nccl.NcclError(status), real.NcclError(status)
        assert isinstance(ours, RuntimeError) and ours.status == theirs.status == status
        assert str(theirs).startswith(str(ours))  # libnccl may append "(run with NCCL_DEBUG=...)"


def _parameters(real, method: str) -> list[str]:
    """The parameter names of ``NcclCommunicator.<method>`` from the signature Cython embeds."""
    doc = getattr(real.NcclCommunicator, method).__doc__
    params = re.match(rf"NcclCommunicator\.{method}\(self, ([^)]*)\)", doc).group(1)
    return [p.split()[-1] for p in params.split(",")]


class _Recorder:
    """A communicator that records gpucell's calls (and forwards them to a simulated one)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def allReduce(self, *args):
        self.calls.append(("allReduce", args))
        self.inner.allReduce(*args)

    def bcast(self, *args):
        self.calls.append(("bcast", args))
        self.inner.bcast(*args)

    def destroy(self):
        self.inner.destroy()


@pytest.mark.gpu
def test_gpucell_calls_bind_to_the_real_parameters():
    """Pointers, element counts (complex: twice, as pairs of reals), datatype codes and the current
    stream's pointer, each in the place the real ``allReduce`` / ``bcast`` have it."""
    real = _real_nccl()
    all_reduce_params, bcast_params = _parameters(real, "allReduce"), _parameters(real, "bcast")
    assert all_reduce_params == ["sendbuf", "recvbuf", "count", "datatype", "op", "stream"]
    assert bcast_params == ["buff", "count", "datatype", "root", "stream"]
    previous = backend.get_device()
    backend.set_device("GPU")
    try:
        communication.init("nccl")
        recorder = _Recorder(gpucell_nccl.communicator())
        gpucell_nccl._communicators[management.GlobalComm.WORLD_COMM_GROUP] = recorder
        stream = cp.cuda.Stream(non_blocking=True)
        cases = [(np.float32, real.NCCL_FLOAT32, 1), (np.int64, real.NCCL_INT64, 1),
                 (np.uint32, real.NCCL_UINT32, 1), (np.complex64, real.NCCL_FLOAT32, 2),
                 (np.complex128, real.NCCL_FLOAT64, 2)]
        with stream:
            for dtype, code, per_element in cases:
                x = cp.asarray(np.arange(6, dtype=dtype).reshape(2, 3))
                gpucell_nccl.all_reduce(x)
                _, args = recorder.calls[-1]
                call = dict(zip(all_reduce_params, args))
                assert call == {"sendbuf": x.data.ptr, "recvbuf": x.data.ptr, "count": 6 * per_element,
                                "datatype": code, "op": real.NCCL_SUM, "stream": stream.ptr}, dtype
                assert all(type(a) is int for a in args)  # intptr_t / size_t / int: plain ints
            flags = cp.asarray(np.array([True, False]))
            gpucell_nccl.broadcast(flags, root=0)
            call = dict(zip(bcast_params, recorder.calls[-1][1]))
            assert call == {"buff": flags.data.ptr, "count": 2, "datatype": real.NCCL_UINT8, "root": 0,
                            "stream": stream.ptr}
    finally:
        backend.set_device(previous)


# -- NCCL's rules on the simulator ------------------------------------------------------------------

def _one_rank():
    return sim_nccl.NcclCommunicator(1, sim_nccl.get_unique_id(), 0)


def test_an_empty_collective_is_discarded():
    comm = _one_rank()
    comm.allReduce(0, 0, 0, sim_nccl.NCCL_FLOAT32, sim_nccl.NCCL_SUM, 0)  # NULL buffers: never read
    comm.bcast(0, 0, sim_nccl.NCCL_FLOAT32, 0, 0)
    with pytest.raises(sim_nccl.NcclError, match="unknown ncclRedOp_t 9"):  # the arguments still are checked
        comm.allReduce(0, 0, 0, sim_nccl.NCCL_FLOAT32, 9, 0)


def test_empty_and_complex_gradients_reduce_over_nccl(device):
    if device == "GPU":
        communication.init("nccl")
    else:
        communication.init()
    rng = np.random.default_rng(0)
    arrays = [np.zeros((0, 3), np.float32), (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64),
              rng.standard_normal((2, 2)).astype(np.float32)]
    tensors = [on(device, a) for a in arrays]
    for cap_bytes in (4, 2**20):  # a bucket each, or one per dtype
        reduced = all_reduce_tensors(tensors, mean=True, degree=2, cap_bytes=cap_bytes)
        for a, r in zip(arrays, reduced):
            assert r.shape == a.shape and r.dtype == ms.dtype.to_dtype(a.dtype, "test")
            np.testing.assert_allclose(host(r), a / 2, rtol=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.bool_, np.int16])
def test_a_dtype_nccl_cannot_sum_is_refused_by_name(dtype):
    backend.set_device("GPU")
    try:
        communication.init("nccl")
        with pytest.raises(TypeError, match=rf"For 'all_reduce', NCCL carries buffers of dtype \[.*'complex64'"
                                            rf".*\], but got {np.dtype(dtype).name}\."):
            gpucell_nccl.all_reduce(cp.zeros(3, dtype))
    finally:
        backend.set_device("CPU")


@pytest.fixture
def two_devices(monkeypatch):
    monkeypatch.setattr(_config, "SIM_DEVICES", 2)
    yield
    cp.cuda.Device(0).use()


def test_buffers_and_streams_must_be_on_the_communicators_device(two_devices):
    comm = _one_rank()  # on device 0
    x = cp.zeros(4, cp.float32)
    with cp.cuda.Device(1):
        y = cp.zeros(4, cp.float32)
        other = cp.cuda.Stream(non_blocking=True)
    with pytest.raises(sim_nccl.NcclError, match="buffer at .* is on device 1, the communicator on device 0"):
        comm.allReduce(y.data.ptr, y.data.ptr, 4, sim_nccl.NCCL_FLOAT32, sim_nccl.NCCL_SUM, 0)
    with pytest.raises(sim_nccl.NcclError, match="stream is on device 1, the communicator on device 0"):
        comm.allReduce(x.data.ptr, x.data.ptr, 4, sim_nccl.NCCL_FLOAT32, sim_nccl.NCCL_SUM, other.ptr)
    with cp.cuda.Device(1):  # stream 0 is the communicator device's legacy stream: NCCL switches device
        comm.allReduce(x.data.ptr, x.data.ptr, 4, sim_nccl.NCCL_FLOAT32, sim_nccl.NCCL_SUM, 0)


@pytest.mark.gpu
def test_gpucell_names_a_buffer_on_another_gpu(two_devices):
    backend.set_device("GPU")
    try:
        communication.init("nccl")
        gpucell_nccl.all_reduce(cp.ones(2, cp.float32))  # makes the communicator on GPU 0
        with cp.cuda.Device(1):
            stray = cp.ones(2, cp.float32)
        with pytest.raises(ValueError, match=r"For 'all_reduce', the buffer is on GPU 1 but the NCCL communicator "
                                             r"works on GPU 0"):
            gpucell_nccl.all_reduce(stray)
    finally:
        backend.set_device("CPU")


def test_init_refuses_more_processes_than_gpus_on_a_node(monkeypatch):
    monkeypatch.setattr(management._World, "local_size", 2)
    monkeypatch.setattr(management._World, "local_rank", 1)
    monkeypatch.setattr(backend, "cupy", cp)
    with pytest.raises(ValueError, match=r"For 'communication.init', the 'nccl' backend needs one GPU per "
                                         r"process, but this node runs 2 processes and has 1 GPU\(s\)"):
        management._use_own_gpu()


def test_a_graph_cannot_replay_a_destroyed_communicators_collective():
    comm = _one_rank()
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        x = cp.ones(3, cp.float32)
        s.begin_capture()
        comm.allReduce(x.data.ptr, x.data.ptr, 3, sim_nccl.NCCL_FLOAT32, sim_nccl.NCCL_SUM, s.ptr)
        graph = s.end_capture()
        graph.launch()
        comm.destroy()
        with pytest.raises(sim_nccl.NcclError, match="replays ncclAllReduce of a destroyed communicator"):
            graph.launch()


@pytest.mark.gpu
def test_release_drops_the_jitted_steps_that_captured_the_all_reduce():
    backend.set_device("GPU")
    try:
        communication.init("nccl")
        ms.set_seed(0)
        net = nn.Dense(3, 2)
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
        step = ms.jit(nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
                      .construct)
        x, y = on("GPU", np.ones((4, 3), np.float32)), on("GPU", np.zeros((4, 2), np.float32))
        for _ in range(3):
            step(x, y)
        assert ms.jit.cache_info().captures == 1  # the all-reduce is inside the captured graph
        communication.release()
        assert ms.jit.cache_info().plans == 0  # nothing left to replay the destroyed communicator
    finally:
        backend.set_device("CPU")


# -- across processes ------------------------------------------------------------------------------

def test_two_ranks_follow_nccls_rules():
    """Duplicate GPUs refused, complex sums and bool broadcasts exact, empty buffers discarded."""
    mpiexec = _mpiexec()
    env = dict(os.environ, GPUCELL_DEVICE="SIM", GPUCELL_SIM_DEVICES="2", OMP_NUM_THREADS="1",
               PYTHONPATH=str(SCRIPT.parents[2]))
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=20, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for rank in (0, 1):
        for check in ("duplicate-gpu", "complex-sum", "bool-broadcast", "empty"):
            assert f"ok {rank} {check}" in output, output
