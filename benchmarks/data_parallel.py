"""Data parallel: the gradient all-reduce's time against the bucket size, and a training step's time on
1 and 2 processes (``mpiexec``; MPI on the CPU, NCCL on GPUs).

The runner starts ``mpiexec -n 1`` and ``-n 2`` workers of this script (``--worker``); every rank runs
the same fixed number of calls between barriers (a collective needs all ranks: adaptive timing loops
would deadlock), and rank 0 reports the slowest rank's median. Rows: ``all-reduce <MB> in <cap>
buckets`` (baseline: the default 25 MB cap) and ``step, N ranks`` (baseline: 1 rank). Without
mpiexec only the one-process rows are measured.

    python benchmarks/data_parallel.py [--quick] [--json PATH]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _harness as h  # noqa: E402

import gpucell as ms  # noqa: E402
from gpucell import backend, communication, nn  # noqa: E402
from gpucell.communication import buckets, management  # noqa: E402

CAPS_MB = (0.0625, 1.0, 4.0, 25.0)
GRAD_MB = 16.0  # a ResNet-18-sized gradient set: 64 tensors of 0.25 MB


def _synchronize() -> None:
    if backend.get_device() == "GPU":
        backend.cupy.cuda.get_current_stream().synchronize()


def _median_us(fn, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time per call, the slowest rank's, identical on every rank."""
    comm = management.world_comm()
    samples = []
    for _ in range(repeats):
        if comm is not None:
            comm.Barrier()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        _synchronize()
        samples.append((time.perf_counter() - start) / calls)
    median = float(np.median(samples))
    return (comm.allreduce(median, op=_max()) if comm is not None else median) * 1e6


def _max():
    from mpi4py import MPI

    return MPI.MAX


def _all_reduce_rows(quick: bool) -> list[dict]:
    xp = backend.xp_for(backend.get_device())
    count = int(GRAD_MB * 2**20 / 4 / 64)
    grads = [xp.ones(count, np.float32) for _ in range(64 if not quick else 16)]
    megabytes = sum(g.nbytes for g in grads) / 2**20
    rows = []
    for cap in CAPS_MB:
        us = _median_us(lambda cap=cap: buckets.all_reduce_arrays(grads, "sum", int(cap * 2**20)),
                        calls=3 if quick else 10, repeats=3 if quick else 7)
        rows.append({"case": f"all-reduce {megabytes:g} MB in {cap:g} MB buckets", "time_us": round(us, 1),
                     "bucket_mb": cap, "grad_mb": megabytes})
    return rows


def _step_row(quick: bool) -> dict:
    size = communication.get_group_size()
    ms.set_seed(0)
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 parameter_broadcast=True)
    net = nn.SequentialCell([nn.Dense(64, 256, activation="relu"), nn.Dense(256, 10)])  # the demo's MLP
    step = ms.jit(nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True,
                                                                                          reduction="mean")),
                                      nn.Adam(net.trainable_params(), learning_rate=1e-3)).construct)
    rng = np.random.default_rng(communication.get_rank())
    x = ms.Tensor(rng.standard_normal((32, 64)).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, 32).astype(np.int32))
    for _ in range(3):  # trace, capture, one replay
        step(x, y)
    us = _median_us(lambda: step(x, y), calls=20 if quick else 100, repeats=3 if quick else 7)
    ms.reset_auto_parallel_context()
    return {"case": f"step, {size} rank{'s' if size > 1 else ''} (MLP 64-256-10, batch 32 per rank, jit)",
            "time_us": round(us, 1), "ranks": size}


def worker(out: Path, quick: bool) -> None:
    communication.init()
    rows = _all_reduce_rows(quick) + [_step_row(quick)]
    if communication.get_rank() == 0:
        out.write_text(json.dumps({"rows": rows, "backend": communication.GlobalComm.BACKEND}))
    communication.release()


def _launch(ranks: int, quick: bool) -> dict | None:
    mpiexec = shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpiexec = None
    if mpiexec is None:
        if ranks > 1:
            return None
        cmd = [sys.executable, __file__]
    else:
        cmd = [mpiexec, "-n", str(ranks), sys.executable, __file__]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))  # one core per rank
    if h.simulated():
        env.update(GPUCELL_DEVICE="SIM", GPUCELL_SIM_DEVICES=str(max(ranks, 1)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        done = subprocess.run(cmd + ["--worker", str(out)] + (["--quick"] if quick else []), env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())


def measure(quick: bool) -> dict:
    one, two = _launch(1, quick), _launch(2, quick)
    rows = []
    for result in (one, two):
        if result is None:
            continue
        ranks = result["rows"][-1]["ranks"]
        default = next(r for r in result["rows"] if r.get("bucket_mb") == 25.0)
        for row in result["rows"][:-1]:
            rows.append({**row, "case": f"{row['case']}, {ranks} rank{'s' if ranks > 1 else ''}",
                         "baseline": f"{default['case']}, {ranks} rank{'s' if ranks > 1 else ''}",
                         "ratio": round(row["time_us"] / default["time_us"], 3), "ranks": ranks,
                         "backend": result["backend"]})
    base = one["rows"][-1]
    for result in (one, two):
        if result is not None:
            step = result["rows"][-1]
            rows.append({**step, "baseline": base["case"], "ratio": round(step["time_us"] / base["time_us"], 3),
                         "backend": result["backend"]})
    return {"benchmark": "data_parallel", "device": h.device(), "quick": quick, "simulated": h.simulated(),
            "goal": "two ranks on one batch each cost about one step plus one all-reduce", "rows": rows}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--worker" in argv:
        worker(Path(argv[argv.index("--worker") + 1]), "--quick" in argv)
        return 0
    return h.run_cli(__doc__, measure, lambda result: (f"data parallel on {result['device']} "
                                                      f"({'quick' if result['quick'] else 'full'} run)"), argv)


if __name__ == "__main__":
    sys.exit(main())
