"""gpucell.train.Model: train / fit / eval / predict over lists, loaders and one-shot iterators."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn
from gpucell.dataset import ArrayLoader
from gpucell.train import Callback, LossMonitor, Model


def blobs(n=256, seed=0):
    """Three separable Gaussian blobs in 4-D: (x float32, y int32)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], np.float32)
    x = centers[y] + 0.5 * rng.standard_normal((n, 4)).astype(np.float32)
    return x, y


def batches(x, y, size=32):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def net(seed=0):
    ms.set_seed(seed)
    return nn.SequentialCell([nn.Dense(4, 16), nn.ReLU(), nn.Dense(16, 3)])


def ce():
    return nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.losses = []

    def on_train_begin(self, rc):
        self.events.append("begin")

    def on_train_epoch_begin(self, rc):
        self.events.append(f"epoch{rc.original_args().cur_epoch_num}")

    def on_train_step_end(self, rc):
        cb = rc.original_args()
        self.losses.append(float(cb.net_outputs.asnumpy()))
        self.events.append(f"step{cb.cur_step_num}")

    def on_train_epoch_end(self, rc):
        self.events.append("epoch_end")

    def on_train_end(self, rc):
        self.events.append("end")


def test_train_runs_epochs_and_calls_callbacks_in_order():
    x, y = blobs(64)
    model = Model(net(), ce(), nn.SGD(net().trainable_params(), 0.1))
    rec = Recorder()
    model.train(2, batches(x, y), callbacks=[rec], progress=False)
    assert rec.events == ["begin", "epoch1", "step1", "step2", "epoch_end",
                          "epoch2", "step3", "step4", "epoch_end", "end"]


def test_model_fits_the_data_and_eval_reports_accuracy_and_loss():
    x, y = blobs()
    network = net()
    model = Model(network, ce(), nn.Momentum(network.trainable_params(), 0.05, 0.9),
                  metrics={"accuracy", "loss"})
    before = model.eval(batches(x, y))
    model.train(5, batches(x, y), progress=False)
    after = model.eval(batches(x, y))
    assert set(after) == {"accuracy", "loss"}
    assert after["accuracy"] > 0.95 and after["loss"] < before["loss"] / 3
    assert not network.training  # eval leaves the network in prediction mode
    out = model.predict(x[:5])
    assert out.shape == (5, 3)


def test_a_200_step_training_run_cuts_the_loss_tenfold(device):
    x, y = blobs(512, seed=3)
    loader = ArrayLoader((x, y), batch_size=64, shuffle=True, seed=0, device=device)
    network = net(1)
    if device != "CPU":
        for p in network.get_parameters():
            p.move_to(device)
    model = Model(network, ce(), nn.Adam(network.trainable_params(), 0.01))
    rec = Recorder()
    model.train(25, loader, callbacks=rec, progress=False)  # 25 epochs x 8 batches
    assert len(rec.losses) == 200
    first, last = np.mean(rec.losses[:8]), np.mean(rec.losses[-8:])
    assert last < first / 10, (first, last)


def test_a_network_that_returns_its_loss_trains_without_loss_fn():
    x, y = blobs(64)
    network = net()
    with_loss = nn.WithLossCell(network, ce())
    model = Model(with_loss, optimizer=nn.SGD(network.trainable_params(), 0.1))
    rec = Recorder()
    model.train(3, batches(x, y), callbacks=rec, progress=False)
    assert rec.losses[-1] < rec.losses[0]


def test_fit_evaluates_every_valid_frequency_epochs(capsys):
    x, y = blobs(64)
    network = net()
    model = Model(network, ce(), nn.SGD(network.trainable_params(), 0.1), metrics={"accuracy"})
    results = []

    class Grab(Callback):
        def on_eval_end(self, rc):
            results.append((rc.original_args().cur_epoch_num, rc.original_args().eval_results))

    model.fit(4, batches(x, y), batches(x, y), valid_frequency=2, callbacks=[Grab(), LossMonitor(0)],
              progress=False)
    assert [e for e, _ in results] == [2, 4]
    assert all(set(r) == {"accuracy"} for _, r in results)
    assert "Eval result: epoch 4, metrics: {'accuracy':" in capsys.readouterr().out


def test_request_stop_and_initial_epoch():
    x, y = blobs(64)
    network = net()
    model = Model(network, ce(), nn.SGD(network.trainable_params(), 0.1))

    class Stop(Callback):
        def on_train_step_end(self, rc):
            if rc.original_args().cur_step_num == 3:
                rc.request_stop()

    rec = Recorder()
    model.train(5, batches(x, y), callbacks=[rec, Stop()], progress=False)
    assert rec.events[-3:] == ["step3", "epoch_end", "end"]
    rec = Recorder()
    model.train(3, batches(x, y), callbacks=rec, initial_epoch=1, progress=False)
    assert rec.events[1] == "epoch2" and rec.events.count("epoch_end") == 2


def test_tensor_batches_dict_batches_and_dataset_objects():
    x, y = blobs(64)
    network = net()
    model = Model(network, ce(), nn.SGD(network.trainable_params(), 0.1), metrics={"acc": ms.train.Accuracy()})
    tensors = [(Tensor(a), Tensor(b)) for a, b in batches(x, y)]
    model.train(1, tensors, progress=False)
    dicts = [{"data": a, "label": b} for a, b in batches(x, y)]
    model.train(1, dicts, progress=False)
    loader = ArrayLoader((x, y), batch_size=16)
    model.train(1, loader, progress=False)
    assert 0.0 <= model.eval(loader)["acc"] <= 1.0


def test_a_one_shot_iterator_is_refused_in_its_second_epoch():
    x, y = blobs(64)
    network = net()
    model = Model(network, ce(), nn.SGD(network.trainable_params(), 0.1))
    with pytest.raises(ValueError, match="yielded no batch in epoch 2"):
        model.train(2, iter(batches(x, y)), progress=False)


def test_model_errors():
    network = net()
    with pytest.raises(ValueError, match="has no optimizer"):
        Model(network, ce()).train(1, [], progress=False)
    with pytest.raises(ValueError, match="the 'amp_level' must be one of"):
        Model(network, ce(), amp_level="O4")
    with pytest.raises(ValueError, match="has no metrics"):
        Model(network, ce()).eval([])
    with pytest.raises(ValueError, match="neither a loss_fn nor an eval_network"):
        Model(network, metrics={"accuracy"}).eval([])
    with pytest.raises(ValueError, match="epoch count must be an int >= 1"):
        Model(network, ce(), nn.SGD(network.trainable_params())).train(0, [], progress=False)
    with pytest.raises(TypeError, match="every callback must be a gpucell.train.Callback"):
        Model(network, ce(), nn.SGD(network.trainable_params())).train(1, [], callbacks=[print])
