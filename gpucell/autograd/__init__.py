"""gpucell.autograd: graph nodes, the stream-aware engine, grad / value_and_grad /
GradOperation, no_grad, and Cell.bprop / backward hooks."""

from gpucell.autograd import node as _node
from gpucell.autograd.api import GradOperation, grad, value_and_grad
from gpucell.autograd.mode import is_recording, no_grad

_node.install()

__all__ = ["grad", "value_and_grad", "GradOperation", "no_grad", "is_recording"]
