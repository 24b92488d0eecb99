"""Convolution (CONV) and transposed convolution (CONVT): 1-D, 2-D or 3-D, the rank taken from the input;
grouped and depthwise."""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import replace
from types import SimpleNamespace

from ..lang.words import shape_text, value_text
from .entry import (FromTorch, LayerContext, LayerResult, OpSpec, OwnModule, Slip, SourceArg, TorchSource, Unimportable, Window,
                    Working, in_channels, layer_text, nn_class, out_channels, power, ranked, same_value, unless)
from .params import BIAS, DILATION, KERNEL, REQUIRED, STRIDE, Param
from .windows import (AXIS_NAMES, axes_working, check_window_fits, conv_output_size, effective_kernel, same_padding,
                      size_slips, warn_untiled, window_geometry)

_OUT = Param("out", "channels", "output channels", REQUIRED, aliases=("out_channels", "c"), minimum=1)
_GROUPS = Param("g", "channels", "groups (`g=in`: depthwise)", 1, aliases=("groups",), minimum=1)
_IN = Param("in", "int", "input channels, checked against what arrives", None, aliases=("in_channels",), minimum=1)


def _channels(ctx: LayerContext) -> tuple[int, int, int]:
    """A convolution's (input channels, output channels, groups), `in` standing for the input channels,
    refused unless the groups divide both and `in=` says what arrives."""
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
    return c_in, out, groups


def _conv(ctx: LayerContext) -> LayerResult:
    c_in, out, groups = _channels(ctx)
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


def _conv_from_module(m, ctx, name="CONV", **more):
    """CONV (or `name`, with the `more` arguments) of a torch Conv module's arguments."""
    if m.padding_mode != "zeros":
        ctx.note(f"padding_mode={m.padding_mode!r}; cnnspec pads with zeros (shapes and counts are the same)")
    padding = m.padding
    if isinstance(padding, str):
        padding = "same" if padding == "same" else 0
    else:
        padding = same_value(padding)
    return [layer_text(name, m.out_channels, k=same_value(m.kernel_size), s=unless(same_value(m.stride), 1),
                       p=unless(padding, 0), d=unless(same_value(m.dilation), 1), g=unless(m.groups, 1),
                       bias=False if m.bias is None else None, **more)]


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


# ------------------------------------------------------------------------------- transposed convolution
#
# PyTorch's ConvTranspose: each input position adds its value times the kernel into the output, the kernel's
# taps d apart and the input's positions s apart; `p` then crops p from each side of what that gives, and
# `output_padding` adds rows after (on one side only), to reach a size that the floor of a convolution of
# stride s would have come from.


def convt_output_size(n: int, k: int, s: int, p: int, d: int, output_padding: int) -> int:
    """PyTorch's transposed convolution output size along one axis."""
    return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def convt_size_working(n: int, k: int, s: int, p: int, d: int, output_padding: int) -> str:
    """`(14 − 1)·2 − 2·1 + (3 − 1) + 1 + 1`: the output size along one axis, as a formula."""
    taps = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
    return f"({n} − 1)·{s} − 2·{p} + {taps} + {output_padding} + 1"


def convt_reach(k: int, s: int, d: int) -> int:
    """The most input positions one output of a transposed convolution reads, from the first to the last,
    along one axis. The output at x reads input i through tap t where i·s + t·d = x: the taps of one output
    are every (s/g)-th (g = gcd(s, d)), and the input moves d/g from one of them to the next."""
    g = math.gcd(s, d)
    return (k - 1) // (s // g) * (d // g) + 1


def _convt_geometry(ctx: LayerContext):
    """(kernel, stride, dilation, padding, output padding) on each axis."""
    return tuple(ctx.per_axis(name) for name in ("k", "s", "d", "p", "output_padding"))


def _convt(ctx: LayerContext) -> LayerResult:
    c_in, out, groups = _channels(ctx)
    kernel, stride, dilation, padding, extra = _convt_geometry(ctx)
    for axis, (o, s, d) in enumerate(zip(extra, stride, dilation)):
        if o >= s and o >= d:
            where = "" if len(set(zip(extra, stride, dilation))) == 1 else f" for the {AXIS_NAMES[ctx.rank][axis]}s"
            ctx.fail(f"{ctx.text}: output_padding must be smaller than the stride or the dilation (PyTorch's rule), "
                     f"but it is {o}{where}, where the stride is {s} and the dilation {d}", "output_padding")
    axes = tuple(zip(ctx.spatial, kernel, stride, padding, dilation, extra))
    spatial = tuple(convt_output_size(*axis) for axis in axes)
    for noun, size, axis in zip(AXIS_NAMES[ctx.rank], spatial, axes):
        if size < 1:
            ctx.fail(f"{ctx.text}: on the input {shape_text(ctx.shape)} its output would have "
                     f"{convt_size_working(*axis)} = {str(size).replace('-', '−')} {noun}s: the padding crops more "
                     "than the transposed convolution gives, and PyTorch needs at least 1", "p")
    weights = c_in * (out // groups) * math.prod(kernel)
    params = weights + (out if ctx.args["bias"] else 0)
    macs = weights * math.prod(ctx.spatial)  # as FlopCounterMode counts: every input position times the kernel
    # The stride is an upsampling: neighbouring outputs are 1/s of an input position apart.
    window = Window(tuple(convt_reach(k, s, d) for k, s, d in zip(kernel, stride, dilation)),
                    tuple(Fraction(1, s) for s in stride))
    return LayerResult((out, *spatial), params=params, macs=macs, window=window)


def _convt_working(ctx: LayerContext, result: LayerResult) -> Working:
    out = result.shape[0]
    groups = ctx.channels if ctx.args["g"] == "in" else ctx.args["g"]
    kernel, stride, dilation, padding, extra = _convt_geometry(ctx)
    weights = f"{ctx.channels}·{out if groups == 1 else f'({out}/{groups})'}·{power(kernel)}"
    return Working(axes=tuple(convt_size_working(*axis)
                              for axis in zip(ctx.spatial, kernel, stride, padding, dilation, extra)),
                   params=f"{weights} + {out}" if ctx.args["bias"] else weights,
                   macs=f"{weights}·{power(ctx.spatial)}")


def _convt_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    out, positions = result.shape[0], math.prod(ctx.spatial)
    kernel, stride, dilation, padding, extra = _convt_geometry(ctx)
    slips = [Slip("output", (out, *(conv_output_size(n, k, s, p, p, d)
                                    for n, k, s, p, d in zip(ctx.spatial, kernel, stride, padding, dilation))),
                  "the convolution's size rule: a transposed convolution enlarges its input, to "
                  "(n − 1)·s − 2·p + d·(k − 1) + output_padding + 1")]
    if any(extra):
        slips.append(Slip("output", (out, *(n - o for n, o in zip(result.shape[1:], extra))),
                          "output_padding forgotten: it adds its rows and columns after the rest, on one side"))
    if ctx.args["bias"]:
        slips.append(Slip("params", result.params - out, f"bias forgotten: each of the {out} output channels also "
                                                         f"has a bias, +{out}"))
    per_output = result.macs // positions * math.prod(result.shape[1:])
    if per_output != result.macs:
        slips.append(Slip("products", per_output,
                          f"counted per output position, as for a convolution: a transposed convolution multiplies "
                          f"each of the {positions} input positions by the whole kernel, so count those"))
    return slips


def _torch_convt(args, shape, out):
    return nn_class("ConvTranspose", len(shape) - 1)(
        shape[0], out[0], args["k"], stride=args["s"], padding=args["p"], output_padding=args["output_padding"],
        groups=_groups(args, shape), bias=args["bias"], dilation=args["d"])


def _convt_text(out, kernel, stride, padding, output_padding, dilation, groups, bias) -> str:
    return layer_text("CONVT", out, k=same_value(kernel), s=unless(same_value(stride), 1),
                      p=unless(same_value(padding), 0), output_padding=unless(same_value(output_padding), 0),
                      d=unless(same_value(dilation), 1), g=unless(groups, 1), bias=False if bias is None else None)


def _convt_from_module(m, ctx):
    # (A padding_mode other than zeros never gets here: ConvTranspose's forward refuses it, and the importer
    # says so.)
    output_padding = m.output_padding
    output_size = ctx.bind(("input", "output_size"), {"output_size": None})["output_size"]
    if output_size is not None:
        # The forward chose the output padding that reaches output_size; for this input, the one that gives
        # the output the trace saw.
        output_padding = tuple(o - convt_output_size(n, k, s, p, d, 0) for o, n, k, s, p, d in
                               zip(ctx.out[1:], ctx.inp[1:], m.kernel_size, m.stride, m.padding, m.dilation))
        ctx.note(f"output_size={value_text(tuple(output_size))} is written as output_padding="
                 f"{value_text(same_value(output_padding))}, what it comes to for this input")
    return [_convt_text(m.out_channels, m.kernel_size, m.stride, m.padding, output_padding, m.dilation, m.groups,
                        m.bias)]


def _convt_from_call(ctx):
    """`F.conv_transpose2d(x, self.weight, self.bias, stride, padding, output_padding, groups, dilation)`: the
    layer a ConvTranspose module of those parameters would be (its weight is in × out/groups × kernel)."""
    bound = ctx.bind(("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
                     {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1})
    ctx.learned("weight", "bias")
    weight, rank = bound["weight"], len(ctx.inp) - 1
    as_tuple = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * rank)
    return [_convt_text(weight.shape[1] * bound["groups"], tuple(weight.shape[2:]), as_tuple(bound["stride"]),
                        as_tuple(bound["padding"]), as_tuple(bound["output_padding"]), as_tuple(bound["dilation"]),
                        bound["groups"], bound["bias"])]


_CONV_SOURCE_ARGS = (
    SourceArg("in_channels", value=in_channels, positional=True, channels=True),
    SourceArg("out_channels", "out", out_channels, positional=True,
              channels=lambda calls, shape: calls[0]["out"] == "in"),
    SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=1),
    SourceArg("padding", "p", default=0), SourceArg("dilation", "d", default=1),
    SourceArg("groups", "g", _groups, default=1,
              channels=lambda calls, shape: any(args["g"] == "in" for args in calls)),
    SourceArg("bias", "bias", default=True))


def _wsconv(ctx: LayerContext) -> LayerResult:
    """A convolution whose weight is standardised as it is used (timm's StdConv2d; ScaledStdConv2d with a learned
    gain per output channel): the counts of CONV, and the gain's parameters."""
    if ctx.rank != 2:
        ctx.fail(f"{ctx.text} takes a 2-D map (C×H×W), not {shape_text(ctx.shape)}")
    result = _conv(ctx)
    return replace(result, params=result.params + (result.shape[0] if ctx.args["gain"] else 0))


def _torch_wsconv(args, shape, out):
    return OwnModule("StdConv2d", (shape[0], out[0], args["k"], args["s"], args["p"], args["d"], _groups(args, shape),
                                   args["bias"], args["gain"], args["gamma"], args["eps"]))


def _wsconv_from_module(m, ctx):
    """timm's StdConv2d, ScaledStdConv2d and their `Same` forms (TensorFlow's padding first, as a PAD)."""
    gain = getattr(m, "gain", None) is not None
    gamma = m.scale * math.prod(m.weight.shape[1:]) ** 0.5 if gain else 1.0
    pad = []
    if getattr(m, "same_pad", False):
        pad = [layer_text("PAD", "same", k=same_value(m.kernel_size), s=unless(same_value(m.stride), 1),
                          d=unless(same_value(m.dilation), 1))]
    return pad + _conv_from_module(m, ctx, "WSCONV", gain=gain or None, gamma=unless(round(gamma, 12), 1.0),
                                   eps=unless(m.eps, 1e-6))


def _channelconv(ctx: LayerContext) -> LayerResult:
    """ECA's 1-D convolution across the channels of a C×1×1 map (or a vector): one filter of k weights slid
    over the channels, zero-padded to keep C."""
    if any(n != 1 for n in ctx.spatial):
        ctx.fail(f"{ctx.text} slides along the channels of a C×1×1 map (after GAP), not of {shape_text(ctx.shape)}")
    k = ctx.args["k"]
    if k % 2 == 0:
        ctx.fail(f"{ctx.text}: k={k} is even, so the {ctx.channels} channels cannot keep their number", "k")
    return LayerResult(ctx.shape, params=k + (1 if ctx.args["bias"] else 0), macs=ctx.channels * k)


def _eca_from_module(m, ctx):
    """timm's EcaModule (Wang et al. 2020): GAP, the 1-D convolution across channels, a sigmoid gate."""
    if getattr(m, "conv2", None) is not None:
        raise Unimportable("it is timm's MLP variant of ECA (use_mlp=True), which cnnspec cannot write")
    if type(m.gate).__name__ != "Sigmoid":
        raise Unimportable(f"its gate is {type(m.gate).__name__}; cnnspec writes ECA's sigmoid gate")
    conv = m.conv
    if conv.padding[0] != (conv.kernel_size[0] - 1) // 2 or conv.stride[0] != 1 or conv.dilation[0] != 1:
        raise Unimportable("its 1-D convolution does not keep the number of channels")
    channelconv = layer_text("CHANNELCONV", conv.kernel_size[0], bias=True if conv.bias is not None else None)
    return [f"MUL {{ [] | GAP -> {channelconv} -> SIGMOID }}"]


ENTRIES = (
    OpSpec("conv", "convolution; rank (1-D, 2-D, 3-D) taken from the input", _conv,
           (_OUT, KERNEL, STRIDE,
            Param("p", "padding", "padding on each side", 0, aliases=("padding", "pad"), minimum=0),
            DILATION, _GROUPS, BIAS, _IN),
           positional=("out",), aliases={"convolution": {}}, example="CONV(32, k=3, p=1)", module=_torch_conv,
           source=TorchSource("nn.Conv{rank}d", _CONV_SOURCE_ARGS,
                              channels=lambda channels, args, shape: args["out_channels"]),
           from_modules=(FromTorch(ranked("torch.nn.Conv"), _conv_from_module, check_input=_conv_check_input),),
           from_functions=(FromTorch(ranked("torch.nn.functional.conv"), _conv_from_call,
                                     reads_parameters=True),),
           derive=_conv_working, slips=_conv_slips, window="convolution", canonical=_conv_canonical),
    OpSpec("convt", "transposed convolution, which upsamples; rank (1-D, 2-D, 3-D) taken from the input", _convt,
           (_OUT, KERNEL, STRIDE,
            Param("p", "ints", "rows and columns cropped from each side of the output", 0,
                  aliases=("padding", "pad"), minimum=0),
            Param("output_padding", "ints", "rows and columns added after, on one side (smaller than s or d)", 0,
                  aliases=("op",), minimum=0),
            DILATION, _GROUPS, BIAS, _IN),
           positional=("out",), aliases={"deconv": {}, "convtranspose": {}}, example="CONVT(64, k=2, s=2)",
           module=_torch_convt,
           source=TorchSource("nn.ConvTranspose{rank}d", (
               SourceArg("in_channels", value=in_channels, positional=True, channels=True),
               SourceArg("out_channels", "out", out_channels, positional=True,
                         channels=lambda calls, shape: calls[0]["out"] == "in"),
               SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=1),
               SourceArg("padding", "p", default=0), SourceArg("output_padding", "output_padding", default=0),
               SourceArg("groups", "g", _groups, default=1,
                         channels=lambda calls, shape: any(args["g"] == "in" for args in calls)),
               SourceArg("bias", "bias", default=True), SourceArg("dilation", "d", default=1)),
               channels=lambda channels, args, shape: args["out_channels"]),
           from_modules=(FromTorch(ranked("torch.nn.ConvTranspose"), _convt_from_module,
                                   check_input=_conv_check_input),),
           from_functions=(FromTorch(ranked("torch.nn.functional.conv_transpose"), _convt_from_call,
                                     reads_parameters=True),),
           derive=_convt_working, slips=_convt_slips),
    OpSpec("wsconv", "2-D convolution with its weight standardised per output channel as it is used (BiT, NFNet); "
                     "`gain=true`: and scaled by a learned gain per output channel", _wsconv,
           (_OUT, KERNEL, STRIDE,
            Param("p", "padding", "padding on each side", 0, aliases=("padding", "pad"), minimum=0),
            DILATION, _GROUPS, BIAS, _IN,
            Param("gain", "bool", "a learned gain per output channel (ScaledStdConv2d)", False),
            Param("gamma", "float", "the gain's constant factor (with `gain`)", 1.0),
            Param("eps", "float", "added to the weights' variance", 1e-6)),
           positional=("out",), example="WSCONV(64, k=3, p=1, gain=true)", module=_torch_wsconv,
           source=TorchSource("StdConv2d", _CONV_SOURCE_ARGS + (
               SourceArg("gain", "gain", default=False), SourceArg("gamma", "gamma", default=1.0),
               SourceArg("eps", "eps", default=1e-6)), channels=lambda channels, args, shape: args["out_channels"]),
           from_modules=(FromTorch(tuple(f"timm.layers.std_conv.{name}" for name in (
               "StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame")) +
               ("cnnspec.bridge.modules.StdConv2d",), _wsconv_from_module, by_name=True),),
           window="convolution", canonical=_conv_canonical),
    OpSpec("channelconv", "ECA's 1-D convolution across the channels of a C×1×1 map: k weights shared by all",
           _channelconv,
           (Param("k", "int", "filter size along the channels (odd)", 3, aliases=("kernel", "kernel_size"), minimum=1),
            Param("bias", "bool", "learn a bias", False)),
           positional=("k",), example="CHANNELCONV(3)",
           module=lambda args, shape, out: OwnModule("ChannelConv", (args["k"], args["bias"])),
           source=TorchSource("ChannelConv", (SourceArg("k", "k", positional=True),
                                              SourceArg("bias", "bias", default=False))),
           from_modules=(FromTorch(("cnnspec.bridge.modules.ChannelConv",),
                                   lambda m, ctx: [layer_text("CHANNELCONV", m.conv.kernel_size[0],
                                                              bias=True if m.conv.bias is not None else None)],
                                   by_name=True),
                         FromTorch(("timm.layers.eca.EcaModule",), _eca_from_module, by_name=True))),
)
