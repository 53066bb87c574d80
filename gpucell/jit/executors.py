"""Executors replay a Plan: step by step over arrays (CPU, and the GPU's fallback), or as CUDA graphs.

The GPU executor warms a plan up once on its private stream, then captures every run of capturable
steps into a graph; steps that cannot be captured (``Op.capturable`` False) run eagerly between
graph launches and count as graph breaks. Their results are copied into the buffers the next graph
was captured reading, since a graph reads fixed addresses. A capture that fails warns once and the
plan is replayed eagerly from then on: slower, never wrong.
"""

from __future__ import annotations

import warnings

from gpucell import backend
from gpucell.jit.plan import Plan, run_steps

__all__ = ["ReplayExecutor", "CudaGraphExecutor", "make_executor"]


class ReplayExecutor:
    """Runs the plan's steps over fresh arrays each call, skipping dispatch and autograd."""

    kind = "replay"
    graph_breaks = 0

    def __init__(self, plan: Plan):
        self.plan = plan

    def __call__(self, arg_arrays: list):
        env = self.plan.initial_env(arg_arrays)
        run_steps(self.plan.steps, env)
        return self.plan.build_output(env, copy=False)

    def held_bytes(self) -> int:
        return self.plan.held_bytes()


def _segments(steps) -> list[tuple[bool, tuple]]:
    """``steps`` cut into maximal runs of (capturable, steps)."""
    out: list[tuple[bool, list]] = []
    for step in steps:
        capturable = step.op.capturable
        if out and out[-1][0] == capturable:
            out[-1][1].append(step)
        else:
            out.append((capturable, [step]))
    return [(flag, tuple(run)) for flag, run in out]


class CudaGraphExecutor:
    """Replays a plan as CUDA graphs with static buffers owned by the plan (see module docstring)."""

    kind = "cuda-graph"
    _warned = False

    def __init__(self, plan: Plan):
        from gpucell.backend.graphs import GraphRunner
        self.plan = plan
        self.segments = _segments(plan.steps)
        self.graph_breaks = sum(1 for capturable, _ in self.segments if not capturable)
        self.runner = GraphRunner()
        self.fallback = ReplayExecutor(plan)
        self.env = None       # static slot table the graphs read and write
        self.graphs = None    # one graph per captured segment, None for eager ones
        self.failed = False

    def __call__(self, arg_arrays: list):
        if self.failed:
            return self.fallback(arg_arrays)
        if self.graphs is None:
            try:
                return self._warm_up_and_capture(arg_arrays)
            except Exception as exc:  # noqa: BLE001 - any capture failure falls back, visibly
                self.failed = True
                self.env = self.graphs = None
                if not CudaGraphExecutor._warned:
                    CudaGraphExecutor._warned = True
                    warnings.warn(f"gpucell.jit: CUDA-graph capture of '{self.plan.name}' failed "
                                  f"({type(exc).__name__}: {exc}); replaying it eagerly instead.",
                                  RuntimeWarning, stacklevel=3)
                return self.fallback(arg_arrays)
        with self.runner.on_private_stream():
            for (slot, index) in self.plan.arg_slots:
                self.env[slot][...] = arg_arrays[index]
            for (capturable, steps), graph in zip(self.segments, self.graphs):
                if capturable:
                    self.runner.launch(graph)
                else:
                    self._run_eager(steps)
            return self.plan.build_output(self.env, copy=True)

    def _run_eager(self, steps) -> None:
        scratch = list(self.env)
        run_steps(steps, scratch)
        for slot, (old, new) in enumerate(zip(self.env, scratch)):
            if new is not old:
                if old is None or getattr(old, "shape", None) != getattr(new, "shape", None):
                    self.env[slot] = new
                else:
                    old[...] = new  # the next graph reads this address

    def _warm_up_and_capture(self, arg_arrays: list):
        with self.runner.on_private_stream():
            # Warm-up: this call's real run, which also fills the private pool with blocks of the
            # sizes the capture will ask for (cudaMalloc is illegal while capturing).
            warm = self.plan.initial_env([a.copy() for a in arg_arrays])
            run_steps(self.plan.steps, warm)
            result = self.plan.build_output(warm, copy=True)
            layout = {slot: (a.shape, a.dtype) for slot, a in enumerate(warm) if hasattr(a, "shape")}
            del warm
            xp = backend.array_module(arg_arrays[0]) if arg_arrays else backend.cupy
            env = self.plan.initial_env([a.copy() for a in arg_arrays])
            graphs = []
            for capturable, steps in self.segments:
                if capturable:
                    graphs.append(self.runner.capture(lambda steps=steps: run_steps(steps, env)))
                    continue
                # Not run now: its in-place writes already happened in the warm-up. The graphs
                # after it only need the addresses its results will be copied into.
                graphs.append(None)
                for step in steps:
                    outs = () if step.outs is None else (
                        (step.outs,) if type(step.outs) is int else step.outs)
                    for slot in outs:
                        shape, dtype = layout[slot]
                        env[slot] = xp.empty(shape, dtype)
            self.env, self.graphs = env, graphs
        # The captured graphs have not run: in-place writes (optimizer updates) happened once.
        return result

    def held_bytes(self) -> int:
        return self.plan.held_bytes() + self.runner.held_bytes()


def make_executor(plan: Plan, on_cpu: bool):
    """The executor for ``plan``: plain replay on the CPU, CUDA graphs on the GPU."""
    return ReplayExecutor(plan) if on_cpu else CudaGraphExecutor(plan)

