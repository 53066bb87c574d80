"""What nvcc says about the fast matmul kernels, without a GPU: no register spills in any
instantiation (ptxas -v) for sm_80 and sm_90, and enough arithmetic per shared-memory load in the
float32 kernel's largest tile (counted in its PTX). test_kernels_compile.py and
test_kernels_nvrtc.py check that every file compiles at all (nvcc, and CuPy's NVRTC)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from test_kernels_compile import instantiating_source

from gpucell.backend import kernels
from gpucell.backend.kernel_ops import matmul

NVCC = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH")
FILES = ("matmul_tc.cu", "matmul_simt.cu")


def _nvcc(tmp_path, filename: str, *options: str) -> subprocess.CompletedProcess:
    source = tmp_path / filename
    source.write_text(instantiating_source(filename))
    return subprocess.run([NVCC, *kernels.COMPILE_OPTIONS, *options, str(source), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True)


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("filename", FILES)
def test_no_register_spills(tmp_path, filename, arch):
    result = _nvcc(tmp_path, filename, "-cubin", f"-arch={arch}", "-Xptxas", "-v")
    assert result.returncode == 0, result.stderr
    # ptxas prints, per entry: "Function properties for <name>" and below it the spill counts.
    entries = re.findall(r"Function properties for (\w+)\n\s*\d+ bytes stack frame, (\d+) bytes spill stores",
                         result.stderr)
    assert len(entries) == len(kernels.name_expressions(filename)), result.stderr
    spilling = [name for name, stores in entries if stores != "0"]
    assert not spilling, f"register spills in {spilling}:\n{result.stderr}"


def test_float32_tile_does_enough_fma_per_shared_load(tmp_path):
    result = _nvcc(tmp_path, "matmul_simt.cu", "-ptx", "-arch=sm_80")
    assert result.returncode == 0, result.stderr
    ptx = (tmp_path / "out").read_text()
    bm, bn, tm, tn = matmul.SIMT_TILES[0]
    mangled = f"_Z11matmul_simtILi{bm}ELi{bn}ELi{tm}ELi{tn}E"
    body = re.search(rf"\.entry {mangled}\w*\(.*?\n\}}", ptx, re.DOTALL)
    assert body is not None, f"{mangled} not in the PTX"
    fma = len(re.findall(r"\bfma\.rn\.f32\b", body.group()))
    loads = len(re.findall(r"\bld\.shared\.", body.group()))
    vector_loads = len(re.findall(r"\bld\.shared\.v4\.f32\b", body.group()))
    assert loads and fma >= 4 * loads, (fma, loads)
    assert vector_loads == loads  # every shared read is a float4
