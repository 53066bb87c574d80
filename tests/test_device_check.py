"""benchmarks/device_check.sh: a readable report.json and log.txt, with or without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _device_check as dc  # noqa: E402
from gpucell import backend  # noqa: E402


def test_device_check_writes_report_and_log(tmp_path):
    out = tmp_path / "check"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHON"] = sys.executable
    done = subprocess.run(["bash", "benchmarks/device_check.sh", str(out), "--only", "profiler_overhead"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=360)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    for key in ("date", "gpu", "driver", "cupy", "tests", "benchmarks"):
        assert key in report
    assert set(report["tests"]) == {"passed", "failed", "skipped", "errors"}
    assert report["tests"]["failed"] == 0 and report["tests"]["errors"] == 0
    bench = report["benchmarks"]["profiler_overhead"]
    assert bench["status"] == "ok" and bench["rows"][0]["case"]
    assert set(report["budget"]) == set(dc.PARTS)
    assert sum(p.limit_s for name, p in dc.PARTS.items() if name != "benchmarks") + 50 <= dc.BUDGET_S
    for key in ("first_call", "matmul", "elementwise", "streams", "goals", "goals_summary", "failed_parts"):
        assert key in report
    if not backend.gpu_available():
        assert report["gpu"] is None and report["gpu_status"]
        assert report["tests"]["passed"] == 0
        for name in dc.GPU_PARTS:
            assert report["budget"][name]["skipped"].startswith("no GPU")
        assert report["matmul"] == [] and report["streams"] is None
        assert report["seconds"] < 60  # it says why, quickly
    log = (out / "log.txt").read_text()
    assert "===== tests:" in log and "===== benchmarks:" in log and "===== summary" in log
    assert report["seconds"] < 360


def test_device_check_rehearses_the_gpu_parts_on_the_simulated_device(tmp_path):
    # What a lent GPU will run, on the simulated device: every part's code path and report field.
    out = tmp_path / "sim"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHON=sys.executable, GPUCELL_DEVICE="SIM")
    done = subprocess.run(["bash", "benchmarks/device_check.sh", str(out), "--only", "profiler_overhead"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=360)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["simulated"] is True and "not GPU speed" in report["note"]
    assert report["budget"]["tests"]["skipped"]  # CI runs the gpu tests on the simulator
    # compile_start.py (another script, run as a part of its own) answers the first-call question.
    if "compile_start" in report["failed_parts"]:
        pytest.fail("benchmarks/compile_start.py failed in the device check: see its part of log.txt:\n"
                    + (out / "log.txt").read_text()[-3000:])
    assert report["failed_parts"] == []
    if not report["budget"]["compile_start"].get("skipped"):
        first = report["first_call"]
        assert first["cold"] and first["warm"]
        assert all(s["total_s"] > 0 for s in first["cold"] + first["warm"])
    assert {r["dtype"] for r in report["matmul"]} == {"bfloat16", "float16", "float32"}
    for row in report["matmul"]:
        assert row["correct"] is True and row["ratio"] > 0 and row["gpucell_tflops"] is not None
    assert report["timing"] == "queue-ahead"
    assert {r["case"].split()[0] for r in report["elementwise"]} >= {"copy", "where", "dropout"}
    variants = report["streams"]["variants"]
    assert variants["ordered"]["wrong_trials"] == 0 and variants["ordered"]["race_error"] is None
    assert "Race" in variants["unordered"]["race_error"]  # the simulator refuses the unordered read
    goals = {(g["benchmark"], g["goal"]): g for g in report["goals"]}
    assert goals[("stream_probe", "ordered never wrong")]["met"] is True
    assert report["benchmarks"]["kernels"]["status"] == "ok"
    assert report["benchmarks"]["profiler_overhead"]["status"] == "ok"
    log = (out / "log.txt").read_text()
    assert "matmul_bias+ReLU vs cuBLAS" in log and "two streams:" in log


def test_usage_without_out_dir():
    done = subprocess.run(["bash", "benchmarks/device_check.sh"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2 and "usage" in done.stderr


def test_counts_from_junit_xml(tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text('<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="10" failures="2" '
                   'errors="1" skipped="3"></testsuite></testsuites>')
    assert dc.test_counts(xml, "") == {"passed": 4, "failed": 2, "skipped": 3, "errors": 1}


def test_counts_from_the_summary_line_when_pytest_was_killed(tmp_path):
    output = "....\n==== 3 failed, 40 passed, 2 skipped, 1 error in 12.3s ===="
    assert dc.test_counts(tmp_path / "missing.xml", output) == {"passed": 40, "failed": 3, "skipped": 2,
                                                                "errors": 1}


def test_counts_from_progress_letters_when_pytest_was_killed_early(tmp_path):
    output = "collected 10 items\ntests/a.py ..F.s  [ 40%]\n.E.                [ 70%]\n----- tests: killed after 100 s"
    assert dc.test_counts(tmp_path / "missing.xml", output) == {"passed": 5, "failed": 1, "skipped": 1,
                                                                "errors": 1}


def test_goals_are_collected_from_nested_verdicts_or_the_goal_text():
    verdict = {"value": 0.9, "limit": 1.0, "at_least": False, "met": True, "paired": 0.9,
               "interval": [0.8, 1.0], "clear": True}
    found = dc.collect_goals("jit_step", {"goals": {"small": {"jit / numpy": verdict}, "large": {}}})
    assert found == [{"benchmark": "jit_step", "goal": "small jit / numpy", **verdict}]
    assert dc.collect_goals("op_overhead", {"goal": "<= 2.4x numpy.add"}) == [
        {"benchmark": "op_overhead", "goal": "<= 2.4x numpy.add", "met": None}]
    assert dc.collect_goals("x", {})[0]["goal"] == "no goal (report only)"


def test_matmul_and_elementwise_tables_from_the_kernels_rows():
    rows = [
        {"case": "copy f32 n=2^26", "time_us": 150.0, "baseline": None, "ratio": None, "copy_fraction": 1.0,
         "bandwidth_GBps": 3500.0},
        {"case": "where f32 n=2^26", "time_us": 250.0, "baseline": "copy f32 n=2^26", "ratio": 1.6,
         "copy_fraction": 0.97, "bandwidth_GBps": 3400.0},
        {"case": "matmul+add+relu float16 4096x4096x4096", "time_us": 200.0, "baseline": None, "ratio": None,
         "tflops": 687.0, "rel_err": 3e-4},
        {"case": "matmul_bias float16 4096x4096x4096", "time_us": 1000.0,
         "baseline": "matmul+add+relu float16 4096x4096x4096", "ratio": 5.0, "tflops": 137.0, "rel_err": 2e-4,
         "correct": True, "starved": 0},
    ]
    (row,) = dc.matmul_table({"rows": rows})
    assert row == {"dtype": "float16", "shape": "4096x4096x4096", "gpucell_us": 1000.0, "cublas_us": 200.0,
                   "ratio": 5.0, "gpucell_tflops": 137.0, "cublas_tflops": 687.0, "throughput_vs_cublas": 0.2,
                   "rel_err": 2e-4, "cublas_rel_err": 3e-4, "correct": True, "starved": 0}
    assert [r["case"] for r in dc.elementwise_table({"rows": rows})] == ["copy f32 n=2^26", "where f32 n=2^26"]


def test_runner_scripts_run_most_wanted_first_without_those_with_a_part_of_their_own():
    names = ["cnn_step", "compile_start", "cpu_out_buffers", "jit_step", "kernels", "new_one", "op_overhead",
             "stream_overlap"]
    assert dc.runner_names(names) == ["jit_step", "stream_overlap", "cnn_step", "op_overhead", "new_one"]


def test_first_call_summary_keeps_each_start():
    start = {"import_s": 1.5, "first_step_s": 9.0, "total_s": 10.5, "process_s": 10.7, "cache_files_added": 9,
             "loss": 2.3}
    summary = dc.first_call_summary({"device": "GPU", "simulated": False, "kernel_files": ["matmul.cu"],
                                     "goal": "warm start <= 1 s", "starts": {"cold": [start], "warm": [start]}})
    assert summary["cold"] == [{k: v for k, v in start.items() if k != "loss"}]
    assert summary["kernel_files"] == ["matmul.cu"] and dc.first_call_summary(None) is None


def test_budget_leaves_every_later_part_its_minimum(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(dc.time, "perf_counter", lambda: clock[0])
    budget = dc.Budget(0.0)
    assert budget.limit("info") == dc.PARTS["info"].limit_s
    clock[0] = dc.BUDGET_S - 20  # 20 s left, two parts after stream_probe
    assert budget.limit("stream_probe") == 20 - 2 * dc.MIN_PART_S
    clock[0] = dc.BUDGET_S + 10  # over: a part still gets its minimum to start and fail fast
    assert budget.limit("tests") == dc.MIN_PART_S
