"""set_context / get_context, the GPU request without a GPU, and the GPUCELL_DEVICE variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import gpucell as ms
from gpucell import Tensor, backend

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_context():
    before = {k: ms.get_context(k) for k in ("device_target", "mode", "device_id")}
    yield
    ms.set_context(**before)


def _run(code: str, device_env: str | None):
    env = dict(os.environ)
    env.pop("GPUCELL_DEVICE", None)
    if device_env is not None:
        env["GPUCELL_DEVICE"] = device_env
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_set_and_get_device_target(device, restore_context):
    ms.set_context(device_target=device)
    assert ms.get_context("device_target") == device
    assert Tensor([1.0]).device == device


def test_lower_case_device_names(restore_context):
    ms.set_context(device_target="cpu")
    assert ms.get_context("device_target") == "CPU"


# Whether this machine has a GPU that CuPy can use (the test process itself may be running the
# `gpu` tests on the simulated device; a fresh process is not).
_REAL_GPU = backend.gpu_available() and not backend.simulated()


@pytest.fixture
def without_simulator():
    """The GPU module as a process without a GPU has it (CuPy or none), for the "no GPU" answers."""
    was = backend.simulated()
    backend.use_simulator(False)
    yield
    backend.use_simulator(was)


def test_default_is_gpu_when_usable():
    result = _run("import gpucell as ms; print(ms.get_context('device_target'))", None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("GPU" if _REAL_GPU else "CPU")


def test_mode_and_device_id(restore_context):
    ms.set_context(mode=ms.GRAPH_MODE)
    assert ms.get_context("mode") == ms.GRAPH_MODE == 0
    ms.set_context(device_id=0, mode=ms.PYNATIVE_MODE)
    assert ms.get_context("mode") == ms.PYNATIVE_MODE == 1
    assert ms.get_context("device_id") == 0


def test_device_id_without_a_gpu_is_refused(restore_context, without_simulator):
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(ValueError, match=r"For 'set_context', 'device_id' 3 needs a GPU"):
        ms.set_context(device_id=3)
    assert ms.get_context("device_id") == 0


def test_asking_for_a_missing_gpu_says_why(restore_context, without_simulator):
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    ms.set_context(device_target="CPU")
    with pytest.raises(RuntimeError, match=r"For 'set_context', the GPU was asked for but cannot be used: "
                                           r"(cupy|no usable NVIDIA driver|the NVIDIA driver reports no).*"
                                           r"device_target='SIM'"):
        ms.set_context(device_target="GPU")
    assert ms.get_context("device_target") == "CPU"


def test_gpu_status_reason_is_plain_text():
    usable, reason = backend.gpu_status()
    assert isinstance(usable, bool) and isinstance(reason, str) and reason
    if not usable:
        assert "Traceback" not in reason


@pytest.mark.parametrize("kwargs, exc, fragment", [
    ({"device_target": "TPU"}, ValueError, "the device must be 'GPU', 'CPU' or 'SIM', but got 'TPU'"),
    ({"device_target": 1}, TypeError, "the device must be a str 'GPU', 'CPU' or 'SIM', but got 1 of type 'int'"),
    ({"mode": 5}, ValueError, r"'mode' must be GRAPH_MODE \(0\) or PYNATIVE_MODE \(1\), but got 5"),
    ({"mode": True}, ValueError, "'mode' must be .* but got True"),
    ({"device_id": -1}, ValueError, "'device_id' must be an int >= 0, but got -1"),
    ({"device_id": "0"}, ValueError, "'device_id' must be an int >= 0, but got '0'"),
    ({"foo": 1}, ValueError, r"unknown keys \['foo'\]"),
    ({"device_target": "CPU", "mode": 7}, ValueError, ".*but got 7"),
])
def test_set_context_bad_input_changes_nothing(kwargs, exc, fragment, restore_context):
    before = {k: ms.get_context(k) for k in ("device_target", "mode", "device_id")}
    with pytest.raises(exc, match=rf"For 'set_context', {fragment}"):
        ms.set_context(**kwargs)
    assert {k: ms.get_context(k) for k in before} == before


def test_get_context_unknown_key():
    with pytest.raises(ValueError, match=r"For 'get_context', unknown key 'colour'"):
        ms.get_context("colour")


def test_env_cpu():
    result = _run("import gpucell as ms; print(ms.get_context('device_target'), ms.Tensor([1.0]).device)", "CPU")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["CPU", "CPU"]


def test_env_lower_case_and_spaces():
    result = _run("import gpucell as ms; print(ms.get_context('device_target'))", " cpu ")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "CPU"


def test_env_gpu():
    code = "import gpucell as ms; print(ms.get_context('device_target'))"
    result = _run(code, "GPU")
    if _REAL_GPU:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "GPU"
    else:
        assert result.returncode != 0
        assert "RuntimeError: For 'GPUCELL_DEVICE', the GPU was asked for but cannot be used" in result.stderr


def test_env_bad_value():
    result = _run("import gpucell", "TPU")
    assert result.returncode != 0
    assert "ValueError: GPUCELL_DEVICE must be 'GPU', 'CPU' or 'SIM', but got 'TPU'" in result.stderr


def test_set_context_overrides_env():
    result = _run("import gpucell as ms; ms.set_context(device_target='CPU'); print(ms.Tensor([1]).device)", "CPU")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "CPU"


def test_env_sim_makes_the_simulated_gpu_the_default():
    code = ("import gpucell as ms; from gpucell import backend; t = ms.Tensor([1.0, 2.0]) * 3; "
            "print(ms.get_context('device_target'), t.device, backend.simulated(), t.asnumpy().tolist())")
    result = _run(code, "sim")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["GPU", "GPU", "True", "[3.0,", "6.0]"]


def test_set_context_sim_switches_to_the_simulated_device(restore_context):
    result = _run("import gpucell as ms; from gpucell import backend; ms.set_context(device_target='SIM'); "
                  "t = ms.Tensor([1.0]); print(t.device, type(t._data).__module__, backend.gpu_status()[1])", "CPU")
    assert result.returncode == 0, result.stderr
    device, module, *reason = result.stdout.split()
    assert device == "GPU" and module == "gpucell.backend.sim._array" and "simulated" in " ".join(reason)
