"""MindSpore 2.x beginner tutorial "Quick Start" (beginner/quick_start.md), imports changed.

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


def test_quick_start(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tutorial writes model.ckpt into the working directory
    mindspore.set_seed(1)  # not in the tutorial: makes the run (initial weights, shuffling) repeatable

    # Download data from open datasets  -- replaced: no network here; MnistLike needs no download
    # (was: from download import download; path = download(url, "./", kind="zip", replace=True))

    train_dataset = GeneratorDataset(MnistLike('train'), column_names=['image', 'label'])  # was: MnistDataset('MNIST_Data/train')  # noqa: E501
    test_dataset = GeneratorDataset(MnistLike('test'), column_names=['image', 'label'])  # was: MnistDataset('MNIST_Data/test')  # noqa: E501

    print(train_dataset.get_col_names())
    assert capsys.readouterr().out == "['image', 'label']\n"

    def datapipe(dataset, batch_size):
        image_transforms = [
            vision.Rescale(1.0 / 255.0, 0),
            vision.Normalize(mean=(0.1307,), std=(0.3081,)),
            vision.HWC2CHW()
        ]

        label_transform = transforms.TypeCast(mindspore.int32)

        dataset = dataset.map(image_transforms, 'image')
        dataset = dataset.map(label_transform, 'label')
        dataset = dataset.batch(batch_size)
        return dataset

    train_dataset = datapipe(train_dataset, 64)
    test_dataset = datapipe(test_dataset, 64)

    for image, label in test_dataset.create_tuple_iterator():
        print(f"Shape of image [N, C, H, W]: {image.shape} {image.dtype}")
        print(f"Shape of label: {label.shape} {label.dtype}")
        break

    for data in test_dataset.create_dict_iterator():
        print(f"Shape of image [N, C, H, W]: {data['image'].shape} {data['image'].dtype}")
        print(f"Shape of label: {data['label'].shape} {data['label'].dtype}")
        break

    assert capsys.readouterr().out.splitlines() == [
        "Shape of image [N, C, H, W]: (64, 1, 28, 28) Float32", "Shape of label: (64,) Int32",
    ] * 2

    # Define model
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
    print(model)
    assert "input_channels=784, output_channels=512, has_bias=True" in capsys.readouterr().out

    # Instantiate loss function and optimizer
    loss_fn = nn.CrossEntropyLoss()
    optimizer = nn.SGD(model.trainable_params(), 1e-2)

    # 1. Define forward function
    def forward_fn(data, label):
        logits = model(data)
        loss = loss_fn(logits, label)
        return loss, logits

    # 2. Get gradient function
    grad_fn = mindspore.value_and_grad(forward_fn, None, optimizer.parameters, has_aux=True)

    # 3. Define function of one-step training
    def train_step(data, label):
        (loss, _), grads = grad_fn(data, label)
        optimizer(grads)
        return loss

    def train(model, dataset):
        size = dataset.get_dataset_size()
        model.set_train()
        for batch, (data, label) in enumerate(dataset.create_tuple_iterator()):
            loss = train_step(data, label)

            if batch % 100 == 0:
                loss, current = loss.asnumpy(), batch
                print(f"loss: {loss:>7f}  [{current:>3d}/{size:>3d}]")

    def test(model, dataset, loss_fn):
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

    epochs = 3
    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train(model, train_dataset)
        test(model, test_dataset, loss_fn)
    print("Done!")

    out = capsys.readouterr().out
    assert out.rstrip().endswith("Done!")
    assert re.findall(r"\[  0/ 23\]", out) == ["[  0/ 23]"] * 3  # 1438 training digits in batches of 64
    accuracies = [float(a) for a in re.findall(r"Accuracy: ([\d.]+)%", out)]
    losses = [float(a) for a in re.findall(r"Avg loss: ([\d.]+)", out)]
    assert len(accuracies) == 3 and len(losses) == 3
    assert losses[2] < losses[0] < 2.302585  # below ln(10), the loss of a uniform guess
    assert accuracies[2] > 80.0  # chance is 10%

    # Save checkpoint
    mindspore.save_checkpoint(model, "model.ckpt")
    print("Saved Model to model.ckpt")
    assert (tmp_path / "model.ckpt").is_file()

    # Instantiate a random initialized model
    model = Network()
    # Load checkpoint and load parameter to model
    param_dict = mindspore.load_checkpoint("model.ckpt")
    param_not_load, _ = mindspore.load_param_into_net(model, param_dict)
    print(param_not_load)

    model.set_train(False)
    for data, label in test_dataset:
        pred = model(data)
        predicted = pred.argmax(1)
        print(f'Predicted: "{predicted[:10]}", Actual: "{label[:10]}"')
        break

    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["Saved Model to model.ckpt", "[]"]
    match = re.fullmatch(r'Predicted: "\[([\d ]+)\]", Actual: "\[([\d ]+)\]"', out[2])
    assert match, out[2]
    predicted_10 = [int(v) for v in match.group(1).split()]
    actual_10 = [int(v) for v in match.group(2).split()]
    assert len(predicted_10) == len(actual_10) == 10
    assert sum(p == a for p, a in zip(predicted_10, actual_10)) >= 6  # the loaded weights are the trained ones
