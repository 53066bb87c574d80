"""Data parallel on the MPI path: ``mpiexec -n 2`` ranks that start from different weights, take rank
0's by broadcast, train on halves of a global batch with the gradient all-reduce, and end identical
and equal to one process trained on the full batch (tests/communication/dp_script.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("dp_script.py")


def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="mpi4py is missing: pip install 'gpucell[mpi]' (mpi4py and MPICH)")
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec is not on PATH: pip install 'gpucell[mpi]' (mpi4py and MPICH)")
    return exe


def _run(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return time.perf_counter() - start


def _load(path: Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("mode", ["--mean", "--sum"])
def test_two_ranks_match_one_process_on_the_full_batch(tmp_path, mode):
    mpiexec = _mpiexec()
    _run([mpiexec, "-n", "2", sys.executable, str(SCRIPT), str(tmp_path), mode])
    _run([sys.executable, str(SCRIPT), str(tmp_path), "--reference"])
    rank0, rank1, ref = (_load(tmp_path / name) for name in ("rank0.npz", "rank1.npz", "rank0_ref.npz"))
    assert rank0.keys() == rank1.keys() == ref.keys()
    for name in ref:
        np.testing.assert_array_equal(rank0[name], rank1[name], err_msg=name)
        np.testing.assert_allclose(rank0[name], ref[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_mpiexec_with_one_rank(tmp_path):
    mpiexec = _mpiexec()
    _run([mpiexec, "-n", "1", sys.executable, str(SCRIPT), str(tmp_path)])
    _run([sys.executable, str(SCRIPT), str(tmp_path), "--reference"])
    rank0, ref = _load(tmp_path / "rank0.npz"), _load(tmp_path / "rank0_ref.npz")
    for name in ref:
        np.testing.assert_allclose(rank0[name], ref[name], rtol=1e-6, atol=1e-7, err_msg=name)
