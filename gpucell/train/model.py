"""Model: MindSpore's high-level training and evaluation loop over a network, a loss and an optimizer.

>>> import numpy as np
>>> import gpucell as ms
>>> from gpucell import nn, ops
>>> from gpucell.train import Model
>>> class Linear(nn.Cell):
...     def __init__(self):
...         super().__init__()
...         self.w = ms.Parameter(ms.Tensor(np.zeros((2, 1), np.float32)), name="w")
...     def construct(self, x):
...         return ops.matmul(x, self.w)
>>> def mse(out, y):
...     return ((out - y) ** 2).mean()
>>> net = Linear()
>>> model = Model(net, mse, nn.SGD(net.trainable_params(), 0.1))
>>> x = np.array([[1.0, 2.0]], np.float32)
>>> model.train(20, [(x, np.array([[1.0]], np.float32))], progress=False)
>>> model.predict(ms.Tensor(x)).asnumpy().round(3)
array([[1.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from gpucell import backend
from gpucell.nn.cell import Cell
from gpucell.nn.optim.optimizer import Optimizer
from gpucell.nn.wrap.cell_wrapper import TrainOneStepCell, WithEvalCell, WithLossCell
from gpucell.tensor import Tensor
from gpucell.train.callback import CallbackList, CallbackParams, ProgressBar, RunContext
from gpucell.train.callback._console import rank_zero
from gpucell.train.metrics import get_metrics

__all__ = ["Model"]


def _as_tensors(batch, where: str) -> tuple:
    """A batch as a tuple of Tensors: its NumPy arrays, NumPy scalars, numbers and (nested) lists
    become Tensors on the current device; anything else is refused by name."""
    if isinstance(batch, dict):
        batch = tuple(batch.values())
    if isinstance(batch, (Tensor, np.ndarray)):
        batch = (batch,)
    if not isinstance(batch, (tuple, list)):
        raise TypeError(f"For '{where}', each batch must be a tuple or list like (data, label), but got "
                        f"{type(batch).__name__}.")
    out = []
    for index, item in enumerate(batch):
        if isinstance(item, Tensor):
            out.append(item)
        elif isinstance(item, (np.ndarray, np.generic, list, int, float, bool)) or backend.is_gpu_array(item):
            out.append(Tensor(np.asarray(item) if isinstance(item, np.generic) else item))
        else:
            raise TypeError(f"For '{where}', element {index} of a batch must be a Tensor, a NumPy or CuPy array, "
                            f"a number or a list, but got {type(item).__name__}.")
    return tuple(out)


class _Epochs:
    """One pass per epoch over any dataset: MindSpore datasets (``create_tuple_iterator``), any
    re-iterable of batches (a list, a loader), or a generator function (called once per epoch)."""

    def __init__(self, dataset, epochs: int, where: str):
        if dataset is None:
            raise ValueError(f"For '{where}', the dataset must not be None.")
        self.where = where
        self.calls = False
        if hasattr(dataset, "create_tuple_iterator"):
            self.source = dataset.create_tuple_iterator(num_epochs=epochs)
        elif hasattr(dataset, "__iter__"):
            self.source = dataset
        elif callable(dataset):
            self.source, self.calls = dataset, True
        else:
            raise TypeError(f"For '{where}', the dataset must be iterable (batches of (data, label)), a "
                            f"generator function or have create_tuple_iterator(), but got "
                            f"{type(dataset).__name__}.")
        self.size = None
        if hasattr(dataset, "get_dataset_size"):
            self.size = int(dataset.get_dataset_size())
        elif hasattr(dataset, "__len__"):
            self.size = len(dataset)

    def epoch(self, index: int):
        count = 0
        batches = self.source() if self.calls else self.source
        if not hasattr(batches, "__iter__"):
            raise TypeError(f"For '{self.where}', the dataset function must return an iterable of batches "
                            f"(use yield), but it returned {type(batches).__name__}.")
        for batch in batches:
            count += 1
            yield _as_tensors(batch, self.where)
        if count == 0:
            raise ValueError(f"For '{self.where}', the dataset yielded no batch in epoch {index}; pass a "
                             f"re-iterable dataset (a list, a loader), not a one-shot iterator.")
        if self.size is None:
            self.size = count


def _check_epoch(where: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"For '{where}', the epoch count must be an int >= {minimum}, but got {value!r}.")
    return value


class Model:
    """``Model(network, loss_fn=None, optimizer=None, metrics=None, eval_network=None,
    eval_indexes=None, amp_level='O0')``.

    With ``loss_fn`` and ``optimizer`` it trains ``TrainOneStepCell(WithLossCell(network, loss_fn),
    optimizer)``; with only ``optimizer`` the network itself returns the loss. ``metrics`` (a set of
    names such as ``{"accuracy", "loss"}`` or a dict of Metrics) are what ``eval`` reports.
    """

    def __init__(self, network: Cell, loss_fn=None, optimizer: Optimizer | None = None, metrics=None,
                 eval_network: Cell | None = None, eval_indexes=None, amp_level: str = "O0",
                 boost_level: str = "O0", **kwargs):
        if not isinstance(network, Cell):
            raise TypeError(f"For 'Model', the 'network' must be a Cell, but got {type(network).__name__}.")
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"For 'Model', the 'optimizer' must be a gpucell.nn.Optimizer, but got "
                            f"{type(optimizer).__name__}.")
        if amp_level not in ("O0", "O1", "O2", "O3", "auto") or boost_level != "O0":
            raise ValueError(f"For 'Model', the 'amp_level' must be one of 'O0', 'O1', 'O2', 'O3', 'auto' and "
                             f"boost_level 'O0', but got amp_level={amp_level!r}, boost_level={boost_level!r}.")
        from gpucell.amp import recommended_level

        self._amp_level = recommended_level(amp_level)
        self._amp_kwargs = {k: kwargs[k] for k in ("loss_scale_manager", "keep_batchnorm_fp32", "cast_model_type")
                            if k in kwargs}
        if self._amp_kwargs.get("loss_scale_manager") is not None and optimizer is None:
            raise ValueError("For 'Model', a 'loss_scale_manager' needs an 'optimizer'.")
        if eval_indexes is not None and (not isinstance(eval_indexes, (list, tuple)) or len(eval_indexes) != 3):
            raise ValueError(f"For 'Model', the 'eval_indexes' must be a list of 3 indexes [loss, output, "
                             f"label], but got {eval_indexes!r}.")
        self._network = network
        self._loss_fn = loss_fn
        self._optimizer = optimizer
        self._metrics = get_metrics(metrics)
        self._train_network = self._build_train_network()
        self._eval_network = eval_network
        self._eval_indexes = list(eval_indexes) if eval_indexes is not None else None
        if eval_network is None and loss_fn is not None:
            self._eval_network = WithEvalCell(network, loss_fn)
            self._eval_indexes = [0, 1, 2]

    def _build_train_network(self):
        if self._optimizer is None:
            if self._amp_level != "O0":
                from gpucell.amp import auto_mixed_precision

                auto_mixed_precision(self._network, self._amp_level)
            return None
        if self._amp_level != "O0" or self._amp_kwargs:
            from gpucell.amp import build_train_network

            return build_train_network(self._network, self._optimizer, self._loss_fn, level=self._amp_level,
                                       **self._amp_kwargs)
        if self._loss_fn is None:
            return TrainOneStepCell(self._network, self._optimizer)
        return TrainOneStepCell(WithLossCell(self._network, self._loss_fn), self._optimizer)

    @property
    def train_network(self):
        return self._train_network

    @property
    def predict_network(self) -> Cell:
        return self._network

    @property
    def eval_network(self):
        return self._eval_network

    # -- training ------------------------------------------------------------------------------
    def train(self, epoch: int, train_dataset, callbacks=None, dataset_sink_mode: bool = False,
              sink_size: int = -1, initial_epoch: int = 0, *, progress: bool = True) -> None:
        """Trains for epochs ``initial_epoch + 1`` .. ``epoch`` over ``train_dataset``.

        ``train_dataset``: an iterable of ``(data, label)`` batches (Tensors, NumPy arrays, numbers or
        lists), a generator function yielding them (called once per epoch), or a dataset with
        ``create_tuple_iterator()`` (``GeneratorDataset``, ``NumpySlicesDataset``, ``ArrayLoader``).
        ``callbacks``: a Callback or a list of them.
        ``progress``: show a progress bar (ProgressBar; also off when the callbacks hold one).
        ``dataset_sink_mode`` is accepted for MindSpore code; steps always run one at a time here.
        """
        self._fit(epoch, train_dataset, callbacks, initial_epoch, progress, None, 1)

    def fit(self, epoch: int, train_dataset, valid_dataset=None, valid_frequency=1, callbacks=None,
            dataset_sink_mode: bool = False, valid_dataset_sink_mode: bool = False, sink_size: int = -1,
            initial_epoch: int = 0, *, progress: bool = True) -> None:
        """``train`` that also evaluates on ``valid_dataset`` every ``valid_frequency`` epochs; the
        results reach the callbacks as ``cb_params.eval_results`` (LossMonitor prints them)."""
        if isinstance(valid_frequency, bool) or not isinstance(valid_frequency, int) or valid_frequency < 1:
            raise ValueError(f"For 'Model.fit', the 'valid_frequency' must be an int >= 1, but got "
                             f"{valid_frequency!r}.")
        self._fit(epoch, train_dataset, callbacks, initial_epoch, progress, valid_dataset, valid_frequency)

    def _fit(self, epoch, train_dataset, callbacks, initial_epoch, progress, valid_dataset, frequency):
        where = "Model.train"
        if self._train_network is None:
            raise ValueError(f"For '{where}', the Model has no optimizer: build it with Model(network, loss_fn, "
                             f"optimizer) to train.")
        epoch = _check_epoch(where, epoch)
        initial_epoch = _check_epoch(where, initial_epoch, 0)
        if initial_epoch >= epoch:
            raise ValueError(f"For '{where}', the 'initial_epoch' ({initial_epoch}) must be less than "
                             f"'epoch' ({epoch}).")
        cbs = CallbackList(callbacks)
        if progress and not any(isinstance(c, ProgressBar) for c in cbs.callbacks) and rank_zero():
            cbs.callbacks.insert(0, ProgressBar())
        epochs = _Epochs(train_dataset, epoch - initial_epoch, where)
        cb = CallbackParams(
            train_network=self._train_network, network=self._network, optimizer=self._optimizer,
            loss_fn=self._loss_fn, train_dataset=train_dataset, epoch_num=epoch, batch_num=epochs.size,
            cur_epoch_num=initial_epoch, cur_step_num=0, cur_step_in_epoch=0, net_outputs=None,
            dataset_sink_mode=False, mode="train", initial_epoch=initial_epoch, eval_results=None,
            list_callback=cbs)
        run = RunContext(cb)
        network = self._train_network
        network.set_train(True)
        with cbs:
            cbs.on_train_begin(run)
            for e in range(initial_epoch + 1, epoch + 1):
                cb.cur_epoch_num = e
                cb.cur_step_in_epoch = 0
                cbs.on_train_epoch_begin(run)
                for batch in epochs.epoch(e):
                    cb.cur_step_num += 1
                    cb.cur_step_in_epoch += 1
                    cb.train_dataset_element = batch
                    cbs.on_train_step_begin(run)
                    cb.net_outputs = network(*batch)
                    cbs.on_train_step_end(run)
                    if run.get_stop_requested():
                        break
                cb.batch_num = epochs.size
                cbs.on_train_epoch_end(run)
                if valid_dataset is not None and (e - initial_epoch) % frequency == 0:
                    cb.eval_results = self._evaluate(valid_dataset, cbs, cb)
                    network.set_train(True)
                if run.get_stop_requested():
                    break
            cbs.on_train_end(run)

    # -- evaluation ----------------------------------------------------------------------------
    def eval(self, valid_dataset, callbacks=None, dataset_sink_mode: bool = False) -> dict:
        """Runs the evaluation network over ``valid_dataset`` and returns ``{metric name: value}``."""
        cbs = CallbackList(callbacks)
        with cbs:
            return self._evaluate(valid_dataset, cbs, CallbackParams(cur_epoch_num=None))

    def _evaluate(self, valid_dataset, cbs, train_params) -> dict:
        where = "Model.eval"
        if self._eval_network is None:
            raise ValueError(f"For '{where}', the Model has neither a loss_fn nor an eval_network to evaluate "
                             f"with.")
        if not self._metrics:
            raise ValueError(f"For '{where}', the Model has no metrics: build it with metrics={{'accuracy', "
                             f"'loss'}} (or a dict of Metrics).")
        epochs = _Epochs(valid_dataset, 1, where)
        cb = CallbackParams(eval_network=self._eval_network, valid_dataset=valid_dataset, mode="eval",
                            batch_num=epochs.size, cur_step_num=0, net_outputs=None, metrics=self._metrics,
                            cur_epoch_num=train_params.get("cur_epoch_num"), eval_results=None)
        run = RunContext(cb)
        for metric in self._metrics.values():
            metric.clear()
        network = self._eval_network
        network.set_train(False)
        cbs.on_eval_begin(run)
        cbs.on_eval_epoch_begin(run)
        for batch in epochs.epoch(1):
            cb.cur_step_num += 1
            cbs.on_eval_step_begin(run)
            outputs = network(*batch)
            cb.net_outputs = outputs
            self._update_metrics(outputs)
            cbs.on_eval_step_end(run)
        cb.eval_results = {name: metric.eval() for name, metric in self._metrics.items()}
        cbs.on_eval_epoch_end(run)
        cbs.on_eval_end(run)
        return cb.eval_results

    def _update_metrics(self, outputs) -> None:
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        for name, metric in self._metrics.items():
            if self._eval_indexes is None:
                metric.update(*outputs)
            elif name == "loss" or type(metric).__name__ == "Loss":
                metric.update(outputs[self._eval_indexes[0]])
            else:
                metric.update(outputs[self._eval_indexes[1]], outputs[self._eval_indexes[2]])

    # -- inference -----------------------------------------------------------------------------
    def predict(self, *predict_data):
        """The network's output for ``predict_data`` in prediction mode."""
        self._network.set_train(False)
        data = tuple(Tensor(d) if isinstance(d, np.ndarray) else d for d in predict_data)
        return self._network(*data)
