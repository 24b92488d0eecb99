"""Hand-written PyTorch reference models, one per file in ``specs/``.

Each builder returns ``(module, input_shape)`` with ``input_shape`` excluding
the batch dimension. The modules are written so that their *leaf modules run
in the order of the spec's layers*: where the source code calls
``F.relu``/``F.max_pool2d`` or reshapes with ``x.view``, the equivalent
``nn.ReLU``/``nn.MaxPool2d``/``nn.Flatten`` module is used instead, because
functional calls are invisible to per-module measurement.

Builders create parameters on the current default device; tests call them via
``torch_reference.build_on_meta`` so that nothing is allocated.

torchvision is deliberately not used (nor available): its AlexNet and VGG are
transcribed here from torchvision's source, keeping its submodule names
(``features``/``avgpool``/``classifier``) and adding the explicit ``flatten``
that torchvision performs with ``torch.flatten`` inside ``forward``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from torch import nn

Shape = tuple[int, ...]
Builder = Callable[[], tuple[nn.Module, Shape]]


# --------------------------------------------------------------------------
# LeNet family
# --------------------------------------------------------------------------


def lenet() -> tuple[nn.Module, Shape]:
    """LeNet-5 as in d2l.ai §7.6 (seed 002): sigmoid + average pooling."""
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )  # fmt: skip
    return net, (1, 28, 28)


def lenet_like() -> tuple[nn.Module, Shape]:
    """The "LeNet-like architecture" case-study table of seed 000.

    The lecture pools *before* the ReLU (``F.max_pool2d`` then ``F.relu``) and
    flattens with ``x.view(-1, 256)``; the table's row order is kept.
    """
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=5),
        nn.MaxPool2d(kernel_size=3),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=5),
        nn.MaxPool2d(kernel_size=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 200),
        nn.ReLU(),
        nn.Linear(200, 10),
    )
    return net, (1, 28, 28)


# --------------------------------------------------------------------------
# Seed lectures whose model summaries print a total parameter count
# --------------------------------------------------------------------------


def seed_fashion_mnist() -> tuple[nn.Module, Shape]:
    """Seed 001, "Fashion-MNIST dataset: case 1": four unpadded 7x7 convs."""
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=7), nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=7), nn.ReLU(),
        nn.Conv2d(64, 128, kernel_size=7), nn.ReLU(),
        nn.Conv2d(128, 256, kernel_size=7), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip
    return net, (1, 28, 28)


def seed_lenet_same() -> tuple[nn.Module, Shape]:
    """Seed 001, "Replace FC by 1x1 Conv": a LeNet with padded 3x3 convs."""
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 64, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip
    return net, (1, 28, 28)


def seed_cnn_no_pool() -> tuple[nn.Module, Shape]:
    """Seed 003, first CNN ("Ingredient 2: Flattening").

    The source line is cut off after ``kernel_size=(3, 3),``; the printed
    summary (3x100x100, then 2x100x100, then Linear(20000, 1)) shows the
    convolutions keep the size, i.e. ``padding=1``.
    """
    net = nn.Sequential(
        nn.Conv2d(1, 3, kernel_size=(3, 3), padding=1), nn.ReLU(),
        nn.Conv2d(3, 2, kernel_size=(3, 3), padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(20000, 1),
    )  # fmt: skip
    return net, (1, 100, 100)


def seed_cnn_pool() -> tuple[nn.Module, Shape]:
    """Seed 003, the same CNN with ``MaxPool2d((2, 2))`` after each conv."""
    net = nn.Sequential(
        nn.Conv2d(1, 3, kernel_size=(3, 3), padding=1), nn.ReLU(), nn.MaxPool2d((2, 2)),
        nn.Conv2d(3, 2, kernel_size=(3, 3), padding=1), nn.ReLU(), nn.MaxPool2d((2, 2)),
        nn.Flatten(),
        nn.Linear(1250, 1),
    )  # fmt: skip
    return net, (1, 100, 100)


def _conv_block(input_channels: int, output_channels: int) -> nn.Sequential:
    # Seed 003's helper, verbatim.
    return nn.Sequential(
        nn.Conv2d(input_channels, output_channels, (3, 3), padding=1),
        nn.ReLU(),
    )


def seed_cnn_blocks() -> tuple[nn.Module, Shape]:
    """Seed 003 "CNN vs FCNN": the CNN side, five conv_blocks on 1x128x128."""
    net = nn.Sequential(
        _conv_block(1, 3),
        _conv_block(3, 3),
        _conv_block(3, 3),
        _conv_block(3, 3),
        _conv_block(3, 3),
        nn.Flatten(),
        nn.Linear(49152, 1),
    )
    return net, (1, 128, 128)


def _linear_block(input_size: int, output_size: int) -> nn.Sequential:
    # Seed 003's helper, verbatim.
    return nn.Sequential(nn.Linear(input_size, output_size), nn.ReLU())


def seed_fcnn() -> tuple[nn.Module, Shape]:
    """Seed 003 "CNN vs FCNN": the fully connected side, on a flat 128*128 vector."""
    net = nn.Sequential(
        _linear_block(128 * 128, 256),
        _linear_block(256, 128),
        _linear_block(128, 64),
        _linear_block(64, 32),
        nn.Linear(32, 16),
        nn.Linear(16, 1),
    )
    return net, (128 * 128,)


def seed_cnn_classifier() -> tuple[nn.Module, Shape]:
    """Seed 004 ``CNNClassifier`` (MNIST, 1x28x28).

    The lecture flattens with ``features.view(batch_size, -1)`` between the
    two Sequentials; that becomes an explicit ``nn.Flatten``.
    """
    net = nn.Sequential(
        OrderedDict(
            net=nn.Sequential(
                nn.Conv2d(1, 64, kernel_size=3),
                nn.ReLU(),
                nn.MaxPool2d((2, 2), stride=2),
                nn.Conv2d(64, 128, kernel_size=3),
                nn.ReLU(),
                nn.MaxPool2d((2, 2), stride=2),
                nn.Conv2d(128, 64, kernel_size=3),
                nn.ReLU(),
                nn.MaxPool2d((2, 2), stride=2),
            ),
            flatten=nn.Flatten(),
            classification_head=nn.Sequential(
                nn.Linear(64, 20, bias=True),
                nn.ReLU(),
                nn.Linear(20, 10, bias=True),
            ),
        )
    )
    return net, (1, 28, 28)


# --------------------------------------------------------------------------
# torchvision classics (transcribed; torchvision itself is not a dependency)
# --------------------------------------------------------------------------


def alexnet() -> tuple[nn.Module, Shape]:
    """torchvision.models.alexnet (the "one weird trick" variant: 64/192 channels)."""
    features = nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    classifier = nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, 1000),
    )
    net = nn.Sequential(
        OrderedDict(
            features=features,
            avgpool=nn.AdaptiveAvgPool2d((6, 6)),
            flatten=nn.Flatten(),
            classifier=classifier,
        )
    )
    return net, (3, 224, 224)


# torchvision's VGG configurations: an int is a 3x3/pad-1 conv with that many
# output channels (followed by ReLU), "M" is a 2x2/stride-2 max pool.
_VGG_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
          512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}  # fmt: skip


def _vgg(cfg: str) -> tuple[nn.Module, Shape]:
    # Mirrors torchvision.models.vgg.make_layers(batch_norm=False) + VGG.
    layers: list[nn.Module] = []
    in_channels = 3
    for v in _VGG_CFGS[cfg]:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 4096),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 1000),
    )
    net = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(*layers),
            avgpool=nn.AdaptiveAvgPool2d((7, 7)),
            flatten=nn.Flatten(),
            classifier=classifier,
        )
    )
    return net, (3, 224, 224)


def vgg11() -> tuple[nn.Module, Shape]:
    return _vgg("A")


def vgg16() -> tuple[nn.Module, Shape]:
    return _vgg("D")


def vgg19() -> tuple[nn.Module, Shape]:
    return _vgg("E")


# --------------------------------------------------------------------------
# Other architectures (no published totals: checked against torch only)
# --------------------------------------------------------------------------


def _nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int):
    # d2l's nin_block, with explicit in_channels instead of LazyConv2d.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )  # fmt: skip


def nin() -> tuple[nn.Module, Shape]:
    """Network in Network as in d2l.ai §8.3 (Lin et al., 2013), 10 classes."""
    net = nn.Sequential(
        _nin_block(1, 96, kernel_size=11, stride=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        _nin_block(96, 256, kernel_size=5, stride=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        _nin_block(256, 384, kernel_size=3, stride=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        _nin_block(384, 10, kernel_size=3, stride=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    return net, (1, 224, 224)


def conv1d_net() -> tuple[nn.Module, Shape]:
    """A small raw-waveform keyword classifier: 1 s of 16 kHz audio, 35 classes.

    Shaped after the M5 network (Dai et al., 2017; the torchaudio speech
    command tutorial), with dilated, "same"-padded, grouped and ceil-mode
    layers added so the 1-D shape rules get exercised beyond the defaults.
    """
    net = nn.Sequential(
        # Wide strided front end: (16000 + 2*32 - 80) // 16 + 1 = 1000 frames.
        nn.Conv1d(1, 32, kernel_size=80, stride=16, padding=32),
        nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(32, 32, kernel_size=3, padding="same", dilation=2),
        nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(32, 64, kernel_size=3, padding=1, groups=2),
        # 62 frames: ceil mode keeps the partial last window (16, not 15).
        nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(4, ceil_mode=True),
        nn.Conv1d(64, 64, kernel_size=3, padding=2, dilation=2),
        nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(4),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(64, 35),
    )  # fmt: skip
    return net, (1, 16000)


def conv3d_net() -> tuple[nn.Module, Shape]:
    """A small video clip classifier: 16 RGB frames of 112x112, UCF-101 classes.

    The stem is the 3-D ResNet one (Hara et al., 2018; torchvision r3d_18):
    a (3, 7, 7) kernel that strides only spatially, no bias before BatchNorm.
    """
    net = nn.Sequential(
        nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(64), nn.ReLU(inplace=True),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        nn.Conv3d(64, 128, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm3d(128), nn.ReLU(inplace=True),
        nn.AvgPool3d(kernel_size=2),
        nn.Conv3d(128, 256, kernel_size=3, stride=2, padding=1, bias=False),
        nn.BatchNorm3d(256), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(256, 101),
    )  # fmt: skip
    return net, (3, 16, 112, 112)


def template() -> tuple[nn.Module, Shape]:
    """Seed 000's CNN recipe with N=2, M=3, K=1 on a 3x32x32 input:

    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC
    """
    n, m, k = 2, 3, 1
    layers: list[nn.Module] = []
    channels, size = 3, 32
    for _ in range(m):
        for _ in range(n):
            layers += [nn.Conv2d(channels, 32, kernel_size=3, padding=1), nn.ReLU()]
            channels = 32
        layers.append(nn.MaxPool2d(2))
        size //= 2
    layers.append(nn.Flatten())
    features = channels * size * size
    for _ in range(k):
        layers += [nn.Linear(features, 10), nn.ReLU()]
        features = 10
    layers.append(nn.Linear(features, 10))
    return nn.Sequential(*layers), (3, 32, 32)


# Spec base name (specs/<name>.cnn) -> builder.
REFERENCE_MODELS: dict[str, Builder] = {
    builder.__name__: builder
    for builder in (
        lenet,
        lenet_like,
        seed_fashion_mnist,
        seed_lenet_same,
        seed_cnn_no_pool,
        seed_cnn_pool,
        seed_cnn_blocks,
        seed_fcnn,
        seed_cnn_classifier,
        alexnet,
        vgg11,
        vgg16,
        vgg19,
        nin,
        conv1d_net,
        conv3d_net,
        template,
    )
}
