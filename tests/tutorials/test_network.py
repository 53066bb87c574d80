"""MindSpore 2.x beginner tutorial "Building a Network" (beginner/model.md), imports changed.

The network's weights are random (weight_init="normal"), so the asserts check what the tutorial
shows that does not depend on them: the structure, shapes, dtypes, ReLU's effect and the Softmax.
"""

import numpy as np

import gpucell as mindspore  # was: import mindspore
from gpucell import nn, ops  # was: from mindspore import nn, ops


class Network(nn.Cell):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.dense_relu_sequential = nn.SequentialCell(
            nn.Dense(28*28, 512, weight_init="normal", bias_init="zeros"),
            nn.ReLU(),
            nn.Dense(512, 512, weight_init="normal", bias_init="zeros"),
            nn.ReLU(),
            nn.Dense(512, 10, weight_init="normal", bias_init="zeros")
        )

    def construct(self, x):
        x = self.flatten(x)
        logits = self.dense_relu_sequential(x)
        return logits


def _check_structure(text):
    # MindSpore 2.x prints "Network<\n  (flatten): Flatten<>..."; gpucell writes the same tree with
    # parentheses (see MINDSPORE_API.md), so the asserts check the names and layer arguments only.
    for line in ["(flatten): Flatten", "(dense_relu_sequential): SequentialCell",
                 "(0): Dense", "input_channels=784, output_channels=512, has_bias=True", "(1): ReLU",
                 "(2): Dense", "input_channels=512, output_channels=512, has_bias=True", "(3): ReLU",
                 "(4): Dense", "input_channels=512, output_channels=10, has_bias=True"]:
        assert line in text, line
    assert text.startswith("Network")


def test_defining_a_model_class(capsys):
    model = Network()
    print(model)
    _check_structure(capsys.readouterr().out)

    X = ops.ones((1, 28, 28), mindspore.float32)
    logits = model(X)
    # print logits
    logits
    assert logits.shape == (1, 10) and str(logits.dtype) == "Float32"
    assert repr(logits).startswith("Tensor(shape=[1, 10], dtype=Float32, value=\n")

    pred_probab = nn.Softmax(axis=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")

    assert capsys.readouterr().out == f"Predicted class: [{int(np.argmax(logits.asnumpy()))}]\n"
    np.testing.assert_allclose(pred_probab.asnumpy().sum(axis=1), [1.0], rtol=1e-6)


def test_model_layers(capsys):
    input_image = ops.ones((3, 28, 28), mindspore.float32)
    print(input_image.shape)

    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    print(flat_image.shape)

    layer1 = nn.Dense(in_channels=28*28, out_channels=20)
    hidden1 = layer1(flat_image)
    print(hidden1.shape)

    before = hidden1.asnumpy()
    print(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")
    np.testing.assert_array_equal(hidden1.asnumpy(), np.maximum(before, 0))
    # the three images are the same, so the three rows are too (as the tutorial prints)
    assert (before == before[:1]).all() and (before < 0).any() and (before > 0).any()

    seq_modules = nn.SequentialCell(
        flatten,
        layer1,
        nn.ReLU(),
        nn.Dense(20, 10)
    )

    logits = seq_modules(input_image)
    print(logits.shape)

    softmax = nn.Softmax(axis=1)
    pred_probab = softmax(logits)

    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["(3, 28, 28)", "(3, 784)", "(3, 20)"]
    assert out[-1] == "(3, 10)"
    p = pred_probab.asnumpy()
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), np.ones(3), rtol=1e-6)


def test_model_parameters(capsys):
    model = Network()

    print(f"Model structure: {model}\n\n")

    for name, param in model.parameters_and_names():
        print(f"Layer: {name}\nSize: {param.shape}\nValues : {param[:2]} \n")

    out = capsys.readouterr().out
    _check_structure(out[len("Model structure: "):])
    for name, size in [("dense_relu_sequential.0.weight", (512, 784)), ("dense_relu_sequential.0.bias", (512,)),
                       ("dense_relu_sequential.2.weight", (512, 512)), ("dense_relu_sequential.2.bias", (512,)),
                       ("dense_relu_sequential.4.weight", (10, 512)), ("dense_relu_sequential.4.bias", (10,))]:
        assert f"Layer: {name}\nSize: {size}\nValues : " in out
    assert "Layer: dense_relu_sequential.0.bias\nSize: (512,)\nValues : [0. 0.] \n" in out
    names = [name for name, _ in model.parameters_and_names()]
    assert names == ["dense_relu_sequential.0.weight", "dense_relu_sequential.0.bias",
                     "dense_relu_sequential.2.weight", "dense_relu_sequential.2.bias",
                     "dense_relu_sequential.4.weight", "dense_relu_sequential.4.bias"]
