"""Executors replay a Plan: step by step over arrays (CPU, and the GPU's fallback), or as CUDA graphs.

The GPU executor warms a plan up once on its private stream, then captures every run of capturable
steps into a graph; steps that cannot be captured (``is_capturable`` False) run eagerly between
graph launches and count as graph breaks. Their results are copied into the buffers the next graph
was captured reading, since a graph reads fixed addresses. Each call's outputs are copied out of
the static buffers on the caller's stream, so call k's outputs survive call k+1. A capture that
fails warns once and the plan is replayed eagerly from then on: slower, never wrong.

A plan that holds a collective (an all-reduce) in a world of several processes is captured on
every rank or on none: NCCL needs every rank to run a collective the same way, and a rank replaying
it inside a graph while another runs it eagerly can mismatch or hang. So after the attempt the ranks
agree (``ranks.agree``, installed by ``gpucell.communication.init``; jit may not import it), and
if any rank failed every rank replays the plan eagerly, with a warning naming the failing ranks.
Whether a plan takes part is decided from the plan and the world alone (never from this process's
state), so every rank joins the same agreements; a single process makes no MPI call.

A plan traced over several streams is captured with its fork/join (``fork_join.py``); its eager
runs (the warm-up, the segments between graphs, the fallback) run serialized on one stream.

Random ops in a captured segment read a Philox state of that graph's own; before each launch the
executor writes a fresh counter range into it (gpucell.random.GraphDraws), in the order an eager
call would reserve it, so replays draw what eager calls would.

Memory: a plan's static buffers and its graphs' scratch live in the plan's private pool, and no
array handed to a caller is ever taken from it (outputs, the warm-up's included, are copied out on
the caller's stream), so ``release()`` can give the whole pool back when the cache drops the plan.
Plans never share a pool. PyTorch lets graphs captured in sequence share one because they are
replayed in that order and never at once; here plans replay in any order, from any thread, each on
its own stream and under its own lock, so two plans' graphs may run at the same time and one's
scratch would be the other's live buffers. Sharing would need one lock and one stream per group
of plans (serializing them), and a group's pool could be freed only when its last plan goes (any
other plan's graphs may use a free block as scratch), which defeats evicting plans one at a time.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from functools import partial

from gpucell import backend, random
from gpucell.jit.fork_join import interleave, run_on_streams
from gpucell.jit.plan import Plan, run_steps
from gpucell.ops._dispatch import is_capturable

__all__ = ["CudaGraphExecutor", "ReplayExecutor", "make_executor", "ranks"]


class _Ranks:
    """What ``gpucell.communication`` installs while a world of more than one process exists.

    ``collectives``: the ops that talk to the other ranks (a plan holding one is captured on every
    rank or on none). ``agree(error) -> {rank: error}``: a host-side collective over the world,
    called once per such plan after its capture attempt with this rank's error (None if it
    succeeded); it returns the error of every rank that failed. Both stay empty in one process.
    """

    __slots__ = ("collectives", "agree")

    def __init__(self):
        self.collectives: frozenset = frozenset()
        self.agree = None


ranks = _Ranks()


class ReplayExecutor:
    """Runs the plan's steps over fresh arrays each call, skipping dispatch and autograd.

    Fresh arrays rather than preallocated ``out=`` buffers: ``benchmarks/cpu_out_buffers.py``
    measures buffers within noise of fresh arrays for the MLP steps (0.96x to 1.09x across runs;
    NumPy's allocator already recycles the blocks), and fresh arrays need no per-thread buffer
    sets for concurrent calls and never hand a caller an output that the next call overwrites.
    Each temporary is dropped after its last use (``Plan.dead``, see ``liveness.py``), as eager
    execution drops it, so the allocator recycles its blocks within the call.
    """

    kind = "replay"
    graph_breaks = 0

    def __init__(self, plan: Plan):
        self.plan = plan

    def __call__(self, arg_arrays: list):
        plan = self.plan
        env = plan.initial_env(arg_arrays)
        run_steps(plan.steps, env, plan.dead)
        return plan.build_output(env, copy=False)

    def held_bytes(self) -> int:
        return self.plan.held_bytes()

    def release(self) -> None:
        """Nothing to give back: the arrays of each call are the caller's."""


def _segments(steps) -> list[tuple[bool, int, tuple]]:
    """``steps`` cut into maximal runs of (capturable, position of the first, steps)."""
    out: list[tuple[bool, int, list]] = []
    for position, step in enumerate(steps):
        capturable = is_capturable(step.op, step.attrs)
        if out and out[-1][0] == capturable:
            out[-1][2].append(step)
        else:
            out.append((capturable, position, [step]))
    return [(flag, start, tuple(run)) for flag, start, run in out]


class CudaGraphExecutor:
    """Replays a plan as CUDA graphs with static buffers owned by the plan (see module docstring).

    Call 0 of a key is the tracer's eager run; call 1 (the first one here) is the warm-up, an
    eager run on the plan's stream that is that call's real run, followed by the capture, which
    runs nothing; calls 2 and later copy the arguments into the static buffers, launch, and copy
    the outputs out. One lock serializes the calls: they share the static buffers.
    """

    kind = "cuda-graph"
    _warned = False

    def __init__(self, plan: Plan):
        from gpucell.backend.graphs import GraphRunner
        self.plan = plan
        self.segments = _segments(plan.steps)
        self.graph_breaks = sum(1 for capturable, _, _ in self.segments if not capturable)
        self.runner = GraphRunner()
        self.fallback = ReplayExecutor(plan)
        self.env = None       # static slot table the graphs read and write
        self.graphs = None    # one graph per captured segment, None for eager ones
        self.draws = None     # per segment: its GraphDraws (random ops' own state), or None
        self.failed = False
        self.released = False  # the cache dropped the plan: its memory is gone, calls run eagerly
        self.on_capture = None  # called after the first call here (outside the lock): the cache
                                # measures the plan's memory again
        self._lock = threading.Lock()
        # From the plan and the world alone, never from this process's state: every rank must
        # reach the same agreements (see the module docstring).
        holds_collective = any(step.op in ranks.collectives for step in plan.steps)
        self._agree = ranks.agree if holds_collective else None
        # Arguments an in-place op writes into: eager mode changes the caller's array, so a replay
        # copies the static buffer back into it.
        arg_slots = dict(plan.arg_slots)
        written = {step.ins[i] for step in plan.steps if step.op.inplace and step.ins
                   for i in step.op.writes(len(step.ins), step.attrs)}
        self._written_args = tuple(sorted((slot, arg_slots[slot]) for slot in written if slot in arg_slots))

    def __call__(self, arg_arrays: list):
        with self._lock:
            if self.failed or self.released:
                return self.fallback(arg_arrays)
            if self.graphs is not None:
                return self._replay(arg_arrays)
            result = self._warm_up_and_capture(arg_arrays)
        if self.on_capture is not None:
            self.on_capture()
        return result

    def release(self) -> None:
        """Gives the plan's device memory back (the cache calls it when it drops the plan).

        Waits for the plan's streams (its last launch, and the callers' copies out of the static
        buffers), drops the graphs and static buffers, then frees the private pool's blocks. A call
        still arriving here (a thread that took the plan from the cache before) replays eagerly.
        """
        with self._lock:  # a call in progress finishes first: it uses the static buffers
            if self.released:
                return
            self.released = True
            runner = self.runner
            # Before the graphs go (none may be destroyed while it runs). If this raises (a broken
            # device), everything stays referenced: a leak, never a block freed under a graph.
            runner.synchronize()
            self.env = self.graphs = self.draws = self.runner = None
            runner.release()

    def _replay(self, arg_arrays: list):
        with self.runner.on_private_stream():
            for (slot, index) in self.plan.arg_slots:
                self.env[slot][...] = arg_arrays[index]
            for (capturable, _, steps), graph, draws in zip(self.segments, self.graphs, self.draws):
                if capturable:
                    if draws is not None:
                        draws.refresh()
                    self.runner.launch(graph)
                else:
                    self._run_eager(steps)
        # On the caller's stream, from the caller's allocator: a block of the private pool may be
        # scratch memory of a graph, which the next replay would overwrite.
        result = self.plan.build_output(self.env, copy=True)
        for slot, index in self._written_args:
            arg_arrays[index][...] = self.env[slot]
        self.runner.after_caller()  # the next call's writes into the static buffers wait for these
        return result

    def _run_eager(self, steps) -> None:
        scratch = list(self.env)
        run_steps(steps, scratch)
        for slot, (old, new) in enumerate(zip(self.env, scratch)):
            if new is not old:
                if old is None or getattr(old, "shape", None) != getattr(new, "shape", None):
                    self.env[slot] = new
                else:
                    old[...] = new  # the next graph reads this address

    def _fail(self) -> None:
        """Drops the graphs: the plan is replayed eagerly from now on."""
        self.failed = True
        self.env = self.graphs = self.draws = None
        with contextlib.suppress(Exception):  # best effort: the eager fallback needs no pool
            self.runner.release()

    def _warn(self, message: str) -> None:
        if not CudaGraphExecutor._warned:  # once per process
            CudaGraphExecutor._warned = True
            warnings.warn(f"gpucell.jit: CUDA-graph {message}", RuntimeWarning, stacklevel=5)

    def _warm_up_and_capture(self, arg_arrays: list):
        stage = error = None
        try:
            with self.runner.on_private_stream():
                warm = self._warm_up(arg_arrays)
            # The call's outputs, on the caller's stream from the caller's allocator, as in a replay:
            # taken from the private pool they would die with it when the plan is evicted.
            result = self.plan.build_output(warm, copy=True)
            layout = {slot: (a.shape, a.dtype) for slot, a in enumerate(warm) if hasattr(a, "shape")}
            del warm
            self.runner.after_caller()  # the capture may reuse the blocks those copies read
        except Exception as exc:  # noqa: BLE001 - any failure falls back, visibly
            stage, error = "warm-up", exc
            self._fail()
            result = self.fallback(arg_arrays)  # this call's run, its collectives included
        else:
            try:
                with self.runner.on_private_stream():
                    self._capture(arg_arrays, layout)
            except Exception as exc:  # noqa: BLE001 - any capture failure falls back, visibly
                stage, error = "capture", exc
                self._fail()
        # The warm-up was this call's run (its in-place writes happened once); the captured graphs
        # have not run. A failed capture therefore needs no second run either.
        what = None if error is None else f"{stage} failed ({type(error).__name__}: {error})"
        if self._agree is not None:
            # Every rank has run this call's collectives by now, in the same order: the agreement
            # is the next collective on each of them.
            failures = self._agree(what)
            if failures:
                if not self.failed:
                    self._fail()  # another rank failed: this one's graphs are dropped unlaunched
                each = "; ".join(f"rank {rank}: {text}" for rank, text in sorted(failures.items()))
                self._warn(f"capture of '{self.plan.name}' failed on rank(s) {sorted(failures)} ({each}); "
                           f"every rank replays it eagerly instead, since its collectives must run the "
                           f"same way on every rank.")
        elif error is not None:
            self._warn(f"{stage} of '{self.plan.name}' failed ({type(error).__name__}: {error}); "
                       f"replaying it eagerly instead.")
        return result

    def _warm_up(self, arg_arrays: list) -> list:
        """This call's real run, eagerly on the plan's stream and pool (its slot table is returned);
        it leaves cached blocks of the sizes the capture asks for in that stream's free list."""
        warm = self.plan.initial_env(list(arg_arrays))
        run_steps(self.plan.steps, warm)
        return warm

    def _capture(self, arg_arrays: list, layout: dict) -> None:
        xp = backend.array_module(arg_arrays[0]) if arg_arrays else backend.cupy
        env = self.plan.initial_env([a.copy() for a in arg_arrays])  # the static input buffers
        graphs, all_draws = [], []
        plan = self.plan
        device = "CPU" if xp is not backend.cupy else "GPU"
        # The buffers the eager segments' results are copied into, all made before any capture:
        # made between two captures they could take blocks of the first graph's scratch memory,
        # which every replay of that graph writes again.
        for capturable, _, steps in self.segments:
            if not capturable:
                for step in steps:
                    outs = () if step.outs is None else (
                        (step.outs,) if type(step.outs) is int else step.outs)
                    for slot in outs:
                        if slot in layout:
                            shape, dtype = layout[slot]
                            env[slot] = xp.empty(shape, dtype)
        for capturable, start, steps in self.segments:
            if capturable:
                if plan.n_streams > 1:
                    last = start + len(steps) == len(plan.steps)
                    items = interleave(steps, start, plan.syncs, last)
                    streams = self.runner.streams(plan.n_streams)
                    run = partial(run_on_streams, items, env, streams)
                else:
                    run = partial(run_steps, steps, env)
                with random.graph_draws(device) as draws:
                    graphs.append(self.runner.capture(run))
                all_draws.append(draws if draws.total else None)
                continue
            # Not run now: its in-place writes already happened in the warm-up. The graphs
            # after it only need the addresses its results will be copied into (made above).
            graphs.append(None)
            all_draws.append(None)
        self.env, self.graphs, self.draws = env, graphs, all_draws

    def held_bytes(self) -> int:
        """The plan's constants and its private pool (static buffers, graph scratch, cached blocks)."""
        return self.plan.held_bytes() + (0 if self.released else self.runner.held_bytes())


def make_executor(plan: Plan, on_cpu: bool):
    """The executor for ``plan``: plain replay on the CPU, CUDA graphs on the GPU."""
    return ReplayExecutor(plan) if on_cpu else CudaGraphExecutor(plan)

