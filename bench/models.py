"""Hand-written PyTorch models for the benchmarks, as a user would build them.

torchvision is not available, so its definitions are transcribed here. Every
model is an entry of ``MODELS`` (name -> ``Model``: the builder, the input
size torchinfo is given, and the cnnspec spec describing the same network).
To add a model, write a builder returning an ``nn.Module`` and add one line to
``MODELS``.

torch is imported inside the builders only, so that the benchmark driver can
read ``MODELS`` (spec paths, input sizes) without importing torch itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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


# ------------------------------------------------------------------------------------- registry


class Model(NamedTuple):
    build: Callable[[], object]  # () -> nn.Module on the default device (CPU), weights allocated
    input_size: tuple[int, ...]  # what torchinfo.summary is given, batch dimension included
    spec: str  # the cnnspec spec of the same network, relative to the repository root


MODELS: dict[str, Model] = {
    "vgg16": Model(vgg16, (1, 3, 224, 224), "specs/vgg16.cnn"),
}


if __name__ == "__main__":  # python bench/models.py: parameter count of every model
    for name, entry in MODELS.items():
        model = entry.build()
        print(f"{name}: {sum(p.numel() for p in model.parameters()):,} params")
