"""Runs every benchmark script, prints one table, writes a combined JSON report and PNG plots.

    python -m benchmarks [--quick] [--only NAME ...] [--out DIR] [--no-plots]
    python benchmarks/run.py ...            (the same)

Each ``benchmarks/<name>.py`` whose name does not start with ``_`` runs in a subprocess of its own
with ``--json`` (and ``--quick``); the contract its JSON must meet is in ``benchmarks/_harness.py``.
The report goes to ``<out>/<date>_<device>[_quick].json`` (``out`` defaults to
``benchmarks/results``) and the plots to the folder of the same stem; matplotlib is optional
(``pip install ".[dev]"`` brings it): without it the plots are skipped with a message.
A script that fails, times out or breaks the contract is reported and makes the exit status 1.
The report is rewritten after every script (``"complete": false`` until the last), so a runner
killed from outside keeps what it finished; ``--only`` runs the scripts in the order given. On the
simulated device (``GPUCELL_DEVICE=SIM``) the report and the table say that the figures are host
time, not GPU speed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {"run", "__main__", "__init__"}
SIMULATED_NOTE = ("the simulated CUDA device: GPU code paths, host-time figures (events report when the host "
                  "ran the work), not GPU speed")
_SIZE_IN_CASE = re.compile(r"[\s,(\[]*\b(?:n|N|size|shape)\s*=\s*[\dx_.e+]+[)\]]?")


def discover(folder: Path = HERE) -> list[str]:
    """Names of the benchmark scripts in ``folder``, sorted."""
    return sorted(p.stem for p in folder.glob("*.py")
                  if not p.stem.startswith("_") and p.stem not in NOT_BENCHMARKS)


def check_contract(result) -> str | None:
    """Why ``result`` breaks the benchmark JSON contract, or None when it meets it."""
    if not isinstance(result, dict):
        return f"expected a JSON object, got {type(result).__name__}"
    rows = result.get("rows")
    if not isinstance(rows, list) or not rows:
        return "expected a non-empty list 'rows'"
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"row {i} is not an object"
        if not isinstance(row.get("case"), str):
            return f"row {i} has no str 'case'"
        if not isinstance(row.get("time_us"), (int, float)) or isinstance(row.get("time_us"), bool):
            return f"row {i} ({row.get('case')}) has no number 'time_us'"
        for key in ("baseline", "ratio"):
            if key not in row:
                return f"row {i} ({row['case']}) has no '{key}' (null is allowed)"
        if row["ratio"] is not None and not isinstance(row["ratio"], (int, float)):
            return f"row {i} ({row['case']}) has a 'ratio' that is not a number"
    return None


def run_one(name: str, quick: bool, timeout: float, folder: Path = HERE) -> dict:
    """Runs ``folder/<name>.py`` and returns its entry of the combined report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, str(folder / f"{name}.py"), "--json", str(out)]
        cmd += ["--quick"] if quick else []
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            output = exc.stdout or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            return {"status": "timeout", "seconds": round(time.perf_counter() - start, 2),
                    "error": f"no result within {timeout:.0f} s", "output": output[-4000:]}
        entry = {"seconds": round(time.perf_counter() - start, 2), "output": done.stdout[-4000:]}
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            return {**entry, "status": "failed", "error": f"exit status {done.returncode}: {last}",
                    "stderr": done.stderr[-4000:]}
        if not out.is_file():
            return {**entry, "status": "bad-output", "error": "it wrote no --json file"}
        try:
            result = json.loads(out.read_text())
        except json.JSONDecodeError as exc:
            return {**entry, "status": "bad-output", "error": f"its --json file is not JSON ({exc})"}
        problem = check_contract(result)
        if problem:
            return {**entry, "status": "bad-output", "error": problem, "result": result}
        return {**entry, "status": "ok", "result": result}


def _device_facts() -> dict:
    try:
        sys.path.insert(0, str(ROOT))
        from gpucell.backend.device_info import device_info
        info = device_info()
    except Exception as exc:  # noqa: BLE001 - the report still says what ran
        return {"error": f"{type(exc).__name__}: {exc}"}
    gpu = info["gpus"][0] if info["gpus"] else {}
    facts = {"backend": info["backend"], "gpu": gpu.get("name"), "driver": info["driver"],
             "cupy": info["cupy"], "cuda_runtime": info["cuda_runtime"], "numpy": info["numpy"],
             "python": info["python"]}
    if "simulated" in str(info.get("gpu_status", "")):
        facts["simulated"] = True
        facts["note"] = SIMULATED_NOTE
    return facts


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "unknown"


def _fmt_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f} s"
    if us >= 1e3:
        return f"{us / 1e3:.3f} ms"
    return f"{us:.3f} us"


def _fmt_bytes(n: int) -> str:
    return f"{n / 2 ** 20:.2f} MiB" if n >= 2 ** 20 else f"{n / 2 ** 10:.1f} KiB"


def table(report: dict) -> str:
    """One table of every benchmark's rows: time, spread, ratio against its baseline."""
    head = ["benchmark", "case", "time", "spread", "ratio", "baseline", "peak memory"]
    body = []
    for name, entry in report["benchmarks"].items():
        if entry["status"] != "ok":
            error = entry["error"] if len(entry["error"]) <= 70 else entry["error"][:67] + "..."
            body.append([name, f"{entry['status'].upper()}: {error}", "", "", "", "", ""])
            continue
        for row in entry["result"]["rows"]:
            spread = row.get("spread_us")
            peak = row.get("peak_bytes")
            body.append([name, row["case"], _fmt_time(row["time_us"]),
                         "" if spread is None else f"+-{_fmt_time(spread)}",
                         "" if row["ratio"] is None else f"{row['ratio']:.2f}x",
                         row["baseline"] or "", "" if peak is None else _fmt_bytes(peak)])
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i in (0, 1, 5) else f"{{:>{w}}}" for i, w in enumerate(widths))
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([rule, fmt.format(*head), rule, *(fmt.format(*r) for r in body), rule])


def plot(report: dict, folder: Path) -> list[Path]:
    """PNG per benchmark: time against size (log-log) and speed-up against each baseline where rows
    carry ``size``, else a bar chart of times. Returns the files written ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots skipped: matplotlib is not installed (pip install \".[dev]\" or pip install matplotlib)")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    title_tail = f"{report['device'].get('gpu') or report['device'].get('backend', '')} {report['date'][:10]}"
    for name, entry in report["benchmarks"].items():
        if entry["status"] != "ok":
            continue
        rows = entry["result"]["rows"]
        sized = [r for r in rows if isinstance(r.get("size"), (int, float))]
        if sized:
            fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(12, 4.5))
            series: dict[str, list[dict]] = {}
            for r in sized:
                series.setdefault(r.get("series") or _SIZE_IN_CASE.sub("", r["case"]).strip(), []).append(r)
            for label, points in series.items():
                points.sort(key=lambda r: r["size"])
                ax_t.plot([p["size"] for p in points], [p["time_us"] for p in points], marker="o",
                          label=label)
                compared = [p for p in points
                            if p.get("ratio") and p.get("baseline") not in (None, p["case"])]
                if compared:
                    bases = {_SIZE_IN_CASE.sub("", p["baseline"]).strip() for p in compared}
                    ax_s.plot([p["size"] for p in compared], [1 / p["ratio"] for p in compared], marker="o",
                              label=f"{label} vs {bases.pop() if len(bases) == 1 else 'baseline'}")
            ax_t.set(xscale="log", yscale="log", xlabel="size", ylabel="time (us)", title=f"{name}: time")
            ax_s.axhline(1.0, color="gray", lw=0.8)
            ax_s.set(xscale="log", xlabel="size", ylabel="speed-up (baseline time / time)",
                     title=f"{name}: speed-up")
            ax_t.legend(fontsize=7)
            if len(ax_s.lines) > 1:
                ax_s.legend(fontsize=7)
        else:
            fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(rows)))
            ax.barh([r["case"] for r in rows], [r["time_us"] for r in rows],
                    xerr=[r.get("spread_us") or 0 for r in rows])
            for i, r in enumerate(rows):
                if r["ratio"] is not None:
                    end = r["time_us"] + (r.get("spread_us") or 0)
                    ax.annotate(f"{r['ratio']:.2f}x {r['baseline']}", (end, i),
                                xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
            ax.invert_yaxis()
            ax.set(xscale="log", xlabel="time (us, log)", title=name)
        fig.suptitle(title_tail, fontsize=8)
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run gpucell's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="run every benchmark briefly (CI)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks, in this order")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for the report and plots")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark (default 600; 180 with --quick)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; the benchmarks are {', '.join(names)}")
        names = list(dict.fromkeys(args.only))  # in the order asked for (the device check puts the most wanted first)
    timeout = args.timeout or (180.0 if args.quick else 600.0)

    now = _dt.datetime.now(_dt.timezone.utc)
    device = _device_facts()
    report = {"date": now.isoformat(timespec="seconds"), "quick": args.quick,
              "machine": {"host": platform.node(), "platform": platform.platform(),
                          "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
              "device": device, "benchmarks": {}}
    where = device.get("gpu") or (f"cpu-{platform.machine()}" if device.get("backend") == "CPU"
                                  else "unknown")
    stem = f"{now:%Y-%m-%d}_{_slug(where)}{'_quick' if args.quick else ''}"
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stem}.json"
    for name in names:
        print(f"running {name}{' --quick' if args.quick else ''} ...", flush=True)
        entry = run_one(name, args.quick, timeout)
        report["benchmarks"][name] = entry
        if entry["status"] != "ok":
            print(f"  {entry['status']}: {entry['error']}", flush=True)
        # After every script: a runner killed from outside (the device check's limit) keeps these.
        path.write_text(json.dumps({**report, "complete": False}, indent=2))
    report["complete"] = True
    path.write_text(json.dumps(report, indent=2))
    print(f"\ngpucell benchmarks on {where} ({device.get('backend')}), {report['date']}"
          f"{', quick run' if args.quick else ''}")
    print(table(report))
    if device.get("simulated"):
        print(f"note: {SIMULATED_NOTE}")
    print(f"report: {path}")
    if not args.no_plots:
        for png in plot(report, args.out / stem):
            print(f"plot:   {png}")
    failed = [n for n, e in report["benchmarks"].items() if e["status"] != "ok"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
