"""Callbacks (LossMonitor, TimeMonitor, ModelCheckpoint, ProgressBar) and the metrics."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.train import (
    Accuracy,
    CheckpointConfig,
    Loss,
    LossMonitor,
    Model,
    ModelCheckpoint,
    ProgressBar,
    TimeMonitor,
)


def setup(n=64, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    ms.set_seed(seed)
    network = nn.Dense(4, 2)
    opt = nn.Momentum(network.trainable_params(), 0.1, 0.9)
    model = Model(network, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), opt)
    return model, [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def test_loss_monitor_prints_mindspores_line_every_n_steps(capsys):
    model, data = setup()
    model.train(2, data, callbacks=LossMonitor(3), progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["epoch: 1 step: 3", "epoch: 2 step: 2"]
    assert all(", loss is " in line and float(line.rsplit(" ", 1)[1]) > 0 for line in lines)


def test_loss_monitor_stops_on_a_nan_loss():
    model, data = setup()
    data[1] = (np.full_like(data[1][0], np.nan), data[1][1])
    with pytest.raises(ValueError, match=r"epoch: 1 step: 2. Invalid loss nan, terminating training"):
        model.train(1, data, callbacks=LossMonitor(1), progress=False)
    with pytest.raises(ValueError, match="'per_print_times' must be an int >= 0"):
        LossMonitor(-1)


def test_time_monitor_prints_epoch_and_step_time(capsys):
    model, data = setup()
    model.train(2, data, callbacks=TimeMonitor(), progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("Train epoch time: ") for line in lines)
    assert " ms, per step time: " in lines[0]


def test_model_checkpoint_names_keeps_the_newest_and_saves_optimizer_state(tmp_path):
    model, data = setup()
    cb = ModelCheckpoint("net", str(tmp_path), CheckpointConfig(save_checkpoint_steps=2, keep_checkpoint_max=2,
                                                                append_info=["epoch_num", "step_num"]))
    model.train(3, data, callbacks=cb, progress=False)  # 4 steps an epoch: saves at steps 2, 4, ..., 12
    assert sorted(os.listdir(tmp_path)) == ["net-3_2.ckpt", "net-3_4.ckpt"]
    assert cb.latest_ckpt_file_name == str(tmp_path / "net-3_4.ckpt")
    loaded = ms.load_checkpoint(cb.latest_ckpt_file_name)
    assert {"weight", "bias", "moments.weight", "learning_rate", "global_step"} <= set(loaded)
    assert loaded["global_step"].asnumpy().tolist() == [12] and int(loaded["step_num"].asnumpy()) == 12
    np.testing.assert_array_equal(loaded["weight"].asnumpy(), model.predict_network.weight.asnumpy())
    # a second run with the same prefix does not overwrite: the prefix becomes net_1
    model.train(1, data, callbacks=ModelCheckpoint("net", str(tmp_path), CheckpointConfig(4)), progress=False)
    assert "net_1-1_4.ckpt" in os.listdir(tmp_path)


def test_model_checkpoint_saves_the_last_step_at_the_end(tmp_path):
    model, data = setup()
    model.train(1, data, callbacks=ModelCheckpoint(directory=str(tmp_path),
                                                   config=CheckpointConfig(save_checkpoint_steps=3)),
                progress=False)
    assert sorted(os.listdir(tmp_path)) == ["CKP-1_3.ckpt", "CKP-1_4.ckpt"]


def test_checkpoint_config_errors():
    with pytest.raises(ValueError, match="can not both be 0 or None"):
        CheckpointConfig(save_checkpoint_steps=0, save_checkpoint_seconds=0)
    with pytest.raises(ValueError, match="'keep_checkpoint_max' must be an int >= 1"):
        CheckpointConfig(keep_checkpoint_max=0)
    with pytest.raises(TypeError, match="'config' must be a CheckpointConfig"):
        ModelCheckpoint(config={})


def test_progress_bar_plain_text_form():
    model, data = setup()
    out = io.StringIO()
    model.train(2, data, callbacks=ProgressBar(use_tqdm=False, file=out))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2: 4/4 steps, ") and " steps/s, loss " in lines[0]
    assert lines[1].startswith("epoch 2/2: 4/4 steps, ")


def test_progress_bar_with_tqdm():
    pytest.importorskip("tqdm")
    model, data = setup()
    out = io.StringIO()
    model.train(1, data, callbacks=ProgressBar(use_tqdm=True, file=out))
    assert "epoch 1/1" in out.getvalue() and "4/4" in out.getvalue()


def test_model_train_adds_a_progress_bar_unless_turned_off(capsys):
    model, data = setup()
    model.train(1, data)
    assert "epoch 1/1: 4/4 steps" in capsys.readouterr().err  # no terminal here: the text form
    model.train(1, data, progress=False)
    assert capsys.readouterr().err == ""


def test_accuracy_and_loss_metrics():
    acc = Accuracy()
    acc.update(Tensor(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)), Tensor(np.array([1, 1, 1])))
    acc.update(np.array([[0.0, 1.0]]), np.array([[0, 1]]))  # one-hot labels
    assert acc.eval() == pytest.approx(3 / 4)
    acc.clear()
    with pytest.raises(RuntimeError, match="number of samples is 0"):
        acc.eval()
    multi = Accuracy("multilabel")
    multi.update(np.array([[0.9, 0.2], [0.6, 0.7]]), np.array([[1, 0], [1, 0]]))
    assert multi.eval() == 0.5
    loss = Loss()
    loss.update(Tensor(np.float32(2.0)))
    loss.update(Tensor(np.array([1.0, 3.0], np.float32)))
    assert loss.eval() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="the loss must be a scalar or 1-D"):
        loss.update(np.ones((2, 2)))
