"""load_param_into_net says what it did not load (MindSpore logs a WARNING), matches names by suffix
unless strict_load, and refuses dtype / shape mismatches before it changes anything."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, Tensor, nn
from gpucell.checkpoint import CheckpointMismatchError

ROOT = Path(__file__).resolve().parents[1]


class Net(nn.Cell):
    def __init__(self, device="CPU", seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.dense = nn.Dense(3, 2)
        self.dense.weight.set_data(Tensor(rng.standard_normal((2, 3)).astype(np.float32), device=device))
        self.dense.bias.set_data(Tensor(rng.standard_normal(2).astype(np.float32), device=device))
        if device != self.dense.weight.device:
            self.dense.weight.set_data(self.dense.weight.move_to(device))
            self.dense.bias.set_data(self.dense.bias.move_to(device))


def params_of(net) -> dict:
    return {p.name: Parameter(Tensor(p.asnumpy()), name=p.name) for p in net.get_parameters()}


def values(net) -> dict:
    return {p.name: p.asnumpy().copy() for p in net.get_parameters()}


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("gpucell") and r.levelno == logging.WARNING]


def test_names_that_match_nothing_load_nothing_and_warn(caplog):
    target = Net(seed=1)
    before = values(target)
    wrong = {"encoder.w": Parameter(Tensor(np.zeros((2, 3), np.float32)), name="encoder.w")}
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        param_not_load, ckpt_not_load = ms.load_param_into_net(target, wrong)
    assert param_not_load == ["dense.weight", "dense.bias"]
    assert ckpt_not_load == ["encoder.w"]
    for name, value in values(target).items():
        np.testing.assert_array_equal(value, before[name])
    (message,) = warnings_of(caplog)
    assert message.startswith("For 'load_param_into_net', 2 parameters in the 'net' are not loaded")
    assert "['dense.weight', 'dense.bias'] are not loaded" in message
    assert "No parameter of the 'net' was loaded: the 'parameter_dict' names are ['encoder.w']" in message


def test_an_empty_dict_warns_too(caplog):
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        assert ms.load_param_into_net(Net(), {}) == (["dense.weight", "dense.bias"], [])
    (message,) = warnings_of(caplog)
    assert "the 'parameter_dict' is empty" in message


def test_a_partial_load_warns_with_the_missing_names_only(caplog):
    source, target = Net(seed=1), Net(seed=2)
    params = params_of(source)
    del params["dense.bias"]
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        assert ms.load_param_into_net(target, params) == (["dense.bias"], [])
    (message,) = warnings_of(caplog)
    assert "1 parameters in the 'net' are not loaded" in message and "['dense.bias']" in message
    assert "No parameter" not in message
    np.testing.assert_array_equal(target.dense.weight.asnumpy(), source.dense.weight.asnumpy())


def test_a_full_load_is_silent(caplog, device):
    source, target = Net(device, seed=1), Net(device, seed=2)
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        assert ms.load_param_into_net(target, params_of(source)) == ([], [])
    assert warnings_of(caplog) == []
    assert target.dense.weight.device == device
    np.testing.assert_array_equal(target.dense.weight.asnumpy(), source.dense.weight.asnumpy())


def test_the_warning_reaches_stderr_without_any_logging_setup():
    code = ("import gpucell as ms\n"
            "from gpucell import nn\n"
            "print(ms.load_param_into_net(nn.Dense(2, 2), {}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=ROOT, check=False, env={"PYTHONPATH": str(ROOT), "GPUCELL_DEVICE": "CPU",
                                                         "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(['weight', 'bias'], [])"
    assert "For 'load_param_into_net', 2 parameters in the 'net' are not loaded" in result.stderr


def test_suffix_rule_is_mindspores_and_logs_the_removed_prefix(caplog):
    source = Net(seed=1)
    # No '.' before the net's names: MindSpore's rule is a plain suffix match.
    params = {"model_" + name: value for name, value in params_of(source).items()}
    target = Net(seed=2)
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        assert ms.load_param_into_net(target, params) == ([], [])
    assert warnings_of(caplog) == [
        "For 'load_param_into_net', remove parameter prefix name: model_, continue to load."]
    np.testing.assert_array_equal(target.dense.bias.asnumpy(), source.dense.bias.asnumpy())


def test_strict_load_matches_whole_names_only(caplog):
    params = {"backbone." + name: value for name, value in params_of(Net(seed=1)).items()}
    target = Net(seed=2)
    before = values(target)
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        result = ms.load_param_into_net(target, params, strict_load=True)
    assert result == (["dense.weight", "dense.bias"], ["backbone.dense.weight", "backbone.dense.bias"])
    np.testing.assert_array_equal(target.dense.weight.asnumpy(), before["dense.weight"])
    assert len(warnings_of(caplog)) == 1


def test_two_prefixes_are_found_one_after_the_other(caplog):
    class Two(nn.Cell):
        def __init__(self):
            super().__init__()
            self.a = Parameter(Tensor([0.0]), name="a")
            self.b = Parameter(Tensor([0.0]), name="b")

    params = {"x.a": Parameter(Tensor([1.0]), name="x.a"), "y.b": Parameter(Tensor([2.0]), name="y.b")}
    net = Two()
    with caplog.at_level(logging.WARNING, logger="gpucell"):
        assert ms.load_param_into_net(net, params) == ([], [])
    assert [m.split(": ")[1] for m in warnings_of(caplog)] == ["x., continue to load.", "y., continue to load."]
    assert float(net.a.asnumpy()[0]) == 1.0 and float(net.b.asnumpy()[0]) == 2.0


@pytest.mark.parametrize("case, fragment", [
    ("shape", r"'dense.bias' has shape \(2,\) in the net but 'dense.bias' has shape \(3,\)"),
    ("dtype", r"'dense.bias' is Float32 in the net but 'dense.bias' is Int32 in the checkpoint"),
])
def test_mismatches_are_clear_errors_and_change_nothing(device, case, fragment):
    target = Net(device, seed=2)
    before = values(target)
    params = params_of(Net(seed=1))
    bad = np.zeros(3, np.float32) if case == "shape" else np.zeros(2, np.int32)
    params["dense.bias"] = Parameter(Tensor(bad), name="dense.bias")
    with pytest.raises(CheckpointMismatchError, match=fragment) as info:
        ms.load_param_into_net(target, params)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    for name, value in values(target).items():
        np.testing.assert_array_equal(value, before[name])


def test_strict_load_refuses_a_float_width_change():
    params = {n: Parameter(Tensor(p.asnumpy().astype(np.float16)), name=n) for n, p in params_of(Net()).items()}
    with pytest.raises(CheckpointMismatchError, match="strict_load requires equal dtypes"):
        ms.load_param_into_net(Net(), params, strict_load=True)
    assert ms.load_param_into_net(Net(), params) == ([], [])


@pytest.mark.parametrize("args, error, fragment", [
    (("net", {}), TypeError, "'net' must be a Cell, but got str"),
    ((None, {}), TypeError, "'net' must be a Cell, but got NoneType"),
    ((nn.Dense(2, 2), [("weight", 1)]), TypeError, "'parameter_dict' must be a dict, but got list"),
    ((nn.Dense(2, 2), {1: Tensor([1.0])}), TypeError, "must map str to Parameter"),
    ((nn.Dense(2, 2), {}, "yes"), TypeError, "strict_load"),
])
def test_bad_arguments(args, error, fragment):
    with pytest.raises(error, match=rf"For 'load_param_into_net', .*{fragment}"):
        ms.load_param_into_net(*args)
