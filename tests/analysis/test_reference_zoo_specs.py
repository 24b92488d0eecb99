"""The hand-written specs of four torchvision networks (specs/convnext_tiny.cnn, regnet_y_400mf.cnn,
efficientnet_v2_s.cnn, densenet121_torchvision.cnn) against torchvision-equivalent modules written here.

torchvision is not needed (nor installed in this tier): the modules below are transcribed from torchvision
0.29.1's ``models/convnext.py``, ``models/regnet.py`` and ``models/efficientnet.py`` with the public
builders' default arguments and ``weights=None``, reusing the helpers of ``reference_modern_b.py``
(``Conv2dNormActivation``, ``SqueezeExcitation``, ``StochasticDepth``, ``MBConv``, ``_make_divisible``);
DenseNet-121 is ``reference_modern_a.densenet121``, torchvision's _DenseLayer and _DenseBlock with their
``torch.cat`` of every earlier output. Functional operations stay functional where torchvision has them
(ConvNeXt's ``layer_scale * block(x)`` and ``+=``, RegNet's ``proj(x) + f(x)`` and ``x.flatten``,
EfficientNet's ``+=`` and ``torch.flatten``). Weight initialisation is skipped: everything is built on the
meta device.

Each module must first give torchvision's own numbers, written as literals (params, buffers, MACs at
3x224x224; zoo/test_specs.py checks the same specs against torchvision itself): if one of those fails, the
transcription is wrong. Then the spec's analysis, and the module cnnspec lowers it to, must equal the
module: params (``sum(p.numel())``), buffers, FlopCounterMode's total / 2, the output shape; every conv,
norm and linear layer in forward order; and the stochastic depth rates, which no count sees.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from functools import cache, partial
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from torch.nn import functional as F

import cnnspec
from reference_modern_a import densenet121
from reference_modern_b import (Conv2dNormActivation, MBConv, MBConvConfig, SqueezeExcitation, StochasticDepth,
                                _make_divisible)
from torch_reference import build_on_meta, measure, model_buffers, model_macs, model_params

SPECS = Path(__file__).resolve().parents[2] / "specs"
INPUT_SHAPE = (3, 224, 224)


# ------------------------------------------------------------------------- ConvNeXt (models/convnext.py)


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """torchvision.ops.misc.Permute."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        result = self.layer_scale * self.block(input)
        result = self.stochastic_depth(result)
        result += input
        return result


class ConvNeXt(nn.Module):
    """torchvision.models.ConvNeXt; `block_setting` is (input_channels, out_channels or None, num_layers)."""

    def __init__(self, block_setting, stochastic_depth_prob: float = 0.0, layer_scale: float = 1e-6,
                 num_classes: int = 1000) -> None:
        super().__init__()
        norm_layer = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [Conv2dNormActivation(3, block_setting[0][0], kernel_size=4, stride=4, padding=0,
                                                        norm_layer=norm_layer, activation_layer=None, bias=True)]
        total_stage_blocks = sum(num_layers for _, _, num_layers in block_setting)
        stage_block_id = 0
        for input_channels, out_channels, num_layers in block_setting:
            stage: list[nn.Module] = []
            for _ in range(num_layers):
                sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
                stage.append(CNBlock(input_channels, layer_scale, sd_prob))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if out_channels is not None:
                layers.append(nn.Sequential(norm_layer(input_channels),
                                            nn.Conv2d(input_channels, out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1][1] if block_setting[-1][1] is not None else block_setting[-1][0]
        self.classifier = nn.Sequential(norm_layer(last), nn.Flatten(1), nn.Linear(last, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def convnext_tiny() -> tuple[nn.Module, tuple[int, ...]]:
    """torchvision.models.convnext_tiny(weights=None): stochastic depth 0.1."""
    setting = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)]
    return ConvNeXt(setting, stochastic_depth_prob=0.1), INPUT_SHAPE


# ---------------------------------------------------------------------------- RegNet (models/regnet.py)


class BottleneckTransform(nn.Sequential):
    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer, group_width,
                 bottleneck_multiplier, se_ratio) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        w_b = int(round(width_out * bottleneck_multiplier))
        g = w_b // group_width
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=g, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        if se_ratio:
            # The SE reduction ratio is defined with respect to the beginning of the block.
            width_se_out = int(round(se_ratio * width_in))
            layers["se"] = SqueezeExcitation(input_channels=w_b, squeeze_channels=width_se_out,
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer, group_width=1,
                 bottleneck_multiplier=1.0, se_ratio=None) -> None:
        super().__init__()
        self.proj = None
        if (width_in != width_out) or (stride != 1):
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride, norm_layer=norm_layer,
                                             activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer, group_width,
                                     bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        if self.proj is not None:
            x = self.proj(x) + self.f(x)
        else:
            x = x + self.f(x)
        return self.activation(x)


class AnyStage(nn.Sequential):
    def __init__(self, width_in, width_out, stride, depth, norm_layer, activation_layer, group_width,
                 bottleneck_multiplier, se_ratio, stage_index) -> None:
        super().__init__()
        for i in range(depth):
            block = ResBottleneckBlock(width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                                       norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


def regnet_block_params(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0):
    """BlockParams.from_init_params: (depths, widths, group widths, bottleneck multipliers, strides).

    torchvision computes in float32 tensors; they are made on the CPU here, since the models are built with
    meta as the default device and a meta tensor has no values.
    """
    cpu = torch.device("cpu")
    widths_cont = torch.arange(depth, device=cpu) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
    num_stages = len(set(block_widths))
    split_helper = zip(block_widths + [0], [0] + block_widths, block_widths + [0], [0] + block_widths)
    splits = [w != wp or r != rp for w, wp, r, rp in split_helper]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t], device=cpu)).int().tolist()
    bottleneck_multipliers = [bottleneck_multiplier] * num_stages
    group_widths = [group_width] * num_stages
    # _adjust_widths_groups_compatibilty
    widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_multipliers)]
    group_widths = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
    ws_bot = [_make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths)]
    stage_widths = [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_multipliers)]
    return stage_depths, stage_widths, group_widths, bottleneck_multipliers, [2] * num_stages


class RegNet(nn.Module):
    def __init__(self, block_params, se_ratio, num_classes: int = 1000, stem_width: int = 32) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
        self.stem = Conv2dNormActivation(3, stem_width, kernel_size=3, stride=2, norm_layer=norm_layer,
                                         activation_layer=nn.ReLU)  # SimpleStemIN
        current_width = stem_width
        blocks = []
        depths, widths, group_widths, multipliers, strides = block_params
        for i, (width_out, stride, depth, group_width, multiplier) in enumerate(
                zip(widths, strides, depths, group_widths, multipliers)):
            blocks.append((f"block{i + 1}", AnyStage(current_width, width_out, stride, depth, norm_layer, nn.ReLU,
                                                     group_width, multiplier, se_ratio, stage_index=i + 1)))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=current_width, out_features=num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


REGNET_Y_400MF = dict(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8)


def regnet_y_400mf() -> tuple[nn.Module, tuple[int, ...]]:
    """torchvision.models.regnet_y_400mf(weights=None): SE ratio 0.25."""
    return RegNet(regnet_block_params(**REGNET_Y_400MF), se_ratio=0.25), INPUT_SHAPE


# ------------------------------------------------------------------ EfficientNetV2 (models/efficientnet.py)


class FusedMBConvConfig(MBConvConfig):
    """torchvision's FusedMBConvConfig (Table 4 of the EfficientNetV2 paper): widths and depth as given."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers) -> None:
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels, self.out_channels, self.num_layers = input_channels, out_channels, num_layers


class FusedMBConv(nn.Module):
    def __init__(self, cnf: FusedMBConvConfig, stochastic_depth_prob: float, norm_layer) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels, kernel_size=cnf.kernel,
                                               stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU))
            layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=None))
        else:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.out_channels, kernel_size=cnf.kernel,
                                               stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNetV2(nn.Module):
    """torchvision.models.EfficientNet with FusedMBConv and MBConv stages."""

    def __init__(self, setting, dropout: float, last_channel: int, norm_layer, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dNormActivation(3, setting[0].input_channels, kernel_size=3, stride=2,
                                                        norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_stage_blocks = sum(cnf.num_layers for cnf in setting)
        stage_block_id = 0
        for cnf in setting:
            block = FusedMBConv if isinstance(cnf, FusedMBConvConfig) else MBConv
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(block(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        layers.append(Conv2dNormActivation(setting[-1].out_channels, last_channel, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def efficientnet_v2_s() -> tuple[nn.Module, tuple[int, ...]]:
    """torchvision.models.efficientnet_v2_s(weights=None): dropout 0.2, BN eps 1e-3, last channel 1280."""
    setting = [
        # expand_ratio, kernel, stride, input_channels, out_channels, num_layers
        FusedMBConvConfig(1, 3, 1, 24, 24, 2),
        FusedMBConvConfig(4, 3, 2, 24, 48, 4),
        FusedMBConvConfig(4, 3, 2, 48, 64, 4),
        MBConvConfig(4, 3, 2, 64, 128, 6),
        MBConvConfig(6, 3, 1, 128, 160, 9),
        MBConvConfig(6, 3, 2, 160, 256, 15),
    ]
    norm_layer = partial(nn.BatchNorm2d, eps=1e-03)
    return EfficientNetV2(setting, dropout=0.2, last_channel=1280, norm_layer=norm_layer), INPUT_SHAPE


# ----------------------------------------------------------------------------------------------- the cases

# spec -> the torchvision-equivalent module
REFERENCES = {
    "convnext_tiny": convnext_tiny,
    "regnet_y_400mf": regnet_y_400mf,
    "efficientnet_v2_s": efficientnet_v2_s,
    "densenet121_torchvision": densenet121,
}

# spec -> torchvision 0.29.1's (params, buffers, MACs) of the model at 3x224x224: params as the weights'
# `num_params` metadata, buffers and MACs (FlopCounterMode / 2) of the model built with weights=None.
TORCHVISION: dict[str, tuple[int, int, int]] = {
    "convnext_tiny": (28_589_128, 0, 4_455_531_264),
    "regnet_y_400mf": (4_344_144, 27_205, 401_842_848),
    "efficientnet_v2_s": (21_458_488, 153_982, 2_849_895_872),
    "densenet121_torchvision": (7_978_856, 83_769, 2_834_161_664),
}
# EfficientNetV2-S is evaluated at 384x384, where torchvision's metadata gives 8.366 GFLOPS (its `_ops`,
# multiply-accumulates) and FlopCounterMode on torchvision's model 8,365,617,152 MACs.
EFFICIENTNET_V2_S_AT_384 = 8_365_617_152

NAMES = sorted(REFERENCES)


@cache
def reference(name: str, size: int = 224) -> tuple[int, int, int, tuple[int, ...]]:
    """(params, buffers, MACs, output shape) of the reference module, counted by PyTorch."""
    module, _ = build_on_meta(REFERENCES[name])
    shape = (3, size, size)
    module = module.eval()
    with torch.no_grad():
        out = module(torch.empty((1, *shape), device="meta"))
    return model_params(module), model_buffers(module), model_macs(module, shape), tuple(out.shape[1:])


def spec_counts(name: str, **variables) -> tuple[int, int, int, tuple[int, ...]]:
    report = cnnspec.analyze(cnnspec.load(SPECS / f"{name}.cnn"), **variables)
    t = report.totals
    return t.params, t.buffers, t.macs, tuple(report.output_shape)


def test_every_spec_here_exists():
    assert all((SPECS / f"{name}.cnn").is_file() for name in NAMES)
    assert set(TORCHVISION) == set(REFERENCES)


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_torchvision(name):
    assert reference(name) == (*TORCHVISION[name], (1000,))


def test_regnet_y_400mf_stages_follow_from_its_design_parameters():
    """The widths and depths the spec writes out, from torchvision's quantised linear rule."""
    depths, widths, group_widths, multipliers, strides = regnet_block_params(**REGNET_Y_400MF)
    assert (depths, widths, group_widths, multipliers, strides) == (
        [1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8], [1.0] * 4, [2] * 4)


@pytest.mark.parametrize("name", NAMES)
def test_spec_equals_reference(name):
    assert spec_counts(name) == reference(name)


@pytest.mark.parametrize("name", NAMES)
def test_lowered_spec_equals_reference(name):
    module = cnnspec.lower(cnnspec.load(SPECS / f"{name}.cnn"), device="meta").eval()
    with torch.no_grad():
        out = module(torch.empty((1, *INPUT_SHAPE), device="meta"))
    counts = (model_params(module), model_buffers(module), model_macs(module, INPUT_SHAPE), tuple(out.shape[1:]))
    assert counts == reference(name)


def test_efficientnet_v2_s_at_its_evaluation_size():
    assert spec_counts("efficientnet_v2_s", SIZE=384) == reference("efficientnet_v2_s", 384)
    assert reference("efficientnet_v2_s", 384)[2] == EFFICIENTNET_V2_S_AT_384
    assert round(EFFICIENTNET_V2_S_AT_384 / 1e9, 3) == 8.366


# torch leaf module -> what it is in a spec; PWLINEAR and FC are both nn.Linear.
KIND = {"Conv2d": "conv", "BatchNorm2d": "bn", "LayerNorm": "ln", "LayerNorm2d": "ln", "Linear": "linear"}
OP = {"conv": "conv", "bn": "bn", "ln": "ln", "fc": "linear", "pwlinear": "linear"}


@pytest.mark.parametrize("name", NAMES)
def test_every_counted_layer_matches_in_forward_order(name):
    """Each conv, norm and linear layer: its kind, the size of its output, its params, buffers and MACs.
    The size rather than the shape: torchvision's Linear layers in a ConvNeXt block run channels last."""
    report = cnnspec.analyze(cnnspec.load(SPECS / f"{name}.cnn"))
    ours = [(OP[layer.op], math.prod(layer.output_shape), layer.params, layer.buffers, layer.macs)
            for layer in report.layers if layer.op in OP]
    module, shape = build_on_meta(REFERENCES[name])
    theirs = [(KIND[r.kind], math.prod(r.output_shape), r.params, r.buffers, r.macs)
              for r in measure(module, shape) if r.kind in KIND]
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"counted layer {index}: cnnspec {a} vs torch {b}"


@pytest.mark.parametrize("name", ["convnext_tiny", "efficientnet_v2_s"])
def test_stochastic_depth_rates_are_torchvisions(name):
    """Block i drops its residual branch with p = rate * i / (blocks - 1) (ConvNeXt) or rate * i / blocks
    (EfficientNet), which no count sees. EfficientNet builds a StochasticDepth in every block but runs it
    only where there is a residual connection, and only there does the spec have one."""
    module, _ = build_on_meta(REFERENCES[name])
    theirs = [m.stochastic_depth.p for m in module.modules()
              if isinstance(m, (CNBlock, FusedMBConv, MBConv)) and getattr(m, "use_res_connect", True)]
    lowered = cnnspec.lower(cnnspec.load(SPECS / f"{name}.cnn"), device="meta")
    ours = [m.p for m in lowered.modules() if type(m).__name__ == "StochasticDepth"]
    assert len(theirs) == {"convnext_tiny": 18, "efficientnet_v2_s": 35}[name]
    assert ours == theirs


def test_densenet_layers_read_every_earlier_output_as_torchvision_does():
    """In torchvision's _DenseBlock, layer i concatenates the block's input and the outputs of layers 1 to
    i - 1, and the block ends with the concatenation of them all: joins of 2, 3, … n + 1 values per block of
    n layers (6, 12, 24, 16). specs/densenet121.cnn joins two values each time, to the same layers, row for
    row."""
    named = cnnspec.analyze(cnnspec.load(SPECS / "densenet121_torchvision.cnn"))
    nested = cnnspec.analyze(cnnspec.load(SPECS / "densenet121.cnn"))
    joins = [len(layer.inputs) for layer in named.layers if layer.op == "concat"]
    assert joins == [values for n in (6, 12, 24, 16) for values in range(2, n + 2)]
    assert {len(layer.inputs) for layer in nested.layers if layer.op == "concat"} == {2}

    def rows(report):
        return [(layer.op, layer.output_shape, layer.params, layer.buffers, layer.macs, layer.receptive_field)
                for layer in report.layers]

    assert rows(named) == rows(nested) and named.totals == nested.totals
