"""Fully connected layers (FC), which flatten a spatial input first."""

from __future__ import annotations

import math
from types import SimpleNamespace

from ..lang.words import shape_text
from .conv import products_slips
from .entry import (CHANNELS_LAST, FromTorch, LayerContext, LayerResult, OpSpec, OwnModule, Slip, SourceArg, TorchSource,
                    Unimportable, Window, Working, in_channels, layer_text, nn_class, out_channels, product_text)
from .params import BIAS, REQUIRED, Param


def _fc(ctx: LayerContext) -> LayerResult:
    features = math.prod(ctx.shape)
    if ctx.given("in") and ctx.args["in"] != features:
        receives = f"{features} = {shape_text(ctx.shape)}" if ctx.rank else f"{features}"
        ctx.fail(f"{ctx.text} expects {ctx.args['in']} inputs but receives {receives}", "in")
    if ctx.rank:
        ctx.warn(f"{ctx.text}: its {shape_text(ctx.shape)} input is flattened to {features} features first; "
                 f"write FLATTEN before it to say so")
    out = ctx.args["out"]
    params = features * out + (out if ctx.args["bias"] else 0)
    # Every output sees the whole map the features came from.
    window = Window(ctx.extent, (1,) * len(ctx.extent))
    return LayerResult((out,), params=params, macs=features * out, window=window, extent=(1,) * len(ctx.extent))


def _pwlinear(ctx: LayerContext) -> LayerResult:
    """A linear map of the channels applied at every position (ConvNeXt's pwconv: nn.Linear, channels last)."""
    if ctx.given("in") and ctx.args["in"] != ctx.channels:
        ctx.fail(f"{ctx.text} expects {ctx.args['in']} channels but receives {shape_text(ctx.shape)}", "in")
    out, positions = ctx.args["out"], math.prod(ctx.spatial)
    params = ctx.channels * out + (out if ctx.args["bias"] else 0)
    return LayerResult((out, *ctx.spatial), params=params, macs=ctx.channels * out * positions)


def _fc_working(ctx: LayerContext, result: LayerResult) -> Working:
    out, features = result.shape[0], math.prod(ctx.shape)
    inputs = str(features) if len(ctx.shape) == 1 else product_text(ctx.shape)
    params = f"{out}·({inputs}+1)" if ctx.args["bias"] else f"{out}·{inputs}"
    return Working(params=params, macs=f"{out}·{inputs}")


def _fc_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    out, features = result.shape[0], math.prod(ctx.shape)
    bias = out if ctx.args["bias"] else 0
    slips = []
    if bias:
        slips.append(Slip("params", out * features, f"bias forgotten: each of the {out} outputs also has a bias, "
                                                    f"+{out}"))
    for index, shape in others:
        wrong = math.prod(shape)
        if wrong != features and len(shape) > 1:
            slips.append(Slip("params", out * wrong + bias,
                              f"wrong flatten size: this counts {wrong} inputs, layer {index}'s {shape_text(shape)} "
                              f"flattened; the FC layer receives {features}"))
    return slips + products_slips(ctx, result, 1)


def _torch_fc(args, shape, out):
    if len(shape) > 1:
        return OwnModule("FlattenLinear", (math.prod(shape), out[0]), {"bias": args["bias"]})
    return nn_class("Linear")(math.prod(shape), out[0], bias=args["bias"])


def _linear_from_module(m, ctx, flattens=False):
    if ctx.layout == CHANNELS_LAST:
        return [layer_text("PWLINEAR", m.out_features, bias=False if m.bias is None else None)]
    if not flattens and len(ctx.inp) != 1:
        raise Unimportable(f"its input {shape_text(ctx.inp)} is not flat: torch's Linear acts on the last axis "
                           f"only while cnnspec's FC flattens first; flatten before it (torch.flatten(x, 1))")
    return [layer_text("FC", m.out_features, bias=False if m.bias is None else None)]


def _linear_from_call(ctx):
    """`F.linear(x, self.weight, self.bias)` (a Linear subclass with its own forward, as timm's)."""
    bound = ctx.bind(("input", "weight", "bias"), {"bias": None})
    ctx.learned("weight", "bias")
    return _linear_from_module(SimpleNamespace(out_features=bound["weight"].shape[0], bias=bound["bias"]), ctx)


def _linear_check_input(m, shape, flattens=False):
    """torch's Linear reads the last axis; FlattenLinear flattens first, so every feature of a sample counts."""
    if (math.prod(shape) if flattens else shape[-1]) != m.in_features:
        raise Unimportable(f"expects {m.in_features} input features but receives {shape_text(shape)}")


ENTRIES = (
    OpSpec("pwlinear", "a linear map of the channels at every position (ConvNeXt's pwconv)", _pwlinear,
           (Param("out", "int", "output channels", REQUIRED, aliases=("out_features",), minimum=1),
            BIAS,
            Param("in", "int", "input channels, checked against what arrives", None, aliases=("in_features",),
                  minimum=1)),
           positional=("out",), aliases={"pointwise": {}}, example="PWLINEAR(384)",
           module=lambda args, shape, out: OwnModule("PositionLinear", (shape[0], out[0]), {"bias": args["bias"]}),
           source=TorchSource("PositionLinear", (
               SourceArg("in_features", value=in_channels, positional=True, channels=True),
               SourceArg("out_features", "out", out_channels, positional=True),
               SourceArg("bias", "bias", default=True)),
               channels=lambda channels, args, shape: args["out_features"], attribute="pwlinear"),
           from_modules=(FromTorch(("cnnspec.bridge.modules.PositionLinear",),
                                   lambda m, ctx: [layer_text("PWLINEAR", m.out_features,
                                                              bias=False if m.bias is None else None)]),)),
    OpSpec("fc", "fully connected; flattens a spatial input first", _fc,
           (Param("out", "int", "output features", REQUIRED, aliases=("out_features",), minimum=1),
            BIAS,
            Param("in", "int", "input features, checked against what arrives", None,
                  aliases=("in_features",), minimum=1)),
           positional=("out",), aliases={"linear": {}, "dense": {}}, example="FC(10)", module=_torch_fc,
           source=TorchSource("nn.Linear", (
               SourceArg("in_features", value=lambda args, shape, out: math.prod(shape), positional=True,
                         channels=lambda calls, shape: len(shape) == 1),
               SourceArg("out_features", "out", out_channels, positional=True),
               SourceArg("bias", "bias", default=True)),
               flattening_cls="FlattenLinear", channels=lambda channels, args, shape: args["out_features"]),
           from_modules=(FromTorch(("torch.nn.Linear",), _linear_from_module, check_input=_linear_check_input,
                                   layouts=(CHANNELS_LAST,)),
                         FromTorch(("cnnspec.bridge.modules.FlattenLinear",),
                                   lambda m, ctx: _linear_from_module(m, ctx, flattens=True),
                                   check_input=lambda m, shape: _linear_check_input(m, shape, flattens=True))),
           from_functions=(FromTorch(("torch.nn.functional.linear",), _linear_from_call, reads_parameters=True,
                                     layouts=(CHANNELS_LAST,)),),
           derive=_fc_working, slips=_fc_slips, flattens=True),
)
