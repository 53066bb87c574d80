"""How long from ``import gpucell`` to a training step's kernels being ready, cold and warm?

    python benchmarks/compile_start.py [--quick] [--json PATH]

Each start is a fresh Python process running this script with ``--child``: its clock starts before
``import gpucell`` and stops when one eager training step of the small MLP (Dense+ReLU, Dense+ReLU,
Dense; softmax cross-entropy; SGD, ``benchmarks/_mlp.py``) has run and the device is synchronised,
so every kernel file the step launches is compiled (or loaded) and has run once. The interpreter's
own start is left out (it is the same for every start; ``process_s`` in the JSON includes it).

* cold: ``GPUCELL_KERNEL_CACHE`` and ``CUPY_CACHE_DIR`` name a new, empty folder, so NVRTC compiles
  gpucell's kernel files and CuPy's own kernels, as in a new container;
* warm: more processes with the same folder, as every later run sees it.

Goal: a warm start <= 1 s on a GPU. gpucell compiles one RawModule per kernel file; CuPy caches a
module built with name expressions on disk from 14.2 on (14.1 only with a CUDA 12.4+ driver, 14.0
never), so on an older CuPy a warm start compiles again (``cache_files_added`` then shows it).

Without a usable GPU the processes run on the simulated device (``GPUCELL_DEVICE=SIM``), whose
RawModule builds each kernel file with g++ for the host emulator and caches it on disk as well
(``GPUCELL_KERNEL_CACHE/emulator``). Those figures show the cache at work; they are not GPU figures,
and the goal is not judged on them. The JSON follows benchmarks/_harness.py's contract: ``rows`` of
``case``, ``time_us`` (median start), ``baseline``, ``ratio``; ``starts`` holds every start's phases.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # a child's clock: nothing of gpucell is imported yet

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout

GOAL_WARM_S = 1.0
STARTS = {True: (1, 2), False: (3, 3)}  # quick or not: cold starts, then warm starts after each
CHILD_TIMEOUT_S = 600
COLD = "cold start (empty kernel cache)"
WARM = "warm start (cache from the cold start)"


def _cache_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def child() -> dict:
    """One start, in this process: import, model, one training step, synchronise. Phases in s."""
    import gpucell as ms

    imported = time.perf_counter()
    from benchmarks import _mlp
    from gpucell import backend
    from gpucell.backend import kernels, profiling

    sizes, batch_size = _mlp.SIZES["small"]
    x, y = _mlp.batch(sizes, batch_size)
    _, step = _mlp.gpucell_model(sizes)
    loss = step(ms.Tensor(x), ms.Tensor(y))
    profiling.synchronize()
    value = float(loss.asnumpy())
    done = time.perf_counter()
    return {"device": backend.get_device(), "simulated": backend.simulated(), "loss": value,
            "import_s": imported - T0, "first_step_s": done - imported, "total_s": done - T0,
            "kernel_files": sorted({key[0] for key in kernels.launch._modules})}


def start(target: str, cache: Path) -> dict:
    """One start in a new process on ``target`` ("GPU" or "SIM") with kernel cache ``cache``."""
    env = dict(os.environ, GPUCELL_DEVICE=target, GPUCELL_KERNEL_CACHE=str(cache), CUPY_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("CUPY_CACHE_IN_MEMORY", None)  # it would keep CuPy's compiles off the disk cache
    before = _cache_files(cache)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=CHILD_TIMEOUT_S, check=False)
    process_s = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"a {target} start failed (exit status {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["kernel_files"]:
        raise RuntimeError(f"a {target} start launched no custom kernel: there was nothing to compile")
    return {**result, "process_s": process_s, "cache_files_added": _cache_files(cache) - before}


def target_device() -> tuple[str, str]:
    """("GPU" or "SIM", why): a usable GPU, else the simulated device."""
    from gpucell import backend

    if backend.simulated():
        return "SIM", "GPUCELL_DEVICE=SIM"
    usable, reason = backend.gpu_status()
    return ("GPU", reason) if usable else ("SIM", f"no usable GPU: {reason}")


def measure(quick: bool) -> dict:
    from benchmarks import _harness as h

    target, why = target_device()
    n_cold, n_warm = STARTS[quick]
    colds, warms = [], []
    for _ in range(n_cold):
        with tempfile.TemporaryDirectory(prefix="gpucell-start-") as folder:
            colds.append(start(target, Path(folder)))
            warms += [start(target, Path(folder)) for _ in range(n_warm)]

    simulated = target == "SIM"
    tag = " [simulated device: not GPU times]" if simulated else ""

    def timing(starts, key):
        return h.Timing([s[key] for s in starts], method="host", number=1)

    rows = h.rows_for({COLD + tag: timing(colds, "total_s"), WARM + tag: timing(warms, "total_s")}, COLD + tag)
    rows += h.rows_for({"cold: first step (kernels built)" + tag: timing(colds, "first_step_s"),
                        "warm: import gpucell" + tag: timing(warms, "import_s"),
                        "warm: first step (kernels from the cache)" + tag: timing(warms, "first_step_s")}, None)
    warm_s = timing(warms, "total_s").median
    goal = {"value": round(warm_s, 3), "limit": GOAL_WARM_S, "at_least": False,
            "met": None if simulated else warm_s <= GOAL_WARM_S}
    if simulated:
        goal["note"] = "not judged: simulated device (g++ emulator builds, not NVRTC on a GPU)"
    return {"benchmark": "compile_start", "device": target, "simulated": simulated, "why": why, "quick": quick,
            "goal": f"warm start <= {GOAL_WARM_S:g} s on a GPU", "goals": {"warm start": goal},
            "kernel_files": colds[0]["kernel_files"], "starts": {"cold": colds, "warm": warms}, "rows": rows}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--child"]:
        print(json.dumps(child()))
        return 0
    from benchmarks import _harness as h

    args = h.parse_args(__doc__.splitlines()[0], argv)
    result = measure(args.quick)
    where = ("the simulated device: the kernels are built by g++ for the host emulator, NOT GPU figures"
             if result["simulated"] else "the GPU")
    h.print_rows(f"compile and start on {where} ({'quick' if args.quick else 'full'} run; {result['why']})",
                 result["rows"])
    goal = result["goals"]["warm start"]
    verdict = goal.get("note") or ("met" if goal["met"] else "NOT met")
    print(f"goal warm start: <= {goal['limit']:g} s, measured {goal['value']:.3f} s ({verdict}); "
          f"kernel files: {', '.join(result['kernel_files'])}")
    missed = [s["cache_files_added"] for s in result["starts"]["warm"] if s["cache_files_added"]]
    if missed:
        print(f"warning: warm starts added files to the kernel cache ({missed}): they compiled again")
    h.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
