"""Every kernels/*.cu compiles for sm_80 and sm_90 with nvcc, after the loader's header inlining,
with every template instantiation the wrappers register, warning-free. No GPU is needed.

Also checks the loader itself: inlining, registration, and that the CuPy launch path is the only
one needing CuPy.
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess

import pytest

import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
from gpucell.backend import kernels

ARCHS = ("sm_80", "sm_90")
NVCC = shutil.which("nvcc")


def instantiating_source(filename: str) -> str:
    """The inlined source plus host code taking each instantiation's address, which makes nvcc
    emit it (the same set CuPy compiles through name_expressions)."""
    refs = ",\n".join(f"    (void*)&{e}" for e in kernels.name_expressions(filename))
    return f"{kernels.source(filename)}\nvoid* gpucell_instantiations[] = {{\n{refs}\n}};\n"


@pytest.fixture(scope="module")
def cubins(tmp_path_factory):
    """Starts every (file, arch) compile at once (nvcc is mostly single-threaded) and hands out
    futures of (returncode, stderr, cubin bytes)."""
    if NVCC is None:
        pytest.skip("nvcc is not on PATH: cannot check that the kernels compile")
    folder = tmp_path_factory.mktemp("nvcc")

    def compile_one(filename: str, arch: str):
        source = folder / f"{arch}-{filename}"
        source.write_text(instantiating_source(filename))
        cubin = folder / f"{arch}-{filename}.cubin"
        result = subprocess.run([NVCC, *kernels.COMPILE_OPTIONS, "-cubin", f"-arch={arch}", "--Werror",
                                 "all-warnings", str(source), "-o", str(cubin)], capture_output=True, text=True)
        return result.returncode, result.stderr, cubin.read_bytes() if result.returncode == 0 else b""

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    futures = {(f, a): pool.submit(compile_one, f, a) for f in kernels.kernel_files() for a in ARCHS}
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("filename", kernels.kernel_files())
def test_compiles_with_every_instantiation(cubins, filename, arch):
    returncode, stderr, cubin = cubins[filename, arch].result()
    assert returncode == 0, f"nvcc failed on kernels/{filename} for {arch}:\n{stderr}"
    # One .text section per kernel: every registered instantiation was generated.
    functions = set(re.findall(rb"\.text\.(_Z\w+)", cubin))
    assert len(functions) == len(kernels.name_expressions(filename)), sorted(functions)


def test_every_file_has_registered_instantiations():
    for filename in kernels.kernel_files():
        assert kernels.name_expressions(filename), f"kernels/{filename} has no registered instantiation"


def test_sources_are_fully_inlined():
    for filename in kernels.kernel_files():
        text = kernels.source(filename)
        assert not re.search(r'#\s*include\s*"', text), filename
        assert "#pragma once" not in text
    # A header included twice (dropout.cu -> philox.cuh -> common.cuh) appears once.
    assert kernels.source("dropout.cu").count("struct gc_half {") == 1


def test_header_edit_changes_the_source(tmp_path, monkeypatch):
    (tmp_path / "a.cuh").write_text("#pragma once\nint a = 1;\n")
    (tmp_path / "b.cuh").write_text('#pragma once\n#include "a.cuh"\nint b = 2;\n')
    (tmp_path / "k.cu").write_text('#include "b.cuh"\n#include "a.cuh"\nint k = 3;\n')
    monkeypatch.setattr(kernels, "kernel_dir", lambda: tmp_path)
    before = kernels.source("k.cu")
    assert before.count("int a = 1;") == 1 and "int b = 2;" in before and "int k = 3;" in before
    assert before.index("int a") < before.index("int b") < before.index("int k")
    (tmp_path / "a.cuh").write_text("#pragma once\nint a = 4;\n")
    assert "int a = 4;" in kernels.source("k.cu")


def test_missing_header_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "k.cu").write_text('#include "nope.cuh"\n')
    monkeypatch.setattr(kernels, "kernel_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.cuh"):
        kernels.source("k.cu")


def test_kernel_dir_is_the_checkout_folder():
    assert kernels.kernel_dir().name in ("kernels", "_kernels")
    assert "elementwise.cu" in kernels.kernel_files()


def test_numpy_arrays_run_the_reference_without_a_launcher():
    import numpy as np

    assert kernels.launcher_for(np.zeros(3)) is None
