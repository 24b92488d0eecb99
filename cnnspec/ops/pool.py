"""Pooling: MAXPOOL and AVGPOOL over windows, the adaptive pools (GAP, GMP) to a fixed output size, and
BLURPOOL, a fixed binomial filter with a stride (anti-aliased downsampling), and ATTNPOOL, GCNet's attention
pooling to one value per channel."""

from __future__ import annotations

import math
from fractions import Fraction

from ..lang.words import shape_text, value_text
from .entry import (FromTorch, LayerContext, LayerResult, OpSpec, OwnModule, Slip, SourceArg, TorchSource, Unimportable, Window,
                    Working, layer_text, nn_class, per_axis, ranked, same_value, unless)
from .params import DILATION, REQUIRED, Param
from .windows import (axes_text, axes_working, check_window_fits, effective_kernel, pool_output_size, size_slips,
                      warn_untiled, window_geometry)

_CEIL = Param("ceil", "bool", "round the output size up", False, aliases=("ceil_mode",))


_POOL_S = Param("s", "ints", "stride (default: the kernel)", None, aliases=("stride",), minimum=1)


_POOL_P = Param("p", "ints", "padding on each side", 0, aliases=("padding", "pad"), minimum=0)


_OUT_SIZE = Param("out", "ints", "output size", REQUIRED, aliases=("output", "output_size", "size"), minimum=1)


def _pool(ctx: LayerContext, *, dilated: bool) -> LayerResult:
    ctx.need_spatial()
    kernel, stride, dilation, pads = window_geometry(ctx)
    padding = tuple(a for a, _ in pads)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            ctx.fail(f"{ctx.text}: padding {axes_text(padding)} is more than half the {shape_text(kernel)} "
                     f"window; PyTorch allows at most {axes_text(tuple(k // 2 for k in kernel))}", "p")
    if not dilated and ctx.rank == 3 and any(n < k for n, k in zip(ctx.spatial, kernel)):
        # aten's 3-D average pooling checks the input before padding against the window.
        ctx.fail(f"{ctx.text}: input is {shape_text(ctx.shape)}, smaller than the {shape_text(kernel)} window "
                 "(3-D average pooling in PyTorch compares the input before padding)")
    ceil = ctx.args["ceil"]
    spatial = tuple(pool_output_size(n, k, s, p, d, ceil)
                    for n, k, s, p, d in zip(ctx.spatial, kernel, stride, padding, dilation))
    check_window_fits(ctx, kernel, dilation, pads, "window", spatial)
    if not ceil:
        warn_untiled(ctx, kernel, stride, dilation, pads)
    window = Window(effective_kernel(kernel, dilation), stride)
    return LayerResult((ctx.channels, *spatial), window=window)


def blur_padding(k: int, s: int) -> int:
    """The padding of each side of BLURPOOL, as timm's BlurPool2d pads: ⌊(s − 1 + k − 1) / 2⌋."""
    return (s - 1 + k - 1) // 2


def _blurpool(ctx: LayerContext) -> LayerResult:
    """timm's BlurPool2d (Zhang 2019): padding, then a depthwise convolution with a fixed binomial filter."""
    ctx.need_spatial()
    k, s = ctx.args["k"], ctx.args["s"]
    if ctx.rank != 2:
        ctx.fail(f"{ctx.text} takes a 2-D map (C×H×W), not {shape_text(ctx.shape)}")
    p = blur_padding(k, s)
    if ctx.args["mode"] == "reflect" and any(p >= n for n in ctx.spatial):
        ctx.fail(f"{ctx.text}: reflect padding of {p} needs at least {p + 1} positions on each axis, but the input "
                 f"is {shape_text(ctx.shape)}")
    spatial = tuple((n + 2 * p - k) // s + 1 for n in ctx.spatial)
    if any(n < 1 for n in spatial):
        ctx.fail(f"{ctx.text}: the {k}×{k} filter does not fit the padded {shape_text(ctx.spatial)} input")
    filters = ctx.channels if ctx.args["per_channel"] else 1
    return LayerResult((ctx.channels, *spatial), buffers=filters * k * k, macs=ctx.channels * k * k * math.prod(spatial),
                       window=Window((k, k), (s, s)))


def _blurpool_from_module(m, ctx):
    return [layer_text("BLURPOOL", unless(m.filt_size, 3), s=unless(m.stride, 2), mode=unless(m.pad_mode, "reflect"),
                       per_channel=unless(m.channels is not None, True))]


def adaptive_window(size: int, out: int) -> tuple[int, Fraction]:
    """The largest window of adaptive pooling (PyTorch's start = ⌊i·n/o⌋, end = ⌈(i+1)·n/o⌉) and its mean step."""
    period = out // math.gcd(size, out)  # the window sizes repeat with this period
    largest = max(-(-((i + 1) * size) // out) - (i * size) // out for i in range(min(period, 100_000)))
    return largest, Fraction(size, out)


def _adaptive_pool(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    spatial = ctx.per_axis("out")
    windows = [adaptive_window(n, o) for n, o in zip(ctx.spatial, spatial)]
    window = Window(tuple(k for k, _ in windows), tuple(s for _, s in windows))
    return LayerResult((ctx.channels, *spatial), window=window)


def _attnpool(ctx: LayerContext) -> LayerResult:
    """GCNet's context modelling (Cao et al. 2019): a 1×1 conv to one map (C weights and a bias), its softmax
    over the positions, and the positions' sum weighted by it: C×1×1. MACs: the conv's and the weighted sum's,
    C per position each."""
    if ctx.rank != 2:
        ctx.fail(f"{ctx.text} takes a 2-D map (C×H×W), not {shape_text(ctx.shape)}")
    positions = math.prod(ctx.spatial)
    windows = [adaptive_window(n, 1) for n in ctx.spatial]
    return LayerResult((ctx.channels, *(1 for _ in ctx.spatial)), params=ctx.channels + 1,
                       macs=2 * ctx.channels * positions,
                       window=Window(tuple(k for k, _ in windows), tuple(s for _, s in windows)))


def _module_text(m, ctx) -> list[str]:
    """The layer of a plain torch module inside a module the importer reads whole: a 1×1 conv, a norm, an
    activation, a dropout; nothing for an identity."""
    from .activation import ENTRIES as ACTIVATIONS

    name = type(m).__name__
    if name == "Identity" or name == "Dropout" and m.p == 0:
        return []
    if name == "Conv2d" and tuple(m.kernel_size) == (1, 1) and tuple(m.stride) == (1, 1) and m.groups == 1:
        return [layer_text("CONV", m.out_channels, k=1, bias=False if m.bias is None else None)]
    if name in ("LayerNorm2d", "ChannelLayerNorm"):
        return [layer_text("LN", eps=unless(m.eps, 1e-5))]
    if name == "Dropout":
        return [layer_text("DROPOUT", unless(m.p, 0.5))]
    for op in ACTIVATIONS:
        if not op.params and any(f"torch.nn.{name}" in f.names for f in op.from_modules):
            return [op.name.upper()]
    raise Unimportable(f"it holds a {name}, which cnnspec cannot write inside it")


def _global_context_from_module(m, ctx):
    """timm's GlobalContext (GCNet): the context (ATTNPOOL, or GAP without attention) through a 1×1-conv MLP,
    gating the input (MUL, fuse_scale) or added to it (ADD, fuse_add)."""
    if (m.mlp_scale is None) == (m.mlp_add is None):
        raise Unimportable("it fuses its context both by a product and by a sum (or by neither), which cnnspec "
                           "cannot write without computing the context twice")
    context = "ATTNPOOL" if m.conv_attn is not None else "GAP"
    mlp = m.mlp_scale if m.mlp_scale is not None else m.mlp_add
    layers = [context] + [text for part in (mlp.fc1, mlp.norm, mlp.act, mlp.drop, mlp.fc2)
                          for text in _module_text(part, ctx)]
    if m.mlp_scale is not None:
        return [f"MUL {{ [] | {' -> '.join(layers + _module_text(m.gate, ctx))} }}"]
    return [f"ADD {{ [] | {' -> '.join(layers)} }}"]


def _pool_working(ctx: LayerContext, result: LayerResult) -> Working:
    kernel, stride, dilation, pads = window_geometry(ctx)
    return Working(axes=axes_working(ctx, kernel, stride, pads, dilation, ctx.args["ceil"]))


def _pool_canonical(args: dict, shape: tuple) -> dict:
    """A stride not given is the kernel."""
    return {**args, "s": args["k"]} if args["s"] is None else args


def _pool_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    return size_slips(ctx, result)


def _torch_pool(kind: str):
    def build(args, shape, out):
        extra = {"dilation": args["d"]} if kind == "Max" else {}
        return nn_class(f"{kind}Pool", len(shape) - 1)(args["k"], args["s"], args["p"], ceil_mode=args["ceil"], **extra)
    return build


def _pool_source(kind: str, *, dilated: bool) -> TorchSource:
    """How source writes MAXPOOL or AVGPOOL: `nn.MaxPool2d(kernel_size=3, stride=2, padding=1)`."""
    dilation = (SourceArg("dilation", "d", default=1),) if dilated else ()
    return TorchSource(f"nn.{kind}Pool{{rank}}d", (
        SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=None), SourceArg("padding", "p", default=0),
        *dilation, SourceArg("ceil_mode", "ceil", default=False)))


def _pool_text(name, ctx, kernel, stride, padding, dilation=1, ceil=False):
    rank = len(ctx.inp) - 1
    kernel = same_value(per_axis(kernel, rank))
    stride = kernel if stride is None or stride == [] or stride == () else same_value(per_axis(stride, rank))
    return layer_text(name, kernel, s=unless(stride, kernel), p=unless(same_value(per_axis(padding, rank)), 0),
                      d=unless(same_value(per_axis(dilation, rank)), 1) if name == "MAXPOOL" else None,
                      ceil=True if ceil else None)


def _maxpool_from_module(m, ctx):
    if m.return_indices:
        raise Unimportable("it returns indices, which cnnspec's MAXPOOL does not")
    return [_pool_text("MAXPOOL", ctx, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)]


def _maxpool_from_call(ctx):
    a = ctx.bind(("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
                 {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    if a["return_indices"]:
        raise Unimportable("it returns indices, which cnnspec's MAXPOOL does not")
    return [_pool_text("MAXPOOL", ctx, a["kernel_size"], a["stride"], a["padding"], a["dilation"], a["ceil_mode"])]


def _avgpool_from_module(m, ctx):
    if not getattr(m, "count_include_pad", True) or getattr(m, "divisor_override", None):
        ctx.note("count_include_pad=False or divisor_override changes what is averaged; cnnspec's AVGPOOL does "
                 "not say so (shapes and counts are the same)")
    return [_pool_text("AVGPOOL", ctx, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode)]


def _avgpool_from_call(ctx):
    a = ctx.bind(("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
                 {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                  "divisor_override": None})
    if not a["count_include_pad"] or a["divisor_override"]:
        ctx.note("count_include_pad=False or divisor_override changes what is averaged; cnnspec's AVGPOOL does "
                 "not say so (shapes and counts are the same)")
    return [_pool_text("AVGPOOL", ctx, a["kernel_size"], a["stride"], a["padding"], 1, a["ceil_mode"])]


def _adaptive_from_module(kind):
    def write(m, ctx):
        if getattr(m, "return_indices", False):
            raise Unimportable("it returns indices, which cnnspec's pools do not")
        spatial = ctx.out[1:]
        if all(n == 1 for n in spatial):
            return ["GAP" if kind == "avg" else "GMP"]
        return [layer_text("ADAPTIVEAVGPOOL" if kind == "avg" else "ADAPTIVEMAXPOOL", same_value(spatial))]
    return write


def _adaptive_from_call(kind):
    def write(ctx):
        if ctx.bind(("input", "output_size", "return_indices"), {"return_indices": False})["return_indices"]:
            raise Unimportable("it returns indices, which cnnspec's pools do not")
        return _adaptive_from_module(kind)(None, ctx)
    return write


def _mean_from_call(ctx):
    a = ctx.bind(("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    rank = len(ctx.full_in)
    dims = a["dim"]
    dims = tuple(range(rank)) if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)):
        raise Unimportable(f"it averages over axes {value_text(dims)} of the {rank}-axis input; cnnspec writes "
                           f"only the mean over every spatial axis (GAP)")
    return ["GAP"] if a["keepdim"] else ["GAP", "FLATTEN"]


ENTRIES = (
    OpSpec("maxpool", "max pooling", lambda ctx: _pool(ctx, dilated=True),
           (Param("k", "ints", "window size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1),
            _POOL_S, _POOL_P, DILATION, _CEIL),
           positional=("k",), aliases={"pool": {}}, example="MAXPOOL(2)", module=_torch_pool("Max"),
           source=_pool_source("Max", dilated=True),
           from_modules=(FromTorch(ranked("torch.nn.MaxPool"), _maxpool_from_module),),
           from_functions=(FromTorch(ranked("torch.nn.functional.max_pool"), _maxpool_from_call),),
           derive=_pool_working, slips=_pool_slips, window="pooling", canonical=_pool_canonical),
    OpSpec("avgpool", "average pooling", lambda ctx: _pool(ctx, dilated=False),
           (Param("k", "ints", "window size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1),
            _POOL_S, _POOL_P, _CEIL),
           positional=("k",), example="AVGPOOL(2)", module=_torch_pool("Avg"),
           source=_pool_source("Avg", dilated=False),
           from_modules=(FromTorch(ranked("torch.nn.AvgPool"), _avgpool_from_module),),
           from_functions=(FromTorch(ranked("torch.nn.functional.avg_pool"), _avgpool_from_call),),
           derive=_pool_working, slips=_pool_slips, window="pooling", canonical=_pool_canonical),
    OpSpec("adaptiveavgpool", "average pooling to a fixed output size", _adaptive_pool, (_OUT_SIZE,),
           positional=("out",), aliases={"gap": {"out": 1}}, example="ADAPTIVEAVGPOOL(7)",
           module=lambda args, shape, out: nn_class("AdaptiveAvgPool", len(shape) - 1)(args["out"]),
           source=TorchSource("nn.AdaptiveAvgPool{rank}d", (SourceArg("output_size", "out", positional=True),),
                              attribute="avgpool"),
           from_modules=(FromTorch(ranked("torch.nn.AdaptiveAvgPool"), _adaptive_from_module("avg")),),
           from_functions=(FromTorch(ranked("torch.nn.functional.adaptive_avg_pool"), _adaptive_from_call("avg")),
                           FromTorch(("torch.mean", "Tensor.mean"), _mean_from_call))),
    OpSpec("blurpool", "a fixed binomial blur with a stride, after padding (anti-aliased downsampling, timm's "
                       "BlurPool2d): k² buffers per channel, no parameters", _blurpool,
           (Param("k", "int", "filter size", 3, aliases=("filt_size",), minimum=2),
            Param("s", "int", "stride", 2, aliases=("stride",), minimum=1),
            Param("mode", "word", "what the padding holds", "reflect",
                  choices=("reflect", "constant", "replicate", "circular")),
            Param("per_channel", "bool", "one filter buffer per channel (false: one, expanded)", True)),
           positional=("k",), example="BLURPOOL(3, s=2)",
           module=lambda args, shape, out: OwnModule("BlurPool", (shape[0] if args["per_channel"] else None, args["k"],
                                                                  args["s"], args["mode"])),
           source=TorchSource("BlurPool", (
               SourceArg("channels", value=lambda args, shape, out: shape[0] if args["per_channel"] else None,
                         positional=True),
               SourceArg("filt_size", "k", default=3), SourceArg("stride", "s", default=2),
               SourceArg("pad_mode", "mode", default="reflect"))),
           from_modules=(FromTorch(("timm.layers.blur_pool.BlurPool2d", "cnnspec.bridge.modules.BlurPool"),
                                   _blurpool_from_module, by_name=True),)),
    OpSpec("attnpool", "attention pooling (GCNet): a softmax over the positions of a 1×1 conv's map weights their "
                       "sum, to C×1×1; C + 1 parameters", _attnpool, example="ATTNPOOL",
           module=lambda args, shape, out: OwnModule("AttentionPool", (shape[0],)),
           source=TorchSource("AttentionPool", (SourceArg("channels", value=lambda args, shape, out: shape[0],
                                                          positional=True),)),
           from_modules=(FromTorch(("cnnspec.bridge.modules.AttentionPool",), lambda m, ctx: ["ATTNPOOL"],
                                   by_name=True),
                         FromTorch(("timm.layers.global_context.GlobalContext",), _global_context_from_module,
                                   by_name=True))),
    OpSpec("adaptivemaxpool", "max pooling to a fixed output size", _adaptive_pool, (_OUT_SIZE,),
           positional=("out",), aliases={"gmp": {"out": 1}}, example="ADAPTIVEMAXPOOL(7)",
           module=lambda args, shape, out: nn_class("AdaptiveMaxPool", len(shape) - 1)(args["out"]),
           source=TorchSource("nn.AdaptiveMaxPool{rank}d", (SourceArg("output_size", "out", positional=True),),
                              attribute="maxpool"),
           from_modules=(FromTorch(ranked("torch.nn.AdaptiveMaxPool"), _adaptive_from_module("max")),),
           from_functions=(FromTorch(ranked("torch.nn.functional.adaptive_max_pool"),
                                     _adaptive_from_call("max")),)),
)
