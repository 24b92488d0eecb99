"""Reshaping and resampling: FLATTEN, CHANNELSHUFFLE, SPLIT and RESIZE."""

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
