"""The GPU probe refuses a GPU that CuPy cannot compile kernels for, and says what to install.

No GPU is needed: a stand-in for CuPy answers the driver, NVRTC and header questions.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gpucell import backend


def fake_cupy(devices=1, nvrtc_error=None, header_error=None, build_version=12090, assemble=True):
    def get_device_count():
        if devices is None:
            raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
        return devices

    def get_version():
        if nvrtc_error is not None:
            raise nvrtc_error
        return (build_version // 1000, 9)

    def assemble_options(options):
        if header_error is not None:
            raise header_error
        return options + ("-I/somewhere/include",)

    core = SimpleNamespace(assemble_cupy_compiler_options=assemble_options) if assemble else SimpleNamespace()
    return SimpleNamespace(
        cuda=SimpleNamespace(runtime=SimpleNamespace(getDeviceCount=get_device_count),
                             nvrtc=SimpleNamespace(getVersion=get_version),
                             driver=SimpleNamespace(get_build_version=lambda: build_version)),
        _core=SimpleNamespace(core=core))


@pytest.fixture
def probe(monkeypatch):
    """Runs the probe against a fake CuPy: probe(**fake_cupy kwargs) -> (usable, reason)."""
    def run(**kwargs):
        monkeypatch.setattr(backend, "cupy", fake_cupy(**kwargs))
        monkeypatch.setattr(backend, "_simulated", False)
        monkeypatch.setattr(backend, "_gpu_status", None)
        return backend._probe_gpu()
    return run


def test_a_complete_install_is_usable(probe):
    assert probe() == (True, "1 CUDA device(s)")


def test_without_a_header_check_in_cupy_nvrtc_suffices(probe):
    assert probe(assemble=False) == (True, "1 CUDA device(s)")


def test_no_driver_is_reported_before_the_compiler(probe):
    usable, reason = probe(devices=None, nvrtc_error=OSError("never asked"))
    assert not usable and reason.startswith("no usable NVIDIA driver") and "NVRTC" not in reason


def test_no_device(probe):
    assert probe(devices=0) == (False, "the NVIDIA driver reports no CUDA device")


def test_missing_nvrtc_names_it_and_the_install_command(probe):
    error = RuntimeError("Failure finding \"libnvrtc.so\"")
    with pytest.warns(RuntimeWarning, match="gpucell cannot use the GPU: cupy sees 2 CUDA device"):
        usable, reason = probe(devices=2, nvrtc_error=error)
    assert not usable
    assert reason.startswith("cupy sees 2 CUDA device(s) but cannot compile kernels: NVRTC could not be loaded "
                             "(RuntimeError: Failure finding \"libnvrtc.so\")")
    assert 'pip install "gpucell[cuda12]"' in reason and 'pip install "cupy-cuda12x[ctk]"' in reason


def test_missing_headers_name_them_and_the_install_command(probe):
    error = RuntimeError("Failed to find CUDA headers.")
    with pytest.warns(RuntimeWarning):
        usable, reason = probe(header_error=error, build_version=13010)
    assert not usable
    assert "the CUDA runtime headers (cuda_runtime.h) were not found (RuntimeError: Failed to find CUDA headers.)" \
        in reason
    assert 'pip install "gpucell[cuda13]"' in reason and 'pip install "cupy-cuda13x[ctk]"' in reason
    assert "NVRTC could not" not in reason


def test_unknown_cuda_major_still_says_what_to_install(probe):
    with pytest.warns(RuntimeWarning):
        _, reason = probe(nvrtc_error=OSError("gone"), build_version=11080)
    assert reason.endswith("Install a CUDA toolkit's NVRTC and headers and set CUDA_PATH to it")


def test_asking_for_the_gpu_raises_the_reason(monkeypatch):
    monkeypatch.setattr(backend, "cupy", fake_cupy(nvrtc_error=OSError("gone")))
    monkeypatch.setattr(backend, "_simulated", False)
    monkeypatch.setattr(backend, "_gpu_status", None)
    with pytest.warns(RuntimeWarning), pytest.raises(RuntimeError, match=r"For 'set_context', the GPU was asked "
                                                                           r"for but cannot be used: cupy sees 1 "
                                                                           r"CUDA device\(s\) but cannot compile"):
        backend.check_device("GPU", "set_context")


def test_the_installed_cupy_answers_both_questions_without_a_device():
    """The real calls the probe makes exist in this CuPy and need no GPU (a CuPy without its
    [ctk] extra raises from them, which the probe reports)."""
    cupy = pytest.importorskip("cupy")
    try:
        version = cupy.cuda.nvrtc.getVersion()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"NVRTC cannot be loaded here ({type(exc).__name__}: {exc}); pip install \"cupy-cuda12x[ctk]\"")
    assert len(version) == 2
    assert backend._missing_compiler_parts(cupy) is None
