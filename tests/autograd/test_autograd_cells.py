"""Cell.bprop, backward hooks, and the seed tutorial's custom layers (Threshold, Dropout2d)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucell as mindspore
from gpucell import nn, ops


def T(values, device, dtype=mindspore.float32):
    return mindspore.Tensor(np.asarray(values), dtype, device=device)


# -- the seed tutorial, imports changed, nothing else --------------------------------------------
class Threshold(nn.Cell):
    def __init__(self, threshold, value):
        super().__init__()
        self.threshold = threshold
        self.value = value

    def construct(self, inputs):
        cond = ops.gt(inputs, self.threshold)
        value = ops.fill(inputs.dtype, inputs.shape, self.value)
        return ops.select(cond, inputs, value)


class Dropout2d(nn.Cell):
    def __init__(self, keep_prob):
        super().__init__()
        self.keep_prob = keep_prob
        self.dropout2d = ops.Dropout2D(keep_prob)

    def construct(self, x):
        return self.dropout2d(x)

    def bprop(self, x, out, dout):
        _, mask = out
        dy, _ = dout
        if self.keep_prob != 0:
            dy = dy * (1 / self.keep_prob)
        dy = mask.astype(mindspore.float32) * dy
        return (dy.astype(x.dtype), )


def test_seed_threshold(device):
    m = Threshold(0.1, 20)
    inputs = mindspore.Tensor([0.1, 0.2, 0.3], mindspore.float32, device=device)
    out = m(inputs)
    assert repr(out) == ("Tensor(shape=[3], dtype=Float32, value= [ 2.00000000e+01,  2.00000003e-01,  "
                         "3.00000012e-01])")
    assert mindspore.grad(m)(inputs).asnumpy().tolist() == [0.0, 1.0, 1.0]


def test_seed_dropout2d_bprop(device):
    dropout_2d = Dropout2d(0.8)
    dropout_2d.bprop_debug = True
    x = mindspore.Tensor(np.random.default_rng(0).standard_normal((4, 16, 3, 3)), mindspore.float32,
                         device=device)
    out, mask = dropout_2d(x)
    m = mask.asnumpy()
    assert mask.dtype == mindspore.bool_ and (m == m[:, :, :1, :1]).all()
    np.testing.assert_allclose(out.asnumpy(), np.where(m, x.asnumpy() / 0.8, 0), rtol=1e-6)
    for _ in range(2):  # each call draws a new mask; the gradient uses that call's mask
        (out, mask), g = mindspore.value_and_grad(dropout_2d)(x)
        np.testing.assert_allclose(g.asnumpy(), mask.asnumpy() * np.float32(1 / 0.8), rtol=1e-6)
        assert g.dtype == x.dtype
    sens = (T(np.full(x.shape, 2.0), device), ops.zeros_like(mask))
    grad_op = ops.GradOperation(sens_param=True)(dropout_2d)
    g = grad_op(x, sens)
    assert set(np.unique(g.asnumpy()).round(4)) <= {0.0, 2.5}


def test_seed_dropout2d_same_seed_same_mask_on_every_backend(device):
    mindspore.set_seed(3)
    _, mask = Dropout2d(0.5)(T(np.ones((2, 8, 1, 1)), device))
    expected = mask.asnumpy()
    mindspore.set_seed(3)
    _, again = Dropout2d(0.5)(T(np.ones((2, 8, 1, 1)), "CPU"))
    np.testing.assert_array_equal(again.asnumpy(), expected)


class Scale(nn.Cell):
    """Two inputs, a tuple output, a non-Tensor input and an input without gradient."""

    def construct(self, x, y, k):
        return x * y * k, x + y

    def bprop(self, x, y, k, out, dout):
        d_prod, d_sum = dout
        return d_prod * 100 + d_sum, None, None


def test_bprop_several_inputs_tuple_output(device):
    x, y = T([1.0, 2.0], device), T([3.0, 4.0], device)
    gx, gy = mindspore.grad(lambda a, b: Scale()(a, b, 2.0), (0, 1))(x, y)
    assert gx.asnumpy().tolist() == [101.0, 101.0] and gy.asnumpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("returned,error,message", [
    (lambda x, dout: (dout, dout), ValueError, r"For 'Bad', bprop must return 1 gradient\(s\)"),
    (lambda x, dout: (dout[:1],), ValueError, r"For 'Bad', bprop's gradient 0 has shape \(1,\), but input 0 "
                                             r"has shape \(2,\)"),
    (lambda x, dout: 3.0, TypeError, "For 'Bad', bprop must return a tuple"),
])
def test_bprop_errors_name_the_cell(device, returned, error, message):
    class Bad(nn.Cell):
        def construct(self, x):
            return x * 2

        def bprop(self, x, out, dout):
            return returned(x, dout)

    with pytest.raises(error, match=message):
        mindspore.grad(Bad())(T([1.0, 2.0], device))


def test_bprop_cell_runs_plainly_outside_transforms(device):
    out, mask = Dropout2d(1.0)(T(np.ones((1, 2, 1, 1)), device))
    assert out._node is None and mask.asnumpy().all()


def test_backward_hook_sees_and_replaces_gradients(device):
    class Double(nn.Cell):
        def construct(self, x):
            return x * 2

    cell = Double()
    seen = []

    def hook(c, grad_input, grad_output):
        seen.append((c, grad_input[0].asnumpy().tolist(), grad_output[0].asnumpy().tolist()))
        return (grad_input[0] * 10,)

    handle = cell.register_backward_hook(hook)
    g = mindspore.grad(lambda x: (cell(x) * T([1.0, 3.0], device)).sum())(T([5.0, 6.0], device))
    assert seen == [(cell, [2.0, 6.0], [1.0, 3.0])]
    assert g.asnumpy().tolist() == [20.0, 60.0]
    handle.remove()
    g = mindspore.grad(lambda x: cell(x).sum())(T([5.0, 6.0], device))
    assert g.asnumpy().tolist() == [2.0, 2.0] and len(seen) == 1


def test_backward_hook_on_a_cell_whose_inputs_need_no_gradient(device):
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = mindspore.Parameter(T([2.0], device), name="w")

        def construct(self, x):
            return x * self.w

    net = Net()
    seen = []
    net.register_backward_hook(lambda c, gi, go: seen.append((gi, go[0].asnumpy().tolist())))
    g = mindspore.grad(lambda x: net(x).sum(), None, net.trainable_params())(T([3.0], device))
    assert g[0].asnumpy().tolist() == [3.0] and seen == [((None,), [1.0])]
