"""A CNN training step (the demo's digits CNN): gpucell eager and jit against PyTorch, with peak memory.

Conv-ReLU-MaxPool twice and a Dense head on 1x8x8 images, batch 32, softmax cross-entropy and
SGD, in the canonical MindSpore loop (``value_and_grad`` + optimizer), eagerly and under
``gpucell.jit``, against the same step in PyTorch from the same weights (when installed) in the
same process. Each row also has the peak memory one step allocates (see
``_harness.peak_bytes``; PyTorch's is only visible on the GPU). No goal: it tracks the conv path.

    python benchmarks/cnn_step.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the other step benchmarks (see mlp_step.py)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import gpucell as ms  # noqa: E402
from benchmarks import _cnn  # noqa: E402
from benchmarks import _harness as h  # noqa: E402
from benchmarks.mlp_step import STEP_BATCH_S  # noqa: E402


def measure(quick: bool) -> dict:
    on_gpu = h.device() == "GPU"
    x_host, y_host = _cnn.batch()
    x, y = ms.Tensor(x_host), ms.Tensor(y_host)
    eager_net, eager_step = _cnn.gpucell_model()
    jit_net, jit_step = _cnn.gpucell_model()
    ms.load_param_into_net(jit_net, {p.name: p.copy() for p in eager_net.trainable_params()})
    jitted = ms.jit(jit_step)
    candidates = {"gpucell eager cnn": lambda: eager_step(x, y), "gpucell jit cnn": lambda: jitted(x, y)}
    peaks = {}
    made = _cnn.torch_step(eager_net, cuda=on_gpu)
    if made is not None:
        torch_step, torch = made
        tx = torch.from_numpy(x_host).to("cuda" if on_gpu else "cpu")
        ty = torch.from_numpy(y_host).long().to(tx.device)
        # Same weights, same batch: the first losses agree before anything is timed.
        first = float(torch_step(tx, ty).detach())
        np.testing.assert_allclose(first, float(eager_step(x, y).asnumpy()), rtol=1e-4)
        candidates["torch eager cnn"] = lambda: torch_step(tx, ty)
        peaks["torch eager cnn"] = h.peak_bytes(candidates["torch eager cnn"], torch=torch)
    for name in ("gpucell eager cnn", "gpucell jit cnn"):
        for _ in range(2):  # the jit traces, then (on the GPU) warms up and captures: steady state after
            candidates[name]()
        peaks[name] = h.peak_bytes(candidates[name])
    timings = h.compare(candidates, quick=quick, min_batch_s=STEP_BATCH_S[quick])
    baseline = "torch eager cnn" if "torch eager cnn" in timings else "gpucell eager cnn"
    rows = h.rows_for(timings, baseline)
    for row in rows:
        row["peak_bytes"] = peaks.get(row["case"])
    return {"benchmark": "cnn_step", "device": h.device(), "quick": quick, "rows": rows}


def main(argv=None) -> int:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    h.print_rows(f"CNN train step, on {result['device']}", result["rows"])
    for row in result["rows"]:
        if row["peak_bytes"] is not None:
            print(f"  peak memory of one step, {row['case']}: {row['peak_bytes'] / 2 ** 20:.2f} MiB")
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
