"""Sliding windows, shared by convolution and pooling: output sizes as PyTorch computes them, padding,
the checks and warnings about windows that do not fit or do not tile, and their working and slips."""

from __future__ import annotations

from ..lang.words import join_words, shape_text
from .entry import LayerContext, LayerResult, Slip


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int) -> int:
    """PyTorch's convolution output size along one axis (floor division)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (aten pooling_output_shape), including its ceil-mode rule that the
    last window must start inside the input or the left padding."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def effective_kernel(kernel, dilation) -> tuple[int, ...]:
    """The extent a dilated window covers on each axis: d·(k − 1) + 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """How PyTorch splits `padding='same'`: the extra element of an odd total goes after."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


AXIS_NAMES = {1: ("element",), 2: ("row", "column"), 3: ("frame", "row", "column")}


def window_geometry(ctx: LayerContext):
    """A convolution's or pooling layer's window on each spatial axis: (kernel, stride, dilation, pads).

    A pooling layer's stride defaults to its kernel; average pooling has no dilation; pads are the
    padding before and after, from `p=N`, `p=(a, b)`, `p=same` or `p=valid`.
    """
    kernel = ctx.per_axis("k")
    stride = ctx.per_axis("s") if ctx.given("s") else kernel
    dilation = ctx.per_axis("d") if "d" in ctx.args else (1,) * ctx.rank
    return kernel, stride, dilation, pads_of(ctx, kernel, stride, dilation)


def pads_of(ctx: LayerContext, kernel, stride, dilation) -> tuple[tuple[int, int], ...]:
    padding = ctx.args["p"]
    if padding == "same":
        if any(s != 1 for s in stride):
            ctx.fail(f"{ctx.text}: `p=same` needs stride 1; PyTorch refuses 'same' padding with stride "
                     f"{axes_text(stride)}", "p")
        pads = tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
        if any(a != b for a, b in pads):
            ctx.warn(f"{ctx.text}: `p=same` with the even kernel {shape_text(kernel)} pads unevenly: PyTorch "
                     f"puts the extra padding after, not before", "p")
        return pads
    if padding == "valid":
        return ((0, 0),) * ctx.rank
    return tuple((p, p) for p in ctx.per_axis("p"))


def check_window_fits(ctx: LayerContext, kernel, dilation, pads, what: str, spatial_out) -> None:
    """Refuse an output size below 1, as PyTorch does, saying which window did not fit.

    Only the output decides: in ceil mode a pooling window may be larger than its input and still give 1.
    """
    if all(n >= 1 for n in spatial_out):
        return
    effective = effective_kernel(kernel, dilation)
    padded = tuple(n + a + b for n, (a, b) in zip(ctx.spatial, pads))
    message = f"{ctx.text}: input is {shape_text(ctx.shape)}"
    if padded != ctx.spatial:
        message += f", padded to {shape_text(padded)}"
    message += f", smaller than the {shape_text(kernel)} {what}"
    if effective != tuple(kernel):
        message += f" (dilated to {shape_text(effective)})"
    ctx.fail(message)


def warn_untiled(ctx: LayerContext, kernel, stride, dilation, pads) -> None:
    """Warn when the last windows stop short of the end of the input, so that input rows are never read.

    Rows of padding left over are not worth a word: `k=3, s=2, p=1` on an even size always leaves one.
    """
    dropped = []
    for axis, (n, e, s, (a, b)) in enumerate(zip(ctx.spatial, effective_kernel(kernel, dilation), stride, pads)):
        if e < s:  # windows with gaps between them skip rows by design (1×1, stride 2)
            continue
        unread = (n + a + b - e) % s - b
        if unread > 0:
            noun = AXIS_NAMES[ctx.rank][axis]
            dropped.append(f"last {noun}" if unread == 1 else f"last {unread} {noun}s")
    if dropped:
        verb = "is" if len(dropped) == 1 and dropped[0].count(" ") == 1 else "are"
        ctx.warn(f"{ctx.text}: stride {axes_text(stride)} does not tile the {shape_text(ctx.spatial)} input: "
                 f"its {join_words(dropped)} {verb} never used")


def axes_text(values) -> str:
    """`2` when every axis has the same value, `2×1` otherwise."""
    return str(values[0]) if len(set(values)) == 1 else shape_text(values)


def size_working(n: int, k: int, s: int, before: int, after: int, d: int, ceil: bool = False) -> str:
    """`⌊(28 + 2·0 − 5)/1⌋ + 1`: PyTorch's output size along one axis, as a formula."""
    padded = f"{n} + 2·{before}" if before == after else f"{n} + {before} + {after}"
    window = f"{k}" if d == 1 else f"{d}·({k} − 1) − 1"
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    text = f"{left}({padded} − {window})/{s}{right} + 1"
    if ceil and -(-(n + before + after - d * (k - 1) - 1) // s) * s >= n + before:
        text += " − 1"  # PyTorch drops a last window that would start in the right padding
    return text


def axes_working(ctx: LayerContext, kernel, stride, pads, dilation, ceil=False):
    axes = []
    for n, k, s, (a, b), d in zip(ctx.spatial, kernel, stride, pads, dilation):
        axes.append(size_working(n, k, s, a, b, d, ceil))
    return tuple(axes)


def size_slips(ctx: LayerContext, result: LayerResult) -> list[Slip]:
    """Rounding up, a pooling stride of 1, padding added once or four times: convolution and pooling sizes."""
    kernel, stride, dilation, pads = window_geometry(ctx)
    channels = result.shape[0]

    def sizes(rounding, strides=stride, padded=lambda a, b: a + b):
        return (channels, *(rounding(n + padded(a, b) - d * (k - 1) - 1, s) + 1
                            for n, k, s, (a, b), d in zip(ctx.spatial, kernel, strides, pads, dilation)))

    def floor(x, s):
        return x // s

    def ceil(x, s):
        return -(-x // s)

    slips = []
    if not ctx.args.get("ceil"):
        slips.append(Slip("output", sizes(ceil), "ceil instead of floor: the size rounds down, ⌊(n + 2p − k)/s⌋ + 1, "
                                                 "since a window that does not fit whole is dropped"))
    if not ctx.given("s"):  # a pooling layer's stride: its kernel
        slips.append(Slip("output", sizes(floor, (1,) * ctx.rank),
                          f"pooling stride taken as 1: a pooling layer's stride is its kernel "
                          f"({shape_text(kernel)}) unless given"))
    if any(a or b for a, b in pads):
        slips.append(Slip("output", sizes(floor, padded=max),
                          "total padding taken as per-side: p pads each side, so the input grows by 2·p, not p"))
        slips.append(Slip("output", sizes(floor, padded=lambda a, b: 2 * (a + b)),
                          "padding counted twice: p is per side already, so the input grows by 2·p, not 4·p"))
    return slips
