"""The benchmark runner: discovery, the scripts' JSON contract, the combined report, the plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402


def test_discovery_finds_scripts_not_helpers():
    names = run.discover()
    assert {"op_overhead", "profiler_overhead"} <= set(names)
    assert not {"run", "__main__", "__init__", "_harness"} & set(names)


@pytest.mark.parametrize("name", run.discover())
def test_every_benchmark_takes_quick_and_json(name):
    # The contract's options, checked without running the benchmark (CI's runner --quick runs them).
    done = subprocess.run([sys.executable, f"benchmarks/{name}.py", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--json" in done.stdout


def _row(**over):
    return {"case": "a", "time_us": 1.0, "baseline": "a", "ratio": 1.0, **over}


@pytest.mark.parametrize("result, problem", [
    ({"rows": [_row()]}, None),
    ({"rows": [_row(baseline=None, ratio=None)]}, None),
    ([], "JSON object"),
    ({"rows": []}, "non-empty list 'rows'"),
    ({"rows": [_row(case=3)]}, "no str 'case'"),
    ({"rows": [_row(time_us="fast")]}, "no number 'time_us'"),
    ({"rows": [{"case": "a", "time_us": 1.0}]}, "no 'baseline'"),
    ({"rows": [_row(ratio="2x")]}, "not a number"),
])
def test_contract_check(result, problem):
    found = run.check_contract(result)
    assert (found is None) if problem is None else (problem in found)


def _script(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_run_one_reports_ok_failed_bad_output_and_timeout(tmp_path):
    _script(tmp_path, "good", """
        import argparse, json
        p = argparse.ArgumentParser()
        p.add_argument("--quick", action="store_true")
        p.add_argument("--json")
        a = p.parse_args()
        rows = [{"case": "x", "time_us": 2.0, "baseline": "x", "ratio": 1.0, "size": 8}]
        json.dump({"rows": rows, "quick": a.quick}, open(a.json, "w"))
        print("done")
    """)
    _script(tmp_path, "crash", "raise SystemExit('broken benchmark')\n")
    _script(tmp_path, "silent", "pass\n")
    _script(tmp_path, "slow", "import time; time.sleep(30)\n")
    good = run.run_one("good", True, 60, folder=tmp_path)
    assert good["status"] == "ok" and good["result"]["quick"] is True and "done" in good["output"]
    crash = run.run_one("crash", True, 60, folder=tmp_path)
    assert crash["status"] == "failed" and "broken benchmark" in crash["error"]
    silent = run.run_one("silent", True, 60, folder=tmp_path)
    assert silent["status"] == "bad-output" and "no --json" in silent["error"]
    slow = run.run_one("slow", True, 1, folder=tmp_path)
    assert slow["status"] == "timeout"
    assert set(run.discover(tmp_path)) == {"good", "crash", "silent", "slow"}


def test_table_shows_every_row_and_every_failure():
    report = {"benchmarks": {
        "a": {"status": "ok", "result": {"rows": [
            _row(case="gpucell", time_us=2500.0, ratio=2.5, spread_us=3.0, peak_bytes=3 * 2 ** 20),
            _row(case="numpy", baseline="numpy", peak_bytes=1536)]}},
        "b": {"status": "timeout", "error": "no result within 5 s"},
    }}
    text = run.table(report)
    assert "2.500 ms" in text and "2.50x" in text and "+-3.000 us" in text
    assert "3.00 MiB" in text and "1.5 KiB" in text
    assert "TIMEOUT: no result within 5 s" in text


def test_peak_bytes_sees_numpy_allocations():
    import numpy as np

    from benchmarks import _harness

    assert _harness.peak_bytes(lambda: np.ones(2 ** 20, np.uint8), on_gpu=False) >= 2 ** 20
    assert _harness.peak_bytes(lambda: None, on_gpu=False) < 2 ** 12


def test_plots_time_against_size_and_bars(tmp_path):
    pytest.importorskip("matplotlib")
    rows = [_row(case=f"gpucell n={n}", series="gpucell", size=n, time_us=n / 100, baseline=f"numpy n={n}",
                 ratio=0.5) for n in (10, 100, 1000)]
    rows += [_row(case=f"numpy n={n}", size=n, time_us=n / 50, baseline=f"numpy n={n}")
             for n in (10, 100, 1000)]
    report = {"date": "2026-01-01T00:00:00", "device": {"backend": "CPU"}, "benchmarks": {
        "sized": {"status": "ok", "result": {"rows": rows}},
        "flat": {"status": "ok", "result": {"rows": [_row(), _row(case="b", ratio=2.0)]}},
        "broken": {"status": "failed", "error": "x"}}}
    written = run.plot(report, tmp_path / "plots")
    assert sorted(p.name for p in written) == ["flat.png", "sized.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_runner_quick_on_a_subset_writes_report_and_table(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "profiler_overhead",
                           "--out", str(tmp_path), "--no-plots"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    reports = list(tmp_path.glob("*_quick.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["quick"] is True and list(report["benchmarks"]) == ["profiler_overhead"]
    entry = report["benchmarks"]["profiler_overhead"]
    assert entry["status"] == "ok"
    cases = {r["case"] for r in entry["result"]["rows"]}
    assert cases >= {"gpucell a + b, no profile", "Cell call, profiling"}
    assert "profiler_overhead" in done.stdout and "ratio" in done.stdout


def test_runner_rejects_unknown_names():
    done = subprocess.run([sys.executable, "benchmarks/run.py", "--only", "nope"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "unknown benchmark(s) nope" in done.stderr


def test_device_facts_label_the_simulated_device():
    from gpucell import backend

    facts = run._device_facts()
    if backend.simulated():
        assert facts["simulated"] is True and "not GPU speed" in facts["note"]
    else:
        assert "simulated" not in facts
