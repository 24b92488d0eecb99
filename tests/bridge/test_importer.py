"""PyTorch to cnnspec (`cnnspec/bridge/importer/`): every spec survives spec → lower → import → analyze, the
lecture notes' hand-written models import with their published totals, the usual forward idioms
(residual sums, torch.cat, chunk, gates, flattening views) become branches, and every bad input ends
in a one-line CnnspecError that names the cause."""

from __future__ import annotations

import collections
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, note, settings
from profiles import examples
import torch.nn.functional as F
from torch import nn

import cnnspec
from cnnspec import CnnspecError
from cnnspec.bridge.importer import from_torch, import_file, load_class, parse_input_shape
from cnnspec import lower
from torch_reference import model_macs
from test_properties_blocks import network as random_network

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
NETWORKS = sorted(p.stem for p in SPECS.glob("*.cnn") if p.stem != "resnet_blocks")


def _layers(report):
    return [(l.op, l.input_shape, l.output_shape, l.params, l.buffers, l.macs, l.activations,
             l.receptive_field, l.jump) for l in report.layers]


def _import(text_or_module, shape=None):
    text = text_or_module if isinstance(text_or_module, str) else from_torch(text_or_module, shape)
    return text, cnnspec.analyze(cnnspec.parse(text))


# ------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("name", NETWORKS)
def test_round_trip_of_every_spec(name):
    """spec → lower (meta) → from_torch → analyze: the same layers in the same order, each with the same
    op, shapes, params, buffers, MACs, activations and receptive field; the same totals and output.

    There is no principled difference to allow for: IDENTITY is nn.Identity and comes back as IDENTITY, a
    repeat comes back expanded or folded (the same layers either way), and labels, which the text does
    not keep, name layers but do not change them."""
    program = cnnspec.load(SPECS / f"{name}.cnn")
    report = cnnspec.analyze(program)
    text, imported = _import(lower(program, device="meta"), report.input_shape)
    assert _layers(imported) == _layers(report)
    assert imported.totals == report.totals
    assert imported.output_shape == report.output_shape and imported.input_shape == report.input_shape


@pytest.mark.parametrize("text", [
    "INPUT(4, 6, 6) -> CONV(4, k=1) -> head: FC(10)",
    "INPUT(3, 8, 8) -> CONV(8, k=3) -> FC(20) -> RELU -> FC(5)",
    "INPUT(2, 10) -> CONV(4, k=3) -> FC(3)",
])
def test_round_trip_of_fc_on_a_feature_map(text):
    """An FC straight after a spatial layer lowers to FlattenLinear, which flattens its input; importing it
    once failed with "expects 144 input features but receives 4×6×6" (the check looked at the last axis)."""
    program = cnnspec.parse(text)
    report = cnnspec.analyze(program)
    _, imported = _import(lower(program, device="meta"), report.input_shape)
    assert _layers(imported) == _layers(report) and imported.totals == report.totals


@settings(max_examples=examples(30),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_network())
def test_round_trip_of_random_networks(case):
    """The random networks of blocks, residuals, concatenations and gates of test_properties_blocks: the
    spec round-trips layer for layer, and the hand-written module (whose forward joins its branches with +,
    * and torch.cat, an empty branch being `x` itself) imports with the spec's layers, totals and output."""
    text, build, input_shape = case
    note(text)
    report = cnnspec.analyze(cnnspec.parse(text))
    lowered, imported = _import(lower(cnnspec.parse(text), device="meta"), input_shape)
    note(lowered)
    assert _layers(imported) == _layers(report) and imported.totals == report.totals
    with torch.device("meta"):
        module = build()
    handwritten, from_module = _import(module, input_shape)
    note(handwritten)
    wiring = {"add", "concat", "mul", "identity"}  # the hand-written module has no module for these
    assert [x for x in _layers(from_module) if x[0] not in wiring] == [x for x in _layers(report) if x[0] not in wiring]
    assert from_module.totals == report.totals and from_module.output_shape == report.output_shape


def test_vgg16_folds_its_repeats():
    program = cnnspec.load(SPECS / "vgg16.cnn")
    text = from_torch(lower(program, device="meta"), (3, 224, 224))
    assert "[CONV(64, k=3, p=1) -> RELU] * 2 -> MAXPOOL(2)" in text
    assert "[CONV(256, k=3, p=1) -> RELU] * 3" in text
    # stages 4 and 5 are the same text (CONV does not say its input channels): one repeat of the stage
    assert "[[CONV(512, k=3, p=1) -> RELU] * 3 -> MAXPOOL(2)] * 2" in text
    assert "[FC(4096) -> RELU -> DROPOUT] * 2 -> FC(1000)" in text


def test_resnet18_text():
    program = cnnspec.load(SPECS / "resnet18.cnn")
    text = from_torch(lower(program, device="meta"), (3, 224, 224))
    lines = text.splitlines()
    assert lines[0] == "# Scope, imported from PyTorch by cnnspec (torch.fx trace, input 3×224×224)"
    assert lines[1:9] == [
        "INPUT(3, 224, 224) -> CONV(64, k=7, s=2, p=3, bias=false) -> BN -> RELU -> MAXPOOL(3, s=2, p=1)",
        "-> [",
        "     ADD {",
        "         CONV(64, k=3, p=1, bias=false) -> BN -> RELU -> CONV(64, k=3, p=1, bias=false) -> BN",
        "       | []",
        "     } -> RELU",
        "   ] * 2",
        "-> ADD {",
    ]
    assert "     | CONV(128, k=1, s=2, bias=false) -> BN" in lines
    assert lines[-1] == "   } -> RELU -> GAP -> FLATTEN -> FC(1000)"


def test_repeats_fold_inside_branches_and_nested_joins_stay_nested():
    text = ("INPUT(4, 8, 8) -> ADD { ADD { [CONV(4, k=3, p=1) -> RELU] * 2 | [] } | CONV(4, k=1) } "
            "-> CONCAT { [] | [] } -> MUL { [] | GAP }")
    program = cnnspec.parse(text)
    imported = from_torch(lower(program, device="meta"), (4, 8, 8))
    assert imported.splitlines()[1:] == [
        "INPUT(4, 8, 8) -> ADD { ADD { [CONV(4, k=3, p=1) -> RELU] * 2 | [] } | CONV(4, k=1) }",
        "-> CONCAT { [] | [] } -> MUL { [] | GAP }",
    ]


def test_common_bn_arguments_become_a_default():
    program = cnnspec.load(SPECS / "mobilenet_v3_small.cnn")
    text = from_torch(lower(program, device="meta"), (3, 224, 224))
    assert text.splitlines()[1] == "default BN(eps=0.001, momentum=0.01)"
    assert "BN(" not in text.split("\n", 2)[2]


# ------------------------------------------------------------------- the lecture notes' models

SEEDS = [
    # file:class, input, params published in the notes (or worked out in the fixture's docstring), spec
    ("d2l_lenet.py:LeNet", (1, 28, 28), 61_706, "lenet"),  # seed 002, lazy layers
    ("seed001_fashion_mnist.py:CustomModel", (1, 28, 28), 2_635_146, "seed_fashion_mnist"),
    ("seed001_fashion_mnist.py", (1, 28, 28), 2_635_146, None),  # the file's only class
    ("seed001_cifar10.py:CustomModel", (3, 32, 32), 4_211_146, None),
    ("seed001_pooling.py:CustomModel", (1, 28, 28), 1_588_490, None),
    ("seed001_pooling.py:StridedModel", (1, 28, 28), 1_588_490, None),
    ("seed001_resize.py:CustomModel", (1, 28, 28), 592_074, None),
    ("seed001_sequential.py:LeNet", (1, 28, 28), 61_706, None),  # an nn.Sequential instance
    ("seed001_sequential.py:LeNetSame", (1, 28, 28), 421_642, "seed_lenet_same"),
    ("seed001_sequential.py:model", (1, 28, 28), 1_818_890, None),
    ("seed004_cnn_classifier.py:CNNClassifier", (1, 28, 28), 149_798, "seed_cnn_classifier"),
]


@pytest.mark.parametrize("spec, shape, params, same_as", SEEDS, ids=[s[0] for s in SEEDS])
def test_lecture_models_import_with_their_totals(spec, shape, params, same_as):
    text, report = _import(import_file(str(FIXTURES / spec), shape))
    assert report.totals.params == params
    assert report.input_shape == shape and report.output_shape == (10,)
    if same_as:  # the repository's own spec of the same network: layer for layer the same
        assert _layers(report) == _layers(cnnspec.analyze(cnnspec.load(SPECS / f"{same_as}.cnn")))


def test_d2l_lenet_text():
    text = import_file(f"{FIXTURES}/d2l_lenet.py:LeNet", "1,28,28")
    assert text == (
        "# LeNet, imported from PyTorch by cnnspec (torch.fx trace, input 1×28×28)\n"
        "INPUT(1, 28, 28) -> CONV(6, k=5, p=2) -> SIGMOID -> AVGPOOL(2) -> CONV(16, k=5) -> SIGMOID\n"
        "-> AVGPOOL(2) -> FLATTEN -> FC(120) -> SIGMOID -> FC(84) -> SIGMOID -> FC(10)\n")


def test_functional_resize_and_same_padding():
    resize = import_file(f"{FIXTURES}/seed001_resize.py:CustomModel", (1, 28, 28))
    assert "-> RELU -> RESIZE(scale=0.5, mode=bilinear, align_corners=false)" in resize
    same = import_file(f"{FIXTURES}/seed001_sequential.py:model", (1, 28, 28))
    assert "CONV(32, k=3, p=same) -> RELU -> CONV(64, k=3, s=2, p=1)" in same


def test_load_class_builds_the_model():
    model = load_class(f"{FIXTURES}/seed004_cnn_classifier.py:CNNClassifier")
    assert type(model).__name__ == "CNNClassifier"
    assert sum(p.numel() for p in model.parameters()) == 149_798
    assert isinstance(load_class(f"{FIXTURES}/seed001_sequential.py:LeNetSame"), nn.Sequential)


# ---------------------------------------------------------------------- forward idioms


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return F.relu(out)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16), BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.fc(x)


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Conv2d(4, 6, 3, padding=1))
        self.b4 = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = torch.cat([self.b1(x), self.b2(x), self.b4(F.max_pool2d(x, 3, 1, 1))], dim=1)
        return y.mean([2, 3])


class ShuffleUnit(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        out = self.shuffle(torch.cat((a, F.relu(self.conv(b))), 1))
        return out.view(out.size(0), -1)


class SqueezeExcitation(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * s


class ThreeWaySum(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return x + self.a(x) + self.b(x)


class Squeezed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).squeeze(-1).squeeze(-1))


class Everything1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2, 4, 5, dilation=2, groups=2, padding=4, padding_mode="reflect"), nn.BatchNorm1d(4, eps=1e-3),
            nn.LeakyReLU(0.2), nn.AvgPool1d(3, 2, 1), nn.Dropout(0.3), nn.GELU(), nn.AdaptiveMaxPool1d(5),
            nn.Flatten(), nn.Linear(20, 5, bias=False), nn.Softmax(dim=1))

    def forward(self, x):
        return self.net(x)


class Cross(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(8, 8, 1)
        self.b = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        a = self.a(x)
        return torch.cat([a + self.b(x), a], 1)


class DenseNetLike(nn.Module):
    """torchvision's DenseNet: each layer reads the concatenation of every earlier output of its block."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layers = nn.ModuleList(nn.Sequential(nn.BatchNorm2d(4 + 2 * i), nn.ReLU(), nn.Conv2d(4 + 2 * i, 2, 3,
                                                                                               padding=1))
                                    for i in range(3))

    def forward(self, x):
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


Outputs = collections.namedtuple("Outputs", ["logits", "aux"])


class WithAux(nn.Module):
    """GoogLeNet's shape: an auxiliary head run only in training, its output second in a named tuple."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.aux = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
        self.head = nn.Sequential(nn.Conv2d(8, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        x = self.stem(x)
        aux = self.aux(x) if self.training else None
        x = self.head(x)
        return Outputs(x, aux) if self.training else x


class NormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d, cut down: batch norm called on its own parameters, then placeholders and an act."""

    def __init__(self, channels):
        super().__init__(channels, eps=1e-3)
        self.drop, self.act = nn.Identity(), nn.ReLU()

    def forward(self, x):
        torch._assert(x.ndim == 4, "expected a 4-D input")
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                         self.momentum, self.eps)
        return self.act(self.drop(x))


class OwnConv(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class OwnLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow's "SAME" padding worked out from the input's size, then the convolution."""

    def forward(self, x):
        ih, iw = x.size()[-2:]
        pads = []
        for n, k, s, d in zip((ih, iw), self.kernel_size, self.stride, self.dilation):
            pads.append(max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0))
        if pads[0] > 0 or pads[1] > 0:
            x = F.pad(x, [pads[1] // 2, pads[1] - pads[1] // 2, pads[0] // 2, pads[0] - pads[0] // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Paddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Conv2dSame(3, 4, 3, stride=2)
        self.reflect = nn.ReflectionPad2d((1, 1, 2, 2))
        self.zero = nn.ZeroPad2d((0, 1, 0, 1))

    def forward(self, x):
        x = self.zero(self.reflect(self.stem(x)))
        return F.pad(F.pad(x, (1, 1, 0, 0), mode="replicate"), (2, 2), value=0.5)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: the channels moved last, normalised, moved back."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """torchvision's CNBlock, written out: depthwise conv, then LayerNorm and two Linears with the channels last,
    a layer scale, and the residual sum."""

    def __init__(self, dim=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, stride=4), LayerNorm2d(dim, eps=1e-6))
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        x = self.stem(x)
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


def channel_shuffle(x, groups: int):
    """torchvision's ShuffleNetV2 channel shuffle."""
    batchsize, num_channels, height, width = x.size()
    x = x.view(batchsize, groups, num_channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class ShuffleV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU())

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch(x2)), dim=1), 2)


class GroupNormAct(nn.GroupNorm):
    """timm's GroupNormAct: group norm on its own parameters, then the activation."""

    def __init__(self, groups, channels):
        super().__init__(groups, channels, eps=1e-6)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps))


class Norms(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(4, 8), GroupNormAct(2, 8),
                                 nn.InstanceNorm2d(8), nn.InstanceNorm2d(8, affine=True, eps=1e-3))

    def forward(self, x):
        return self.net(x)


class ZooIdioms(nn.Module):
    """What timm's models do in their forwards: functional calls on a module's own parameters, Identity
    placeholders, Python control flow on sizes, and a forward argument with a default."""

    def __init__(self):
        super().__init__()
        self.conv = OwnConv(3, 8, 3, stride=2, padding=1, bias=False)
        self.norm = NormAct(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = OwnLinear(8, 5)

    def forward(self, x, pre_logits: bool = False):
        x = self.norm(self.conv(x))
        if x.shape[-1] > 4:  # only for inputs this large
            x = F.max_pool2d(x, 2)
        x = self.pool(x).flatten(1)
        return x if pre_logits else self.head(x)


class CalledTwice(nn.Module):
    """A conv and its BN called twice (a weight-tied recurrence)."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return self.bn(self.conv(torch.relu(y))) + y


class WeightReadTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2, 2, 3, 3))

    def forward(self, x):
        return F.conv2d(torch.relu(F.conv2d(x, self.w, padding=1)), self.w, padding=1)


class SharedHead(nn.Module):
    """RetinaNet's way: one head run on two levels of a pyramid, of different sizes."""

    def __init__(self):
        super().__init__()
        self.head, self.down = nn.Conv2d(2, 3, 1), nn.Conv2d(2, 2, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.head(x).flatten(1), self.head(self.down(x)).flatten(1)], 1)


class MixedSplit(nn.Module):
    """MixNet's mixed convolution (torch.split into uneven parts, one kernel each), with GhostNet's and DPN's
    ranges of channels (`x[:, :c]`, `x[:, c:, :, :]`, `x[:, -c:, ...]`)."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, c, k, padding=k // 2, groups=c) for c, k in ((3, 3), (5, 5)))

    def forward(self, x):
        parts = torch.split(x, [3, 5], dim=1)
        mixed = torch.cat([conv(part) for conv, part in zip(self.convs, parts)], 1)
        return torch.cat([mixed[:, :6], x[:, 2:, :, :], x[:, -3:, ...], x[:, :]], 1)


class Res2Like(nn.Module):
    """Res2Net's hierarchical split: each piece added to the previous piece's output before its conv."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(2, 2, 3, padding=1) for _ in range(2))

    def forward(self, x):
        pieces, out = x.split(2, 1), []
        y = pieces[0]
        for i, conv in enumerate(self.convs):
            y = conv(y if i == 0 else y + pieces[i])
            out.append(y)
        return torch.cat(out + [pieces[-1]], 1)


class Constants(nn.Module):
    """MobileOne's missing branches (`out = 0; out += branch(x)`), Inception-ResNet's `x * 0.17`, NFNet's
    `x * beta` with beta a float attribute, and `1 * x`."""

    def __init__(self):
        super().__init__()
        self.conv, self.beta = nn.Conv2d(4, 4, 3, padding=1), 0.5

    def forward(self, x):
        out = 0
        out += self.conv(x)
        out = 1 * (x + out * 0.17)
        return out.relu().mul_(self.beta) * 2


IDIOMS = [
    (TinyResNet, (3, 32, 32)), (Inception, (8, 10, 10)), (ShuffleUnit, (4, 6, 6)), (SqueezeExcitation, (8, 5, 5)),
    (ThreeWaySum, (8, 5, 5)), (Squeezed, (1, 8, 8)), (Everything1d, (2, 40)), (ZooIdioms, (3, 16, 16)),
    (ZooIdioms, (3, 6, 6)), (Paddings, (3, 9, 8)), (ConvNeXtBlock, (3, 16, 16)), (ShuffleV2, (8, 4, 4)),
    (Cross, (8, 4, 4)), (DenseNetLike, (3, 6, 6)), (WithAux, (3, 8, 8)), (Norms, (3, 8, 8)),
    (MixedSplit, (8, 5, 5)), (Res2Like, (6, 5, 5)), (Constants, (4, 5, 5)), (CalledTwice, (2, 6, 6)),
    (WeightReadTwice, (2, 6, 6)), (SharedHead, (2, 8, 8)),
]


@pytest.mark.parametrize("cls, shape", IDIOMS, ids=[c.__name__ for c, _ in IDIOMS])
def test_forward_idioms_keep_counts_and_output(cls, shape):
    module = cls().eval()
    text, report = _import(module, shape)
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.buffers == sum(b.numel() for b in module.buffers())
    with torch.no_grad():
        assert report.output_shape == tuple(module(torch.zeros(2, *shape)).shape[1:])
    assert report.totals.macs == model_macs(module, shape)  # (moves the module to the meta device)


def test_forward_idioms_text():
    def body(module, shape):
        return from_torch(module, shape).split("\n", 1)[1]

    assert body(TinyResNet(), (3, 32, 32)).endswith(
        "-> ADD { CONV(32, k=3, p=1, bias=false) -> BN -> RELU -> CONV(32, k=3, p=1, bias=false) -> BN | [] }\n"
        "-> RELU -> GAP -> FLATTEN -> FC(10)\n")
    assert "-> [\n     ADD {\n         CONV(16, k=3, p=1, bias=false)" in body(TinyResNet(), (3, 32, 32))
    assert body(Inception(), (8, 10, 10)) == (
        "INPUT(8, 10, 10)\n"
        "-> CONCAT {\n"
        "       CONV(4, k=1)\n"
        "     | CONV(4, k=1) -> CONV(6, k=3, p=1)\n"
        "     | MAXPOOL(3, s=1, p=1) -> CONV(2, k=1)\n"
        "   } -> GAP -> FLATTEN\n")
    assert body(ShuffleUnit(), (4, 6, 6)) == (
        "INPUT(4, 6, 6) -> CONCAT { SPLIT(2, i=0) | SPLIT(2, i=1) -> CONV(2, k=1) -> RELU }\n"
        "-> CHANNELSHUFFLE(2) -> FLATTEN\n")
    assert body(SqueezeExcitation(), (8, 5, 5)) == (
        "INPUT(8, 5, 5) -> MUL { [] | GAP -> CONV(2, k=1) -> RELU -> CONV(8, k=1) -> SIGMOID }\n")
    assert body(ThreeWaySum(), (8, 5, 5)) == "INPUT(8, 5, 5) -> ADD { [] | CONV(8, k=3, p=1) | CONV(8, k=1) }\n"
    assert body(Squeezed(), (1, 8, 8)) == "INPUT(1, 8, 8) -> CONV(4, k=3) -> GAP -> FLATTEN -> FC(2)\n"
    assert body(ZooIdioms(), (3, 16, 16)) == (
        "INPUT(3, 16, 16) -> CONV(8, k=3, s=2, p=1, bias=false) -> BN(eps=0.001) -> RELU -> MAXPOOL(2) -> GAP\n"
        "-> FLATTEN -> FC(5)\n")
    assert body(Paddings(), (3, 9, 8)) == (
        "INPUT(3, 9, 8) -> PAD(same, k=3, s=2) -> CONV(4, k=3, s=2) -> PAD((2, 1), mode=reflect)\n"
        "-> PAD(before=0, after=1) -> PAD((0, 1), mode=replicate) -> PAD((0, 2), value=0.5)\n")
    assert body(ConvNeXtBlock(), (3, 16, 16)) == (
        "default LN(eps=1e-06)\n"
        "INPUT(3, 16, 16) -> CONV(8, k=4, s=4) -> LN\n"
        "-> ADD { [] | CONV(8, k=7, p=3, g=8) -> LN -> PWLINEAR(32) -> GELU -> PWLINEAR(8) -> LAYERSCALE }\n")
    assert body(Cross(), (8, 4, 4)) == (
        "INPUT(8, 4, 4) -> x1: CONV(8, k=1) -> @input -> CONV(8, k=1) -> ADD { @x1 | [] }\n"
        "-> CONCAT { [] | @x1 }\n")
    assert body(DenseNetLike(), (3, 6, 6)) == (
        "INPUT(3, 6, 6) -> x1: CONV(4, k=3, p=1) -> CONCAT { [] } -> BN -> RELU -> x2: CONV(2, k=3, p=1)\n"
        "-> CONCAT { @x1 | [] } -> BN -> RELU -> x3: CONV(2, k=3, p=1) -> CONCAT { @x1 | @x2 | [] } -> BN\n"
        "-> RELU -> CONV(2, k=3, p=1) -> CONCAT { @x1 | @x2 | @x3 | [] }\n")
    assert body(WithAux(), (3, 8, 8)) == (
        "INPUT(3, 8, 8) -> CONV(8, k=3, p=1) -> x1: RELU -> GAP -> FLATTEN -> FC(10) -> @x1 -> CONV(4, k=1)\n"
        "-> GAP -> FLATTEN -> FC(10)\n")
    model = WithAux()
    assert cnnspec.analyze(cnnspec.parse(from_torch(model, (3, 8, 8)))).totals.unused_params == 90
    assert model.training  # the import leaves the model in the mode it found it
    assert body(Norms(), (3, 8, 8)) == (
        "INPUT(3, 8, 8) -> CONV(8, k=3) -> GN(4) -> GN(2, eps=1e-06) -> SILU -> IN\n"
        "-> IN(eps=0.001, affine=true)\n")
    assert body(ShuffleV2(), (8, 4, 4)) == (
        "INPUT(8, 4, 4) -> CONCAT { SPLIT(2, i=0) | SPLIT(2, i=1) -> CONV(4, k=1) -> RELU }\n"
        "-> CHANNELSHUFFLE(2)\n")
    assert body(ZooIdioms(), (3, 6, 6)) == (
        "INPUT(3, 6, 6) -> CONV(8, k=3, s=2, p=1, bias=false) -> BN(eps=0.001) -> RELU -> GAP -> FLATTEN\n"
        "-> FC(5)\n")
    assert body(MixedSplit(), (8, 5, 5)) == (
        "INPUT(8, 5, 5)\n"
        "-> CONCAT {\n"
        "       CONCAT { SLICE(3) -> CONV(3, k=3, p=1, g=3) | SLICE(start=3) -> CONV(5, k=5, p=2, g=5) }\n"
        "       -> SLICE(6)\n"
        "     | SLICE(start=2)\n"
        "     | SLICE(start=5)\n"
        "     | []\n"
        "   }\n")
    assert body(CalledTwice(), (2, 6, 6)) == (
        "INPUT(2, 6, 6) -> conv: CONV(2, k=3, p=1) -> bn: BN\n"
        "-> ADD { RELU -> CONV(2, k=3, p=1, shares=conv) -> BN(shares=bn) | [] }\n")
    assert body(WeightReadTwice(), (2, 6, 6)) == (
        "INPUT(2, 6, 6) -> conv2d: CONV(2, k=3, p=1, bias=false) -> RELU\n"
        "-> CONV(2, k=3, p=1, bias=false, shares=conv2d)\n")
    assert body(SharedHead(), (2, 8, 8)) == (
        "INPUT(2, 8, 8)\n"
        "-> CONCAT {\n"
        "       head: CONV(3, k=1) -> FLATTEN\n"
        "     | CONV(2, k=3, s=2, p=1) -> CONV(3, k=1, shares=head) -> FLATTEN\n"
        "   }\n")
    assert body(Constants(), (4, 5, 5)) == (
        "INPUT(4, 5, 5) -> ADD { [] | CONV(4, k=3, p=1) -> SCALE(0.17) } -> RELU -> SCALE(0.5) -> SCALE(2.0)\n")
    assert body(Res2Like(), (6, 5, 5)) == (
        "INPUT(6, 5, 5) -> SLICE(2) -> x1: CONV(2, k=3, p=1) -> @input -> SLICE(4, start=2)\n"
        "-> ADD { @x1 | [] } -> x2: CONV(2, k=3, p=1) -> @input -> SLICE(start=4)\n"
        "-> CONCAT { @x1 | @x2 | [] }\n")


def test_every_argument_that_differs_from_the_default_and_notes_on_what_cnnspec_cannot_say():
    text = from_torch(Everything1d(), (2, 40))
    assert text.splitlines()[1:] == [
        "# note: `net.0` (Conv1d): padding_mode='reflect'; cnnspec pads with zeros (shapes and counts are the same)",
        "INPUT(2, 40) -> CONV(4, k=5, p=4, d=2, g=2) -> BN(eps=0.001) -> LEAKYRELU(0.2)",
        "-> AVGPOOL(3, s=2, p=1) -> DROPOUT(0.3) -> GELU -> ADAPTIVEMAXPOOL(5) -> FLATTEN",
        "-> FC(5, bias=false) -> SOFTMAX",
    ]


class LeftOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.tried = nn.Conv2d(1, 2, 3), nn.Linear(10, 10)

    def forward(self, x):
        return self.conv(x)


def test_a_module_the_forward_never_calls_is_noted():
    model = LeftOut()
    assert from_torch(model, (1, 8, 8)).splitlines()[1:] == [
        "# note: `tried` (Linear): its 110 parameters are never used in the forward, so they are not in this spec",
        "INPUT(1, 8, 8) -> CONV(2, k=3)",
    ]
    assert model.training


class Tied(nn.Module):
    """A weight shared by two modules, only the second of which the forward calls."""

    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(x)


def test_a_parameter_shared_with_a_module_not_called_is_read():
    assert from_torch(Tied(), (1, 8, 8)).splitlines()[1:] == [
        "# note: `first` (Conv2d): its 2 parameters are never used in the forward, so they are not in this spec",
        "INPUT(1, 8, 8) -> CONV(2, k=3)",
    ]


def test_importing_cnnspec_does_not_import_torch():
    code = "import sys, cnnspec, cnnspec.bridge.importer; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_torch_name_in_the_registry_exists():
    """The importer skips a class or function its torch lacks (torch.concatenate is recent), so a misspelt
    name would go unseen. (Tensor methods are matched by name, never looked up.)"""
    import importlib

    from cnnspec import ops

    names = [name for op in ops.OPS for form in (*op.from_modules, *op.from_functions) if not form.by_name
             for name in form.names if not name.startswith("Tensor.")]
    assert "torch.nn.Conv2d" in names and "cnnspec.bridge.modules.Add" in names and "operator.add" in names
    for name in names:
        module, _, attribute = name.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), name


# ------------------------------------------------------------------------------------ bad input


def _error(call, *args) -> str:
    with pytest.raises(CnnspecError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_file():
    assert _error(import_file, f"{FIXTURES}/nope.py:Net", (1, 28, 28)) == f"{FIXTURES}/nope.py: error: no such file"
    assert _error(load_class, str(FIXTURES)) == f"{FIXTURES}: error: is a directory, not a Python file"


def test_missing_class():
    path = f"{FIXTURES}/seed001_fashion_mnist.py"
    assert _error(import_file, f"{path}:CustomModle", (1, 28, 28)) == (
        f"{path}: error: defines no class `CustomModle`; did you mean `CustomModel`?")
    assert _error(load_class, f"{path}:Net") == f"{path}: error: defines no class `Net`"
    pooling = f"{FIXTURES}/seed001_pooling.py"
    assert _error(load_class, pooling) == (
        f"{pooling}: error: defines several torch.nn.Module classes (CustomModel, StridedModel); "
        f"name one as FILE:CLASS")


def test_constructor_that_needs_arguments():
    path = f"{FIXTURES}/seed003_cnn_vs_fcnn.py"
    assert _error(import_file, f"{path}:CNN", (1, 128, 128)) == (
        f"{path}: error: `CNN` needs constructor arguments (input_channels); cnnspec import builds it with none")


def test_exception_in_the_constructor_and_names_that_are_no_model():
    path = f"{FIXTURES}/bad_constructor.py"
    assert _error(load_class, f"{path}:Classifier") == (
        f"{path}: error: `Classifier()` raised FileNotFoundError: [Errno 2] No such file or directory: "
        f"'classes.json' (line 11)")
    assert _error(load_class, f"{path}:Config") == (
        f"{path}: error: `Config` is a class that does not derive from torch.nn.Module; cnnspec import needs a "
        f"torch.nn.Module class (or a module)")
    assert _error(load_class, f"{path}:build") == (
        f"{path}: error: `build` is a function; cnnspec import needs a torch.nn.Module class (or a module)")


def test_exception_while_importing():
    path = f"{FIXTURES}/raises_on_import.py"
    assert _error(load_class, f"{path}:Net") == (
        f"{path}: error: importing it raised FileNotFoundError: [Errno 2] No such file or directory: "
        f"'no_such_weights.pt' (line 18)")


def test_exception_in_forward():
    path = f"{FIXTURES}/seed004_original.py"
    assert _error(import_file, f"{path}:CNNClassifier", (1, 28, 28)) == (
        f"{path}: error: the forward of CNNClassifier raised NameError: name 'batch_size' is not defined "
        f"(line 27) while torch.fx traced it")


def test_unsupported_module_or_function():
    path = f"{FIXTURES}/unsupported.py"
    assert _error(import_file, f"{path}:Recurrent", (5, 8)) == (
        f"{path}: error: unsupported module `rnn` (torch.nn.LSTM), called in the forward of Recurrent as node "
        f"`rnn`: cnnspec has no layer for it")
    assert _error(import_file, f"{path}:Transformer", (5, 16)) == (
        f"{path}: error: unsupported module `encoder` (torch.nn.TransformerEncoderLayer), called in the forward "
        f"of Transformer as node `encoder`: cnnspec has no layer for it")
    assert _error(import_file, f"{path}:Attention", (3, 8, 8)) == (
        f"{path}: error: unsupported function torch.matmul, called in the forward of `block` (Block) as node "
        f"`matmul`: cnnspec has no layer for it")


def test_input_shape_that_does_not_fit():
    path = f"{FIXTURES}/seed001_fashion_mnist.py"
    assert _error(import_file, path, (3, 28, 28)) == (
        f"{path}: error: input 3×28×28 does not fit CustomModel: `conv1` (Conv2d) expects 1 input channels "
        f"but receives 3×28×28")
    assert _error(import_file, path, "1,32,32") == (
        f"{path}: error: input 1×32×32 does not fit CustomModel: `dense1` (Linear) expects 4096 input features "
        f"but receives 16384")
    assert _error(import_file, path, (1, 8, 8)) == (
        f"{path}: error: input 1×8×8 does not fit CustomModel: `conv2` (Conv2d) raised RuntimeError: Calculated "
        f"padded input size per channel: (2 x 2). Kernel size: (7 x 7). Kernel size can't be greater than actual "
        f"input size")
    lazy = f"{FIXTURES}/d2l_lenet.py:LeNet"
    assert _error(import_file, lazy, (1, 4, 4)).startswith(
        f"{FIXTURES}/d2l_lenet.py: error: input 1×4×4 does not fit LeNet: the forward that sizes its lazy modules "
        f"raised RuntimeError: ")


def test_bad_input_shape_text():
    assert _error(parse_input_shape, "1,28,x") == (
        "--input: error: expected the input shape as whole numbers separated by commas, e.g. 1,28,28, "
        "not '1,28,x'")
    assert parse_input_shape("1x28x28") == parse_input_shape("(1, 28, 28)") == (1, 28, 28)
    assert _error(from_torch, nn.ReLU(), (1, 0)) == (
        "cnnspec: error: the input shape must be 1 to 4 whole numbers of at least 1 (channels, then 0 to 3 "
        "spatial sizes; no batch), not (1, 0)")


class Blurred(nn.Module):
    """timm's BlurPool: a depthwise convolution with a fixed filter kept as a buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("filt", torch.ones(2, 1, 3, 3) / 9)

    def forward(self, x):
        return F.conv2d(x, self.filt, stride=2, groups=2)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.gamma = nn.Parameter(torch.ones(6))  # a factor per column, not per channel

    def forward(self, x):
        return self.conv(x) * self.gamma


class Unflattened(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(6, 10)

    def forward(self, x):
        return self.fc(self.conv(x))


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        y = self.conv(x)
        return y, y


class DynamicConv(nn.Module):
    def forward(self, x):
        return F.conv2d(x, x)


class Standardized(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, self.weight * 2, self.bias)


class PadsChannels(nn.Module):
    def forward(self, x):
        return F.pad(x, (0, 0, 0, 0, 1, 1))


class PadsMinusInfinity(nn.Module):
    def forward(self, x):
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-math.inf), 3, 2)


class PermutedOut(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1)


class PoolsChannelsLast(nn.Module):
    def forward(self, x):
        return F.max_pool2d(x.permute(0, 2, 3, 1), 2).permute(0, 3, 1, 2)


class Transposed(nn.Module):
    def forward(self, x):
        return x.transpose(2, 3)


class Sliced(nn.Module):
    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[self.index]


class SplitsWidth(nn.Module):
    def forward(self, x):
        return torch.split(x, 2, dim=-1)[0]


class AddsConstant(nn.Module):
    def forward(self, x):
        return x + 2


class CalledOnAVector(nn.Module):
    """One nn.Linear at every position (channels last), then on the pooled vector: PWLINEAR, then FC."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        x = self.fc(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.fc(x.mean((2, 3)))


class TiedModules(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(self.first(x))


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_graphs_and_modules_that_cnnspec_cannot_write():
    assert _error(from_torch, Blurred(), (2, 8, 8)) == (
        "cnnspec: error: cannot import function torch.conv2d, called in the forward of Blurred as node `conv2d`: "
        "its weight is the buffer `filt`, a fixed filter, not a learned parameter; cnnspec's layers learn theirs")
    assert _error(from_torch, Scaled(), (1, 8, 8)) == (
        "cnnspec: error: cannot import attribute `gamma`, read in the forward of Scaled as node `gamma`: a "
        "parameter or buffer used directly in the forward is no layer cnnspec knows")
    assert _error(from_torch, Unflattened(), (1, 8, 8)) == (
        "cnnspec: error: cannot import module `fc` (torch.nn.Linear), called in the forward of Unflattened as "
        "node `fc`: its input 2×6×6 is not flat: torch's Linear acts on the last axis only while cnnspec's FC "
        "flattens first; flatten before it (torch.flatten(x, 1))")
    assert _error(from_torch, TwoOutputs(), (1, 8, 8)) == (
        "cnnspec: error: the forward of TwoOutputs must return one tensor, not tuple")
    assert _error(from_torch, DynamicConv(), (1, 3, 3)) == (
        "cnnspec: error: cannot import function torch.conv2d, called in the forward of DynamicConv as node "
        "`conv2d`: its argument `x` is computed in the forward, not a parameter of the module; cnnspec writes "
        "conv2d only on the module's own parameters")
    assert _error(from_torch, Standardized(1, 2, 3), (1, 8, 8)) == (
        "cnnspec: error: cannot import function operator.mul, called in the forward of Standardized as node `mul`: "
        "it computes with the parameter `weight` in the forward (a weight standardised or scaled as it is used), "
        "which no layer of cnnspec does")
    assert _error(from_torch, PadsChannels(), (1, 4, 4)) == (
        "cnnspec: error: cannot import function torch.nn.functional.pad, called in the forward of PadsChannels as "
        "node `pad`: it pads 3 axes of a sample with 2 spatial axes; cnnspec's PAD pads the spatial axes only")
    assert _error(from_torch, PadsMinusInfinity(), (1, 8, 8)) == (
        "cnnspec: error: cannot import function torch.nn.functional.pad, called in the forward of PadsMinusInfinity "
        "as node `pad`: it pads with -inf, which cnnspec's PAD cannot write (a max pool pads with -inf itself: write "
        "its padding there)")
    assert _error(from_torch, PermutedOut(), (2, 4, 4)) == (
        "cnnspec: error: the forward of PermutedOut returns a tensor with its channels last (after a permute); "
        "cnnspec's networks end with their channels first")
    assert _error(from_torch, PoolsChannelsLast(), (2, 4, 4)) == (
        "cnnspec: error: cannot import function torch.nn.functional.max_pool2d, called in the forward of "
        "PoolsChannelsLast as node `max_pool2d`: it reads a tensor with its channels last (after a permute), which "
        "cnnspec reads only in element-wise layers, layer norms and linear layers")
    assert _error(from_torch, Transposed(), (2, 4, 4)) == (
        "cnnspec: error: cannot import function Tensor.transpose, called in the forward of Transposed as node "
        "`transpose`: it moves the axes of 2×2×4×4 to the order (0, 1, 3, 2); cnnspec reads only a move of the "
        "channels last and back (ConvNeXt), and a channel shuffle's swap")
    def sliced(index):
        return _error(from_torch, Sliced(index), (4, 6, 6))

    not_channels = ("indexing a tensor other than by a range of its channels (`x[:, a:b]`) is no layer cnnspec "
                    "knows")
    prefix = "cnnspec: error: cannot import function operator.getitem, called in the forward of Sliced as node " \
             "`getitem`: "
    assert sliced((slice(None), slice(None), slice(1, None))) == prefix + not_channels
    assert sliced((slice(None), 0)) == prefix + not_channels
    assert sliced(slice(0, 1)) == prefix + not_channels
    assert sliced((slice(None), slice(None, None, 2))) == prefix + (
        "it takes channels None:None:2 of 4, which is not a range of them cnnspec's SLICE takes")
    assert _error(from_torch, SplitsWidth(), (2, 4, 4)) == (
        "cnnspec: error: cannot import function torch.functional.split, called in the forward of SplitsWidth as "
        "node `split`: it splits axis -1; cnnspec splits the channels (dim=1)")
    assert _error(from_torch, AddsConstant(), (2, 4, 4)) == (
        "cnnspec: error: cannot import function operator.add, called in the forward of AddsConstant as node `add`: "
        "it adds the constant 2 to a tensor, which no layer of cnnspec does; ADD joins the outputs of branches")
    assert _error(from_torch, TiedModules(), (2, 6, 6)) == (
        "cnnspec: error: cannot import module `second` (torch.nn.Conv2d), called in the forward of TiedModules as "
        "node `second`: it shares some of its weights with node `first`, but not all of them, which cnnspec's "
        "`shares=` cannot say")
    assert _error(from_torch, CalledOnAVector(), (2, 6, 6)) == (
        "cnnspec: error: cannot import module `fc` (torch.nn.Linear), called in the forward of CalledOnAVector as "
        "node `fc_1`: module `fc` is called a second time here (first as node `fc`) as FC(2), not as the same "
        "one layer (PWLINEAR(2)), so cnnspec's `shares=` cannot say it")
    message = _error(from_torch, Branchy(), (1, 8, 8))
    assert message.startswith("cnnspec: error: torch.fx cannot trace the forward of Branchy: TraceError: "
                              "symbolically traced variables cannot be used as inputs to control flow (")
