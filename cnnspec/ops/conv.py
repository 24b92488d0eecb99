"""Convolution (CONV): 1-D, 2-D or 3-D, its rank taken from the input; grouped and depthwise."""

from __future__ import annotations

import math
from types import SimpleNamespace

from ..lang.words import shape_text
from .entry import (FromTorch, LayerContext, LayerResult, OpSpec, Slip, SourceArg, TorchSource, Unimportable, Window,
                    Working, in_channels, layer_text, nn_class, out_channels, power, ranked, same_value, unless)
from .params import BIAS, DILATION, KERNEL, REQUIRED, STRIDE, Param
from .windows import (axes_working, check_window_fits, conv_output_size, effective_kernel, same_padding, size_slips,
                      warn_untiled, window_geometry)


def _conv(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    c_in = ctx.channels
    out, groups = (c_in if ctx.args[n] == "in" else ctx.args[n] for n in ("out", "g"))
    if ctx.given("in") and ctx.args["in"] != c_in:
        ctx.fail(f"{ctx.text} expects {ctx.args['in']} input channels but receives {c_in} "
                 f"(input {shape_text(ctx.shape)})", "in")
    if c_in % groups:
        ctx.fail(f"{ctx.text}: g={groups} does not divide the {c_in} input channels", "g")
    if out % groups:
        ctx.fail(f"{ctx.text}: g={groups} does not divide the {out} output channels", "g")
    kernel, stride, dilation, pads = window_geometry(ctx)
    spatial = tuple(conv_output_size(n, k, s, a, b, d)
                    for n, k, s, (a, b), d in zip(ctx.spatial, kernel, stride, pads, dilation))
    check_window_fits(ctx, kernel, dilation, pads, "kernel", spatial)
    warn_untiled(ctx, kernel, stride, dilation, pads)
    weights_per_output = (c_in // groups) * math.prod(kernel)
    params = out * weights_per_output + (out if ctx.args["bias"] else 0)
    macs = out * math.prod(spatial) * weights_per_output
    window = Window(effective_kernel(kernel, dilation), stride)
    return LayerResult((out, *spatial), params=params, macs=macs, window=window)


def _conv_working(ctx: LayerContext, result: LayerResult) -> Working:
    out = result.shape[0]
    groups = ctx.channels if ctx.args["g"] == "in" else ctx.args["g"]
    kernel, stride, dilation, pads = window_geometry(ctx)
    per_filter = str(ctx.channels) if groups == 1 else f"({ctx.channels}/{groups})"
    weights = f"{per_filter}·{power(kernel)}"
    params = f"{out}·({weights}+1)" if ctx.args["bias"] else f"{out}·{weights}"
    return Working(axes=axes_working(ctx, kernel, stride, pads, dilation), params=params,
                   macs=f"{out}·{per_filter}·{power(result.shape[1:])}·{power(kernel)}")


def products_slips(ctx: LayerContext, result: LayerResult, per_output: int) -> list[Slip]:
    """Convolution and FC products: weights counted once, the bias counted, the in-channels left out."""
    positions = math.prod(result.shape[1:])
    out = result.shape[0]
    slips = []
    if positions > 1:
        weights = result.macs // positions
        slips.append(Slip("products", weights, f"weights only: {weights} is the number of weights, but each weight "
                                               f"is used once per output position, so multiply by the {positions} "
                                               "positions"))
    if ctx.args["bias"]:
        slips.append(Slip("products", result.macs + out * positions,
                          f"bias counted in the products: adding the bias is an addition, not a product "
                          f"({out * positions} too many)"))
    if per_output > 1:
        slips.append(Slip("products", result.macs // per_output,
                          f"in-channels left out: each output sums over {per_output} input channels, so multiply "
                          f"by {per_output}"))
    return slips


def _conv_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    out, positions = result.shape[0], math.prod(result.shape[1:])
    kernel = ctx.per_axis("k")
    per_filter = ctx.channels // (ctx.channels if ctx.args["g"] == "in" else ctx.args["g"])
    bias = out if ctx.args["bias"] else 0
    weights = out * per_filter * math.prod(kernel)
    slips = size_slips(ctx, result)
    if ctx.channels != out:
        slips.append(Slip("output", (ctx.channels, *result.shape[1:]),
                          f"input channels kept: the output has one channel per filter, {out}"))
    if bias:
        slips.append(Slip("params", weights, f"bias forgotten: each of the {out} filters also has a bias, +{out}"))
    if per_filter > 1:
        spans = f"{per_filter}·{power(kernel)} weights"
        slips.append(Slip("params", out * math.prod(kernel) + bias,
                          f"in-channels left out of the kernel: each filter spans all {per_filter} input channels, "
                          f"so it has {spans}"))
        if bias:
            slips.append(Slip("params", out * math.prod(kernel), f"in-channels left out of the kernel (and the bias "
                                                                 f"forgotten): each filter has {spans} and a bias"))
    if positions > 1:
        slips.append(Slip("params", (weights + bias) * positions,
                          f"output-size multiplication: the filters' weights are shared by all {positions} output "
                          "positions, so the count does not grow with the output size"))
        if bias:
            slips.append(Slip("params", weights * positions,
                              f"output-size multiplication: the weights are shared by all {positions} output "
                              "positions (and each filter also has a bias)"))
    return slips + products_slips(ctx, result, per_filter)


def _groups(args, shape, out=None):
    """Conv's groups, `g=in` (depthwise) being the input channels."""
    return shape[0] if args["g"] == "in" else args["g"]


def _torch_conv(args, shape, out):
    return nn_class("Conv", len(shape) - 1)(shape[0], out[0], args["k"], args["s"], args["p"], args["d"],
                                            _groups(args, shape), args["bias"])


def _conv_canonical(args: dict, shape: tuple) -> dict:
    """`p=valid` as 0, and `p=same` as its padding on each side where PyTorch pads evenly (an uneven `same`
    has no single number, so it stays `same`)."""
    if args["p"] == "valid":
        return {**args, "p": 0}
    if args["p"] == "same":
        rank = len(shape) - 1
        kernel, dilation = (v if isinstance(v, tuple) else (v,) * rank for v in (args["k"], args["d"]))
        pads = [same_padding(k, d) for k, d in zip(kernel, dilation)]
        if all(before == after for before, after in pads):
            return {**args, "p": tuple(before for before, _ in pads)}
    return args


def _conv_from_module(m, ctx):
    if m.padding_mode != "zeros":
        ctx.note(f"padding_mode={m.padding_mode!r}; cnnspec pads with zeros (shapes and counts are the same)")
    padding = m.padding
    if isinstance(padding, str):
        padding = "same" if padding == "same" else 0
    else:
        padding = same_value(padding)
    return [layer_text("CONV", m.out_channels, k=same_value(m.kernel_size), s=unless(same_value(m.stride), 1),
                       p=unless(padding, 0), d=unless(same_value(m.dilation), 1), g=unless(m.groups, 1),
                       bias=False if m.bias is None else None)]


def _conv_from_call(ctx):
    """`F.conv2d(x, self.weight, self.bias, stride, padding, dilation, groups)` (timm's Conv2dSame, after its own
    padding): the layer a Conv module of those parameters would be."""
    bound = ctx.bind(("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                     {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
    ctx.learned("weight", "bias")
    weight, rank = bound["weight"], len(ctx.inp) - 1
    as_tuple = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * rank)
    padding = bound["padding"] if isinstance(bound["padding"], str) else as_tuple(bound["padding"])
    return _conv_from_module(SimpleNamespace(
        out_channels=weight.shape[0], kernel_size=tuple(weight.shape[2:]), stride=as_tuple(bound["stride"]),
        padding=padding, dilation=as_tuple(bound["dilation"]), groups=bound["groups"], bias=bound["bias"],
        padding_mode="zeros"), ctx)


def _conv_check_input(m, shape):
    if shape[0] != m.in_channels:
        raise Unimportable(f"expects {m.in_channels} input channels but receives {shape_text(shape)}")


ENTRIES = (
    OpSpec("conv", "convolution; rank (1-D, 2-D, 3-D) taken from the input", _conv,
           (Param("out", "channels", "output channels", REQUIRED, aliases=("out_channels", "c"), minimum=1),
            KERNEL, STRIDE,
            Param("p", "padding", "padding on each side", 0, aliases=("padding", "pad"), minimum=0),
            DILATION,
            Param("g", "channels", "groups (`g=in`: depthwise)", 1, aliases=("groups",), minimum=1),
            BIAS,
            Param("in", "int", "input channels, checked against what arrives", None,
                  aliases=("in_channels",), minimum=1)),
           positional=("out",), aliases={"convolution": {}}, example="CONV(32, k=3, p=1)", module=_torch_conv,
           source=TorchSource("nn.Conv{rank}d", (
               SourceArg("in_channels", value=in_channels, positional=True, channels=True),
               SourceArg("out_channels", "out", out_channels, positional=True,
                         channels=lambda calls, shape: calls[0]["out"] == "in"),
               SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=1),
               SourceArg("padding", "p", default=0), SourceArg("dilation", "d", default=1),
               SourceArg("groups", "g", _groups, default=1,
                         channels=lambda calls, shape: any(args["g"] == "in" for args in calls)),
               SourceArg("bias", "bias", default=True)),
               channels=lambda channels, args, shape: args["out_channels"]),
           from_modules=(FromTorch(ranked("torch.nn.Conv"), _conv_from_module, check_input=_conv_check_input),),
           from_functions=(FromTorch(ranked("torch.nn.functional.conv"), _conv_from_call,
                                     reads_parameters=True),),
           derive=_conv_working, slips=_conv_slips, window="convolution", canonical=_conv_canonical),
)
