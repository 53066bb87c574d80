"""Ranks agree on capturing a jitted step that holds a collective: NCCL needs every rank to run an
all-reduce the same way, inside a CUDA graph on every rank or eagerly on every rank.

Two simulated GPUs under ``mpiexec -n 2`` (tests/communication/capture_agreement_script.py): when
one rank's capture (or warm-up) fails, every rank falls back to eager replay, warns naming the
failing rank and its error, finishes the same steps and ends with the parameters of the captured
run; the ranks' plan caches get one bound (an eviction on one rank only would make it capture
alone). One process makes no MPI call for any of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpucell as ms
from gpucell import backend, communication, nn
from gpucell.backend import graphs
from gpucell.communication import collectives, management
from gpucell.jit import executors, function
from tests.communication.test_data_parallel import _mpiexec
from tests.nn.nn_testing import on

SCRIPT = Path(__file__).with_name("capture_agreement_script.py")
TIMEOUT = 30  # seconds: a hung collective fails the test instead of the CI job
CONFIGS = ("captured", "capture-fails", "warm-up-fails")


def _run_two_ranks(tmp_path: Path, failing_rank: int) -> list[dict]:
    env = dict(os.environ, GPUCELL_DEVICE="SIM", GPUCELL_SIM_DEVICES="2")  # one simulated GPU per rank
    cmd = [_mpiexec(), "-n", "2", sys.executable, str(SCRIPT), str(tmp_path), "--failing-rank", str(failing_rank)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    ranks = []
    for rank in range(2):
        with np.load(tmp_path / f"rank{rank}.npz") as f:
            ranks.append({key: f[key] for key in f.files})
    return ranks


@pytest.mark.parametrize("failing_rank", [1, 0])
def test_one_rank_failing_its_capture_makes_every_rank_replay_eagerly(tmp_path, failing_rank):
    ranks = _run_two_ranks(tmp_path, failing_rank)
    names = sorted(key.split("/")[1] for key in ranks[0] if key.startswith("captured/") and "." in key)
    assert names == ["0.bias", "0.weight", "2.bias", "2.weight"]
    for rank, out in enumerate(ranks):
        assert str(out["meta:backend"]) == "nccl"
        assert int(out["meta:max_bytes"]) == 1 << 30  # rank 0's bound, the smaller: evictions alike
        # Nothing failed: every rank replays the one graph, the all-reduce inside it, silently.
        assert (int(out["captured/captures"]), int(out["captured/failed"])) == (1, 0)
        assert out["captured/warnings"].size == 0
        for config in ("capture-fails", "warm-up-fails"):
            # Every rank gave the graph up, the one whose own capture succeeded as well.
            assert (int(out[f"{config}/captures"]), int(out[f"{config}/failed"])) == (0, 1), (rank, config)
            (warning,) = out[f"{config}/warnings"]
            stage = "capture" if config == "capture-fails" else "warm-up"
            assert f"failed on rank(s) [{failing_rank}]" in str(warning), warning
            assert (f"rank {failing_rank}: {stage} failed (RuntimeError: refused on purpose on rank {failing_rank})"
                    in str(warning)), warning
            assert "every rank replays it eagerly" in str(warning), warning
            # The same steps, the same losses and, bit for bit, the parameters of the captured run.
            np.testing.assert_array_equal(out[f"{config}/losses"], out["captured/losses"], err_msg=config)
            for name in names:
                np.testing.assert_array_equal(out[f"{config}/{name}"], out[f"captured/{name}"], err_msg=name)
    assert len(ranks[0]["captured/losses"]) == 4
    for key, value in ranks[0].items():
        if "/" in key and not key.endswith(("losses", "warnings")):
            np.testing.assert_array_equal(ranks[1][key], value, err_msg=key)  # the ranks end identical


class _Spy:
    """Stands in for ``MPI.COMM_WORLD``, logging every method gpucell asks of it."""

    def __init__(self, comm):
        self._comm, self.calls = comm, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self._comm, name)


def _jitted_data_parallel_step():
    ms.set_seed(3)
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    net = nn.SequentialCell([nn.Dense(3, 4), nn.ReLU(), nn.Dense(4, 1)])
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.MSELoss()), nn.SGD(net.trainable_params(), 0.1))
    return ms.jit(step.construct)


@pytest.fixture
def one_gpu_process(monkeypatch):
    """A world of one on the GPU (NCCL), with the world's communicator replaced by a spy."""
    before = backend.get_device()
    backend.set_device("GPU")
    monkeypatch.setattr(executors.CudaGraphExecutor, "_warned", False)
    try:
        from gpucell.backend.nccl import nccl_module

        nccl_module()
    except ImportError as exc:
        backend.set_device(before)
        pytest.skip(f"NCCL is not installed: {exc}")
    communication.init()
    spy = _Spy(management._World.comm) if management._World.comm is not None else None
    if spy is not None:
        monkeypatch.setattr(management._World, "comm", spy)
    yield spy
    backend.set_device(before)


@pytest.mark.gpu
@pytest.mark.parametrize("capture_fails", [False, True])
def test_one_process_captures_or_falls_back_without_any_mpi_call(one_gpu_process, monkeypatch, capture_fails):
    assert executors.ranks.agree is None and executors.ranks.collectives == frozenset()
    if capture_fails:
        def refuse(self, run):
            raise RuntimeError("refused on purpose")
        monkeypatch.setattr(graphs.GraphRunner, "capture", refuse)
    step = _jitted_data_parallel_step()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 1)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            step(on("GPU", x), on("GPU", y))
    (executor,) = [plan.executor for plan in function.PLANS._plans.values()]
    assert any(s.op.name == "AllReduce" for s in executor.plan.steps)  # a collective, yet no agreement
    assert executor.failed == capture_fails and (ms.jit.cache_info().captures == 1) != capture_fails
    messages = [str(w.message) for w in caught if "gpucell.jit" in str(w.message)]
    if capture_fails:  # this process's own warning, as before: no rank to name
        assert messages == ["gpucell.jit: CUDA-graph capture of 'TrainOneStepCell.construct' failed "
                            "(RuntimeError: refused on purpose); replaying it eagerly instead."]
    else:
        assert messages == []
    if one_gpu_process is not None:
        assert one_gpu_process.calls == []


def test_agree_in_a_world_of_one_names_this_rank_without_mpi(monkeypatch):
    communication.init("mpi")
    if management._World.comm is not None:
        spy = _Spy(management._World.comm)
        monkeypatch.setattr(management._World, "comm", spy)
    assert collectives.agree() == {}
    assert collectives.agree(None) == {}
    assert collectives.agree("capture failed (RuntimeError: boom)") == {0: "capture failed (RuntimeError: boom)"}
    if management._World.comm is not None:
        assert spy.calls == []
    with pytest.raises(TypeError, match=r"For 'agree', the 'error' must be a str or None, but got int"):
        collectives.agree(1)


def test_agree_needs_init():
    with pytest.raises(RuntimeError, match=r"call gpucell.communication.init\(\) first"):
        collectives.agree()


def test_a_world_of_one_installs_no_agreement_and_release_leaves_none(monkeypatch):
    communication.init("mpi")
    assert executors.ranks.agree is None
    # As init does in a world of several ranks (tested under mpiexec above), and release undoes.
    management._agree_on_captures(True)
    assert executors.ranks.agree is collectives.agree
    assert [op.name for op in executors.ranks.collectives] == ["AllReduce"]
    communication.release()
    assert executors.ranks.agree is None and executors.ranks.collectives == frozenset()
