"""How fast are gpucell's CUDA kernels against the hardware and against CuPy/cuBLAS?

    python benchmarks/kernels.py [--quick] [--json PATH]

* Elementwise kernels (where, gt, threshold, fill) and dropout / dropout2d at 2^20 and 2^26
  float32 elements: effective bandwidth (bytes the kernel must move / time) as a fraction of a
  device-to-device copy timed in the same run. Goal: >= 0.85 at 2^26. (2^20 elements, 4-13 MiB
  per call, stay in an H100's 50 MB L2 across repeated calls: that size compares with an
  L2-resident copy, not with memory.)
* matmul_bias (fused bias + ReLU) against ``cupy.matmul`` + a bias add + ReLU (cuBLAS) at the
  Dense shapes 64x784x512, 256x1024x1024 (batch x in x out) and 4096^3: float16 and bfloat16 on
  the tensor cores (kernels/matmul_tc.cu), float32 on the CUDA cores (kernels/matmul_simt.cu,
  against SGEMM). bfloat16's baseline is cuBLAS's float16 GEMM of the same size (CuPy has no
  bfloat16 matmul; both run on the tensor cores at the same rate).
  Goal: faster than cuBLAS + add at the two MLP shapes, >= 0.7x cuBLAS throughput at 4096^3.
  Each product is first checked against a float64 product of the same inputs (output poisoned
  first): ``rel_err`` = ||out - ref|| / ||ref|| for both, ``correct`` against a bound per dtype.

On the GPU every figure is the GPU's own time per call, by queue-ahead timing
(``_harness.queued_batch``: a spin kernel holds the GPU while the host queues an event, N calls
and an event, so the calls then run back to back and the host's dispatch time is left out), the
median of repetitions interleaved with the baseline's, after two warm-up calls (which also
compile the kernels). Without a GPU the same cases run the NumPy reference (the CPU backend),
timed with perf_counter, and the script says so; --quick then keeps only 2^20 and 64x784x512
(NumPy's float16 matmul alone takes a second there), and a full run skips 4096^3. On the
simulated device the sizes are tiny and the figures are host time, not GPU speed. The JSON follows
the contract of benchmarks/_harness.py: ``rows`` of ``case``, ``time_us``, ``baseline``,
``ratio`` (time / baseline time), plus ``copy_fraction`` or ``tflops`` and ``rel_err``; ``goals``
holds a verdict per goal that was measured (``_harness.goal``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks import _harness as h  # noqa: E402
from gpucell import backend  # noqa: E402
from gpucell.backend import kernels as _kernels  # noqa: E402
from gpucell.backend.kernel_ops import compare, dropout, dropout2d, fill, matmul_bias, select, threshold  # noqa: E402
from gpucell.dtype import BF16_NUMPY  # noqa: E402

GOALS = {"copy_fraction_at_2^26": 0.85, "matmul_mlp_ratio_below": 1.0, "matmul_4096_tflops_vs_cublas": 0.7}
GOAL_TEXT = ("elementwise and dropout >= 0.85 of copy bandwidth at 2^26; matmul_bias + ReLU faster than "
             "cuBLAS + bias + ReLU at 64x784x512 and 256x1024x1024; >= 0.7x cuBLAS throughput at 4096^3")
MATMUL_SHAPES = ((64, 784, 512), (256, 1024, 1024), (4096, 4096, 4096))
MLP_SHAPES = MATMUL_SHAPES[:2]
# ||out - ref|| / ||ref|| bounds against a float64 product: fp32 accumulation over K <= 4096 lands
# near 1e-6; an fp16 output is rounded to 11 bits (about 3e-4).
REL_ERR_BOUND = {"float32": 1e-4, "float16": 2e-3, "bfloat16": 1.6e-2}
BF16 = None if BF16_NUMPY is None else np.dtype(BF16_NUMPY)


class Timer:
    """Interleaved timings of a few candidates: queue-ahead on the GPU, perf_counter on the CPU."""

    def __init__(self, gpu: bool, quick: bool):
        self.gpu, self.quick = gpu, quick

    def __call__(self, candidates: dict) -> dict:
        if self.gpu:
            return h.compare(candidates, quick=self.quick, on_gpu=True, queued=True)
        # The NumPy path: one warm-up call (NumPy compiles nothing), few repetitions in a quick run.
        return h.compare(candidates, quick=self.quick, on_gpu=False, warmup=1,
                         repeat=3 if self.quick else None)


def _row(case, timing, baseline=None, base=None, **extra):
    row = h.rows_for({case: timing}, None)[0]
    row.update(baseline=baseline, ratio=None if base is None else round(timing.median / base.median, 4), **extra)
    return row


def elementwise_rows(xp, timer, sizes, goals: dict) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for log2 in sizes:
        n = 1 << log2
        x = xp.asarray(rng.standard_normal(n, dtype=np.float32))
        y = xp.asarray(rng.standard_normal(n, dtype=np.float32))
        cond = xp.asarray(rng.random(n) < 0.5)
        state = xp.asarray(np.array([1, 0], np.uint64))
        dst = xp.empty_like(x)
        copy_case = f"copy f32 n=2^{log2}"
        cases = {  # name: (call, bytes moved per element)
            "where": (lambda: select(cond, x, y), 13),
            "gt": (lambda: compare("gt", x, y), 9),
            "threshold": (lambda: threshold(x, 0.0, -1.0), 8),
            "fill": (lambda: fill((n,), 1.0, np.float32, like=x), 4),
            "dropout": (lambda: dropout(x, 0.9, state), 9),
            "dropout2d": (lambda: dropout2d(x.reshape(64, -1, 32, 32), 0.9, state), 9),
        }
        timings = timer({copy_case: lambda: xp.copyto(dst, x),
                         **{f"{name} f32 n=2^{log2}": call for name, (call, _) in cases.items()}})
        copy_t = timings[copy_case]
        copy_bw = 8 * n / copy_t.median
        rows.append(_row(copy_case, copy_t, size=n, series="copy", bandwidth_GBps=round(copy_bw / 1e9, 3),
                         copy_fraction=1.0))
        for name, (_, per_element) in cases.items():
            case = f"{name} f32 n=2^{log2}"
            bandwidth = per_element * n / timings[case].median
            rows.append(_row(case, timings[case], copy_case, copy_t, size=n, series=name,
                             bandwidth_GBps=round(bandwidth / 1e9, 3),
                             copy_fraction=round(bandwidth / copy_bw, 4)))
            if log2 == 26:
                goals[f"copy_fraction {case}"] = h.goal(copy_t, timings[case], GOALS["copy_fraction_at_2^26"],
                                                        at_least=True, scale=per_element / 8)
    return rows


def _rel_err(xp, out, ref) -> float | None:
    """||out - ref|| / ||ref|| (None when it is not finite: NaN never passes)."""
    diff = _wide(out) - ref
    err = float(xp.sqrt(xp.sum(diff * diff))) / max(float(xp.sqrt(xp.sum(ref * ref))), 1e-300)
    return err if np.isfinite(err) else None


def _wide(x):
    """``x`` as float64 (bfloat16 widened through its bits: CuPy has no bfloat16 arithmetic)."""
    if BF16 is not None and x.dtype == BF16:
        x = (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return x.astype(np.float64)


def matmul_rows(xp, timer, shapes, goals: dict, judge: bool) -> list[dict]:
    """Rows of every dtype and shape; the goals only where ``judge`` (a real GPU against cuBLAS)."""
    rows = []
    rng = np.random.default_rng(1)
    lib = "numpy" if xp is np else "sim" if backend.simulated() else "cuBLAS"
    for dtype in (np.float16, BF16, np.float32):
        if dtype is None:
            continue
        name = np.dtype(dtype).name
        base_dtype = np.float16 if dtype == BF16 else dtype  # the baseline's GEMM dtype
        for batch, k, n in shapes:
            # Fresh random data for every shape: zeros would hide unwritten outputs and can run faster.
            host = [rng.standard_normal((batch, k)), rng.standard_normal((n, k)) / np.sqrt(k), rng.standard_normal(n)]
            x, w, b = (xp.asarray(v.astype(dtype)) for v in host)
            bx, bw, bb = (xp.asarray(v.astype(base_dtype)) for v in host)

            def base():
                return xp.maximum(xp.matmul(bx, bw.T) + bb, 0)

            def ours():
                return matmul_bias(x, w, b, transpose_b=True, relu=True)

            ref = xp.maximum(xp.matmul(_wide(x), _wide(w).T) + _wide(b), 0)
            with _kernels.poison_outputs():  # an element the kernel never writes stays NaN
                err_ours = _rel_err(xp, ours(), ref)
            err_base = _rel_err(xp, base(), xp.maximum(xp.matmul(_wide(bx), _wide(bw).T) + _wide(bb), 0))
            del ref
            flops = 2.0 * batch * k * n
            label = f"{name} {batch}x{k}x{n}"
            via = "" if base_dtype == dtype else f" (via {np.dtype(base_dtype).name})"
            base_case, ours_case = f"matmul+add+relu {label}{via}", f"matmul_bias {label}"
            timings = timer({base_case: base, ours_case: ours})
            bound = REL_ERR_BOUND[name]
            rows.append(_row(base_case, timings[base_case], size=flops, series=f"{lib} {name}",
                             tflops=round(flops / timings[base_case].median / 1e12, 4),
                             rel_err=err_base, correct=err_base is not None and err_base <= bound))
            rows.append(_row(ours_case, timings[ours_case], base_case, timings[base_case], size=flops,
                             series=f"matmul_bias {name}",
                             tflops=round(flops / timings[ours_case].median / 1e12, 4),
                             rel_err=err_ours, correct=err_ours is not None and err_ours <= bound))
            if not judge:
                continue
            if (batch, k, n) in MLP_SHAPES:
                goals[f"matmul_bias / {lib} {label}"] = h.goal(timings[ours_case], timings[base_case],
                                                               GOALS["matmul_mlp_ratio_below"])
            elif (batch, k, n) == MATMUL_SHAPES[2]:
                goals[f"matmul_bias throughput / {lib} {label}"] = h.goal(
                    timings[base_case], timings[ours_case], GOALS["matmul_4096_tflops_vs_cublas"], at_least=True)
    return rows


def main(argv=None) -> dict:
    args = h.parse_args(__doc__.splitlines()[0], argv)
    gpu = backend.gpu_available()
    xp = backend.cupy if gpu else np
    if gpu and backend.simulated():
        # Every block runs through the host emulator: tiny sizes keep the code path exercised;
        # the figures say nothing about a GPU's speed.
        device = "GPU: the simulated CUDA device (figures are host time, not GPU speed)"
        sizes, shapes = (16,), ((16, 64, 32),)
    elif gpu:
        props = backend.cupy.cuda.runtime.getDeviceProperties(backend.cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        device = f"GPU: {name} (CuPy kernels, queue-ahead timing)"
        sizes, shapes = (20, 26), MATMUL_SHAPES
    else:
        device = f"CPU: NumPy reference path, no GPU ({backend.gpu_status()[1]})"
        sizes, shapes = ((20,), MATMUL_SHAPES[:1]) if args.quick else ((20, 26), MLP_SHAPES)
    print(f"benchmarks/kernels.py on {device}", flush=True)
    timer = Timer(gpu, args.quick)
    goals: dict = {}
    judge = gpu and not backend.simulated()  # NumPy and the simulator say nothing about cuBLAS
    rows = elementwise_rows(xp, timer, sizes, goals) + matmul_rows(xp, timer, shapes, goals, judge)

    for row in rows:
        if "copy_fraction" in row:
            detail = f"{row['copy_fraction']:.2f} of copy, {row['bandwidth_GBps']:.1f} GB/s"
        else:
            err = "NaN" if row["rel_err"] is None else f"{row['rel_err']:.1e}"
            detail = f"{row['tflops']:.2f} TFLOP/s, rel_err {err}{'' if row['correct'] else ' WRONG'}" + (
                "" if row["ratio"] is None else f", {row['ratio']:.2f}x")
        starved = f" ({row['starved']} starved)" if row.get("starved") and not backend.simulated() else ""
        print(f"  {row['case']:<36} {row['time_us']:>12.2f} us   {detail}{starved}")
    for label, verdict in goals.items():
        print(h.goal_line(label, verdict))
    copies = [r for r in rows if r["case"].startswith("copy")]
    cublas = {r["series"]: r["tflops"] for r in rows if "tflops" in r and r["baseline"] is None}
    result = {"benchmark": "kernels", "device": device, "gpu": gpu, "simulated": gpu and backend.simulated(),
              "quick": args.quick, "timing": rows[0].get("timing"), "goal": GOAL_TEXT, "goal_limits": GOALS,
              "goals": goals, "ceilings": {"copy_GBps": copies[-1]["bandwidth_GBps"] if copies else None,
                                           "matmul_tflops_largest": cublas},
              "rows": rows}
    h.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
