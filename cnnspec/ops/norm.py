"""Normalisation: batch normalisation (BN), layer normalisation over the channels (LN), group and instance
normalisation (GN, IN), a learned per-channel scale (LAYERSCALE), a learned scale and bias of one number each
(AFFINE), ConvNeXt V2's global response normalisation (GRN) and local response normalisation (LRN)."""

from __future__ import annotations

import math
from types import SimpleNamespace

from ..lang.words import shape_text
from .entry import (CHANNELS_LAST, FromTorch, OwnModule, LayerContext, LayerResult, OpSpec, Slip, SourceArg, TorchSource, Unimportable, Working,
                    in_channels, layer_text, nn_class, ranked, unless)
from .params import REQUIRED, Param


def _batchnorm(ctx: LayerContext) -> LayerResult:
    c = ctx.channels
    return LayerResult(ctx.shape, params=2 * c, buffers=2 * c + 1, int64_buffers=1)  # mean, var, step count


def _layernorm(ctx: LayerContext) -> LayerResult:
    return LayerResult(ctx.shape, params=2 * ctx.channels)  # a scale and a shift per channel


def _groupnorm(ctx: LayerContext) -> LayerResult:
    groups = ctx.args["groups"]
    if ctx.channels % groups:
        ctx.fail(f"{ctx.text}: {groups} groups do not divide the {ctx.channels} channels", "groups")
    if ctx.channels // groups * math.prod(ctx.spatial) == 1:
        ctx.fail(f"{ctx.text}: each of the {groups} groups of the input {shape_text(ctx.shape)} holds one value, "
                 f"which normalises to nothing (PyTorch refuses it)", "groups")
    return LayerResult(ctx.shape, params=2 * ctx.channels)


def _instancenorm(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    if all(n == 1 for n in ctx.spatial):
        ctx.fail(f"{ctx.text} normalises each channel over its positions, but the input {shape_text(ctx.shape)} "
                 f"has one position only (PyTorch refuses it too)")
    return LayerResult(ctx.shape, params=2 * ctx.channels if ctx.args["affine"] else 0)


def _groupnorm_from_module(m, ctx):
    if not m.affine:
        raise Unimportable("it has affine=False, but cnnspec's GN always learns a weight and a bias")
    return [layer_text("GN", m.num_groups, eps=unless(m.eps, 1e-5))]


def _groupnorm_from_call(ctx):
    a = ctx.bind(("input", "num_groups", "weight", "bias", "eps"), {"weight": None, "bias": None, "eps": 1e-5})
    if a["weight"] is None or a["bias"] is None:
        raise Unimportable("it has no weight or no bias, but cnnspec's GN always learns both")
    return [layer_text("GN", a["num_groups"], eps=unless(a["eps"], 1e-5))]


def _instancenorm_from_module(m, ctx):
    if m.track_running_stats:
        raise Unimportable("it has track_running_stats=True, but cnnspec's IN keeps no running statistics")
    return [layer_text("IN", eps=unless(m.eps, 1e-5), affine=True if m.affine else None)]


def _layerscale(ctx: LayerContext) -> LayerResult:
    return LayerResult(ctx.shape, params=1 if ctx.args["shared"] else ctx.channels)


def _scale_shape(args, shape) -> tuple[int, ...]:
    """LAYERSCALE's factors: one per channel, broadcast over the positions, or one for all (`shared`)."""
    return (1,) if args["shared"] else _per_channel(shape)


def _grn(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    return LayerResult(ctx.shape, params=2 * ctx.channels)


def _grn_from_module(m, ctx):
    """timm's GlobalResponseNorm: on a tensor with its channels last (ConvNeXt V2's MLP), or first."""
    if m.channels_last if hasattr(m, "channels_last") else m.channel_dim == -1:
        if ctx.layout != CHANNELS_LAST:
            raise Unimportable("it normalises a tensor with its channels last, but this one has them first")
    elif ctx.layout is not None:
        raise Unimportable("it normalises a tensor with its channels first, but this one has them last")
    return [layer_text("GRN", eps=unless(m.eps, 1e-6))]


def _per_channel(shape) -> tuple[int, ...]:
    """A per-channel tensor's shape that broadcasts over the spatial axes: (C, 1, 1) for C×H×W."""
    return (shape[0], *(1 for _ in shape[1:]))


def _layernorm_text(normalized_shape, affine: bool, eps, ctx) -> list[str]:
    channels = ctx.inp[-1] if ctx.layout == CHANNELS_LAST or len(ctx.inp) == 1 else None
    if tuple(normalized_shape) != (channels,):
        raise Unimportable(f"it normalises over the last {len(tuple(normalized_shape))} axes "
                           f"({shape_text(tuple(normalized_shape))}) of a {shape_text(ctx.inp)} input; cnnspec's LN "
                           f"normalises the channels of each position (a vector, or channels last after a permute)")
    if not affine:
        raise Unimportable("it has no weight or no bias, but cnnspec's LN always learns both")
    return [layer_text("LN", eps=unless(eps, 1e-5))]


def _layernorm_from_module(m, ctx):
    return _layernorm_text(m.normalized_shape, m.elementwise_affine and m.bias is not None, m.eps, ctx)


def _layernorm_from_call(ctx):
    a = ctx.bind(("input", "normalized_shape", "weight", "bias", "eps"), {"weight": None, "bias": None, "eps": 1e-5})
    return _layernorm_text(a["normalized_shape"], a["weight"] is not None and a["bias"] is not None, a["eps"], ctx)


def _channel_layernorm_from_module(m, ctx):
    return [layer_text("LN", eps=unless(m.eps, 1e-5))]


def _lrn(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    return LayerResult(ctx.shape)


def _batchnorm_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(params=f"2·{ctx.channels}")


def _batchnorm_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    c = ctx.channels
    return [Slip("params", 4 * c, f"BatchNorm counted as 4·C = 4·{c}: its running mean and variance are buffers, "
                                  f"not parameters; only γ and β are learned, 2·{c}")]


def _batchnorm_from_module(m, ctx):
    if not m.affine:
        raise Unimportable("it has affine=False (no weight and bias), but cnnspec's BN always learns them")
    if not m.track_running_stats:
        raise Unimportable("it has track_running_stats=False (no running statistics), but cnnspec's BN keeps them")
    if m.momentum is None:
        raise Unimportable("its momentum is None (a cumulative average), which cnnspec's BN cannot write")
    return [layer_text("BN", eps=unless(m.eps, 1e-5), momentum=unless(m.momentum, 0.1))]


def _batchnorm_from_call(ctx):
    """`F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training, momentum, eps)`, as
    timm's BatchNormAct2d calls it: the layer a BatchNorm module of those parameters would be."""
    bound = ctx.bind(("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
                     {"running_mean": None, "running_var": None, "weight": None, "bias": None, "training": False,
                      "momentum": 0.1, "eps": 1e-5})
    return _batchnorm_from_module(SimpleNamespace(
        affine=bound["weight"] is not None and bound["bias"] is not None,
        track_running_stats=bound["running_mean"] is not None and bound["running_var"] is not None,
        momentum=bound["momentum"], eps=bound["eps"]), ctx)


def _batchnorm_check_input(m, shape):
    if shape[0] != m.num_features:
        raise Unimportable(f"expects {m.num_features} channels but receives {shape_text(shape)}")


def _lrn_from_module(m, ctx):
    return [layer_text("LRN", m.size, alpha=unless(m.alpha, 1e-4), beta=unless(m.beta, 0.75),
                       k=unless(m.k, 1.0))]


ENTRIES = (
    OpSpec("bn", "batch normalisation: 2·C parameters, 2·C + 1 buffers", _batchnorm,
           (Param("eps", "float", "added to the variance", 1e-5, minimum=0),
            Param("momentum", "float", "of the running statistics", 0.1, minimum=0, maximum=1)),
           aliases={"batchnorm": {}}, example="BN",
           module=lambda args, shape, out: nn_class("BatchNorm", len(shape) - 1)(shape[0], args["eps"],
                                                                                 args["momentum"]),
           source=TorchSource("nn.BatchNorm{rank}d", (
               SourceArg("num_features", value=in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5), SourceArg("momentum", "momentum", default=0.1))),
           from_modules=(FromTorch(ranked("torch.nn.BatchNorm"), _batchnorm_from_module,
                                   check_input=_batchnorm_check_input),),
           from_functions=(FromTorch(("torch.nn.functional.batch_norm",), _batchnorm_from_call,
                                     reads_parameters=True),),
           import_default=True, derive=_batchnorm_working, slips=_batchnorm_slips),
    OpSpec("ln", "layer normalisation over the channels of each position (ConvNeXt's LayerNorm2d): 2·C parameters",
           _layernorm, (Param("eps", "float", "added to the variance", 1e-5, minimum=0),),
           aliases={"layernorm": {}}, example="LN(eps=1e-6)",
           module=lambda args, shape, out: OwnModule("ChannelLayerNorm", (shape[0], args["eps"])),
           source=TorchSource("ChannelLayerNorm", (
               SourceArg("channels", value=in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5)), attribute="norm"),
           from_modules=(FromTorch(("torch.nn.LayerNorm",), _layernorm_from_module, layouts=(CHANNELS_LAST,)),
                         FromTorch(("cnnspec.bridge.modules.ChannelLayerNorm",), _channel_layernorm_from_module)),
           from_functions=(FromTorch(("torch.nn.functional.layer_norm",), _layernorm_from_call,
                                     reads_parameters=True, layouts=(CHANNELS_LAST,)),),
           import_default=True),
    OpSpec("gn", "group normalisation: the channels in groups, each normalised over its channels and positions; "
                 "2·C parameters", _groupnorm,
           (Param("groups", "int", "groups of channels", REQUIRED, aliases=("g", "num_groups"), minimum=1),
            Param("eps", "float", "added to the variance", 1e-5, minimum=0)),
           positional=("groups",), aliases={"groupnorm": {}}, example="GN(32)",
           module=lambda args, shape, out: nn_class("GroupNorm")(args["groups"], shape[0], args["eps"]),
           source=TorchSource("nn.GroupNorm", (
               SourceArg("num_groups", "groups", positional=True),
               SourceArg("num_channels", value=in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5))),
           from_modules=(FromTorch(("torch.nn.GroupNorm",), _groupnorm_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.group_norm",), _groupnorm_from_call,
                                     reads_parameters=True),)),
    OpSpec("in", "instance normalisation: each channel over its positions; 2·C parameters with `affine=true`",
           _instancenorm,
           (Param("eps", "float", "added to the variance", 1e-5, minimum=0),
            Param("affine", "bool", "learn a weight and a bias", False)),
           aliases={"instancenorm": {}}, example="IN",
           module=lambda args, shape, out: nn_class("InstanceNorm", len(shape) - 1)(shape[0], args["eps"],
                                                                                    affine=args["affine"]),
           source=TorchSource("nn.InstanceNorm{rank}d", (
               SourceArg("num_features", value=in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5), SourceArg("affine", "affine", default=False))),
           from_modules=(FromTorch(ranked("torch.nn.InstanceNorm"), _instancenorm_from_module),)),
    OpSpec("layerscale", "a learned factor per channel (ConvNeXt's layer scale): C parameters", _layerscale,
           (Param("init", "float", "the factors' first value", 1e-6),
            Param("shared", "bool", "one factor for every channel (NFNet's skip-init gain)", False)),
           positional=("init",), example="LAYERSCALE(1e-6)",
           module=lambda args, shape, out: OwnModule("LayerScale", (_scale_shape(args, shape), args["init"])),
           source=TorchSource("LayerScale", (
               SourceArg("shape", value=lambda args, shape, out: _scale_shape(args, shape), positional=True),
               SourceArg("init", "init", default=1e-6)), attribute="layer_scale"),
           from_modules=(FromTorch(("cnnspec.bridge.modules.LayerScale",), lambda m, ctx: [layer_text("LAYERSCALE", shared=m.weight.numel() == 1 or None)]),),
           elementwise=True),
    OpSpec("affine", "a learned scale and bias, one number each (HGNetV2's learnable affine block): 2 parameters",
           lambda ctx: LayerResult(ctx.shape, params=2),
           (Param("scale", "float", "the scale's first value", 1.0),
            Param("bias", "float", "the bias's first value", 0.0)),
           example="AFFINE", module=lambda args, shape, out: OwnModule("Affine", (args["scale"], args["bias"])),
           source=TorchSource("Affine", (SourceArg("scale", "scale", default=1.0),
                                         SourceArg("bias", "bias", default=0.0))),
           from_modules=(FromTorch(("cnnspec.bridge.modules.Affine", "timm.models.hgnet.LearnableAffineBlock"),
                                   lambda m, ctx: ["AFFINE"], by_name=True),),
           elementwise=True),
    OpSpec("grn", "global response normalisation (ConvNeXt V2): each channel's L2 norm over the positions, "
                  "divided by their mean over the channels, scales the input; 2·C parameters", _grn,
           (Param("eps", "float", "added to the mean of the norms", 1e-6),), example="GRN",
           module=lambda args, shape, out: OwnModule("GlobalResponseNorm", (shape[0], args["eps"])),
           source=TorchSource("GlobalResponseNorm", (SourceArg("channels", value=in_channels, positional=True),
                                                     SourceArg("eps", "eps", default=1e-6))),
           from_modules=(FromTorch(("timm.layers.grn.GlobalResponseNorm",
                                    "cnnspec.bridge.modules.GlobalResponseNorm"), _grn_from_module, by_name=True,
                                   layouts=(CHANNELS_LAST,)),)),
    OpSpec("lrn", "local response normalisation", _lrn,
           (Param("size", "int", "neighbouring channels", REQUIRED, minimum=1),
            Param("alpha", "float", "scale", 1e-4), Param("beta", "float", "exponent", 0.75),
            Param("k", "float", "additive constant", 1.0)),
           positional=("size",), example="LRN(5)",
           module=lambda args, shape, out: nn_class("LocalResponseNorm")(args["size"], args["alpha"], args["beta"],
                                                                         args["k"]),
           source=TorchSource("nn.LocalResponseNorm", (
               SourceArg("size", "size", positional=True), SourceArg("alpha", "alpha", default=1e-4),
               SourceArg("beta", "beta", default=0.75), SourceArg("k", "k", default=1.0))),
           from_modules=(FromTorch(("torch.nn.LocalResponseNorm",), _lrn_from_module),)),
)
