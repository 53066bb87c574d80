"""SequentialCell runs a Dense followed by a ReLU as one Dense+ReLU op, unless something must see
the two calls apart (hooks, an activation of the Dense's own, a subclass, the profiler, the jit)."""

import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn


def _net(seed=0):
    ms.set_seed(seed)
    return nn.SequentialCell([nn.Dense(5, 7), nn.ReLU(), nn.Dense(7, 3), nn.ReLU(), nn.Dense(3, 2)])


def _reference(net, x):
    """float64 NumPy forward of the Dense/ReLU stack."""
    h = x.astype(np.float64)
    for cell in net:
        if isinstance(cell, nn.Dense):
            h = h @ cell.weight.asnumpy().astype(np.float64).T + cell.bias.asnumpy()
        else:
            h = np.maximum(h, 0)
    return h


def _graph_ops(net, x):
    """Names of the ops on the autograd path from the output back to the input."""
    names = []

    def forward(x):
        out = net(x)
        node = out._node[0] if out._node else None
        while node is not None and hasattr(node, "op"):
            names.append(node.op.name)
            node = next((e[0] for e in node.edges if e is not None and hasattr(e[0], "op")), None)
        return out.sum()

    ms.value_and_grad(forward, None, net.trainable_params())(x)
    return names[::-1]


@pytest.fixture
def x():
    return Tensor(np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32))


def test_dense_then_relu_becomes_one_op(x):
    assert _graph_ops(_net(), x) == ["DenseReLU", "DenseReLU", "Dense"]


def test_fused_equals_unfused_forward_and_gradients(x):
    fused, plain = _net(), _net()
    for cell in plain:  # a hook on every cell keeps them apart
        cell.register_forward_hook(lambda cell, inputs, output: None)
    assert _graph_ops(plain, x) == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    np.testing.assert_allclose(fused(x).asnumpy(), _reference(fused, x.asnumpy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fused(x).asnumpy(), plain(x).asnumpy())

    def loss_of(net):
        return ms.value_and_grad(lambda x: (net(x) ** 2).sum(), None, net.trainable_params())(x)

    (loss_f, grads_f), (loss_p, grads_p) = loss_of(fused), loss_of(plain)
    assert loss_f.asnumpy() == loss_p.asnumpy()
    for gf, gp in zip(grads_f, grads_p):
        np.testing.assert_array_equal(gf.asnumpy(), gp.asnumpy())


def test_a_hook_on_either_cell_sees_its_own_call(x):
    net = _net()
    seen = []
    net[1].register_forward_hook(lambda cell, inputs, output: seen.append(
        (inputs[0].asnumpy().min() < 0, output.asnumpy().min() >= 0)))
    assert _graph_ops(net, x)[:2] == ["Dense", "ReLU"]
    assert seen and seen[0] == (True, True)  # the ReLU got the Dense's raw output
    pre = _net()
    pre[0].register_forward_pre_hook(lambda cell, inputs: None)
    assert _graph_ops(pre, x)[:2] == ["Dense", "ReLU"]


def test_backward_hook_keeps_cells_apart(x):
    net = _net()
    calls = []
    net[1].register_backward_hook(lambda cell, gin, gout: calls.append(cell))
    _graph_ops(net, x)
    assert calls == [net[1]]


def test_dense_with_own_activation_or_subclass_is_not_fused(x):
    class MyDense(nn.Dense):
        def construct(self, x):
            return super().construct(x) * 2

    ms.set_seed(0)
    net = nn.SequentialCell([MyDense(5, 3), nn.ReLU()])
    out = net(x).asnumpy()
    w, b = net[0].weight.asnumpy(), net[0].bias.asnumpy()
    np.testing.assert_allclose(out, np.maximum((x.asnumpy() @ w.T + b) * 2, 0), rtol=1e-5, atol=1e-6)
    sig = nn.SequentialCell([nn.Dense(5, 3, activation="sigmoid"), nn.ReLU()])
    assert _graph_ops(sig, x) == ["Dense", "Sigmoid", "ReLU"]


def test_schedule_follows_changes_of_the_cells(x):
    net = _net()
    net[1] = nn.Sigmoid()
    assert _graph_ops(net, x) == ["Dense", "Sigmoid", "DenseReLU", "Dense"]
    del net[1]  # Dense(5, 7), Dense(7, 3), ReLU, Dense(3, 2)
    assert _graph_ops(net, x) == ["Dense", "DenseReLU", "Dense"]
    net.append(nn.ReLU())
    assert _graph_ops(net, x) == ["Dense", "DenseReLU", "DenseReLU"]


def test_profiler_still_sees_every_cell(x):
    net = _net()
    with ms.profiler.profile() as prof:
        net(x)
    names = [row.name for row in prof.key_averages()]
    assert "ReLU" in names and "DenseReLU" not in names
    assert {"SequentialCell.0", "SequentialCell.1", "SequentialCell.3"} <= set(names)


def test_jit_of_the_sequential_matches_eager(x):
    net = _net()
    jitted = ms.jit(net)
    eager = net(x).asnumpy()
    for _ in range(3):
        np.testing.assert_array_equal(jitted(x).asnumpy(), eager)
