"""Peephole rewrites of a traced plan: fewer steps, the same numbers.

A plan sees the whole step at once, which eager execution never does, so it can merge neighbours
that a user wrote as separate Cells. Each rule keeps the arithmetic of the steps it replaces (the
replay stays bit-identical to eager on the CPU) and applies only where the intermediate slot it
removes is read by nothing else, not even the call's outputs.

Rules:
- ``Dense`` then ``ReLU`` -> ``DenseReLU`` (the ReLU runs in the matmul's epilogue);
- ``ReluGrad`` then ``DenseGrad`` -> ``DenseGrad`` masking by the ReLU output itself;
- a softmax cross-entropy, the sens of ones a gradient transform seeds it with, and its gradient
  -> one op computing the loss and the gradient from one softmax.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from gpucell.jit.tracer import Step
from gpucell.ops._dispatch import bfloat16_forward
from gpucell.ops.activation import RELU, RELU_GRAD
from gpucell.ops.creation import FILL_LIKE
from gpucell.ops.dense import DENSE, DENSE_GRAD, DENSE_RELU
from gpucell.ops.loss import (
    SOFTMAX_CROSS_ENTROPY,
    SOFTMAX_CROSS_ENTROPY_AND_GRAD,
    SOFTMAX_CROSS_ENTROPY_GRAD,
)

__all__ = ["fuse"]


def _reads(steps, protected) -> Counter:
    reads = Counter(protected)
    for step in steps:
        reads.update(step.ins)
    return reads


def _fn_for(op, like: Step):
    """``op``'s forward for the device ``like`` ran on (in float32 where ``like``'s ran so: bfloat16)."""
    inner = getattr(like.fn, "bfloat16_of", like.fn)
    fn = op.cpu if inner is like.op.cpu else op.gpu
    return fn if inner is like.fn else bfloat16_forward(fn, op)


def _dense_relu(steps: list, reads: Counter) -> list:
    producer = {s.outs: i for i, s in enumerate(steps) if type(s.outs) is int}
    out = list(steps)
    for i, step in enumerate(steps):
        if step.op is not RELU:
            continue
        j = producer.get(step.ins[0])
        if j is None or out[j] is None or out[j].op is not DENSE or reads[step.ins[0]] != 1:
            continue
        dense = out[j]
        inner = getattr(dense.fn, "bfloat16_of", dense.fn)
        if inner is not DENSE.cpu and inner is not DENSE.gpu:
            continue
        out[j] = replace(dense, op=DENSE_RELU, fn=_fn_for(DENSE_RELU, dense), outs=step.outs)
        out[i] = None
    return [s for s in out if s is not None]


def _relu_grad_into_dense_grad(steps: list, reads: Counter, consts: dict) -> list:
    producer = {s.outs: i for i, s in enumerate(steps) if type(s.outs) is int}
    out = list(steps)
    for i, step in enumerate(steps):
        if step.op is not DENSE_GRAD or len(step.ins) != 4 or consts.get(step.ins[3], 0) is not None:
            continue
        j = producer.get(step.ins[0])
        if j is None or out[j] is None or out[j].op is not RELU_GRAD or reads[step.ins[0]] != 1:
            continue
        g, relu_out = out[j].ins
        out[i] = replace(step, ins=(g, step.ins[1], step.ins[2], relu_out))
        out[j] = None
    return [s for s in out if s is not None]


def _loss_and_grad(steps: list, reads: Counter) -> list:
    out = list(steps)
    for i, loss in enumerate(steps):
        if loss.op is not SOFTMAX_CROSS_ENTROPY or type(loss.outs) is not int:
            continue
        seed = next((j for j in range(i + 1, len(out)) if out[j] is not None
                     and out[j].op is FILL_LIKE and out[j].ins == (loss.outs,)
                     and out[j].attrs.get("value") == 1 and out[j].attrs.get("dtype") is None), None)
        if seed is None or reads[out[seed].outs] != 1:
            continue
        grad = next((k for k in range(seed + 1, len(out)) if out[k] is not None
                     and out[k].op is SOFTMAX_CROSS_ENTROPY_GRAD
                     and out[k].ins == (out[seed].outs,) + loss.ins and out[k].attrs == loss.attrs), None)
        if grad is None:
            continue
        fused = SOFTMAX_CROSS_ENTROPY_AND_GRAD
        out[i] = replace(loss, op=fused, fn=_fn_for(fused, loss), outs=(loss.outs, out[grad].outs))
        out[seed] = out[grad] = None
    return [s for s in out if s is not None]


def fuse(steps: tuple, protected: list, consts: dict) -> tuple:
    """``steps`` rewritten by the rules above. ``protected``: slots the call returns;
    ``consts``: constant slot -> value (a ``None`` input shows as a constant slot)."""
    steps = list(steps)
    steps = _dense_relu(steps, _reads(steps, protected))
    steps = _relu_grad_into_dense_grad(steps, _reads(steps, protected), consts)
    steps = _loss_and_grad(steps, _reads(steps, protected))
    return tuple(steps)


