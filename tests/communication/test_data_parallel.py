"""Data parallel across processes (``mpiexec``): ranks start from different weights, take rank 0's by
broadcast, train on their shares of a global batch with the gradient all-reduce, and end identical
and equal, within float32 rounding, to one process trained on the full batch: SGD, Momentum and
Adam, eager and jitted, gradients averaged and summed (tests/communication/dp_script.py). On the
CPU the all-reduce is MPI's; on the simulated GPU it is NCCL's, captured into the jitted step's graph.
A failing rank, or ranks that built different networks, end the whole run at once, with the error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("dp_script.py")
TIMEOUT = 120  # seconds: a hung collective fails the test instead of the CI job


def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="mpi4py is missing: pip install 'gpucell[mpi]' (mpi4py and MPICH)")
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec is not on PATH: pip install 'gpucell[mpi]' (mpi4py and MPICH)")
    return exe


def _env(device: str) -> dict:
    env = dict(os.environ)
    env.pop("GPUCELL_DEVICE", None)
    if device == "SIM":
        env.update(GPUCELL_DEVICE="SIM", GPUCELL_SIM_DEVICES="2")  # one simulated GPU per local rank
    return env


def _run(cmd: list[str], device: str = "CPU", ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=_env(device))
    if ok:
        assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _load(path: Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def _train(tmp_path: Path, ranks: int, device: str, optimizers: str, *extra: str) -> tuple[list[dict], dict, str]:
    mpiexec = _mpiexec()
    done = _run([mpiexec, "-n", str(ranks), sys.executable, str(SCRIPT), str(tmp_path), "--optimizers", optimizers,
                 *extra], device)
    _run([sys.executable, str(SCRIPT), str(tmp_path), "--reference", "--optimizers", optimizers], device)
    ranks_out = [_load(tmp_path / f"rank{r}.npz") for r in range(ranks)]
    return ranks_out, _load(tmp_path / "reference.npz"), done.stdout + done.stderr


def _check_against_reference(ranks: list[dict], reference: dict, optimizers: str) -> None:
    configs = {key.split("/")[0] for key in ranks[0] if "/" in key}
    expected = {f"{o}-{m}-{r}" for o in optimizers.split(",") for m in ("eager", "jit") for r in ("mean", "sum")}
    assert configs == expected
    for key, value in ranks[0].items():
        for other in ranks[1:]:
            np.testing.assert_array_equal(other[key], value, err_msg=key)  # the ranks agree bit for bit
        if "/" not in key or "meta:" in key:
            continue
        config, name = key.split("/")
        optimizer, mode, _ = config.split("-")
        np.testing.assert_allclose(value, reference[f"{optimizer}-{mode}/{name}"], rtol=2e-5, atol=2e-6,
                                   err_msg=key)


def test_two_ranks_match_one_process_on_the_full_batch(tmp_path):
    ranks, reference, output = _train(tmp_path, 2, "CPU", "sgd,momentum,adam", "--model-train")
    _check_against_reference(ranks, reference, "sgd,momentum,adam")
    assert str(ranks[0]["meta:backend"]) == "mpi"
    # Model.train on 2 ranks (8 rows, batch 2 per rank: 2 steps): rank 0 alone prints and saves.
    assert output.count("loss is") == 2 and output.count("epoch 1/1:") == 1, output
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["dp-1_1.ckpt", "dp-1_2.ckpt"]


def test_two_simulated_gpus_all_reduce_over_nccl_inside_the_captured_graph(tmp_path):
    ranks, reference, _ = _train(tmp_path, 2, "SIM", "sgd,adam")
    _check_against_reference(ranks, reference, "sgd,adam")
    assert str(ranks[0]["meta:backend"]) == "nccl"
    for rank in ranks:
        for mode in ("mean", "sum"):
            captures, graph_breaks = rank[f"adam-jit-{mode}/meta:graphs"]
            assert (captures, graph_breaks) == (1, 0)  # the all-reduce is inside the one graph


def test_mpiexec_with_one_rank(tmp_path):
    ranks, reference, _ = _train(tmp_path, 1, "CPU", "sgd")
    _check_against_reference(ranks, reference, "sgd")


def test_a_raising_rank_aborts_the_world_with_its_error(tmp_path):
    start = time.perf_counter()
    done = _run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPT), str(tmp_path), "--optimizers", "sgd",
                 "--fail-rank", "1"], ok=False)
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "rank 1 of 2 failed" in output and "rank 1 fails on purpose after training sgd" in output, output
    assert elapsed < 30, f"the world took {elapsed:.1f} s to abort"
    assert not (tmp_path / "rank0.npz").exists()  # rank 0 was stopped, not left to finish


def test_ranks_with_different_networks_fail_at_the_first_broadcast(tmp_path):
    done = _run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPT), str(tmp_path), "--mismatch"], ok=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "For 'broadcast_parameters', the Parameter '0.weight' has shape (8, 4)" in output, output
    assert "rank 1 has '0.weight' with shape (9, 4)" in output, output


def test_the_demo_trains_data_parallel_and_rank_0_alone_prints():
    env = _env("CPU")
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(SCRIPT.parents[2]))  # one BLAS thread per process
    done = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "gpucell.demo", "--data-parallel",
                           "--epochs", "2", "--no-progress"], capture_output=True, text=True, timeout=TIMEOUT,
                          env=env, cwd=SCRIPT.parents[2])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("rank 0 of 2") == 1 and done.stdout.count("test accuracy") == 1, done.stdout
    assert "data parallel over 2 processes" in done.stdout
    accuracy = float(done.stdout.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.8, done.stdout
