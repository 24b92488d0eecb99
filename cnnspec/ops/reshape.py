"""Reshaping, padding and resampling: FLATTEN, CHANNELSHUFFLE, SPLIT, SLICE, SPACETODEPTH, PAD and RESIZE."""

from __future__ import annotations

import math
from fractions import Fraction

from ..lang.words import shape_text
from .entry import (FromTorch, LayerContext, LayerResult, OpSpec, OwnModule, Slip, SourceArg, TorchSource,
                    Unimportable, Window, Working, layer_text, own_module, plain_module, product_text, same_value,
                    unless, whole_number)
from .params import REQUIRED, SIZE_LIMIT, Param
from .pool import adaptive_window


def _flatten(ctx: LayerContext) -> LayerResult:
    return LayerResult((math.prod(ctx.shape),))


def _flatten_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(size=product_text(ctx.shape) if len(ctx.shape) > 1 else "")


def _flatten_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    shape = ctx.shape
    right = f"FLATTEN receives {shape_text(shape)}, so {product_text(shape)} = {math.prod(shape)}"
    slips = [Slip("output", (math.prod(shape[:drop] + shape[drop + 1:]),),
                  f"wrong flatten size: a size is left out; {right}") for drop in range(len(shape))]
    slips += [Slip("output", (math.prod(other),), f"wrong flatten size: {math.prod(other)} is layer {index}'s "
                                                  f"output ({shape_text(other)}) flattened; {right}")
              for index, other in others if other != shape and len(other) > 1]
    return slips


def _channel_shuffle(ctx: LayerContext) -> LayerResult:
    groups = ctx.args["groups"]
    if ctx.channels % groups:
        ctx.fail(f"{ctx.text}: {groups} groups do not divide the {ctx.channels} channels", "groups")
    return LayerResult(ctx.shape)


def _split(ctx: LayerContext) -> LayerResult:
    """One piece of `torch.chunk(x, parts, dim=1)`: pieces of ⌈C/parts⌉ channels, the last one what is left."""
    parts, index = ctx.args["parts"], ctx.args["i"]
    size = -(-ctx.channels // parts)
    channels = min(size, ctx.channels - index * size)
    if index >= parts or channels < 1:
        pieces = -(-ctx.channels // size)
        ctx.fail(f"{ctx.text}: {ctx.channels} channels in pieces of {size} make only {pieces} "
                 f"piece{'s' if pieces != 1 else ''}, so there is no piece i={index} (counted from 0)", "i")
    return LayerResult((channels, *ctx.spatial))


def slice_stop(args: dict, shape: tuple) -> int:
    """Where SLICE ends: its `stop`, or the last channel."""
    return shape[0] if args["stop"] is None else args["stop"]


def _slice(ctx: LayerContext) -> LayerResult:
    """Channels start … stop − 1 of the input, as `x[:, start:stop]`."""
    start, stop = ctx.args["start"], slice_stop(ctx.args, ctx.shape)
    if stop > ctx.channels:
        ctx.fail(f"{ctx.text}: stop={stop} is past the {ctx.channels} channels it receives", "stop")
    if start >= stop and not ctx.given("stop"):
        ctx.fail(f"{ctx.text}: start={start} leaves none of the {ctx.channels} channels it receives", "start")
    if start >= stop:
        ctx.fail(f"{ctx.text}: start={start} is not before stop={stop}, so the slice has no channel", "start")
    return LayerResult((stop - start, *ctx.spatial))


def _space_to_depth(ctx: LayerContext) -> LayerResult:
    block = ctx.args["block"]
    if len(ctx.shape) != 3:
        ctx.fail(f"{ctx.text} takes a 2-D map (C×H×W), not {shape_text(ctx.shape)}")
    if any(n % block for n in ctx.spatial):
        ctx.fail(f"{ctx.text}: blocks of {block}×{block} do not tile the {shape_text(ctx.spatial)} positions", "block")
    return LayerResult((ctx.channels * block * block, *(n // block for n in ctx.spatial)),
                       window=Window((block, block), (block, block)))


_PAD_MODES = ("constant", "zeros", "reflect", "replicate", "circular")


def tf_same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding of one axis for a window (k, stride s, dilation d): the output has ⌈size/s⌉
    positions, and the odd pixel of an uneven total goes after (as TF and timm's tf_* models pad)."""
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pad_sides(args: dict, shape: tuple) -> tuple[tuple[int, int], ...]:
    """PAD's (before, after) for each spatial axis of the input `shape`."""
    rank = len(shape) - 1
    axis = (lambda v: v if isinstance(v, tuple) else (v,) * rank)
    if args["p"] == "same":
        return tuple(tf_same_pads(n, k, s, d) for n, k, s, d in
                     zip(shape[1:], axis(args["k"]), axis(args["s"] or 1), axis(args["d"] or 1)))
    if args["p"] is not None:
        return tuple((v, v) for v in axis(args["p"]))
    return tuple(zip(axis(args["before"] or 0), axis(args["after"] or 0)))


def _pad(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    same, sides = ctx.args["p"] == "same", ("before", "after")
    if ctx.given("p") and any(ctx.given(side) for side in sides):
        ctx.fail(f"{ctx.text} takes `p=` (both sides) or `before=` and `after=` (each side), not both")
    if not ctx.given("p") and not any(ctx.given(side) for side in sides):
        ctx.fail(f"{ctx.text} needs its sizes: `p=` (both sides of each axis, or `same`), or `before=` and `after=`")
    if same and not ctx.given("k"):
        ctx.fail(f"{ctx.text}: `p=same` pads as TensorFlow does for a window, so it needs the window's size `k=` "
                 f"(and `s=`, `d=` when they are not 1)", "p")
    for name in ("k", "s", "d"):
        if ctx.given(name) and not same:
            ctx.fail(f"{ctx.text}: `{name}=` describes the window of `p=same`; without it PAD takes no `{name}=`",
                     name)
    for name in ("p", "before", "after", "k", "s", "d"):
        if ctx.given(name) and ctx.args[name] != "same":
            ctx.per_axis(name)  # one value, or one per spatial axis
    mode = ctx.args["mode"]
    if ctx.args["value"] != 0 and mode not in ("constant", "zeros"):
        ctx.fail(f"{ctx.text}: `value=` is what `constant` padding adds; mode `{mode}` adds none", "value")
    pads = pad_sides(ctx.args, ctx.shape)
    for n, (before, after) in zip(ctx.spatial, pads):
        if mode == "reflect" and max(before, after) >= n:
            ctx.fail(f"{ctx.text}: reflect padding of {max(before, after)} needs more than {max(before, after)} "
                     f"positions along the axis, but the input {shape_text(ctx.shape)} has {n}")
        if mode == "circular" and max(before, after) > n:
            ctx.fail(f"{ctx.text}: circular padding of {max(before, after)} wraps around more than the {n} "
                     f"positions of the input {shape_text(ctx.shape)}")
    return LayerResult((ctx.channels, *(n + b + a for n, (b, a) in zip(ctx.spatial, pads))))


def _torch_pad_order(args, shape, out=None) -> tuple[int, ...]:
    """PAD's sides in F.pad's order: the last axis first, before then after."""
    return tuple(v for pair in reversed(pad_sides(args, shape)) for v in pair)


def _pad_mode(args) -> str:
    return "constant" if args["mode"] == "zeros" else args["mode"]


def _pad_text(pads, mode, value, rank, window=None) -> list[str]:
    """PAD from F.pad's sides (last axis first); `window` (k, s, d) of the module that pads, if it has one,
    gives `p=same` when TensorFlow's rule pads exactly so."""
    if len(pads) % 2 or len(pads) > 2 * rank:
        raise Unimportable(f"it pads {len(pads) // 2} axes of a sample with {rank} spatial axes; cnnspec's PAD pads "
                           f"the spatial axes only")
    if mode not in _PAD_MODES:
        raise Unimportable(f"its mode {mode!r} is not one of cnnspec's PAD modes ({', '.join(_PAD_MODES)})")
    if value is not None and not math.isfinite(value):
        raise Unimportable(f"it pads with {value}, which cnnspec's PAD cannot write (a max pool pads with -inf "
                           f"itself: write its padding there)")
    pairs = [(0, 0)] * (rank - len(pads) // 2) + [tuple(pads[i:i + 2]) for i in range(len(pads) - 2, -1, -2)]
    extra = {"mode": unless(mode, "constant"), "value": unless(value or 0, 0)}
    if window is not None:
        return [layer_text("PAD", "same", k=same_value(window[0]), s=unless(same_value(window[1]), 1),
                           d=unless(same_value(window[2]), 1), **extra)]
    if all(b == a for b, a in pairs):
        return [layer_text("PAD", same_value(tuple(b for b, _ in pairs)), **extra)]
    return [layer_text("PAD", before=same_value(tuple(b for b, _ in pairs)),
                       after=same_value(tuple(a for _, a in pairs)), **extra)]


def _tf_window(ctx, pads) -> tuple | None:
    """The window of the module making this F.pad call (timm's Conv2dSame, MaxPool2dSame), when TensorFlow's
    "SAME" rule for it gives exactly these sides."""
    owner = ctx.caller()
    if owner is None or not all(hasattr(owner, a) for a in ("kernel_size", "stride", "dilation")):
        return None
    rank = len(ctx.inp) - 1
    axis = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * rank)
    window = tuple(axis(getattr(owner, a)) for a in ("kernel_size", "stride", "dilation"))
    expected = [v for n, k, s, d in reversed(list(zip(ctx.inp[1:], *window))) for v in tf_same_pads(n, k, s, d)]
    return window if list(pads) == expected else None


def _pad_from_call(ctx):
    a = ctx.bind(("input", "pad", "mode", "value"), {"mode": "constant", "value": None})
    pads = tuple(a["pad"])
    return _pad_text(pads, a["mode"], a["value"], len(ctx.inp) - 1, _tf_window(ctx, pads))


def _pad_from_module(m, ctx):
    mode = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect", "Replication": "replicate",
            "Circular": "circular"}.get(type(m).__name__.split("Pad")[0], getattr(m, "mode", "constant"))
    return _pad_text(tuple(m.padding), mode, getattr(m, "value", None), len(ctx.inp) - 1)


_RESIZE_KERNEL = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


_RESIZE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _resize(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    mode = ctx.args["mode"]
    if mode in _RESIZE_RANK and _RESIZE_RANK[mode] != ctx.rank:
        ctx.fail(f"{ctx.text}: mode `{mode}` works on {_RESIZE_RANK[mode]}-D inputs, but the input "
                 f"{shape_text(ctx.shape)} is {ctx.rank}-D", "mode")
    if ctx.args["align_corners"] is not None and mode not in _RESIZE_RANK:
        ctx.fail(f"{ctx.text}: `align_corners` only applies to the interpolating modes (linear, bilinear, bicubic, "
                 f"trilinear), not to `{mode}`", "align_corners")
    if ctx.given("size") == ctx.given("scale"):
        ctx.fail(f"{ctx.text} needs exactly one of `size=` and `scale=`")
    if ctx.given("size"):
        spatial = ctx.per_axis("size")
    else:
        # F.interpolate computes ⌊n·scale⌋ in double precision; Python floats are the same doubles.
        spatial = tuple(math.floor(n * s) for n, s in zip(ctx.spatial, ctx.per_axis("scale")))
        if any(n < 1 for n in spatial):
            ctx.fail(f"{ctx.text}: scaling the {shape_text(ctx.shape)} input gives an empty "
                     f"{shape_text(spatial)} output", "scale")
    if mode == "area":
        kernel = tuple(adaptive_window(n, o)[0] for n, o in zip(ctx.spatial, spatial))
    else:
        kernel = (_RESIZE_KERNEL[mode],) * ctx.rank
    window = Window(kernel, tuple(Fraction(n, o) for n, o in zip(ctx.spatial, spatial)))
    return LayerResult((ctx.channels, *spatial), window=window)


def _torch_resize(args, shape, out):
    return OwnModule("Resize", kwargs={"size": args["size"], "scale_factor": args["scale"], "mode": args["mode"],
                                       "align_corners": args["align_corners"]})


def _shuffle_from_module(m, ctx):
    return [layer_text("CHANNELSHUFFLE", m.groups)]


def _split_from_module(m, ctx):
    return [layer_text("SPLIT", m.parts, i=m.index)]


def _slice_from_module(m, ctx):
    return [slice_text(m.start, m.stop, ctx.inp[0])]


def slice_text(start: int, stop: int, channels: int) -> str:
    """SLICE of channels start … stop − 1 of `channels`, written short."""
    return layer_text("SLICE", None if stop == channels else stop, start=unless(start, 0))


def _resize_text(size, scale, mode, align_corners):
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"):
        raise Unimportable(f"its mode {mode!r} is not one cnnspec's RESIZE knows")
    return [layer_text("RESIZE", scale=None if scale is None else whole_number(same_value(scale)),
                       size=None if size is None else same_value(size), mode=unless(mode, "nearest"),
                       align_corners=align_corners)]


def _resize_from_module(m, ctx):
    return _resize_text(m.size, m.scale_factor, m.mode, m.align_corners)


def _resize_from_call(ctx):
    a = ctx.bind(("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
                 {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None})
    return _resize_text(a["size"], a["scale_factor"], a["mode"], a["align_corners"])


ENTRIES = (
    OpSpec("flatten", "flattens to a vector", _flatten, example="FLATTEN", module=plain_module("Flatten"),
           source=TorchSource("nn.Flatten", channels=lambda channels, args, shape:
                              channels if math.prod(shape[1:]) == 1 else None),
           from_modules=(FromTorch(("torch.nn.Flatten",), lambda m, ctx: ctx.reshape()),),
           # Views: a FLATTEN when they flatten every axis but the batch, nothing when they keep the shape.
           from_functions=(FromTorch(("torch.flatten", "torch.reshape", "torch.squeeze", "Tensor.view",
                                      "Tensor.reshape", "Tensor.flatten", "Tensor.squeeze"),
                                     lambda ctx: ctx.reshape()),),
           derive=_flatten_working, slips=_flatten_slips, code_word="flatten"),
    OpSpec("channelshuffle", "channel shuffle (ShuffleNet)", _channel_shuffle,
           (Param("groups", "int", "groups", REQUIRED, aliases=("g",), minimum=1),),
           positional=("groups",), aliases={"shuffle": {}}, example="CHANNELSHUFFLE(2)",
           module=own_module("ChannelShuffle", "groups"),
           source=TorchSource("nn.ChannelShuffle", (SourceArg("groups", "groups", positional=True),),
                              attribute="shuffle"),
           from_modules=(FromTorch(("torch.nn.ChannelShuffle", "cnnspec.bridge.modules.ChannelShuffle"),
                                   _shuffle_from_module),)),
    OpSpec("split", "one piece of the channels, as torch.chunk(x, parts, dim=1)[i]", _split,
           (Param("parts", "int", "number of pieces", REQUIRED, minimum=1),
            Param("i", "int", "which piece, from 0", REQUIRED, aliases=("index",), minimum=0)),
           positional=("parts",), aliases={"chunk": {}}, example="SPLIT(2, i=0)",
           module=own_module("Split", "parts", "i"),
           source=TorchSource("Split", (SourceArg("parts", "parts", positional=True),
                                        SourceArg("index", "i", positional=True)),
                              inline="torch.chunk({x}, {0}, dim=1)[{1}]",
                              channels=lambda channels, args, shape: channels // args["parts"]),
           from_modules=(FromTorch(("cnnspec.bridge.modules.Split",), _split_from_module),), code_word="chunk"),
    OpSpec("slice", "a range of the channels, as x[:, start:stop]", _slice,
           (Param("stop", "int", "the channel it stops before (default: all)", None, minimum=1),
            Param("start", "int", "the first channel, from 0", 0, minimum=0)),
           positional=("stop",), example="SLICE(16, start=8)",
           module=lambda args, shape, out: OwnModule("Slice", (args["start"], slice_stop(args, shape))),
           source=TorchSource("Slice", (SourceArg("start", "start", positional=True),
                                        SourceArg("stop", value=lambda args, shape, out: slice_stop(args, shape),
                                                  positional=True)),
                              inline="{x}[:, {0}:{1}]",
                              channels=lambda channels, args, shape: args["stop"] - args["start"]),
           from_modules=(FromTorch(("cnnspec.bridge.modules.Slice",), _slice_from_module),), code_word="slicing"),
    OpSpec("spacetodepth", "each block×block patch of positions as block² times the channels (TResNet's stem)",
           _space_to_depth, (Param("block", "int", "the side of a patch", REQUIRED, aliases=("bs",), minimum=1),),
           positional=("block",), example="SPACETODEPTH(4)", module=own_module("SpaceToDepth", "block"),
           source=TorchSource("SpaceToDepth", (SourceArg("block", "block", positional=True),)),
           from_modules=(FromTorch(("timm.layers.space_to_depth.SpaceToDepth", "cnnspec.bridge.modules.SpaceToDepth"),
                                   lambda m, ctx: [layer_text("SPACETODEPTH", getattr(m, "bs", getattr(m, "block", 4)))],
                                   by_name=True),)),
    OpSpec("pad", "padding of the spatial axes: constant, reflect, replicate, circular; TensorFlow's `same`", _pad,
           (Param("p", "pads", "on both sides of each axis, or `same` (TensorFlow's, for the window k, s, d)", None,
                  aliases=("padding",), minimum=0),
            Param("before", "ints", "before each axis (top, left)", None, minimum=0),
            Param("after", "ints", "after each axis (bottom, right)", None, minimum=0),
            Param("mode", "word", "what the padding holds", "constant", choices=_PAD_MODES),
            Param("value", "float", "of constant padding", 0.0),
            Param("k", "ints", "window of `p=same`", None, minimum=1),
            Param("s", "ints", "stride of `p=same`", None, minimum=1),
            Param("d", "ints", "dilation of `p=same`", None, minimum=1)),
           positional=("p",), example="PAD(1, mode=reflect)",
           module=lambda args, shape, out: OwnModule("Pad", (_torch_pad_order(args, shape), _pad_mode(args),
                                                             args["value"])),
           source=TorchSource("Pad", (SourceArg("pads", value=_torch_pad_order, positional=True),
                                      SourceArg("mode", value=lambda args, shape, out: _pad_mode(args),
                                                default="constant"),
                                      SourceArg("value", "value", default=0.0)),
                              inline="F.pad({x}, {0}, {1}, {2})"),
           from_modules=(FromTorch(tuple(f"torch.nn.{kind}Pad{rank}d" for kind in
                                         ("Zero", "Constant", "Reflection", "Replication", "Circular")
                                         for rank in (1, 2, 3)) + ("cnnspec.bridge.modules.Pad",),
                                   _pad_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.pad",), _pad_from_call),)),
    OpSpec("resize", "interpolation to a size or by a scale", _resize,
           (Param("scale", "floats", "scale factor", None, aliases=("scale_factor",), minimum=1e-9, maximum=SIZE_LIMIT),
            Param("size", "ints", "output size", None, minimum=1),
            Param("mode", "word", "interpolation", "nearest",
                  choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")),
            Param("align_corners", "bool", "align corner pixels (linear modes)", None, aliases=("align",))),
           aliases={"upsample": {}, "interpolate": {}}, example="RESIZE(scale=2)", module=_torch_resize,
           source=TorchSource("nn.Upsample", (
               SourceArg("size", "size", default=None), SourceArg("scale_factor", "scale", default=None),
               SourceArg("mode", "mode", default="nearest"),
               SourceArg("align_corners", "align_corners", default=None))),
           from_modules=(FromTorch(("torch.nn.Upsample", "cnnspec.bridge.modules.Resize"), _resize_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.interpolate", "torch.nn.functional.upsample"),
                                     _resize_from_call),)),
)
