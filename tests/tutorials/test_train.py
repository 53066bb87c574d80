"""MindSpore 2.x beginner tutorial "Model Training" (beginner/train.md), imports changed.

The tutorial downloads MNIST; here the data is tutorials.mnist_like.MnistLike, the 8x8 digits
gpucell ships drawn as MNIST-shaped 28x28x1 uint8 images, read through GeneratorDataset. Only the
lines that download or open MNIST are replaced, each with its reason next to it.
"""

import re

import gpucell as mindspore  # was: import mindspore
from gpucell import nn  # was: from mindspore import nn

# was: from mindspore.dataset import vision, transforms / from mindspore.dataset import MnistDataset
# (MnistDataset reads the downloaded MNIST files; GeneratorDataset over MnistLike replaces it)
from gpucell.dataset import GeneratorDataset, transforms, vision

from .mnist_like import MnistLike


def test_train(capsys):
    mindspore.set_seed(2)  # not in the tutorial: makes the run (initial weights, shuffling) repeatable

    # Download data from open datasets  -- replaced: no network here; MnistLike needs no download
    # (was: from download import download; path = download(url, "./", kind="zip", replace=True))

    def datapipe(path, batch_size):
        image_transforms = [
            vision.Rescale(1.0 / 255.0, 0),
            vision.Normalize(mean=(0.1307,), std=(0.3081,)),
            vision.HWC2CHW()
        ]
        label_transform = transforms.TypeCast(mindspore.int32)

        dataset = GeneratorDataset(MnistLike(path), column_names=['image', 'label'])  # was: MnistDataset(path)
        dataset = dataset.map(image_transforms, 'image')
        dataset = dataset.map(label_transform, 'label')
        dataset = dataset.batch(batch_size)
        return dataset

    train_dataset = datapipe('MNIST_Data/train', batch_size=64)
    test_dataset = datapipe('MNIST_Data/test', batch_size=64)

    class Network(nn.Cell):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.dense_relu_sequential = nn.SequentialCell(
                nn.Dense(28*28, 512),
                nn.ReLU(),
                nn.Dense(512, 512),
                nn.ReLU(),
                nn.Dense(512, 10)
            )

        def construct(self, x):
            x = self.flatten(x)
            logits = self.dense_relu_sequential(x)
            return logits

    model = Network()

    epochs = 3
    batch_size = 64
    learning_rate = 1e-2

    loss_fn = nn.CrossEntropyLoss()

    optimizer = nn.SGD(model.trainable_params(), learning_rate=learning_rate)

    # Define forward function
    def forward_fn(data, label):
        logits = model(data)
        loss = loss_fn(logits, label)
        return loss, logits

    # Get gradient function
    grad_fn = mindspore.value_and_grad(forward_fn, None, optimizer.parameters, has_aux=True)

    # Define function of one-step training
    def train_step(data, label):
        (loss, _), grads = grad_fn(data, label)
        optimizer(grads)
        return loss

    def train_loop(model, dataset):
        size = dataset.get_dataset_size()
        model.set_train()
        for batch, (data, label) in enumerate(dataset.create_tuple_iterator()):
            loss = train_step(data, label)

            if batch % 100 == 0:
                loss, current = loss.asnumpy(), batch
                print(f"loss: {loss:>7f}  [{current:>3d}/{size:>3d}]")

    def test_loop(model, dataset, loss_fn):
        num_batches = dataset.get_dataset_size()
        model.set_train(False)
        total, test_loss, correct = 0, 0, 0
        for data, label in dataset.create_tuple_iterator():
            pred = model(data)
            total += len(data)
            test_loss += loss_fn(pred, label).asnumpy()
            correct += (pred.argmax(1) == label).asnumpy().sum()
        test_loss /= num_batches
        correct /= total
        print(f"Test: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.SGD(model.trainable_params(), learning_rate=learning_rate)

    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train_loop(model, train_dataset)
        test_loop(model, test_dataset, loss_fn)
    print("Done!")

    assert batch_size == train_dataset.get_batch_size() == 64
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1\n-------------------------------\nloss: ")
    assert out.rstrip().endswith("Done!")
    first_losses = [float(v) for v in re.findall(r"loss: +([\d.]+)  \[  0/ 23\]", out)]
    accuracies = [float(a) for a in re.findall(r"Accuracy: ([\d.]+)%", out)]
    losses = [float(a) for a in re.findall(r"Avg loss: ([\d.]+)", out)]
    assert len(first_losses) == len(accuracies) == len(losses) == 3
    assert abs(first_losses[0] - 2.3026) < 0.1  # an untrained net: about ln(10), as the tutorial's 2.302806
    assert first_losses[2] < first_losses[0]
    assert losses[2] < losses[1] < losses[0]  # the test loss falls every epoch, as in the tutorial
    assert accuracies[2] > 80.0  # chance is 10%
