"""gpucell.communication and the data-parallel surface in one process (a world of one)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import communication, nn
from gpucell.communication import buckets, collectives, management


@pytest.fixture(autouse=True)
def _clean():
    yield
    ms.reset_auto_parallel_context()
    communication.release()


def test_world_of_one():
    with pytest.raises(RuntimeError, match="init"):
        communication.get_rank()
    communication.init()
    assert (communication.get_rank(), communication.get_group_size()) == (0, 1)
    assert (communication.get_local_rank(), communication.get_local_rank_size()) == (0, 1)
    assert communication.get_rank(communication.GlobalComm.WORLD_COMM_GROUP) == 0
    with pytest.raises(ValueError, match="only the world group"):
        communication.get_rank("other_group")
    from gpucell.communication import management as m2
    assert m2 is management and management.init is communication.init


def test_init_backend_names():
    communication.init("mccl")
    assert communication.GlobalComm.BACKEND == "mpi"
    assert communication.GlobalComm.WORLD_COMM_GROUP == "mpi_world_group"
    with pytest.raises(ValueError, match="backend_name"):
        communication.init("gloo")


def test_missing_mpi4py_under_a_launcher_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mpi4py(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi4py)
    monkeypatch.delenv("PMI_RANK", raising=False)
    communication.init()  # no launcher: a world of one without MPI
    assert communication.get_group_size() == 1 and management.world_comm() is None
    monkeypatch.setenv("PMI_RANK", "0")
    with pytest.raises(ImportError, match=r"gpucell\[mpi\]"):
        communication.init()


def test_auto_parallel_context():
    assert ms.get_auto_parallel_context("parallel_mode") == ms.ParallelMode.STAND_ALONE
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 parameter_broadcast=True, device_num=2)
    assert ms.get_auto_parallel_context("gradients_mean") is True
    assert ms.get_auto_parallel_context("device_num") == 2
    with pytest.raises(ValueError, match="unknown"):
        ms.set_auto_parallel_context(gradients_mean=False, pipeline_stages=2)
    assert ms.get_auto_parallel_context("gradients_mean") is True  # nothing changed
    with pytest.raises(TypeError, match="gradients_mean"):
        ms.set_auto_parallel_context(gradients_mean=1)
    with pytest.raises(NotImplementedError, match="data_parallel"):
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.SEMI_AUTO_PARALLEL)
    ms.reset_auto_parallel_context()
    assert ms.get_auto_parallel_context("parameter_broadcast") is False


def test_buckets_are_capped_and_split_by_dtype():
    arrays = [np.zeros(100, np.float32), np.zeros(100, np.float32), np.zeros(3, np.float64),
              np.zeros(300, np.float32)]
    assert buckets.plan_buckets(arrays, cap_bytes=800) == [[0, 1], [2], [3]]
    assert buckets.plan_buckets(arrays, cap_bytes=400) == [[0], [1], [2], [3]]


def test_collectives_in_a_world_of_one():
    communication.init()
    a = np.arange(4, dtype=np.float32)
    assert collectives.all_reduce(a, "mean") is a
    np.testing.assert_array_equal(a, [0, 1, 2, 3])
    np.testing.assert_array_equal(collectives.broadcast(a), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="contiguous"):
        collectives.all_reduce(np.zeros((4, 4), np.float32)[:, 0])
    with pytest.raises(ValueError, match="'op'"):
        collectives.all_reduce(a, "max")


def test_collectives_refuse_what_is_not_an_array():
    communication.init()

    class NotAnArray:
        pass

    with pytest.raises(TypeError, match="NumPy or GPU array"):
        collectives.all_reduce(NotAnArray())


def test_reducer_mean_and_degree():
    communication.init()
    net = nn.Dense(3, 2)
    grads = tuple(ms.Tensor(np.full(p.shape, 4.0, np.float32)) for p in net.trainable_params())
    summed = nn.DistributedGradReducer(net.trainable_params())(grads)
    assert [g.shape for g in summed] == [(2, 3), (2,)]
    np.testing.assert_array_equal(summed[0].asnumpy(), 4.0)
    halved = nn.DistributedGradReducer(net.trainable_params(), mean=True, degree=2)(grads)
    np.testing.assert_array_equal(halved[1].asnumpy(), 2.0)
    ms.set_auto_parallel_context(gradients_mean=True)
    assert nn.DistributedGradReducer(net.trainable_params()).mean is True
    with pytest.raises(ValueError, match="expected 2 gradients"):
        nn.DistributedGradReducer(net.trainable_params())(grads[:1])
    with pytest.raises(ValueError, match="degree"):
        nn.DistributedGradReducer(net.trainable_params(), degree=0)


def test_reducer_needs_init():
    with pytest.raises(RuntimeError, match="init"):
        nn.DistributedGradReducer(nn.Dense(2, 1).trainable_params())


def test_train_one_step_cell_inserts_the_reducer_in_data_parallel():
    net = nn.Dense(2, 1)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
    assert step.grad_reducer is None
    communication.init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, parameter_broadcast=True)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
    assert isinstance(step.grad_reducer, nn.DistributedGradReducer)
    x, y = ms.Tensor(np.ones((4, 2), np.float32)), ms.Tensor(np.zeros((4, 1), np.float32))
    first = float(step(x, y).asnumpy())
    assert float(step(x, y).asnumpy()) < first


def test_a_jitted_step_replays_the_all_reduce(monkeypatch):
    communication.init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    net = nn.Dense(2, 1)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
    calls = []
    real = buckets.all_reduce_arrays
    monkeypatch.setattr(buckets, "all_reduce_arrays", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    jitted = ms.jit(step.construct)
    x, y = ms.Tensor(np.ones((4, 2), np.float32)), ms.Tensor(np.zeros((4, 1), np.float32))
    losses = [float(jitted(x, y).asnumpy()) for _ in range(3)]
    assert calls == [2, 2, 2]  # traced once, replayed twice: each call all-reduces both gradients
    assert losses[2] < losses[1] < losses[0]
