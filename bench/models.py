"""Hand-written PyTorch models for the benchmarks, as a user would build them.

torchvision is not available, so its definitions are transcribed: VGG here,
the modern networks (ResNet, MobileNetV2, ...) in the test suite's reference
modules ``tests/support/reference_modern_a.py`` and ``tests/support/reference_modern_b.py``,
which the builders below import rather than keeping a second copy. Every
model is an entry of ``MODELS`` (name -> ``Model``: the builder, the input
size torchinfo is given, the cnnspec spec describing the same network and
torchvision's parameter count). To add a model, write a builder returning an
``nn.Module`` and add one line to ``MODELS``.

torch is imported inside the builders only, so that the benchmark driver can
read ``MODELS`` (spec paths, input sizes) without importing torch itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

TESTS = Path(__file__).resolve().parents[1] / "tests" / "support"

# ---------------------------------------------------------------------------- VGG (torchvision)

# torchvision.models.vgg.cfgs: an int is a 3x3 conv with padding 1 and that many
# output channels (followed by ReLU), "M" is a 2x2 max pool with stride 2.
VGG_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def _vgg_class():
    import torch
    from torch import nn

    class VGG(nn.Module):
        """torchvision.models.vgg.VGG (dropout 0.5, init_weights=True), transcribed."""

        def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                     dropout: float = 0.5) -> None:
            super().__init__()
            self.features = features
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes),
            )
            if init_weights:
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                        if m.bias is not None:
                            nn.init.constant_(m.bias, 0)
                    elif isinstance(m, nn.BatchNorm2d):
                        nn.init.constant_(m.weight, 1)
                        nn.init.constant_(m.bias, 0)
                    elif isinstance(m, nn.Linear):
                        nn.init.normal_(m.weight, 0, 0.01)
                        nn.init.constant_(m.bias, 0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

    return VGG


def make_vgg_layers(cfg: list[int | str], batch_norm: bool = False):
    """torchvision.models.vgg.make_layers, transcribed."""
    from torch import nn

    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


def vgg16():
    """torchvision.models.vgg16(weights=None): 138,357,544 parameters, randomly initialised."""
    return _vgg_class()(make_vgg_layers(VGG_CFGS["D"]))


# ------------------------------------------------- modern networks (tests/support/reference_modern_*.py)


def _reference(module: str, registry: str, name: str):
    """``registry[name]()`` of the test suite's hand-written, torchvision-equivalent reference module
    ``tests/support/<module>.py`` (it imports torch at its top, so it is imported here, inside a builder)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    model, shape = getattr(importlib.import_module(module), registry)[name]()
    assert (1, *shape) == MODELS[name].input_size, f"{name}: input {shape} differs from MODELS"
    return model


def resnet152():
    """torchvision.models.resnet152(weights=None): 60,192,808 parameters, randomly initialised as
    torchvision does. The module is ``MODERN_A["resnet152"]`` of tests/support/reference_modern_a.py (ResNet v1.5,
    Bottleneck stages of 3, 8, 36, 3 blocks, transcribed from torchvision/models/resnet.py)."""
    return _reference("reference_modern_a", "MODERN_A", "resnet152")


def mobilenet_v2():
    """torchvision.models.mobilenet_v2(weights=None): 3,504,872 parameters. The module is
    ``MODERN_B["mobilenet_v2"]`` of tests/support/reference_modern_b.py (transcribed from
    torchvision/models/mobilenetv2.py)."""
    return _reference("reference_modern_b", "MODERN_B", "mobilenet_v2")


# ------------------------------------------------------------------------------------- registry


class Model(NamedTuple):
    build: Callable[[], object]  # () -> nn.Module on the default device (CPU), weights allocated
    input_size: tuple[int, ...]  # what torchinfo.summary is given, batch dimension included
    spec: str  # the cnnspec spec of the same network, relative to the repository root
    params: int  # torchvision's parameter count of the network (what both tools must report)
    title: str  # the network's name as written in the report


MODELS: dict[str, Model] = {
    "vgg16": Model(vgg16, (1, 3, 224, 224), "specs/vgg16.cnn", 138_357_544, "VGG16"),
    "resnet152": Model(resnet152, (1, 3, 224, 224), "specs/resnet152.cnn", 60_192_808, "ResNet-152"),
    "mobilenet_v2": Model(mobilenet_v2, (1, 3, 224, 224), "specs/mobilenet_v2.cnn", 3_504_872, "MobileNetV2"),
}


if __name__ == "__main__":  # python bench/models.py: parameter count of every model
    for name, entry in MODELS.items():
        model = entry.build()
        n = sum(p.numel() for p in model.parameters())
        print(f"{name}: {n:,} params ({'as torchvision' if n == entry.params else f'torchvision: {entry.params:,}'})")
