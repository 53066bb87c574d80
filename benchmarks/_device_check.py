"""The body of ``benchmarks/device_check.sh OUT_DIR``: GPU tests and quick benchmarks in one go.

Runs from a checkout with ``PYTHONPATH=.`` and installs nothing (the GPU machine has no network).
Steps, each under its own time limit so the whole check ends within six minutes:

1. ``python -m gpucell info --json``          the machine: GPU, driver, CuPy, CUDA
2. ``python -m pytest -m gpu``                every GPU-marked test (junit XML for the counts)
3. ``python -m benchmarks --quick``           every benchmark, briefly (options after OUT_DIR are
                                              passed on: ``--only op_overhead``)

It writes ``OUT_DIR/report.json`` (date, gpu, driver, cupy, tests {passed, failed, skipped, errors},
benchmarks {name: figures}) and ``OUT_DIR/log.txt`` (everything every step printed). On a machine
without a GPU the report says so (``gpu`` null, ``gpu_status`` the reason, GPU tests skipped).
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

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 345  # under six minutes, with room for start-up and writing the report
LIMITS_S = {"info": 30, "tests": 200, "benchmarks": 110}


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


def run_step(log: Log, name: str, cmd: list[str], limit: float) -> dict:
    """Runs ``cmd`` in its own process group, streaming its output to the log; kills it at ``limit``."""
    log(f"\n===== {name}: {' '.join(cmd)}  (limit {limit:.0f} s)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


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
    now = _dt.datetime.now(_dt.timezone.utc)
    py = sys.executable
    log(f"device_check {now.isoformat(timespec='seconds')} in {ROOT} with {py} ({sys.version.split()[0]})")

    info_step = run_step(log, "info", [py, "-m", "gpucell", "info", "--json"], LIMITS_S["info"])
    try:
        info = json.loads(info_step["output"][info_step["output"].index("{"):])
    except (ValueError, json.JSONDecodeError):
        info = {"errors": {"info": "python -m gpucell info --json failed; see log.txt"}}
    gpu = (info.get("gpus") or [{}])[0]

    xml_path = out / "pytest.xml"
    xml_path.unlink(missing_ok=True)
    tests_step = run_step(log, "tests", [py, "-m", "pytest", "-m", "gpu", "-ra", "-p", "no:cacheprovider",
                                         f"--junitxml={xml_path}"], LIMITS_S["tests"])
    counts = test_counts(xml_path, tests_step["output"])

    left = BUDGET_S - (time.perf_counter() - started)
    bench_limit = max(10.0, min(LIMITS_S["benchmarks"], left))
    bench_dir = out / "benchmarks"
    bench_step = run_step(log, "benchmarks", [py, "-m", "benchmarks", "--quick", "--out", str(bench_dir),
                                              "--timeout", str(int(max(bench_limit - 10, 5))), *runner_args],
                          bench_limit)
    reports = sorted(bench_dir.glob("*.json"), key=lambda p: p.stat().st_mtime) if bench_dir.is_dir() else []
    try:
        figures = benchmark_figures(reports[-1] if reports else None)
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        figures = {"error": f"could not read the runner's report: {exc}"}

    report = {
        "date": now.isoformat(timespec="seconds"),
        "gpu": gpu.get("name"),
        "driver": info.get("driver"),
        "cupy": info.get("cupy"),
        "cuda_runtime": info.get("cuda_runtime"),
        "gpu_memory_total": gpu.get("memory_total"),
        "backend": info.get("backend"),
        "gpu_status": info.get("gpu_status"),
        "python": sys.version.split()[0],
        "tests": counts,
        "tests_run": {k: tests_step[k] for k in ("rc", "seconds", "timed_out")},
        "benchmarks": figures,
        "benchmarks_run": {k: bench_step[k] for k in ("rc", "seconds", "timed_out")},
        "device_info": info,
        "seconds": round(time.perf_counter() - started, 1),
        "suggested_name": f"{now:%Y-%m-%d}_{_slug(gpu.get('name') or 'no-gpu')}.json",
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    log(f"\n===== summary ({report['seconds']} s)")
    log(f"GPU: {report['gpu'] or 'none'} ({report['gpu_status']}); driver {report['driver']}; "
        f"CuPy {report['cupy']}; CUDA {report['cuda_runtime']}")
    log("tests: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        + (" (TIMED OUT)" if tests_step["timed_out"] else ""))
    for name, item in figures.items():
        if isinstance(item, dict) and item.get("status") == "ok":
            best = item.get("ratio_vs_baseline")
            log(f"benchmark {name}: ok" + (f", {best}x its baseline" if best is not None else ""))
        else:
            log(f"benchmark {name}: {item}")
    log(f"report: {out / 'report.json'} (commit as benchmarks/results/{report['suggested_name']})")
    log.close()
    ok = tests_step["rc"] in (0, 5) and not tests_step["timed_out"] and bench_step["rc"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
