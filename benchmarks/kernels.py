"""How fast are gpucell's CUDA kernels against the hardware and against CuPy/cuBLAS?

    python benchmarks/kernels.py [--quick] [--json PATH]

* Elementwise kernels (where, gt, threshold, fill) and dropout / dropout2d at 2^20 and 2^26
  float32 elements: effective bandwidth (bytes the kernel must move / time) as a fraction of a
  device-to-device copy timed in the same run. Goal: >= 0.85 at 2^26.
* matmul_bias (fused bias + ReLU) against ``cupy.matmul`` + a bias add + ReLU (cuBLAS) at the
  Dense shapes 64x784x512, 256x1024x1024 (batch x in x out) and 4096^3, fp32 and fp16.
  Goal: faster than cuBLAS + add at the two MLP shapes, >= 0.7x cuBLAS throughput at 4096^3.

On the GPU each figure is the median of many runs, each timed with its own pair of CUDA events,
after warm-up (which also compiles the kernels). Without a GPU the same cases run the NumPy
reference (the CPU backend), timed with perf_counter, and the script says so; --quick then keeps
only 2^20 and 64x784x512 (NumPy's float16 matmul alone would take seconds). The JSON follows the
contract of benchmarks/_harness.py: ``rows`` of ``case``,
``time_us``, ``baseline``, ``ratio`` (time / baseline time), plus ``copy_fraction`` or ``tflops``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from gpucell import backend  # noqa: E402
from gpucell.backend.kernel_ops import compare, dropout, dropout2d, fill, matmul_bias, select, threshold  # noqa: E402

GOALS = {"copy_fraction_at_2^26": 0.85, "matmul_mlp_ratio_below": 1.0, "matmul_4096_tflops_vs_cublas": 0.7}
MATMUL_SHAPES = ((64, 784, 512), (256, 1024, 1024), (4096, 4096, 4096))


class Clock:
    """Median seconds per call of ``fn``: CUDA events on the GPU, perf_counter on the CPU."""

    def __init__(self, gpu: bool, quick: bool):
        self.gpu = gpu
        self.warmup, self.runs = ((2, 5) if gpu else (1, 3)) if quick else (5, 30)

    def __call__(self, fn, budget_s: float = 2.0) -> float:
        for _ in range(self.warmup):
            fn()
        samples = []
        deadline = time.perf_counter() + budget_s
        while len(samples) < self.runs and (len(samples) < 3 or time.perf_counter() < deadline):
            samples.append(self._once(fn))
        return statistics.median(samples)

    def _once(self, fn) -> float:
        if not self.gpu:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        cupy = backend.cupy
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end) / 1e3


def _row(case, seconds, baseline=None, baseline_s=None, **extra):
    return {"case": case, "time_us": seconds * 1e6, "baseline": baseline,
            "ratio": None if baseline_s is None else seconds / baseline_s, **extra}


def elementwise_rows(xp, clock, sizes) -> list[dict]:
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
        copy_s = clock(lambda: xp.copyto(dst, x))
        copy_bw = 8 * n / copy_s
        rows.append(_row(copy_case, copy_s, size=n, series="copy", bandwidth_GBps=copy_bw / 1e9, copy_fraction=1.0))
        cases = {  # name: (call, bytes moved per element)
            "where": (lambda: select(cond, x, y), 13),
            "gt": (lambda: compare("gt", x, y), 9),
            "threshold": (lambda: threshold(x, 0.0, -1.0), 8),
            "fill": (lambda: fill((n,), 1.0, np.float32, like=x), 4),
            "dropout": (lambda: dropout(x, 0.9, state), 9),
            "dropout2d": (lambda: dropout2d(x.reshape(64, -1, 32, 32), 0.9, state), 9),
        }
        for name, (call, per_element) in cases.items():
            seconds = clock(call)
            bandwidth = per_element * n / seconds
            rows.append(_row(f"{name} f32 n=2^{log2}", seconds, copy_case, copy_s, size=n, series=name,
                             bandwidth_GBps=bandwidth / 1e9, copy_fraction=bandwidth / copy_bw))
    return rows


def matmul_rows(xp, clock, shapes) -> list[dict]:
    rows = []
    rng = np.random.default_rng(1)
    for dtype in (np.float16, np.float32):
        for batch, k, n in shapes:
            x = xp.asarray(rng.standard_normal((batch, k)).astype(dtype))
            w = xp.asarray((rng.standard_normal((n, k)) / np.sqrt(k)).astype(dtype))
            b = xp.asarray(rng.standard_normal(n).astype(dtype))
            flops = 2.0 * batch * k * n
            label = f"{np.dtype(dtype).name} {batch}x{k}x{n}"
            base_case = f"matmul+add+relu {label}"
            base_s = clock(lambda: xp.maximum(xp.matmul(x, w.T) + b, 0))
            rows.append(_row(base_case, base_s, size=flops, series=f"xp {np.dtype(dtype).name}",
                             tflops=flops / base_s / 1e12))
            ours_s = clock(lambda: matmul_bias(x, w, b, transpose_b=True, relu=True))
            rows.append(_row(f"matmul_bias {label}", ours_s, base_case, base_s, size=flops,
                             series=f"matmul_bias {np.dtype(dtype).name}", tflops=flops / ours_s / 1e12))
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (CI)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)

    gpu = backend.gpu_available()
    xp = backend.cupy if gpu else np
    clock = Clock(gpu, args.quick)
    if gpu and backend.simulated():
        # Every block runs through the host emulator: tiny sizes keep the code path exercised;
        # the figures say nothing about a GPU's speed.
        device = "GPU: the simulated CUDA device (figures are not GPU speed)"
        sizes, shapes = (16,), ((16, 64, 32),)
    elif gpu:
        props = backend.cupy.cuda.runtime.getDeviceProperties(backend.cupy.cuda.Device().id)
        device = f"GPU: {props['name'].decode()} (CuPy kernels)"
        sizes, shapes = (20, 26), MATMUL_SHAPES
    else:
        device = f"CPU: NumPy reference path, no GPU ({backend.gpu_status()[1]})"
        sizes, shapes = ((20,), MATMUL_SHAPES[:1]) if args.quick else ((20, 26), MATMUL_SHAPES)
    print(f"benchmarks/kernels.py on {device}")
    rows = elementwise_rows(xp, clock, sizes) + matmul_rows(xp, clock, shapes)

    for row in rows:
        detail = (f"{row['copy_fraction']:.2f} of copy" if "copy_fraction" in row
                  else f"{row['tflops']:.2f} TFLOP/s" + ("" if row["ratio"] is None else f", {row['ratio']:.2f}x"))
        print(f"  {row['case']:<36} {row['time_us']:>12.1f} us   {detail}")
    result = {"device": device, "gpu": gpu, "quick": args.quick, "goal": GOALS, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
