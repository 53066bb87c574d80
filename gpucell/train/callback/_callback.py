"""Callback, RunContext and the list that dispatches to several callbacks, as in MindSpore.

A callback overrides the hooks it needs: the MindSpore 2.x names (``on_train_step_end`` ...) or
the older ones (``step_end`` ...), which the new ones call by default.
"""

from __future__ import annotations

__all__ = ["Callback", "RunContext", "CallbackParams", "CallbackList"]

_HOOKS = ("on_train_begin", "on_train_epoch_begin", "on_train_step_begin", "on_train_step_end",
          "on_train_epoch_end", "on_train_end", "on_eval_begin", "on_eval_epoch_begin",
          "on_eval_step_begin", "on_eval_step_end", "on_eval_epoch_end", "on_eval_end")


class CallbackParams(dict):
    """The training state callbacks read (``cb_params``): a dict whose keys are also attributes
    (``cur_epoch_num``, ``cur_step_num``, ``batch_num``, ``epoch_num``, ``net_outputs``,
    ``train_network``, ``optimizer``, ``loss_fn``, ``train_dataset``, ``mode``, ``eval_results``...)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"The callback parameters hold no '{name}'; they hold "
                                 f"{sorted(self)}.") from None

    def __setattr__(self, name: str, value) -> None:
        self[name] = value


class RunContext:
    """What a callback receives: ``original_args()`` is the CallbackParams; ``request_stop()``
    ends training after the current step."""

    def __init__(self, original_args):
        if not isinstance(original_args, dict):
            raise TypeError(f"For 'RunContext', the 'original_args' must be a dict, but got "
                            f"{type(original_args).__name__}.")
        self._original_args = original_args
        self._stop_requested = False

    def original_args(self):
        return self._original_args

    def request_stop(self) -> None:
        self._stop_requested = True

    def get_stop_requested(self) -> bool:
        return self._stop_requested


class Callback:
    """Base class of the training and evaluation callbacks; every hook does nothing by default.

    >>> from gpucell.train import Callback
    >>> class StopAtStep(Callback):
    ...     def __init__(self, step):
    ...         self.step = step
    ...     def on_train_step_end(self, run_context):
    ...         if run_context.original_args().cur_step_num >= self.step:
    ...             run_context.request_stop()
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    # MindSpore 1.x names.
    def begin(self, run_context) -> None: ...
    def epoch_begin(self, run_context) -> None: ...
    def step_begin(self, run_context) -> None: ...
    def step_end(self, run_context) -> None: ...
    def epoch_end(self, run_context) -> None: ...
    def end(self, run_context) -> None: ...

    # MindSpore 2.x names; the training ones call the 1.x ones.
    def on_train_begin(self, run_context) -> None:
        self.begin(run_context)

    def on_train_epoch_begin(self, run_context) -> None:
        self.epoch_begin(run_context)

    def on_train_step_begin(self, run_context) -> None:
        self.step_begin(run_context)

    def on_train_step_end(self, run_context) -> None:
        self.step_end(run_context)

    def on_train_epoch_end(self, run_context) -> None:
        self.epoch_end(run_context)

    def on_train_end(self, run_context) -> None:
        self.end(run_context)

    def on_eval_begin(self, run_context) -> None: ...
    def on_eval_epoch_begin(self, run_context) -> None: ...
    def on_eval_step_begin(self, run_context) -> None: ...
    def on_eval_step_end(self, run_context) -> None: ...
    def on_eval_epoch_end(self, run_context) -> None: ...
    def on_eval_end(self, run_context) -> None: ...


class CallbackList(Callback):
    """Several callbacks called in order, hook by hook."""

    def __init__(self, callbacks=None):
        items = [] if callbacks is None else (
            [callbacks] if isinstance(callbacks, Callback) else list(callbacks))
        for i, cb in enumerate(items):
            if not isinstance(cb, Callback):
                raise TypeError(f"For 'Model', every callback must be a gpucell.train.Callback, but element "
                                f"{i} is {type(cb).__name__}.")
        self.callbacks = items

    def __enter__(self):
        for cb in self.callbacks:
            cb.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for cb in self.callbacks:
            cb.__exit__(*exc)


def _dispatch(hook: str):
    def call(self, run_context) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(run_context)
    call.__name__ = hook
    return call


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _dispatch(_hook))


def step_in_epoch(cb) -> int:
    """The 1-based step within the current epoch (MindSpore's ``(cur_step_num - 1) % batch_num + 1``)."""
    batch_num = cb.get("batch_num")
    if batch_num:
        return (cb.cur_step_num - 1) % batch_num + 1
    return cb.get("cur_step_in_epoch", cb.cur_step_num)
