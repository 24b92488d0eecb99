"""Blocks, residuals, concatenations, gates, depthwise, split and shuffle: each against a hand-written
PyTorch module on the meta device, and the structure they give the report (paths, merge inputs, sums).

The torch modules here are written by hand for each test; cnnspec's numbers are compared with what torch
measures (leaf-module records and FlopCounterMode), never with numbers cnnspec produced.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import cnnspec
from torch_reference import build_on_meta, measure, model_buffers, model_macs, model_params

# Layers that wire branches together; torch does them with functions, not modules.
WIRING = {"add", "concat", "mul", "split", "slice", "scale", "channelshuffle", "identity", "stochasticdepth"}
KIND = {"Conv": "conv", "BatchNorm": "bn", "Linear": "fc", "ReLU": "relu", "ReLU6": "relu6", "Sigmoid": "sigmoid",
        "Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish", "SiLU": "silu", "MaxPool": "maxpool",
        "AvgPool": "avgpool", "AdaptiveAvgPool": "adaptiveavgpool", "Flatten": "flatten", "Dropout": "dropout",
        "LearnableAffine": "affine"}


def _kind(module_class: str) -> str:
    return KIND[module_class.rstrip("123d") if module_class[-2:] in ("1d", "2d", "3d") else module_class]


def assert_matches(text: str, build, input_shape) -> cnnspec.Report:
    """cnnspec's analysis of `text` agrees with the torch module `build()` layer by layer and in total."""
    report = cnnspec.analyze(cnnspec.parse(text))
    module, _ = build_on_meta(lambda: (build(), input_shape))
    records = measure(module, input_shape)
    ours = [(l.op, l.output_shape, l.params, l.buffers, l.macs) for l in report.layers if l.op not in WIRING]
    theirs = [(_kind(r.kind), r.output_shape, r.params, r.buffers, r.macs) for r in records]
    assert ours == theirs
    with torch.device("meta"):
        output = module.eval()(torch.empty((1, *input_shape)))
    assert report.output_shape == tuple(output.shape[1:])
    assert report.totals.params == model_params(module)
    assert report.totals.buffers == model_buffers(module)
    assert report.totals.macs == model_macs(module, input_shape)
    return report


class Residual(nn.Module):
    """ResNet's BasicBlock, by hand: two 3×3 convs, a projection shortcut when the shape changes."""

    def __init__(self, c_in, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.downsample = (nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                           if stride != 1 or c_in != c else None)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu2(out + (self.downsample(x) if self.downsample is not None else x))


BASIC = """
block basic(c, s=1, proj=false) {
  ADD {
       conv1: CONV(c, k=3, s=s, p=1, bias=false) -> bn1: BN -> relu: RELU
       -> conv2: CONV(c, k=3, p=1, bias=false) -> bn2: BN
     | downsample: [CONV(c, k=1, s=s, bias=false) -> BN] * proj
  } -> RELU
}
"""


def test_residual_identity_and_projection():
    report = assert_matches(
        BASIC + "INPUT(16, 20, 20) -> stage: [basic(16) -> basic(32, s=2, proj=true)]",
        lambda: nn.Sequential(Residual(16, 16, 1), Residual(16, 32, 2)), (16, 20, 20))
    adds = [l for l in report.layers if l.op == "add"]
    # The identity branch of the first block is its input (INPUT, index 0); the second's ends with the BN.
    assert [l.inputs for l in adds] == [(5, 0), (12, 14)]
    assert [l.path for l in report.layers][:6] == [
        "stage.0.conv1", "stage.0.bn1", "stage.0.relu", "stage.0.conv2", "stage.0.bn2", "stage.0.5"]
    assert [l.path for l in report.layers if l.op == "conv"][2:] == [
        "stage.1.conv1", "stage.1.conv2", "stage.1.downsample.0"]


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 6, 1), nn.ReLU(), nn.Conv2d(6, 8, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), nn.Conv2d(8, 2, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)


def test_concat_of_branches():
    report = assert_matches(
        "INPUT(8, 15, 15) -> CONCAT { CONV(4, k=1) | CONV(6, k=1) -> RELU -> CONV(8, k=3, p=1)"
        " | MAXPOOL(3, s=1, p=1, ceil=true) -> CONV(2, k=1) }",
        Inception, (8, 15, 15))
    assert report.layers[-1].op == "concat" and report.layers[-1].inputs == (1, 4, 6)
    assert report.output_shape == (4 + 8 + 2, 15, 15)


class DenseLayer(nn.Module):
    def __init__(self, c_in, growth):
        super().__init__()
        self.norm = nn.BatchNorm2d(c_in)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(c_in, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(self.relu(self.norm(x)))], 1)


def test_dense_layers_concatenate_input_and_output():
    assert_matches(
        "block dense_layer(g) { CONCAT { [] | BN -> RELU -> CONV(g, k=3, p=1, bias=false) } }\n"
        "INPUT(16, 8, 8) -> dense_layer(4) * 3",
        lambda: nn.Sequential(DenseLayer(16, 4), DenseLayer(20, 4), DenseLayer(24, 4)), (16, 8, 8))


class SqueezeExcite(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.scale = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.scale(self.fc2(self.act(self.fc1(self.avgpool(x)))))


def test_gate_multiplies_by_a_broadcast_branch():
    report = assert_matches(
        "INPUT(24, 14, 14) -> MUL { [] | GAP -> CONV(8, k=1) -> RELU -> CONV(24, k=1) -> HARDSIGMOID }",
        lambda: SqueezeExcite(24, 8), (24, 14, 14))
    gate = report.layers[-1]
    assert gate.output_shape == (24, 14, 14)
    # The gate sees the whole map (GAP), but the output grid is the identity branch's: jump stays 1.
    assert gate.receptive_field == (14, 14) and gate.jump == (1, 1)


def test_depthwise_with_g_in():
    assert_matches(
        "INPUT(12, 9, 9) -> CONV(in, k=3, p=1, g=in, bias=false) -> BN -> RELU6 -> CONV(24, k=1) -> HARDSWISH",
        lambda: nn.Sequential(nn.Conv2d(12, 12, 3, padding=1, groups=12, bias=False), nn.BatchNorm2d(12),
                              nn.ReLU6(), nn.Conv2d(12, 24, 1), nn.Hardswish()), (12, 9, 9))


class ShuffleUnit(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(c // 2, c // 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU(),
                                    nn.Conv2d(c // 2, c // 2, 3, padding=1, groups=c // 2), nn.SiLU())

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat([x1, self.branch(x2)], 1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


def test_split_and_channel_shuffle():
    assert_matches(
        "INPUT(16, 7, 7) -> CONCAT { SPLIT(2, i=0) | SPLIT(2, i=1) -> CONV(8, k=1) -> BN -> RELU"
        " -> CONV(in, k=3, p=1, g=in) -> SILU } -> CHANNELSHUFFLE(2) -> STOCHASTICDEPTH(0.1)",
        lambda: ShuffleUnit(16), (16, 7, 7))


@pytest.mark.parametrize("channels, parts", [(7, 3), (8, 3), (5, 2), (6, 4)])
def test_split_follows_torch_chunk(channels, parts):
    x = torch.empty(1, channels, 2, device="meta")
    pieces = x.chunk(parts, dim=1)
    for i, piece in enumerate(pieces):
        report = cnnspec.analyze(cnnspec.parse(f"INPUT({channels}, 2) -> SPLIT({parts}, i={i})"))
        assert report.output_shape == tuple(piece.shape[1:])
    with pytest.raises(cnnspec.CnnspecError):
        cnnspec.analyze(cnnspec.parse(f"INPUT({channels}, 2) -> SPLIT({parts}, i={len(pieces)})"))


class MixedKernels(nn.Module):
    """MixNet's mixed depthwise convolution: the channels in uneven parts, each with its own kernel."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, c, k, padding=k // 2, groups=c) for c, k in ((6, 3), (5, 5), (5, 7)))

    def forward(self, x):
        parts = torch.split(x, [6, 5, 5], dim=1)
        return torch.cat([conv(part) for conv, part in zip(self.convs, parts)] + [x[:, 3:9]], 1)


def test_slices_feed_branches():
    assert_matches(
        "INPUT(16, 9, 9) -> CONCAT { SLICE(6) -> CONV(in, k=3, p=1, g=in) | SLICE(11, start=6)"
        " -> CONV(in, k=5, p=2, g=in) | SLICE(start=11) -> CONV(in, k=7, p=3, g=in) | SLICE(9, start=3) }",
        MixedKernels, (16, 9, 9))


@pytest.mark.parametrize("channels, start, stop", [(7, 0, 3), (8, 5, None), (5, 4, 5), (6, 0, None)])
def test_slice_follows_python_slicing(channels, start, stop):
    x = torch.empty(1, channels, 2, device="meta")
    written = f"SLICE({stop}, start={start})" if stop is not None else f"SLICE(start={start})"
    report = cnnspec.analyze(cnnspec.parse(f"INPUT({channels}, 2) -> {written}"))
    assert report.output_shape == tuple(x[:, start:stop].shape[1:])


class LearnableAffine(nn.Module):
    """HGNetV2's learnable affine block, by hand: one learned scale and one learned bias."""

    def __init__(self):
        super().__init__()
        self.scale, self.bias = nn.Parameter(torch.ones(1)), nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.scale * x + self.bias


class ScaledResidual(nn.Module):
    """Inception-ResNet's residual scaled by a constant, then a learnable affine block."""

    def __init__(self):
        super().__init__()
        self.conv, self.relu, self.affine = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), LearnableAffine()

    def forward(self, x):
        return self.affine(self.relu(x + self.conv(x) * 0.17))


def test_constant_and_learned_scalar_scales():
    assert_matches("INPUT(4, 6, 6) -> ADD { [] | CONV(4, k=3, p=1) -> SCALE(0.17) } -> RELU -> AFFINE",
                   ScaledResidual, (4, 6, 6))


class ResponseNorm(nn.Module):
    """ConvNeXt V2's global response normalisation, by hand from the paper's pseudo-code (channels last)."""

    def __init__(self, c):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.zeros(1, 1, 1, c)), nn.Parameter(torch.zeros(1, 1, 1, c))

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return (self.gamma * (x * nx) + self.beta + x).permute(0, 3, 1, 2)


class Blur(nn.Module):
    """Zhang's anti-aliased downsampling, by hand: reflect padding, a fixed [1, 2, 1]² / 16 filter per channel."""

    def __init__(self, c):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("filt", (taps[:, None] * taps[None, :] / 16).repeat(c, 1, 1, 1))

    def forward(self, x):
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


class TResNetStem(nn.Module):
    """TResNet's space-to-depth stem, by hand: 4×4 patches to 16× the channels, a conv, a blur pool."""

    def __init__(self):
        super().__init__()
        self.conv, self.grn, self.blur = nn.Conv2d(48, 8, 3, padding=1), ResponseNorm(8), Blur(8)

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, c, h // 4, 4, w // 4, 4).permute(0, 3, 5, 1, 2, 4).reshape(n, c * 16, h // 4, w // 4)
        return self.blur(self.grn(self.conv(x)))


def test_space_to_depth_response_norm_and_blur_pool():
    report = cnnspec.analyze(cnnspec.parse("INPUT(3, 32, 24) -> SPACETODEPTH(4) -> CONV(8, k=3, p=1) -> GRN -> BLURPOOL"))
    module = TResNetStem()
    x = torch.empty(1, 3, 32, 24, device="meta")
    assert report.output_shape == tuple(module.to("meta")(x).shape[1:])
    assert [l.params for l in report.layers] == [0, 48 * 8 * 9 + 8, 2 * 8, 0]
    assert report.totals.params == model_params(module)
    assert report.totals.buffers == model_buffers(module) == 8 * 9
    assert report.totals.macs == model_macs(module, (3, 32, 24))
    assert [l.receptive_field for l in report.layers] == [(4, 4), (12, 12), (12, 12), (20, 20)]


def test_space_to_depth_keeps_timm_s_channel_order():
    from cnnspec.bridge.modules import SpaceToDepth

    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(1, 2, 8, 8)
    n, c, h, w = x.shape
    by_hand = x.view(n, c, h // 4, 4, w // 4, 4).permute(0, 3, 5, 1, 2, 4).reshape(n, c * 16, h // 4, w // 4)
    assert torch.equal(SpaceToDepth(4)(x), by_hand)


class ScaledStdConv(nn.Conv2d):
    """NF-ResNet's scaled weight standardisation, by hand (Brock et al. 2021): each filter standardised to zero
    mean and unit variance, times a learned gain over √fan-in."""

    def __init__(self, c_in, c_out, k, **kw):
        super().__init__(c_in, c_out, k, **kw)
        self.gain = nn.Parameter(torch.ones(c_out, 1, 1, 1))

    def forward(self, x):
        w = self.weight
        mean, var = w.mean(dim=(1, 2, 3), keepdim=True), w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        w = (w - mean) / torch.sqrt(var * w[0].numel() + 1e-4) * self.gain
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class NormFree(nn.Module):
    """An NF block by hand: standardised convs, a skip-init gain (one learned number) multiplied in place."""

    def __init__(self):
        super().__init__()
        self.conv1 = ScaledStdConv(4, 8, 3, padding=1, stride=2)
        self.conv2 = ScaledStdConv(8, 8, 3, padding=1, bias=False)
        self.skipinit_gain = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        out = self.conv2(torch.relu(self.conv1(x)))
        out.mul_(self.skipinit_gain)
        return out


def test_weight_standardised_convs_and_a_shared_scale():
    report = cnnspec.analyze(cnnspec.parse(
        "INPUT(4, 9, 9) -> WSCONV(8, k=3, s=2, p=1, gain=true) -> RELU -> WSCONV(8, k=3, p=1, bias=false, gain=true)"
        " -> LAYERSCALE(0, shared=true)"))
    module = NormFree()
    assert report.output_shape == tuple(module.to("meta")(torch.empty(1, 4, 9, 9, device="meta")).shape[1:])
    assert report.totals.params == model_params(module)
    assert report.totals.macs == model_macs(module, (4, 9, 9))
    lowered = cnnspec.lower(cnnspec.parse(
        "INPUT(4, 9, 9) -> WSCONV(8, k=3, s=2, p=1, gain=true, eps=0.0001) -> RELU -> WSCONV(8, k=3, bias=false)"))
    assert " ".join(cnnspec.from_torch(lowered, (4, 9, 9)).splitlines()[1:]) == (
        "INPUT(4, 9, 9) -> WSCONV(8, k=3, s=2, p=1, gain=true, eps=0.0001) -> RELU -> WSCONV(8, k=3, bias=false)")


class SkipInit(nn.Module):
    """NFNet's skip-init: `out.mul_(self.gain)` changes `out` in place and drops the call's value."""

    def __init__(self):
        super().__init__()
        self.conv, self.gain = nn.Conv2d(2, 2, 1), nn.Parameter(torch.zeros(()))

    def forward(self, x):
        out = self.conv(x)
        out.mul_(self.gain)
        return out + x


def test_an_in_place_product_whose_value_is_dropped_is_on_the_path():
    assert cnnspec.from_torch(SkipInit(), (2, 4, 4)).splitlines()[-1] == (
        "INPUT(2, 4, 4) -> ADD { CONV(2, k=1) -> LAYERSCALE(shared=true) | [] }")


class EfficientChannelAttention(nn.Module):
    """ECA as its authors wrote it (Wang et al. 2020's eca_module.py): GAP, a 1-D conv of k taps across the
    channels, a sigmoid gate."""

    def __init__(self, k):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * torch.sigmoid(y)


def test_eca_channel_convolution():
    report = cnnspec.analyze(cnnspec.parse("INPUT(16, 7, 7) -> MUL { [] | GAP -> CHANNELCONV(5) -> SIGMOID }"))
    module = EfficientChannelAttention(5)
    assert report.output_shape == tuple(module.to("meta")(torch.empty(1, 16, 7, 7, device="meta")).shape[1:])
    assert report.totals.params == model_params(module) == 5
    assert report.totals.macs == model_macs(module, (16, 7, 7))
    lowered = cnnspec.lower(cnnspec.parse("INPUT(16, 7, 7) -> MUL { [] | GAP -> CHANNELCONV(5) -> SIGMOID }"))
    assert model_params(lowered) == 5 and model_macs(lowered, (16, 7, 7)) == model_macs(module, (16, 7, 7))


class GlobalContextBlock(nn.Module):
    """GCNet's global context block as its paper draws it (Cao et al. 2019, Fig. 4d): attention pooling, a
    bottleneck of 1×1 convs with a layer norm, added to every position."""

    def __init__(self, c, r):
        super().__init__()
        self.conv_mask = nn.Conv2d(c, 1, kernel_size=1)
        self.transform = nn.Sequential(nn.Conv2d(c, r, 1), nn.LayerNorm([r, 1, 1]), nn.ReLU(), nn.Conv2d(r, c, 1))

    def forward(self, x):
        n, c, h, w = x.shape
        mask = torch.softmax(self.conv_mask(x).view(n, 1, h * w), dim=2)
        context = torch.bmm(x.view(n, c, h * w), mask.transpose(1, 2)).view(n, c, 1, 1)
        return x + self.transform(context)


def test_global_context_attention_pooling():
    text = "INPUT(16, 7, 5) -> ADD { [] | ATTNPOOL -> CONV(4, k=1) -> LN -> RELU -> CONV(16, k=1) }"
    report = cnnspec.analyze(cnnspec.parse(text))
    module = GlobalContextBlock(16, 4)
    assert report.output_shape == tuple(module.to("meta")(torch.empty(1, 16, 7, 5, device="meta")).shape[1:])
    assert report.totals.params == model_params(module)
    assert report.totals.macs == model_macs(module, (16, 7, 5))
    lowered = cnnspec.lower(cnnspec.parse(text))
    assert model_params(lowered) == model_params(module)
    assert model_macs(lowered, (16, 7, 5)) == model_macs(module, (16, 7, 5))
    assert report.layers[0].receptive_field == (7, 5)  # every position


def test_attention_pool_weights_the_positions_by_a_softmax():
    from cnnspec.bridge.modules import AttentionPool

    torch.manual_seed(0)
    pool, x = AttentionPool(3), torch.randn(2, 3, 4, 5)
    weights = torch.softmax(pool.conv_attn(x).flatten(2), dim=-1)  # n × 1 × positions
    by_hand = (x.flatten(2) * weights).sum(-1)[..., None, None]
    assert torch.allclose(pool(x), by_hand, atol=1e-6)


class Recurrent(nn.Module):
    """A conv block applied twice with the same weights (a weight-tied recurrence), then a head shared by two
    sizes of map, by hand."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(torch.relu(self.bn(self.conv(x))))))
        return torch.cat([self.head(x).flatten(1), self.head(F.max_pool2d(x, 2)).flatten(1)], 1)


def test_layers_that_share_weights_count_them_once():
    text = ("INPUT(4, 8, 8) -> conv: CONV(4, k=3, p=1) -> bn: BN -> RELU -> CONV(4, k=3, p=1, shares=conv)"
            " -> BN(shares=bn) -> RELU"
            " -> CONCAT { head: CONV(2, k=1) -> FLATTEN | MAXPOOL(2) -> CONV(2, k=1, shares=head) -> FLATTEN }")
    report = cnnspec.analyze(cnnspec.parse(text))
    module = Recurrent()
    assert report.output_shape == tuple(module.to("meta")(torch.empty(1, 4, 8, 8, device="meta")).shape[1:])
    assert report.totals.params == model_params(module)  # sum(p.numel()): each weight once
    assert report.totals.buffers == model_buffers(module)
    assert report.totals.macs == model_macs(module, (4, 8, 8))  # FlopCounterMode: every call
    shared = [(l.text, l.params, l.shares) for l in report.layers if l.shares]
    assert shared == [("CONV(4, k=3, p=1, shares=conv)", 0, "conv"), ("BN(shares=bn)", 0, "bn"),
                      ("CONV(2, k=1, shares=head)", 0, "head")]
    assert report.to_dict()["layers"][3]["shares"] == "conv"
    lowered = cnnspec.lower(cnnspec.parse(text))
    assert model_params(lowered) == model_params(module) and model_buffers(lowered) == model_buffers(module)
    assert model_macs(lowered, (4, 8, 8)) == model_macs(module, (4, 8, 8))
    assert [k for k in lowered.state_dict() if "weight" in k] == ["conv.weight", "bn.weight", "head.weight"]
    assert cnnspec.verify(cnnspec.parse(text)).ok


# ----------------------------------------------------------------------------- structure of the report


def test_scopes_sum_their_layers_and_nest():
    report = cnnspec.analyze(cnnspec.parse(BASIC + "INPUT(8, 8, 8) -> layer1: [basic(8) * 2] -> GAP"))
    by_text = {s.text: s for s in report.scopes}
    outer = by_text["layer1: [basic(8) * 2]"]
    blocks = [s for s in report.scopes if s.kind == "block"]
    assert len(blocks) == 2 and all(b.depth == 3 for b in blocks)
    conv = 8 * 8 * 9
    bn = 2 * 8
    assert all(b.params == 2 * conv + 2 * bn for b in blocks)
    assert outer.params == 2 * blocks[0].params and outer.depth == 1
    assert outer.params + 0 == report.totals.params  # GAP has none
    assert (outer.first, outer.last) == (1, 14)
    assert [l.scopes for l in report.layers][-1] == ()


def test_depth_collapses_rows(capsys, tmp_path):
    from cnnspec.cli import main

    path = tmp_path / "r.cnn"
    path.write_text(BASIC + "INPUT(8, 8, 8) -> layer1: [basic(8) * 2] -> GAP")
    main(["analyze", str(path), "--depth", "1"])
    rows = capsys.readouterr().out.splitlines()
    body = rows[rows.index(next(r for r in rows if r.startswith(" ─"))) + 1:]
    assert [r.split()[0] for r in body[:3]] == ["INPUT(8,", "1–14", "15"]
    main(["analyze", str(path), "--depth", "0"])
    rows = capsys.readouterr().out.splitlines()
    assert not any("INPUT(8" in r or "GAP" in r for r in rows)
    assert any(r.strip().startswith("total") for r in rows)


def test_json_has_paths_inputs_and_scopes():
    import json

    report = cnnspec.analyze(cnnspec.parse(BASIC + "INPUT(8, 8, 8) -> b: basic(8)"))
    data = json.loads(report.to_json())
    add = [l for l in data["layers"] if l["op"] == "add"][0]
    assert add["inputs"] == [5, 0] and add["path"] == "b.5"
    assert data["layers"][0]["path"] == "b.conv1" and "inputs" not in data["layers"][0]
    assert data["scopes"][0]["text"] == "b: basic(8)" and data["scopes"][0]["layers"] == [1, 7]


def test_receptive_field_is_the_largest_over_branches():
    report = cnnspec.analyze(cnnspec.parse(
        "INPUT(4, 32, 32) -> CONCAT { CONV(4, k=1) | CONV(4, k=5, p=2) | CONV(4, k=3, p=1) }"))
    assert report.layers[-1].receptive_field == (5, 5) and report.layers[-1].jump == (1, 1)


def test_import_shares_blocks(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.cnn").write_text("let W = 8\nblock unit(c) { CONV(c, k=3, p=1) -> RELU }\n")
    (tmp_path / "net.cnn").write_text('import "lib/blocks.cnn"\nINPUT(3, 8, 8) -> unit(W) -> unit(2 * W)\n')
    report = cnnspec.analyze(cnnspec.load(tmp_path / "net.cnn"))
    assert [l.params for l in report.layers if l.op == "conv"] == [8 * 3 * 9 + 8, 16 * 8 * 9 + 16]


def test_boolean_repeat_counts_and_conditional_values():
    report = cnnspec.analyze(cnnspec.parse(
        "block b(c, t) { [CONV(c * t, k=1) -> RELU6] * (t != 1) -> CONV(c if t > 1 else 2 * c, k=1) }\n"
        "INPUT(4, 5, 5) -> b(4, 1) -> b(8, 6)"))
    assert [l.output_shape[0] for l in report.layers if l.op == "conv"] == [8, 48, 8]


def test_a_file_imported_twice_runs_once(tmp_path):
    (tmp_path / "common.cnn").write_text("block unit(c) { CONV(c, k=1) }\n")
    (tmp_path / "a.cnn").write_text('import "common.cnn"\nblock a(c) { unit(c) -> RELU }\n')
    (tmp_path / "b.cnn").write_text('import "common.cnn"\nblock b(c) { unit(c) -> SIGMOID }\n')
    (tmp_path / "net.cnn").write_text('import "a.cnn"\nimport "b.cnn"\nINPUT(3, 4, 4) -> a(8) -> b(2)\n')
    report = cnnspec.analyze(cnnspec.load(tmp_path / "net.cnn"))
    assert [l.op for l in report.layers] == ["conv", "relu", "conv", "sigmoid"]
    assert [l.params for l in report.layers if l.op == "conv"] == [8 * 3 + 8, 2 * 8 + 2]
