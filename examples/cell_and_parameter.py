"""The MindSpore tutorial's "Cell and Parameter" section, run on gpucell with the imports changed.

    python examples/cell_and_parameter.py

It walks through the tutorial's "Cell and Parameter" section (building a network from Parameters,
reading, modifying and assigning them, ParameterTuple cloning, training state) on whichever device
gpucell picked, and prints what the tutorial shows.
"""

from __future__ import annotations

import numpy as np

import gpucell as ms
from gpucell import Parameter, ParameterTuple, Tensor, nn, ops
from gpucell.common.initializer import initializer


class Network(nn.Cell):
    """The tutorial's fully connected layer: z = x @ w + b."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.random.randn(5, 3), ms.float32), name="w")
        self.b = Parameter(Tensor(np.random.randn(3,), ms.float32), name="b")

    def construct(self, x):
        return ops.matmul(x, self.w) + self.b


def _title(text: str) -> None:
    print(f"\n== {text}")


def main() -> None:
    np.random.seed(1)
    print(f"gpucell {ms.__version__} on {ms.get_context('device_target')}")
    net = Network()

    _title("a single Parameter: net.b")
    print(net.b.asnumpy())
    _title("trainable parameters")
    print(net.trainable_params())
    _title("all parameters")
    print(type(net.get_parameters()))
    for name, param in net.parameters_and_names():
        print(f"{name}:\n{param.asnumpy()}")

    _title("modify by index: net.b[0] = 1.")
    net.b[0] = 1.
    print(net.b.asnumpy())
    _title("override: net.b.set_data(Tensor([3, 4, 5]))")
    net.b.set_data(Tensor([3, 4, 5]))
    print(net.b.asnumpy())

    @ms.jit
    def modify_parameter():
        b_hat = ms.Tensor([7, 8, 9])
        ops.assign(net.b, b_hat)
        return True

    _title("at run time, inside @jit: ops.assign(net.b, [7, 8, 9])")
    modify_parameter()
    print(net.b.asnumpy())

    _title("ParameterTuple and clone('params_copy')")
    x = Parameter(default_input=ms.Tensor(np.arange(2 * 3).reshape((2, 3))), name="x")
    y = Parameter(default_input=initializer("ones", [1, 2, 3], ms.float32), name="y")
    z = Parameter(default_input=2.0, name="z")
    params = ParameterTuple((x, y, z))
    params_copy = params.clone("params_copy")
    print(params)
    print(params_copy)

    _title("training state")
    net.set_train()
    print(net.phase)
    net.set_train(False)
    print(net.phase)

    _title("a forward pass: net(ones(2, 5))")
    print(repr(net(Tensor(np.ones((2, 5)), ms.float32))))


if __name__ == "__main__":
    main()
