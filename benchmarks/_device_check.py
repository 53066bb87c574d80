"""The body of ``benchmarks/device_check.sh OUT_DIR``: what one short GPU lease must measure.

Runs from a checkout with ``PYTHONPATH=.`` and installs nothing (the GPU machine has no network).
Each part runs in a process of its own under its own time limit, in this order (the most wanted
first), so that the whole check ends within six minutes on an H100 / H200:

=============  =====  ========  ====================================================================
part           limit  estimate  what (estimates in seconds on an H100 / H200)
=============  =====  ========  ====================================================================
info              20        5   ``python -m gpucell info --json``: GPU, driver, CuPy, CUDA
compile_start     60       25   ``compile_start.py --quick``: import to a training step's kernels
                                ready, in fresh processes: 1 start with an empty kernel cache
                                (NVRTC compiles; gpucell's 7 files took 6.3 s of NVRTC for sm_90 on
                                a 2-core CPU, CuPy's own kernels come on top), 2 with it filled
kernels           75       35   ``kernels.py --quick``: copy-bandwidth fractions at 2^20 / 2^26,
                                matmul_bias vs cuBLAS at 3 shapes x fp32 / fp16 / bf16 (ratio, TFLOP/s,
                                error against float64), queue-ahead timing, 9 samples per case
stream_probe      20        5   ``_stream_probe.py``: unordered and event-ordered reads of a write
                                on another stream, 200 trials per variant
tests            100       60   ``pytest -m gpu`` (about 730 tests)
benchmarks      rest       60   ``python -m benchmarks --quick``, the other scripts, most wanted
                (>=70)          first, 45 s each at most (not cpu_out_buffers: a CPU question)
=============  =====  ========  ====================================================================

The fixed limits add up to 275 s of the 345 s budget, so the runner always has 70 s; a part that
ends early leaves its time to the runner, which writes its report after every script (a runner
killed at its limit keeps what it finished).

It writes ``OUT_DIR/report.json`` and ``OUT_DIR/log.txt`` (everything every part printed, ending in
a short summary), plus each part's own JSON. report.json: date, gpu, driver, cupy, tests {passed,
failed, skipped, errors}, ``first_call`` (compile_start's cold and warm starts, seconds),
``matmul`` (one row per dtype and shape: gpucell and cuBLAS time, ratio, TFLOP/s, relative error),
``elementwise`` (copy fractions), ``ceilings`` (copy bandwidth, cuBLAS TFLOP/s), ``streams`` (the
probe), ``benchmarks`` {name: figures}, ``goals`` (every benchmark against its goal, ``met`` true,
false, or null where a benchmark has no goal or it is not judged), ``budget`` {part: limit,
estimate, seconds, timed_out, skipped}.

Without a GPU the report says why (``gpu`` null, ``gpu_status`` the reason): the GPU parts are
skipped, the GPU tests are collected and skipped, and the runner runs only the benchmarks named
with ``--only`` (to check the plumbing). With ``GPUCELL_DEVICE=SIM`` the GPU parts rehearse on the
simulated device (tiny sizes, host-time figures, the probe's unordered read a RaceError) and the
GPU tests are left to CI, which runs them there.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 345  # under six minutes, with room for start-up and writing the report
MIN_PART_S = 5  # what a later part is always left to start, fail fast and say why


class Part(NamedTuple):
    limit_s: float  # the part is killed after this long
    estimate_s: float  # what it should take on an H100 / H200


PARTS = {
    "info": Part(20, 5),
    "compile_start": Part(60, 25),
    "kernels": Part(75, 35),
    "stream_probe": Part(20, 5),
    "tests": Part(100, 60),
    "benchmarks": Part(BUDGET_S, 60),  # whatever is left
}
GPU_PARTS = ("compile_start", "kernels", "stream_probe")
_PROGRESS = re.compile(r"^(?:\S+\.py )?([.sFExX]+)\s*(?:\[\s*\d+%\])?$")
# The runner's scripts in the order they run: the GPU's open questions first (jit's CUDA graphs
# against PyTorch, stream overlap), host overheads last. Scripts not named here run after them,
# except those that have a part of their own and the CPU-only question.
RUNNER_ORDER = ("jit_step", "stream_overlap", "mlp_step", "cnn_step", "op_overhead", "profiler_overhead")
RUNNER_SKIPS = {"kernels", "compile_start", "cpu_out_buffers"}
PER_BENCHMARK_S = 45


class Log:
    """Writes every line to log.txt and to stdout as it comes."""

    def __init__(self, path: Path):
        self._file = open(path, "w", buffering=1)  # noqa: SIM115 - open for the whole check

    def __call__(self, text: str = "") -> None:
        self._file.write(text + "\n")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        self._file.close()


def run_step(log: Log, name: str, cmd: list[str], limit: float, env_extra: dict | None = None) -> dict:
    """Runs ``cmd`` in its own process group, streaming its output to the log; kills it at ``limit``."""
    log(f"\n===== {name}: {' '.join(cmd)}  (limit {limit:.0f} s)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(env_extra or {})
    start = time.perf_counter()
    lines: list[str] = []
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)
    except OSError as exc:
        log(f"could not start: {exc}")
        return {"rc": None, "seconds": 0.0, "timed_out": False, "output": "", "error": str(exc)}

    def pump():
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            log(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=max(limit, 1))
    except subprocess.TimeoutExpired:
        timed_out = True
        log(f"----- {name}: killed after {limit:.0f} s")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait()
    reader.join(timeout=5)
    seconds = round(time.perf_counter() - start, 1)
    log(f"----- {name}: exit status {proc.returncode}, {seconds} s")
    return {"rc": proc.returncode, "seconds": seconds, "timed_out": timed_out, "output": "\n".join(lines)}


def test_counts(xml_path: Path, output: str) -> dict:
    """passed / failed / skipped / errors from pytest's junit XML, else from its summary line."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    if xml_path.is_file():
        try:
            root = ET.parse(xml_path).getroot()
            suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
            for suite in suites:
                total = int(suite.get("tests", 0))
                failed, errors, skipped = (int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
                counts["failed"] += failed
                counts["errors"] += errors
                counts["skipped"] += skipped
                counts["passed"] += total - failed - errors - skipped
            return counts
        except (ET.ParseError, ValueError):
            pass
    # e.g. "3 failed, 40 passed, 2 skipped, 1 error in 12.3s"
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", line)]
    if summary:
        for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary[-1]):
            key = "errors" if word.startswith("error") else word
            if key in counts:
                counts[key] = int(number)
        return counts
    # Killed before its summary: count the progress letters ("tests/x.py ..F.s  [ 12%]") so far.
    for line in output.splitlines():
        match = _PROGRESS.match(line)
        if match:
            letters = match.group(1)
            for letter, key in ((".", "passed"), ("F", "failed"), ("s", "skipped"), ("E", "errors")):
                counts[key] += letters.count(letter)
    return counts


def benchmark_figures(report_path: Path | None) -> dict:
    """Each benchmark's status and rows (case, time_us, spread_us, baseline, ratio, ...)."""
    if report_path is None:
        return {}
    report = json.loads(report_path.read_text())
    figures = {}
    for name, entry in report["benchmarks"].items():
        item = {"status": entry["status"], "seconds": entry.get("seconds")}
        if entry["status"] == "ok":
            result = entry["result"]
            item.update({k: v for k, v in result.items() if k not in ("rows", "benchmark")})
            item["rows"] = result["rows"]
        else:
            item["error"] = entry.get("error")
        figures[name] = item
    return figures


def collect_goals(name: str, result: dict) -> list[dict]:
    """Every verdict in a benchmark's result (``goals``: nested dicts of ``_harness.goal`` dicts),
    or one entry with ``met`` null that carries its goal text, or says it has none."""
    found: list[dict] = []

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict) and "met" in node:
            found.append({"benchmark": name, "goal": prefix, **{k: node[k] for k in
                          ("value", "limit", "at_least", "met", "paired", "interval", "clear") if k in node}})
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix} {key}".strip(), value)

    walk("", result.get("goals"))
    if not found:
        text = result.get("goal")
        found.append({"benchmark": name, "goal": text if isinstance(text, str) else "no goal (report only)",
                      "met": None})
    return found


def matmul_table(kernels: dict) -> list[dict]:
    """One row per dtype and shape: gpucell's matmul_bias against cuBLAS + bias + ReLU."""
    rows = {r["case"]: r for r in kernels.get("rows", [])}
    table = []
    for case, ours in rows.items():
        if not case.startswith("matmul_bias "):
            continue
        base = rows.get(ours.get("baseline"), {})
        dtype, shape = case.split()[1:3]
        table.append({"dtype": dtype, "shape": shape, "gpucell_us": ours["time_us"], "cublas_us": base.get("time_us"),
                      "ratio": ours["ratio"], "gpucell_tflops": ours.get("tflops"),
                      "cublas_tflops": base.get("tflops"),
                      "throughput_vs_cublas": None if not ours["ratio"] else round(1 / ours["ratio"], 4),
                      "rel_err": ours.get("rel_err"), "cublas_rel_err": base.get("rel_err"),
                      "correct": ours.get("correct"), "starved": ours.get("starved")})
    return table


def elementwise_table(kernels: dict) -> list[dict]:
    return [{k: r.get(k) for k in ("case", "time_us", "bandwidth_GBps", "copy_fraction", "starved")}
            for r in kernels.get("rows", []) if "copy_fraction" in r]


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


class Budget:
    """Each part's limit: its own, but never more than leaves every later part ``MIN_PART_S``."""

    def __init__(self, started: float):
        self.started = started
        self.parts: dict[str, dict] = {name: {"limit_s": p.limit_s, "estimate_s": p.estimate_s}
                                       for name, p in PARTS.items()}

    def left(self) -> float:
        return BUDGET_S - (time.perf_counter() - self.started)

    def limit(self, name: str) -> float:
        later = list(PARTS)[list(PARTS).index(name) + 1:]
        return max(MIN_PART_S, min(PARTS[name].limit_s, self.left() - MIN_PART_S * len(later)))

    def ran(self, name: str, step: dict, limit: float) -> None:
        self.parts[name].update(limit_s=round(limit, 1), seconds=step["seconds"], rc=step["rc"],
                                timed_out=step["timed_out"])

    def skip(self, name: str, why: str) -> None:
        self.parts[name].update(skipped=why, seconds=0.0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: benchmarks/device_check.sh OUT_DIR [runner options, e.g. --only op_overhead]",
              file=sys.stderr)
        return 2
    out = Path(argv[0]).resolve()
    runner_args = argv[1:]
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "log.txt")
    started = time.perf_counter()
    budget = Budget(started)
    now = _dt.datetime.now(_dt.timezone.utc)
    py = sys.executable
    log(f"device_check {now.isoformat(timespec='seconds')} in {ROOT} with {py} ({sys.version.split()[0]})")
    log("budget (limit / estimate on an H100 or H200, seconds): "
        + ", ".join(f"{n} {p.limit_s if n != 'benchmarks' else 'rest'}/{p.estimate_s}" for n, p in PARTS.items()))
    failed: list[str] = []

    def part(name: str, cmd: list[str], env_extra: dict | None = None) -> dict:
        limit = budget.limit(name)
        step = run_step(log, name, cmd, limit, env_extra)
        budget.ran(name, step, limit)
        if step["rc"] != 0 or step["timed_out"]:
            failed.append(name)
        return step

    info_step = part("info", [py, "-m", "gpucell", "info", "--json"])
    try:
        info = json.loads(info_step["output"][info_step["output"].index("{"):])
    except (ValueError, json.JSONDecodeError):
        info = {"errors": {"info": "python -m gpucell info --json failed; see log.txt"}}
    gpu = (info.get("gpus") or [{}])[0]
    simulated = "simulated" in str(info.get("gpu_status", ""))
    usable = bool(info.get("gpu_usable")) and info.get("backend") == "GPU"
    no_gpu = None if usable else f"no GPU: {info.get('gpu_status') or 'python -m gpucell info failed'}"

    first_call: dict | None = None
    kernels: dict | None = None
    streams: dict | None = None
    if no_gpu:
        for name in GPU_PARTS:
            budget.skip(name, no_gpu)
        log(f"\n===== {no_gpu}: the GPU parts are skipped")
    else:
        if (ROOT / "benchmarks" / "compile_start.py").is_file():
            part("compile_start", [py, "benchmarks/compile_start.py", "--quick", "--json",
                                   str(out / "compile_start.json")])
            first_call = first_call_summary(_read_json(out / "compile_start.json"))
        else:
            budget.skip("compile_start", "benchmarks/compile_start.py is not in this checkout")
        part("kernels", [py, "benchmarks/kernels.py", "--quick", "--json", str(out / "kernels.json")])
        kernels = _read_json(out / "kernels.json")
        part("stream_probe", [py, "benchmarks/_stream_probe.py", "--json", str(out / "stream_probe.json")])
        streams = _read_json(out / "stream_probe.json")

    xml_path = out / "pytest.xml"
    xml_path.unlink(missing_ok=True)
    if simulated:
        budget.skip("tests", "the simulated device: CI runs the gpu tests there")
        tests_step = {"rc": None, "seconds": 0.0, "timed_out": False, "output": ""}
    else:
        report_skips = [] if no_gpu else ["-ra"]  # without a GPU every test skips, for one reason
        tests_step = part("tests", [py, "-m", "pytest", "-m", "gpu", *report_skips, "-p", "no:cacheprovider",
                                    f"--junitxml={xml_path}"])
        if tests_step["rc"] == 5:  # pytest's "no tests collected" (every gpu test skipped)
            failed.remove("tests")
    counts = test_counts(xml_path, tests_step["output"])

    bench_dir = out / "benchmarks"
    figures: dict = {}
    if (no_gpu or simulated) and "--only" not in runner_args:
        budget.skip("benchmarks", f"{no_gpu or 'the simulated device'}: only benchmarks named with --only run")
        bench_step = None
    else:
        only = [] if "--only" in runner_args else ["--only", *runner_names(_discover())]
        limit = max(MIN_PART_S, budget.left())
        per = int(max(MIN_PART_S, min(PER_BENCHMARK_S, limit - 5)))
        bench_step = run_step(log, "benchmarks", [py, "-m", "benchmarks", "--quick", "--no-plots", "--out",
                                                  str(bench_dir), "--timeout", str(per), *only, *runner_args],
                              limit)
        budget.ran("benchmarks", bench_step, limit)
        if bench_step["rc"] != 0 or bench_step["timed_out"]:
            failed.append("benchmarks")
        reports = sorted(bench_dir.glob("*.json"), key=lambda p: p.stat().st_mtime) if bench_dir.is_dir() else []
        try:
            figures = benchmark_figures(reports[-1] if reports else None)
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            figures = {"error": f"could not read the runner's report: {exc}"}

    own = {"compile_start": _read_json(out / "compile_start.json") if first_call else None, "kernels": kernels}
    figures = {**{name: {"status": "ok", **{k: v for k, v in result.items() if k != "benchmark"}}
                  for name, result in own.items() if result is not None}, **figures}
    goals: list[dict] = []
    if not budget.parts["tests"].get("skipped"):
        bad = counts["failed"] + counts["errors"]
        goals.append({"benchmark": "tests", "goal": "no GPU test fails", "value": bad, "limit": 0, "at_least": False,
                      "met": None if no_gpu else bad == 0 and not tests_step["timed_out"] and counts["passed"] > 0})
    if streams is not None:
        goals += collect_goals("stream_probe", streams)
    for name, item in figures.items():
        if isinstance(item, dict) and item.get("status") == "ok":
            goals += collect_goals(name, item)

    report = {
        "date": now.isoformat(timespec="seconds"),
        "gpu": gpu.get("name"),
        "driver": info.get("driver"),
        "cupy": info.get("cupy"),
        "cuda_runtime": info.get("cuda_runtime"),
        "gpu_memory_total": gpu.get("memory_total"),
        "backend": info.get("backend"),
        "gpu_status": info.get("gpu_status"),
        "simulated": simulated,
        "note": ("the simulated CUDA device: GPU code paths, host-time figures, not GPU speed" if simulated
                 else None if usable else no_gpu),
        "python": sys.version.split()[0],
        "tests": counts,
        "tests_run": {k: tests_step[k] for k in ("rc", "seconds", "timed_out")},
        "first_call": first_call,
        "matmul": matmul_table(kernels) if kernels else [],
        "elementwise": elementwise_table(kernels) if kernels else [],
        "ceilings": (kernels or {}).get("ceilings"),
        "timing": (kernels or {}).get("timing"),
        "streams": streams,
        "goals": goals,
        "goals_summary": {"met": sum(g["met"] is True for g in goals), "not_met": sum(g["met"] is False for g in goals),
                          "no_verdict": sum(g["met"] is None for g in goals)},
        "benchmarks": figures,
        "benchmarks_run": ({k: bench_step[k] for k in ("rc", "seconds", "timed_out")} if bench_step
                           else {"rc": None, "seconds": 0.0, "timed_out": False}),
        "budget": budget.parts,
        "failed_parts": failed,
        "device_info": info,
        "log": "log.txt",
        "seconds": round(time.perf_counter() - started, 1),
        "suggested_name": f"{now:%Y-%m-%d}_{_slug(gpu.get('name') or 'no-gpu')}.json",
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    _summary(log, report, out)
    log.close()
    return 1 if failed else 0


def runner_names(names: list[str]) -> list[str]:
    """The runner's scripts for the check, in ``RUNNER_ORDER``, then the others (not ``RUNNER_SKIPS``)."""
    wanted = [n for n in names if n not in RUNNER_SKIPS]
    return sorted(wanted, key=lambda n: (RUNNER_ORDER.index(n) if n in RUNNER_ORDER else len(RUNNER_ORDER), n))


def first_call_summary(result: dict | None) -> dict | None:
    """compile_start's figures that answer "how long to the first kernels": every cold and warm
    start's phases (seconds), the kernel files compiled, the goal."""
    if not result:
        return None
    keys = ("import_s", "first_step_s", "total_s", "process_s", "cache_files_added")
    starts = result.get("starts") or {}
    return {"device": result.get("device"), "simulated": result.get("simulated"),
            "kernel_files": result.get("kernel_files"), "goal": result.get("goal"),
            **{kind: [{k: s.get(k) for k in keys} for s in starts.get(kind, [])] for kind in ("cold", "warm")}}


def _discover() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import discover
    return discover()


def _secs(value) -> str:
    return "?" if not isinstance(value, (int, float)) else f"{value:.2f} s"


def _summary(log: Log, report: dict, out: Path) -> None:
    """The short table last: what a reply that keeps only the end of the output must carry."""
    log(f"\n===== summary ({report['seconds']} s)")
    log(f"GPU: {report['gpu'] or 'none'} ({report['gpu_status']}); driver {report['driver']}; "
        f"CuPy {report['cupy']}; CUDA {report['cuda_runtime']}")
    if report["note"]:
        log(f"note: {report['note']}")
    log("parts (s): " + ", ".join(f"{n} {p.get('seconds', '-')}" + ("!" if p.get("timed_out") else "")
                                  + (" (skipped)" if p.get("skipped") else "") for n, p in report["budget"].items()))
    tests_text = ", ".join(f"{v} {k}" for k, v in report["tests"].items())
    log("tests: " + tests_text + (" (TIMED OUT)" if report["tests_run"]["timed_out"] else ""))
    first = report["first_call"]
    if first:
        for kind in ("cold", "warm"):
            if first.get(kind):
                log(f"first call, {kind} kernel cache: " + "; ".join(
                    f"import {_secs(s['import_s'])} + first step {_secs(s['first_step_s'])} = "
                    f"{_secs(s['total_s'])} (process {_secs(s['process_s'])}, {s['cache_files_added']} files "
                    f"cached)" for s in first[kind]))
    if report["matmul"]:
        log("matmul_bias+ReLU vs cuBLAS+bias+ReLU (queue-ahead): dtype shape, gpucell / cuBLAS us, ratio, "
            "TFLOP/s, rel_err")
        for r in report["matmul"]:
            log(f"  {r['dtype']:<8} {r['shape']:<15} {r['gpucell_us']:>10.1f} / {r['cublas_us'] or 0:>9.1f}  "
                f"{r['ratio'] or 0:6.2f}x  {r['gpucell_tflops'] or 0:7.2f} / {r['cublas_tflops'] or 0:7.2f}  "
                f"{r['rel_err'] if r['rel_err'] is None else format(r['rel_err'], '.1e')}"
                + ("" if r["correct"] else " WRONG"))
    big = [r for r in report["elementwise"] if r["case"].endswith("2^26")] or report["elementwise"]
    if big:
        log("copy fraction: " + ", ".join(f"{r['case'].split()[0]} {r['copy_fraction']:.2f}" for r in big)
            + f" ({big[0]['case'].split()[-1]}; copy {big[0]['bandwidth_GBps']} GB/s)")
    if report["streams"]:
        log("two streams: " + "; ".join(f"{n}: {v['wrong_trials']}/{v['trials']} wrong"
                                       + (" (RaceError)" if v["race_error"] else "")
                                       for n, v in report["streams"]["variants"].items()))
    for item in report["goals"]:
        if item["met"] is not None:
            value = item.get("value")
            log(f"goal {item['benchmark']}: {item['goal']}: {'met' if item['met'] else 'NOT met'}"
                + (f" ({value} vs {item.get('limit')})" if value is not None else ""))
    s = report["goals_summary"]
    log(f"goals: {s['met']} met, {s['not_met']} not met, {s['no_verdict']} without a verdict")
    for name, item in report["benchmarks"].items():
        if isinstance(item, dict) and item.get("status") not in (None, "ok"):
            log(f"benchmark {name}: {item.get('status')}: {item.get('error')}")
    if report["failed_parts"]:
        log(f"FAILED parts: {', '.join(report['failed_parts'])}")
    log(f"report: {out / 'report.json'} (commit as benchmarks/results/{report['suggested_name']})")


if __name__ == "__main__":
    sys.exit(main())
