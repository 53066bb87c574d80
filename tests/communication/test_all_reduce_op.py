"""The AllReduce op behind DistributedGradReducer, in one process (a world of one) on both backends:
its forward against NumPy, its backward against finite differences, and a jitted data-parallel step
(on the GPU, the NCCL all-reduce inside the step's CUDA graph; under MPI, a graph break)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import backend, communication, nn, ops
from gpucell.communication.all_reduce_op import all_reduce_tensors
from tests.nn.nn_testing import gradcheck, host, on


def _init(device: str, backend_name: str | None = None) -> None:
    if device == "GPU" and backend_name != "mpi":
        from gpucell.backend.nccl import nccl_module

        try:
            nccl_module()
        except ImportError as exc:
            pytest.skip(f"NCCL is not installed: {exc}")
    communication.init(backend_name)


@pytest.mark.parametrize("cap_bytes", [16, 2**20])  # one bucket per array, or all in one
def test_forward_sums_over_one_rank_and_divides_by_degree(device, cap_bytes):
    _init(device)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5).astype(np.float32), rng.standard_normal(())]
    tensors = [on(device, a) for a in arrays]
    summed = all_reduce_tensors(tensors, mean=False, degree=1, cap_bytes=cap_bytes)
    averaged = all_reduce_tensors(tensors, mean=True, degree=4, cap_bytes=cap_bytes)
    for a, s, m, t in zip(arrays, summed, averaged, tensors):
        assert s.shape == a.shape and s.dtype == t.dtype and s.device == device
        np.testing.assert_array_equal(host(s), a)
        np.testing.assert_allclose(host(m), a / 4, rtol=1e-7 if a.dtype == np.float64 else 1e-6)
    assert all_reduce_tensors((), mean=True, degree=2, cap_bytes=cap_bytes) == ()


def test_backward_is_the_all_reduce_of_the_output_gradients(device):
    _init(device)
    rng = np.random.default_rng(1)

    def reduced(a, b):
        x, y = all_reduce_tensors((a, b), mean=True, degree=2, cap_bytes=2**20)
        return ops.concat((x.reshape(-1), y.reshape(-1)))

    gradcheck(reduced, rng.standard_normal((2, 3)), rng.standard_normal(4), positions=(0, 1), device=device)


def _train(device: str, data_parallel: bool, jit: bool, backend_name: str | None = None):
    ms.set_seed(3)
    net = nn.SequentialCell([nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2)])
    if data_parallel:
        _init(device, backend_name)
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                     parameter_broadcast=True)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.Momentum(net.trainable_params(), 0.1, 0.9))
    run = ms.jit(step.construct) if jit else step
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal((6, 2)).astype(np.float32)
    for _ in range(4):
        run(on(device, x), on(device, y))
    info = ms.jit.cache_info()
    params = [host(p) for p in net.trainable_params()]
    ms.reset_auto_parallel_context()
    communication.release()
    ms.jit.clear_cache()
    return params, info


def test_a_jitted_data_parallel_step_matches_a_plain_one(device):
    expected, _ = _train(device, data_parallel=False, jit=False)
    got, info = _train(device, data_parallel=True, jit=True)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
    if device == "GPU":
        assert (info.captures, info.graph_breaks) == (1, 0)  # NCCL: inside the one graph


@pytest.mark.gpu
def test_mpi_on_the_gpu_runs_the_all_reduce_between_captured_segments():
    before = backend.get_device()
    backend.set_device("GPU")
    try:
        expected, _ = _train("GPU", data_parallel=False, jit=False)
        got, info = _train("GPU", data_parallel=True, jit=True, backend_name="mpi")
    finally:
        backend.set_device(before)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
    assert info.captures == 1 and info.graph_breaks == 1  # staged through the host: not capturable
