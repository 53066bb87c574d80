"""Training on the bundled 8x8 digits, written the way the MindSpore tutorials write it.

Only the imports differ from MindSpore. ``python examples/train_digits.py`` (after ``pip install .``).
"""

import gpucell as ms
from gpucell import nn
from gpucell.dataset import NumpySlicesDataset, load_digits_split

ms.set_context(mode=ms.GRAPH_MODE)  # trace the train step once, then replay it
ms.set_seed(1)

(x_train, y_train), (x_test, y_test) = load_digits_split()
train_dataset = NumpySlicesDataset({"image": x_train, "label": y_train}, shuffle=True).batch(32)


class Network(nn.Cell):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.dense_relu_sequential = nn.SequentialCell(
            nn.Dense(64, 128),
            nn.ReLU(),
            nn.Dense(128, 128),
            nn.ReLU(),
            nn.Dense(128, 10),
        )

    def construct(self, x):
        x = self.flatten(x)
        logits = self.dense_relu_sequential(x)
        return logits


model = Network()
loss_fn = nn.CrossEntropyLoss()
optimizer = nn.SGD(model.trainable_params(), learning_rate=0.1)


def forward_fn(data, label):
    logits = model(data)
    loss = loss_fn(logits, label)
    return loss, logits


grad_fn = ms.value_and_grad(forward_fn, None, optimizer.parameters, has_aux=True)


@ms.jit
def train_step(data, label):
    (loss, _), grads = grad_fn(data, label)
    optimizer(grads)
    return loss


def train_loop(model, dataset):
    size = dataset.get_dataset_size()
    model.set_train()
    for batch, (data, label) in enumerate(dataset.create_tuple_iterator()):
        loss = train_step(data, label)
        if batch % 20 == 0:
            print(f"loss: {loss.asnumpy():>7f}  [{batch:>3d}/{size:>3d}]")


def test_loop(model, x, y):
    model.set_train(False)
    pred = model(ms.Tensor(x))
    correct = (pred.argmax(1) == ms.Tensor(y)).asnumpy().sum()
    print(f"Test: accuracy: {100 * correct / len(y):>0.1f}%")
    return correct / len(y)


for t in range(10):
    print(f"Epoch {t + 1}\n-------------------------------")
    train_loop(model, train_dataset)
    test_loop(model, x_test, y_test)
print("Done!")
