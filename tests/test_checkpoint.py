"""save_checkpoint / load_checkpoint / load_param_into_net: format, MindSpore semantics, safety."""

from __future__ import annotations

import itertools
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import gpucell as ms
from gpucell import Parameter, ParameterTuple, Tensor, _safetensors, nn
from gpucell.checkpoint import CheckpointMismatchError

ROOT = Path(__file__).resolve().parents[1]


# -- networks shaped like MindSpore's: nested cells, a container, an optimizer with moments ----
class Block(nn.Cell):
    def __init__(self, rng, device, n_in=3, n_out=4):
        super().__init__()
        self.weight = Parameter(Tensor(rng.standard_normal((n_out, n_in)).astype(np.float32), device=device))
        self.bias = Parameter(Tensor(rng.standard_normal(n_out).astype(np.float32), device=device))


class Net(nn.Cell):
    def __init__(self, seed=0, device="CPU"):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.encoder = Block(rng, device)
        self.head = nn.SequentialCell([Block(rng, device, 4, 4), Block(rng, device, 4, 2)])
        self.steps = Parameter(Tensor(np.array(seed, np.int32), device=device), requires_grad=False)


class Optimizer(nn.Cell):
    """The state layout of MindSpore's Momentum: the net's Parameters plus cloned ``moments``."""

    def __init__(self, params, seed=0):
        super().__init__(auto_prefix=False)
        self.parameters = ParameterTuple(params)
        self.moments = self.parameters.clone(prefix="moments", init="zeros")
        rng = np.random.default_rng(seed + 100)
        for m in self.moments:
            m.set_data(Tensor(rng.standard_normal(m.shape).astype(m.dtype.numpy), device=m.device))


class TrainStep(nn.Cell):
    def __init__(self, network, optimizer):
        super().__init__(auto_prefix=False)
        self.network = network
        self.optimizer = optimizer


def train_step(seed, device="CPU"):
    net = Net(seed, device)
    return TrainStep(net, Optimizer(net.trainable_params(), seed))


def values(cell) -> dict:
    return {p.name: p.asnumpy().copy() for p in cell.get_parameters()}


def assert_same(a: dict, b: dict):
    assert list(a) == list(b)
    for name, value in a.items():
        assert value.dtype == b[name].dtype and np.array_equal(value, b[name], equal_nan=True), name


@pytest.fixture
def ckpt(tmp_path):
    return str(tmp_path / "model.ckpt")


# -- round trips -------------------------------------------------------------------------------
def test_cell_with_nested_names_and_optimizer_state_round_trips(device, ckpt):
    source = train_step(1, device)
    ms.save_checkpoint(source, ckpt)
    loaded = ms.load_checkpoint(ckpt)
    expected_names = [p.name for p in source.get_parameters()]
    assert list(loaded) == expected_names
    assert "encoder.weight" in loaded and "head.1.bias" in loaded and "steps" in loaded
    assert "moments.encoder.weight" in loaded and "moments.head.0.bias" in loaded
    assert all(isinstance(p, Parameter) and p.name == n for n, p in loaded.items())

    target = train_step(2, device)
    assert values(target)["encoder.weight"].tolist() != values(source)["encoder.weight"].tolist()
    weight = target.network.encoder.weight
    result = ms.load_param_into_net(target, loaded)
    assert result == ([], [])
    assert_same(values(target), values(source))
    assert target.network.encoder.weight is weight and weight.device == device  # in place


def test_load_checkpoint_with_net_loads_into_it(device, ckpt):
    ms.save_checkpoint(train_step(1, device), ckpt)
    target = train_step(2, device)
    ms.load_checkpoint(ckpt, net=target)
    assert_same(values(target), values(train_step(1, device)))


def test_saving_the_bare_network_leaves_optimizer_state_out(ckpt):
    step = train_step(1)
    ms.save_checkpoint(step.network, ckpt)
    names = list(ms.load_checkpoint(ckpt))
    assert names == [p.name for p in step.network.get_parameters()]
    assert not any(n.startswith("moments.") for n in names)
    param_not_load, ckpt_not_load = ms.load_param_into_net(train_step(2), ms.load_checkpoint(ckpt))
    assert param_not_load == [m.name for m in step.optimizer.moments] and ckpt_not_load == []


def _dtype_cases():
    cases = []
    for dt in ms.dtype.all_dtypes:
        np_dt = dt.numpy
        if dt is ms.complex128:
            continue  # the safetensors format has no 128-bit complex (test_complex128_is_refused_by_name)
        if np.issubdtype(np_dt, np.complexfloating):
            data = np.array([[1 + 2j, -0.0, complex(np.nan, 1)], [complex(0, np.inf), 3e-38j, 7]], np_dt)
        elif np_dt == np.bool_:
            data = np.array([[True, False, True], [False, False, True]])
        elif np.issubdtype(np_dt, np.integer):
            info = np.iinfo(np_dt)
            data = np.array([[info.min, -1 if info.min else 0, 0], [1, 7, info.max]], np_dt)
        else:
            info = ml_dtypes.finfo(np_dt)  # NumPy's finfo refuses ml_dtypes' bfloat16
            data = np.array([[info.min, -0.0, np.nan], [np.inf, info.tiny, info.max]], np_dt)
        cases.append(pytest.param(dt, data, id=dt.name))
    return cases


@pytest.mark.parametrize("dt, data", _dtype_cases())
def test_every_dtype_round_trips_bit_exact(device, ckpt, dt, data):
    params = [Parameter(Tensor(data, device=device), name="matrix", requires_grad=False),
              Parameter(Tensor(data[0, 1:2].reshape(()), device=device), name="scalar", requires_grad=False),
              Parameter(Tensor(data[:0], device=device), name="empty", requires_grad=False)]
    ms.save_checkpoint(params, ckpt)
    loaded = ms.load_checkpoint(ckpt)
    for p in params:
        got = loaded[p.name]
        assert got.dtype is dt and got.shape == p.shape
        assert got.asnumpy().tobytes() == p.asnumpy().tobytes()


def test_complex128_is_refused_by_name(ckpt):
    param = Parameter(Tensor(np.ones(2, np.complex128)), name="z", requires_grad=False)
    with pytest.raises(TypeError, match=r"the tensor 'z' has dtype complex128, which the checkpoint format "
                                        r"cannot hold"):
        ms.save_checkpoint([param], ckpt)


def test_list_of_dicts_dict_choice_func_and_prefix_filters(tmp_path):
    net = Net(3)
    first = str(tmp_path / "a.ckpt")
    ms.save_checkpoint([{"name": "x", "data": Tensor([1.0, 2.0])}, {"name": "y", "data": net.steps}], first)
    assert sorted(ms.load_checkpoint(first)) == ["x", "y"]

    second = str(tmp_path / "b.ckpt")
    ms.save_checkpoint(net, second, choice_func=lambda name: name.startswith("head."))
    assert list(ms.load_checkpoint(second)) == ["head.0.weight", "head.0.bias", "head.1.weight",
                                                "head.1.bias"]
    # load_checkpoint's dict saves back; str entries ride along.
    third = str(tmp_path / "c.ckpt")
    ms.save_checkpoint(net, first, append_dict={"note": "hello"})
    ms.save_checkpoint(ms.load_checkpoint(first), third)
    again = ms.load_checkpoint(third)
    assert again["note"] == "hello" and np.array_equal(again["encoder.bias"].asnumpy(),
                                                       net.encoder.bias.asnumpy())

    assert list(ms.load_checkpoint(third, specify_prefix="encoder")) == ["encoder.weight", "encoder.bias"]
    kept = ms.load_checkpoint(third, filter_prefix=("head", "note"))
    assert list(kept) == [p.name for p in net.get_parameters() if not p.name.startswith("head")]
    assert list(ms.load_checkpoint(third, choice_func=lambda n: n == "steps")) == ["steps"]
    with pytest.raises(ValueError, match="nothing was loaded"):
        ms.load_checkpoint(third, specify_prefix="nothing_matches")


def test_append_dict_numbers_are_tensors_and_strings_are_metadata(ckpt):
    net = Net(0)
    ms.save_checkpoint(net, ckpt, append_dict={"epoch_num": 7, "lr": 0.5, "done": True, "tag": "v1",
                                              "extra": Tensor([1, 2, 3], ms.int8)})
    loaded = ms.load_checkpoint(ckpt)
    assert loaded["epoch_num"].dtype is ms.int64 and loaded["epoch_num"].shape == () and \
        int(loaded["epoch_num"].asnumpy()) == 7
    assert loaded["lr"].dtype is ms.float32 and float(loaded["lr"].asnumpy()) == 0.5
    assert loaded["done"].dtype is ms.bool_ and bool(loaded["done"].asnumpy())
    assert loaded["extra"].asnumpy().tolist() == [1, 2, 3]
    assert loaded["tag"] == "v1"
    header = json.loads(Path(ckpt).read_bytes()[8:8 + struct.unpack("<Q", Path(ckpt).read_bytes()[:8])[0]])
    assert header["__metadata__"]["tag"] == "v1"
    _, ckpt_not_load = ms.load_param_into_net(Net(1), loaded)
    assert sorted(ckpt_not_load) == ["done", "epoch_num", "extra", "lr", "tag"]


def test_async_save_snapshots_the_data_and_load_waits_for_it(ckpt):
    net = Net(0)
    before = values(net)
    ms.save_checkpoint(net, ckpt, async_save=True)
    net.encoder.weight.set_data(Tensor(np.zeros((4, 3), np.float32)))  # after the call: not saved
    loaded = ms.load_checkpoint(ckpt)
    assert np.array_equal(loaded["encoder.weight"].asnumpy(), before["encoder.weight"])


def test_file_name_gets_mindspore_extension(tmp_path):
    ms.save_checkpoint(Net(0), str(tmp_path / "plain"))
    assert (tmp_path / "plain.ckpt").is_file()
    ms.save_checkpoint(Net(0), str(tmp_path / "st"), format="safetensors")
    assert (tmp_path / "st.safetensors").is_file()


# -- the file format ---------------------------------------------------------------------------
def test_file_layout_is_safetensors(ckpt):
    ms.save_checkpoint(Net(0), ckpt, append_dict={"tag": "v1"})
    raw = Path(ckpt).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(raw[8:8 + n])
    spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and spans[-1][1] == len(raw) - 8 - n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no holes, no overlaps
    weight = header["encoder.weight"]
    assert weight["dtype"] == "F32" and weight["shape"] == [4, 3]
    begin, end = weight["data_offsets"]
    data = np.frombuffer(raw[8 + n + begin:8 + n + end], "<f4").reshape(4, 3)
    assert np.array_equal(data, Net(0).encoder.weight.asnumpy())
    assert header["steps"]["dtype"] == "I32" and header["steps"]["shape"] == []


def test_reference_safetensors_reads_ours_and_we_read_theirs(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    ours = str(tmp_path / "ours.ckpt")
    net = Net(0)
    ms.save_checkpoint(net, ours, append_dict={"tag": "v1"})
    theirs = st.load_file(ours)
    for name, expected in values(net).items():
        assert theirs[name].dtype == expected.dtype and np.array_equal(theirs[name], expected)

    other = str(tmp_path / "theirs.safetensors")
    arrays = {"a": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([True, False]),
              "c": np.array(5, np.int64), "d": np.zeros((0, 2), np.uint8)}
    st.save_file(arrays, other, metadata={"format": "np"})
    loaded = ms.load_checkpoint(other)
    assert loaded["format"] == "np"
    for name, expected in arrays.items():
        got = loaded[name].asnumpy()
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


# -- load_param_into_net semantics ---------------------------------------------------------------
def test_param_not_load_and_ckpt_not_load(ckpt):
    ms.save_checkpoint(Net(1), ckpt, append_dict={"epoch_num": 1})
    loaded = ms.load_checkpoint(ckpt)
    del loaded["head.0.bias"]
    loaded["unknown.weight"] = Parameter(Tensor([1.0]), name="unknown.weight")
    target = Net(2)
    kept_bias = target.head[0].bias.asnumpy().copy()
    for strict in (False, True):
        param_not_load, ckpt_not_load = ms.load_param_into_net(target, loaded, strict_load=strict)
        assert param_not_load == ["head.0.bias"]
        assert ckpt_not_load == ["epoch_num", "unknown.weight"]
    assert np.array_equal(target.head[0].bias.asnumpy(), kept_bias)
    assert np.array_equal(target.encoder.weight.asnumpy(), Net(1).encoder.weight.asnumpy())


def test_prefix_of_a_wrapping_cell_is_matched_unless_strict(ckpt):
    class Wrapper(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.backbone = net

    ms.save_checkpoint(Wrapper(Net(1)), ckpt)
    loaded = ms.load_checkpoint(ckpt)
    assert "backbone.encoder.weight" in loaded

    strict_target = Net(2)
    before = values(strict_target)
    param_not_load, ckpt_not_load = ms.load_param_into_net(strict_target, loaded, strict_load=True)
    assert param_not_load == list(before) and ckpt_not_load == list(loaded)
    assert_same(values(strict_target), before)

    target = Net(2)
    assert ms.load_param_into_net(target, loaded) == ([], [])
    assert_same(values(target), values(Net(1)))


def test_dtype_conversion_only_without_strict_load(ckpt):
    source = Net(1)
    params = [Parameter(Tensor(p.asnumpy().astype(np.float64)), name=p.name)
              for p in source.get_parameters() if p.dtype is ms.float32]
    params.append(Parameter(Tensor(np.array(1, np.int64)), name="steps"))
    ms.save_checkpoint(params, ckpt)
    target = Net(2)
    before = values(target)
    with pytest.raises(CheckpointMismatchError, match="strict_load requires equal dtypes"):
        ms.load_param_into_net(target, ms.load_checkpoint(ckpt), strict_load=True)
    assert_same(values(target), before)
    assert ms.load_param_into_net(target, ms.load_checkpoint(ckpt)) == ([], [])
    assert target.encoder.weight.dtype is ms.float32 and target.steps.dtype is ms.int32
    np.testing.assert_array_equal(target.encoder.weight.asnumpy(), source.encoder.weight.asnumpy())


@pytest.mark.parametrize("case", ["shape", "float_into_int", "int_overflow", "float_overflow"])
def test_mismatch_raises_and_changes_nothing(device, ckpt, case):
    source = Net(1, device)
    params = {p.name: p for p in source.get_parameters()}
    # The bad entry comes last, so a loader that wrote as it went would already have changed others.
    if case == "shape":
        params["steps"] = Parameter(Tensor(np.zeros(2, np.int32)), name="steps")
    elif case == "float_into_int":
        params["steps"] = Parameter(Tensor(np.array(1.0, np.float32)), name="steps")
    elif case == "int_overflow":
        params["steps"] = Parameter(Tensor(np.array(2 ** 40, np.int64)), name="steps")
    else:
        params["head.1.bias"] = Parameter(Tensor(np.full(2, 1e300)), name="head.1.bias")
    ms.save_checkpoint(list(params.values()), ckpt)
    target = Net(2, device)
    before = values(target)
    with pytest.raises(CheckpointMismatchError) as info:
        ms.load_checkpoint(ckpt, net=target)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert "nothing was loaded" in str(info.value)
    assert ("steps" in str(info.value)) != (case == "float_overflow")
    assert_same(values(target), before)


def test_bad_arguments_raise_clear_errors(tmp_path, ckpt):
    with pytest.raises(TypeError, match="'save_obj' must be a Cell"):
        ms.save_checkpoint(Tensor([1.0]), ckpt)
    with pytest.raises(NotImplementedError, match="enc_key"):
        ms.save_checkpoint(Net(0), ckpt, enc_key=b"0" * 16)
    with pytest.raises(TypeError, match="append_dict"):
        ms.save_checkpoint(Net(0), ckpt, append_dict={"x": [1, 2]})
    with pytest.raises(ValueError, match="more than once"):
        ms.save_checkpoint([Parameter(Tensor([1.0]), name="w"), Parameter(Tensor([2.0]), name="w")], ckpt)
    with pytest.raises(ValueError, match="does not exist"):
        ms.load_checkpoint(str(tmp_path / "missing.ckpt"))
    with pytest.raises(TypeError, match="must be a Cell"):
        ms.load_param_into_net({}, {})
    with pytest.raises(TypeError, match="strict_load"):
        ms.load_param_into_net(Net(0), {}, strict_load=1)
    with pytest.raises(TypeError, match="must map str to Parameter"):
        ms.load_param_into_net(Net(0), {"w": np.zeros(2)})


# -- damaged files -----------------------------------------------------------------------------
def _good_file(path) -> bytes:
    ms.save_checkpoint(Net(0), path, append_dict={"tag": "v1"})
    return Path(path).read_bytes()


def _with_header(raw: bytes, edit) -> bytes:
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    edit(header)
    blob = json.dumps(header).encode()
    return struct.pack("<Q", len(blob)) + blob + raw[8 + n:]


@pytest.mark.parametrize("cut", [0, 5, 8, 40, -1, -100])
def test_truncated_file_is_refused(ckpt, cut):
    raw = _good_file(ckpt)
    Path(ckpt).write_bytes(raw[:cut] if cut >= 0 else raw[:len(raw) + cut])
    with pytest.raises(ValueError, match="truncated") as info:
        ms.load_checkpoint(ckpt)
    assert ckpt in str(info.value)


def _drop_crc(h):
    del h["__metadata__"][_safetensors.CRC_KEY]


def _set(key, field, value):
    def edit(h):
        h[key][field] = value
    return edit


def _raw_header(raw: bytes, blob: bytes) -> bytes:
    """``raw`` with its header bytes replaced by ``blob`` (length field updated)."""
    (n,) = struct.unpack("<Q", raw[:8])
    return struct.pack("<Q", len(blob)) + blob + raw[8 + n:]


CORRUPTIONS = {
    "not_json": (lambda raw: _raw_header(raw, b'{"steps": ' + b"x" * 40), "not valid JSON"),
    "not_utf8": (lambda raw: _raw_header(raw, b'{"\xff": 1}'), "not UTF-8"),
    "not_object": (lambda raw: _raw_header(raw, b"[1, 2, 3]"), "not an object"),
    "huge_length": (lambda raw: struct.pack("<Q", 2 ** 62) + raw[8:], "header length"),
    "unknown_dtype": (lambda raw: _with_header(raw, _set("steps", "dtype", "Q7")), "unknown dtype"),
    "f8": (lambda raw: _with_header(raw, _set("steps", "dtype", "F8_E4M3")),
           "F8_E4M3, which gpucell does not support"),  # BF16, U16..U64, C64 are supported
    "shape_vs_offsets": (lambda raw: _with_header(raw, _set("encoder.weight", "shape", [4, 4])),
                         "needs 64 bytes"),
    "negative_dim": (lambda raw: _with_header(raw, _set("encoder.weight", "shape", [-4, -3])),
                     "non-negative"),
    "extra_field": (lambda raw: _with_header(raw, _set("steps", "crc", 1)), "exactly"),
    "bad_metadata": (lambda raw: _with_header(raw, lambda h: h["__metadata__"].update(tag=3)),
                     "__metadata__"),
    "damaged_crc_table": (lambda raw: _with_header(
        raw, lambda h: h["__metadata__"].update({_safetensors.CRC_KEY: "{"})), "damaged"),
    "trailing_bytes": (lambda raw: raw + b"\0" * 4, "trailing bytes"),
    "flipped_data_byte": (lambda raw: raw[:-3] + bytes([raw[-3] ^ 0x40]) + raw[-2:], "CRC32"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_file_is_refused_and_net_unchanged(ckpt, name):
    damage, message = CORRUPTIONS[name]
    Path(ckpt).write_bytes(damage(_good_file(ckpt)))
    target = Net(5)
    before = values(target)
    with pytest.raises(ValueError, match=message) as info:
        ms.load_checkpoint(ckpt, net=target)
    assert ckpt in str(info.value)
    assert_same(values(target), before)


def test_overlapping_or_holey_offsets_are_refused(ckpt):
    raw = _good_file(ckpt)

    def overlap(h):
        begin, end = h["encoder.bias"]["data_offsets"]
        h["encoder.bias"]["data_offsets"] = [begin - 4, end - 4]
    Path(ckpt).write_bytes(_with_header(raw, overlap))
    with pytest.raises(ValueError, match="overlaps"):
        ms.load_checkpoint(ckpt)
    # A duplicated key in the JSON would let two readers disagree on the data.
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n].decode().rstrip()
    doubled = text[:-1] + ',"steps":' + json.dumps(json.loads(text)["steps"]) + "}"
    blob = doubled.encode()
    Path(ckpt).write_bytes(struct.pack("<Q", len(blob)) + blob + raw[8 + n:])
    with pytest.raises(ValueError, match="names 'steps' twice"):
        ms.load_checkpoint(ckpt)


def test_file_without_crc_loads_unless_crc_check(ckpt):
    raw = _good_file(ckpt)
    Path(ckpt).write_bytes(_with_header(raw, _drop_crc))
    assert "encoder.weight" in ms.load_checkpoint(ckpt)
    with pytest.raises(ValueError, match="holds no CRC32s"):
        ms.load_checkpoint(ckpt, crc_check=True)


# -- crashes while saving ----------------------------------------------------------------------
def test_failed_save_keeps_old_file_and_leaves_no_temp(ckpt, monkeypatch):
    old = _good_file(ckpt)

    def disk_full(f, flat):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_safetensors, "_write_array", disk_full)
    with pytest.raises(OSError, match="No space"):
        ms.save_checkpoint(Net(9), ckpt)
    assert Path(ckpt).read_bytes() == old
    assert os.listdir(os.path.dirname(ckpt)) == ["model.ckpt"]


_SLOW_SAVE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import gpucell as ms
    from gpucell import _safetensors
    written = []
    original = _safetensors._write_array
    def stall_after_first(f, flat):
        original(f, flat)
        f.flush()
        written.append(flat.nbytes)
        if len(written) == 1:
            print("MIDWAY", flush=True)
            time.sleep(600)
    _safetensors._write_array = stall_after_first
    big = ms.Parameter(ms.Tensor(np.full((512, 1024), 7.0, np.float32)), name="big")
    small = ms.Parameter(ms.Tensor(np.ones(3, np.float32)), name="small")
    ms.save_checkpoint([big, small], sys.argv[1])
    print("FINISHED", flush=True)
""")


def _python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["GPUCELL_DEVICE"] = "CPU"
    return env


def test_save_killed_mid_write_leaves_old_checkpoint_intact(ckpt):
    old = _good_file(ckpt)
    with subprocess.Popen([sys.executable, "-c", _SLOW_SAVE, ckpt], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=_python_env()) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line == "MIDWAY", proc.stderr.read()
            temps = [p for p in Path(ckpt).parent.iterdir() if p.name.endswith(".tmp")]
            assert len(temps) == 1 and temps[0].stat().st_size > 512 * 1024 * 4  # the big tensor is out
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert Path(ckpt).read_bytes() == old
    assert_same({k: v.asnumpy() for k, v in ms.load_checkpoint(ckpt).items() if k != "tag"},
                values(Net(0)))


def test_kill_at_any_moment_leaves_either_old_or_new_file(tmp_path):
    """Without hooks: a real 32 MiB save killed after various delays is never half written."""
    path = str(tmp_path / "big.ckpt")
    ms.save_checkpoint([Parameter(Tensor(np.zeros(8, np.float32)), name="old")], path)
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import gpucell as ms
        data = np.arange(8 * 1024 * 1024, dtype=np.float32)
        print("READY", flush=True)
        ms.save_checkpoint([ms.Parameter(ms.Tensor(data), name="new")], sys.argv[1])
    """)
    outcomes = set()
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
        with subprocess.Popen([sys.executable, "-c", script, path], stdout=subprocess.PIPE,
                              env=_python_env()) as proc:
            assert proc.stdout.readline().strip() == b"READY"
            time.sleep(delay)
            proc.kill()
            proc.wait()
        loaded = ms.load_checkpoint(path)  # must parse: either the whole old or the whole new file
        if "new" in loaded:
            assert np.array_equal(loaded["new"].asnumpy(), np.arange(8 * 1024 * 1024, dtype=np.float32))
            outcomes.add("new")
        else:
            assert list(loaded) == ["old"]
            outcomes.add("old")
    assert outcomes  # which outcomes occur depends on the machine's speed; both are correct
