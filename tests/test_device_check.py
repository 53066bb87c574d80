"""benchmarks/device_check.sh: a readable report.json and log.txt, with or without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    if not backend.gpu_available():
        assert report["gpu"] is None and report["gpu_status"]
        assert report["tests"]["passed"] == 0
    log = (out / "log.txt").read_text()
    assert "===== tests:" in log and "===== benchmarks:" in log and "===== summary" in log
    assert report["seconds"] < 360


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
