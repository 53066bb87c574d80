"""Every kernels/*.cu compiles through CuPy's own NVRTC path, as ``cupy.RawModule`` compiles it at
run time, for sm_80 and sm_90, with every registered name expression. No GPU is needed.

test_kernels_compile.py checks the sources with nvcc; this one checks what a user's GPU will run:
NVRTC (from the ``cuda12`` extra, ``cupy-cuda12x[ctk]``) with CuPy's options. A RawModule compiles
through ``cupy._core.core.compile_with_cache``, which adds CuPy's options (CCCL, CuPy and CUDA
runtime include paths, ``--std=c++17`` unless given, ``-ftz=true``) and hands them to
``cupy.cuda.compiler``'s NVRTC entry point, which adds ``-arch`` and
``--device-as-default-execution-space``. The test runs that same call with an explicit arch, and
stops it before the cubin would be loaded on a device (the only step that needs one); the
device-free arch choice is CuPy's own function without its per-device memo.
"""

from __future__ import annotations

import io

import pytest

import gpucell.backend.kernel_ops  # noqa: F401 - registers every instantiation
from gpucell.backend import kernels

cupy = pytest.importorskip("cupy")
ARCHS = ("80", "90")
INSTALL = 'pip install "gpucell[cuda12]" (cupy-cuda12x[ctk]: NVRTC and the CUDA runtime headers)'

try:
    NVRTC_VERSION = cupy.cuda.nvrtc.getVersion()
    _MISSING = None
except Exception as exc:  # noqa: BLE001 - cuda-pathfinder, OSError, NVRTCError all mean "not loadable"
    NVRTC_VERSION, _MISSING = None, f"NVRTC cannot be loaded ({type(exc).__name__}: {exc})"
if _MISSING is None:
    from cupy._core import core
    from cupy.cuda import compiler

    try:
        core.assemble_cupy_compiler_options(())
    except RuntimeError as exc:
        _MISSING = f"CuPy finds no CUDA runtime headers ({exc})"
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"{_MISSING}; to run this check: {INSTALL}")


class _Compiled(Exception):
    """Carries NVRTC's result out of CuPy's compile, before CuPy loads it on a device."""

    def __init__(self, options, cubin, mapping, log):
        super().__init__()
        self.options, self.cubin, self.mapping, self.log = options, cubin, mapping, log


class _NoCache:
    """CuPy's kernel cache, empty: every call compiles (a hit would load the cubin on a device)."""

    def load(self, name):
        return None

    def save(self, name, payload, source):
        raise AssertionError("the compile should have stopped before CuPy caches it")


@pytest.fixture(scope="module")
def cupy_compile():
    """``cupy_compile(source, expressions, arch)``: ``cupy.RawModule(code=source,
    options=kernels.COMPILE_OPTIONS, name_expressions=expressions)`` compiled for sm_``arch``;
    returns the :class:`_Compiled` (options as CuPy passed them to NVRTC, cubin, lowered names, log)."""
    nvrtc_entry = compiler._compile_using_nvrtc_no_warning  # what compile_using_nvrtc calls
    arch_option = getattr(compiler._get_arch_for_options_for_nvrtc, "__wrapped__", None)
    if arch_option is None:
        pytest.fail(f"CuPy {cupy.__version__} changed cupy.cuda.compiler (no memoized "
                    f"_get_arch_for_options_for_nvrtc): update this test's device-free compile")

    def stop_after_nvrtc(source, options=(), arch=None, filename="kern.cu", name_expressions=None,
                         log_stream=None, cache_in_memory=False, jitify=None, method=None):
        log = io.StringIO()
        cubin, mapping = nvrtc_entry(source, options, arch, filename, name_expressions, log,
                                     cache_in_memory, jitify, method)
        raise _Compiled(options, cubin, mapping, log.getvalue())

    def compile_one(source: str, expressions, arch: str) -> _Compiled:
        try:  # the call cupy._core.raw._get_raw_module makes for a RawModule built from code
            core.compile_with_cache(source, kernels.COMPILE_OPTIONS, arch=arch, prepend_cupy_headers=False,
                                    backend="nvrtc", translate_cucomplex=False, enable_cooperative_groups=False,
                                    name_expressions=tuple(expressions), log_stream=None, jitify=False)
        except _Compiled as compiled:
            return compiled
        raise AssertionError("CuPy returned without compiling through NVRTC")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiler, "_compile_using_nvrtc_no_warning", stop_after_nvrtc)
        patch.setattr(compiler, "_get_arch_for_options_for_nvrtc", arch_option)
        patch.setattr(compiler, "_kernel_cache_backend", _NoCache())
        yield compile_one


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("filename", kernels.kernel_files())
def test_compiles_with_every_name_expression(cupy_compile, filename, arch):
    # One at a time: two threads compiled no faster (NVRTC serialises them).
    try:
        result = cupy_compile(kernels.source(filename), kernels.name_expressions(filename), arch)
    except compiler.CompileException as exc:
        pytest.fail(f"NVRTC {NVRTC_VERSION} failed on kernels/{filename} for sm_{arch}:\n{exc}")
    assert result.cubin[:4] == b"\x7fELF", f"CuPy asked NVRTC for PTX, not a cubin, for sm_{arch}"
    expressions = kernels.name_expressions(filename)
    assert sorted(result.mapping) == sorted(expressions)
    missing = [e for e in expressions if result.mapping[e].encode() not in result.cubin]
    assert not missing, f"kernels/{filename}: not in the sm_{arch} cubin: {missing}"
    assert "warning" not in result.log.lower(), f"NVRTC warned on kernels/{filename} for sm_{arch}:\n{result.log}"


def test_the_options_are_cupys(cupy_compile, monkeypatch):
    """The options NVRTC receives, as CuPy 14 assembles them for a RawModule with our options."""
    received = []
    program_compile = compiler._NVRTCProgram.compile

    def spy(self, options=(), log_stream=None):
        if self.src == source:
            received.append(tuple(options))
        return program_compile(self, options, log_stream)

    source = "template <typename T> __global__ void k(T* x) { x[threadIdx.x] += T(1); }\n"
    monkeypatch.setattr(compiler._NVRTCProgram, "compile", spy)
    result = cupy_compile(source, ["k<float>"], "80")
    (options,) = received
    assert options[:len(result.options)] == result.options
    assert {"-arch=sm_80", "--device-as-default-execution-space"} <= set(options[len(result.options):])
    assert "-ftz=true" in options
    assert set(kernels.COMPILE_OPTIONS) <= set(options)
    ours = [o for o in kernels.COMPILE_OPTIONS if "std=" in o]
    assert [o for o in options if "std=" in o] == (ours or ["--std=c++17"])  # CuPy's only when we give none
    includes = [o[2:] for o in options if o.startswith("-I")]
    assert any(path.endswith("cupy/_core/include") for path in includes)
    headers = core.assemble_cupy_compiler_options(())[-1][2:]  # where CuPy found cuda_runtime.h
    assert headers in includes, includes
