"""Property test: random valid chains against PyTorch.

A hypothesis strategy draws a random *valid* chain: an input of rank 0 to 3, then layers whose PyTorch call
would succeed on the current shape, sometimes wrapped in (nested) repeats. From the same random choices it
writes the spec text and builds the equivalent ``nn.Sequential`` by hand. The mapping from layer to torch
module and the shape rules used to keep the chain valid are this file's own (PyTorch's documented formulas and
aten's shape checks), not cnnspec's. cnnspec must then agree with one batch-1 pass of the module on the meta
device (``torch_reference.measure``), layer by layer.

The test is derandomized and uses no example database, so CI sees the same examples on every run (the
examples change only when this file, cnnspec's source or hypothesis change); it shrinks only the first failure
it finds (report_multiple_bugs=False). Random and mangled text against the error contract is the fuzz test's,
tests/lang/test_fuzz.py (which takes `rarely` from here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from profiles import examples
from torch import nn

import cnnspec
import cnnspec.cli
from torch_reference import measure

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"

Shape = tuple[int, ...]

# Sizes stay small: the meta device makes them free for torch, but small sizes make the shape rules bite
# (windows that barely fit, ceil-mode edges, groups that must divide) and failures easy to read.
MAX_CHANNELS = 12
MAX_SPATIAL = {1: 40, 2: 20, 3: 10}
MAX_SIZE = 200  # a resize may not grow an axis beyond this
MAX_TOP_LEVEL_ITEMS = 10
MAX_GROUP_ITEMS = 3
MAX_DEPTH = 2  # repeats inside repeats, at most this deep


# =============================================================================== torch side: the modules


class FlattenLinear(nn.Module):
    """cnnspec's FC on a spatial input: flatten, then one linear map. One leaf, so one record."""

    def __init__(self, in_features: int, out_features: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    def forward(self, x):
        return F.linear(x.flatten(1), self.weight, self.bias)


class Interpolate(nn.Module):
    """RESIZE: F.interpolate as a leaf module."""

    def __init__(self, size, scale, mode: str, align_corners: Optional[bool]):
        super().__init__()
        self.size, self.scale, self.mode, self.align_corners = size, scale, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, size=self.size, scale_factor=self.scale, mode=self.mode,
                             align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, mode={self.mode!r}, align_corners={self.align_corners}"


class Padded(nn.Module):
    """PAD: F.pad of fixed sides (F.pad's order: the last axis first) as a leaf module."""

    def __init__(self, sides, mode: str, value: float):
        super().__init__()
        self.sides, self.mode, self.value = sides, mode, value

    def forward(self, x):
        return F.pad(x, self.sides, self.mode, self.value if self.mode == "constant" else None)


class ChannelsLast(nn.Module):
    """F.layer_norm or F.linear of the channels, moved to the last axis and back, as ConvNeXt's blocks do (a
    vector as it is); one leaf, its parameters its own."""

    def __init__(self, kind: str, channels: int, out: int = 0, bias: bool = True, eps: float = 1e-5):
        super().__init__()
        self.kind, self.eps = kind, eps
        if kind == "layer_norm":
            self.weight, self.bias = nn.Parameter(torch.ones(channels)), nn.Parameter(torch.zeros(channels))
        else:
            self.weight = nn.Parameter(torch.empty(out, channels))
            self.bias = nn.Parameter(torch.empty(out)) if bias else None

    def forward(self, x):
        moved = x if x.dim() == 2 else x.movedim(1, -1)
        if self.kind == "layer_norm":
            y = F.layer_norm(moved, (moved.shape[-1],), self.weight, self.bias, self.eps)
        else:
            y = F.linear(moved, self.weight, self.bias)
        return y if x.dim() == 2 else y.movedim(-1, 1)


class Scale(nn.Module):
    """LAYERSCALE: one learned factor per channel."""

    def __init__(self, shape: Shape):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(shape[0], *(1 for _ in shape[1:])))

    def forward(self, x):
        return x * self.gamma


CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
ADAPTIVE_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
ADAPTIVE_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
BATCHNORM = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
INSTANCENORM = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


# ============================================================================ shape rules (PyTorch's own)


def rank_of(shape: Shape) -> int:
    return len(shape) - 1


def per_axis(value, rank: int) -> Optional[tuple]:
    """An int or tuple argument as one value per spatial axis; None when a tuple does not fit the rank."""
    if isinstance(value, tuple):
        return value if len(value) == rank else None
    return (value,) * rank


def conv_size(n: int, k: int, s: int, before: int, after: int, d: int) -> int:
    # torch.nn.Conv*d docs: floor((n + padding - dilation·(k − 1) − 1) / stride) + 1
    return (n + before + after - d * (k - 1) - 1) // s + 1


def convt_size(n: int, k: int, s: int, p: int, d: int, output_padding: int) -> int:
    # torch.nn.ConvTranspose*d docs: (n − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1
    return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def pool_size(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    # aten pooling_output_shape: Python's // is the div_rtn floor it uses; in ceil mode the last window
    # must start inside the input or the left padding.
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


# ================================================================================ the chain as data


@dataclass
class LayerChoice:
    """One drawn layer: what to write, which cnnspec op it must be reported as, and its torch meaning.

    ``apply`` and ``module`` take the shape that actually arrives, so the same choice can run again inside a
    repeat with a different input (a conv's input channels change, a BN picks its dimensionality).
    """

    op: str  # the canonical cnnspec op name the report must show
    text: str
    apply: Callable[[Shape], Optional[Shape]]  # the output shape, or None if torch would refuse
    module: Callable[[Shape], nn.Module]


@dataclass
class Group:
    items: list[Union[LayerChoice, "Group"]]
    count: Optional[int]  # None: a plain bracket group, run once
    count_text: str = ""
    bracketed: bool = True  # False only for a single layer written `LAYER * n`
    star: str = "*"


Item = Union[LayerChoice, Group]


def simulate(items: list[Item], shape: Shape) -> Optional[Shape]:
    for item in items:
        if isinstance(item, LayerChoice):
            shape = item.apply(shape)
        else:
            for _ in range(1 if item.count is None else item.count):
                shape = simulate(item.items, shape)
                if shape is None:
                    return None
        if shape is None:
            return None
    return shape


def expand(items: list[Item], shape: Shape, out: list):
    """(choice, input shape, output shape) for every layer that runs, in order; the final shape."""
    for item in items:
        if isinstance(item, LayerChoice):
            result = item.apply(shape)
            assert result is not None, f"strategy bug: {item.text} is invalid on {shape}"
            out.append((item, shape, result))
            shape = result
        else:
            for _ in range(1 if item.count is None else item.count):
                shape = expand(item.items, shape, out)
    return shape


def render(items: list[Item], arrows: list[str]) -> str:
    parts = []
    for item in items:
        if isinstance(item, LayerChoice):
            parts.append(item.text)
        else:
            inner = render(item.items, arrows)
            if item.bracketed:
                inner = f"[{inner}]"
            parts.append(inner if item.count is None else f"{inner} {item.star} {item.count_text}")
    out = parts[0] if parts else ""
    for i, part in enumerate(parts[1:]):
        out += arrows[i % len(arrows)] + part
    return out


class Network:
    """A drawn chain: its spec text, its input shape and its items (not a dataclass, so that hypothesis
    prints a falsifying example as its text rather than as the whole tree of choices)."""

    def __init__(self, text: str, input_shape: Shape, items: list[Item]):
        self.text, self.input_shape, self.items = text, input_shape, items

    def layers(self):
        rows: list = []
        final = expand(self.items, self.input_shape, rows)
        return rows, final

    def __repr__(self):
        return f"Network({self.text!r})"


# ============================================================================ writing values as text


def case(draw, name: str) -> str:
    """Layer names are case-insensitive."""
    return draw(st.sampled_from([name.upper(), name.upper(), name.lower(), name.capitalize()]))


def int_text(draw, n: int) -> str:
    """An integer as written: usually plain, sometimes as an expression or with an underscore."""
    style = draw(st.sampled_from(["plain"] * 8 + ["sum", "product", "floordiv", "paren", "underscore"]))
    if style == "sum" and n >= 1:
        a = draw(st.integers(0, n))
        return f"{a} + {n - a}"
    if style == "product" and n % 2 == 0 and n:
        return f"2 * {n // 2}"
    if style == "floordiv":
        return f"{2 * n + 1} // 2"
    if style == "paren":
        return f"({n})"
    if style == "underscore" and n >= 10:
        digits = str(n)
        return digits[:1] + "_" + digits[1:]
    return str(n)


def value_text(draw, value) -> str:
    if isinstance(value, bool):
        return draw(st.sampled_from(["true", "True", "TRUE"] if value else ["false", "False", "FALSE"]))
    if isinstance(value, int):
        return int_text(draw, value)
    if isinstance(value, float):
        if value.is_integer() and draw(st.booleans()):
            return str(int(value))
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(value_text(draw, v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return value
    raise TypeError(value)


def call_text(draw, name: str, args: list[tuple[list[str], object, bool]], positional: Optional[int] = None,
              empty_parens: bool = True) -> str:
    """NAME(args): each arg is (spellings of its name, value, write it?). The arg at index `positional`
    may be written without its name; keyword arguments come in any order."""
    written = [(names, value) for names, value, write in args if write]
    first = None
    if positional is not None and args[positional][2] and draw(st.booleans()):
        names, value, _ = args[positional]
        first = value_text(draw, value)
        written = [(n, v) for n, v in written if n is not names]
    keywords = [f"{draw(st.sampled_from(names))}={value_text(draw, value)}" for names, value in written]
    keywords = draw(st.permutations(keywords)) if len(keywords) > 1 else keywords
    all_args = ([first] if first is not None else []) + list(keywords)
    if not all_args:
        return name + ("()" if empty_parens and rarely(draw, 6) else "")
    trailing = "," if rarely(draw, 10) else ""
    return f"{name}({', '.join(all_args)}{trailing})"


def axis_values(draw, rank: int, elements):
    """An int, or a tuple of one value per spatial axis. `elements` is a strategy, or a function from the
    axis to a strategy (an int is then drawn for the smallest axis, the one where it matters most)."""
    if not callable(elements) or isinstance(elements, st.SearchStrategy):
        strategy = elements
        elements = lambda axis: strategy  # noqa: E731
    if rarely(draw, 4):
        return tuple(draw(elements(axis)) for axis in range(rank))
    return draw(elements(None))


def window_sizes(shape: Shape, low: int = 1, high: int = 5):
    """Window (kernel) sizes: small ones, or ones about the size of the input's axis, where the rules that
    decide whether a window fits (padding, dilation, ceil mode) are at their edge."""
    spatial = shape[1:]

    def elements(axis):
        n = min(spatial) if axis is None else spatial[axis]
        return st.one_of(st.integers(low, high), st.integers(max(low, n - 1), n + 2))

    return elements


def rarely(draw, n: int) -> bool:
    """True one time in n; shrinks to False, so a failure is shown in its plainest form."""
    return draw(st.integers(0, n - 1)) == n - 1


def maybe(draw) -> bool:
    """Whether to write an argument that equals its default (it is always written otherwise)."""
    return rarely(draw, 4)


# ================================================================================== layer strategies
# Each returns a LayerChoice valid on `shape`, or None for a choice torch would refuse (the chain skips it).


def draw_conv(draw, shape: Shape) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    c_in = shape[0]
    divisors = [g for g in range(1, c_in + 1) if c_in % g == 0]
    groups = draw(st.sampled_from([1, 1, 1] + divisors))
    out = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    kernel = axis_values(draw, rank, window_sizes(shape))
    padding_kind = draw(st.sampled_from(["int", "int", "same", "valid"]))
    stride = 1 if padding_kind == "same" else axis_values(draw, rank, st.integers(1, 3))
    if padding_kind == "same" and draw(st.booleans()):
        stride = (1,) * rank  # an explicit stride of ones is still stride 1
    padding = axis_values(draw, rank, st.integers(0, 3)) if padding_kind == "int" else padding_kind
    dilation = axis_values(draw, rank, st.integers(1, 3))
    bias = draw(st.booleans())
    given_in = c_in if rarely(draw, 5) else None

    def apply(x: Shape) -> Optional[Shape]:
        r = rank_of(x)
        if r == 0 or (given_in is not None and x[0] != given_in) or x[0] % groups or out % groups:
            return None
        ks, ss, ds = per_axis(kernel, r), per_axis(stride, r), per_axis(dilation, r)
        if None in (ks, ss, ds):
            return None
        if padding == "same":  # torch pads d·(k−1) in total, the odd one after
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(ks, ds)]
        elif padding == "valid":
            pads = [(0, 0)] * r
        else:
            ps = per_axis(padding, r)
            if ps is None:
                return None
            pads = [(p, p) for p in ps]
        sizes = tuple(conv_size(n, k, s, a, b, d) for n, k, s, (a, b), d in zip(x[1:], ks, ss, pads, ds))
        return (out, *sizes) if min(sizes) >= 1 else None

    def module(x: Shape) -> nn.Module:
        return CONV[rank_of(x)](x[0], out, kernel, stride=stride, padding=padding, dilation=dilation,
                                groups=groups, bias=bias)

    if apply(shape) is None:
        return None
    args = [
        (["out", "out_channels", "c"], out, True),
        (["k", "kernel", "kernel_size"], kernel, True),
        (["s", "stride"], stride, stride != 1 or maybe(draw)),
        (["p", "padding", "pad"], padding, padding != 0 or maybe(draw)),
        (["d", "dilation"], dilation, dilation != 1 or maybe(draw)),
        (["g", "groups"], groups, groups != 1 or maybe(draw)),
        (["bias"], bias, not bias or maybe(draw)),
        (["in", "in_channels"], given_in, given_in is not None),
    ]
    name = case(draw, draw(st.sampled_from(["conv", "conv", "conv", "convolution"])))
    return LayerChoice("conv", call_text(draw, name, args, positional=0), apply, module)


def draw_convt(draw, shape: Shape) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    groups = draw(st.sampled_from([1, 1, 1] + [g for g in range(1, shape[0] + 1) if shape[0] % g == 0]))
    out = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    kernel, stride, padding, dilation, output_padding = (
        axis_values(draw, rank, st.integers(low, high)) for low, high in ((1, 4), (1, 3), (0, 3), (1, 2), (0, 2)))
    bias = draw(st.booleans())

    def apply(x: Shape) -> Optional[Shape]:
        r = rank_of(x)
        if r == 0 or x[0] % groups or out % groups:
            return None
        axes = [per_axis(v, r) for v in (kernel, stride, padding, dilation, output_padding)]
        # aten: "output padding must be smaller than either stride or dilation", on each axis
        if None in axes or any(o >= s and o >= d for _, s, _, d, o in zip(*axes)):
            return None
        sizes = tuple(convt_size(n, *axis) for n, *axis in zip(x[1:], *axes))
        return (out, *sizes) if min(sizes) >= 1 and max(sizes) <= MAX_SIZE else None

    def module(x: Shape) -> nn.Module:
        return CONVT[rank_of(x)](x[0], out, kernel, stride=stride, padding=padding, output_padding=output_padding,
                                 groups=groups, bias=bias, dilation=dilation)

    if apply(shape) is None:
        return None
    args = [
        (["out", "out_channels", "c"], out, True),
        (["k", "kernel", "kernel_size"], kernel, True),
        (["s", "stride"], stride, stride != 1 or maybe(draw)),
        (["p", "padding", "pad"], padding, padding != 0 or maybe(draw)),
        (["output_padding", "op"], output_padding, output_padding != 0 or maybe(draw)),
        (["d", "dilation"], dilation, dilation != 1 or maybe(draw)),
        (["g", "groups"], groups, groups != 1 or maybe(draw)),
        (["bias"], bias, not bias or maybe(draw)),
    ]
    name = case(draw, draw(st.sampled_from(["convt", "convt", "deconv", "convtranspose"])))
    return LayerChoice("convt", call_text(draw, name, args, positional=0), apply, module)


def draw_pool(draw, shape: Shape, kind: str) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    kernel = axis_values(draw, rank, window_sizes(shape))
    stride = axis_values(draw, rank, st.integers(1, 4)) if draw(st.booleans()) else None
    kernels = per_axis(kernel, rank)
    # padding at most half the window on each axis (aten: "pad should be at most half of kernel size")
    if isinstance(kernel, tuple) or draw(st.booleans()):
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernels)
        if len(set(padding)) == 1 and draw(st.booleans()):
            padding = padding[0]
    else:
        padding = draw(st.integers(0, kernel // 2))
    dilation = axis_values(draw, rank, st.integers(1, 2)) if kind == "maxpool" else 1
    ceil = draw(st.booleans())

    def apply(x: Shape) -> Optional[Shape]:
        r = rank_of(x)
        if r == 0:
            return None
        ks, ps, ds = per_axis(kernel, r), per_axis(padding, r), per_axis(dilation, r)
        ss = ks if stride is None else per_axis(stride, r)
        if None in (ks, ps, ds, ss) or any(p > k // 2 for k, p in zip(ks, ps)):
            return None
        if kind == "avgpool" and r == 3 and any(n < k for n, k in zip(x[1:], ks)):
            return None  # avg_pool3d checks the unpadded input against the kernel (check_input_size)
        sizes = tuple(pool_size(n, k, s, p, d, ceil) for n, k, s, p, d in zip(x[1:], ks, ss, ps, ds))
        return (x[0], *sizes) if min(sizes) >= 1 else None

    def module(x: Shape) -> nn.Module:
        if kind == "maxpool":
            return MAXPOOL[rank_of(x)](kernel, stride, padding, dilation, ceil_mode=ceil)
        return AVGPOOL[rank_of(x)](kernel, stride, padding, ceil_mode=ceil)

    if apply(shape) is None:
        return None
    args = [
        (["k", "kernel", "kernel_size"], kernel, True),
        (["s", "stride"], stride, stride is not None),
        (["p", "padding", "pad"], padding, padding != 0 or maybe(draw)),
    ]
    if kind == "maxpool":
        args.append((["d", "dilation"], dilation, dilation != 1 or maybe(draw)))
    args.append((["ceil", "ceil_mode"], ceil, ceil or maybe(draw)))
    names = ["maxpool", "maxpool", "pool"] if kind == "maxpool" else ["avgpool"]
    return LayerChoice(kind, call_text(draw, case(draw, draw(st.sampled_from(names))), args, positional=0),
                       apply, module)


def draw_adaptive(draw, shape: Shape, kind: str) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    out = axis_values(draw, rank, window_sizes(shape, high=8))  # also more outputs than inputs

    def apply(x: Shape) -> Optional[Shape]:
        sizes = per_axis(out, rank_of(x)) if rank_of(x) else None
        return None if sizes is None else (x[0], *sizes)

    def module(x: Shape) -> nn.Module:
        return (ADAPTIVE_AVG if kind == "adaptiveavgpool" else ADAPTIVE_MAX)[rank_of(x)](out)

    if out == 1 and draw(st.booleans()):
        text = case(draw, "gap" if kind == "adaptiveavgpool" else "gmp")
    else:
        text = call_text(draw, case(draw, kind), [(["out", "output", "output_size", "size"], out, True)], 0)
    return LayerChoice(kind, text, apply, module)


def draw_simple(draw, shape: Shape, kind: str) -> LayerChoice:
    """Layers that keep the shape, on any rank."""
    factories = {
        "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
        "softmax": lambda: nn.Softmax(dim=1), "identity": nn.Identity,
    }
    if kind in factories:
        make = factories[kind]
        return LayerChoice(kind, call_text(draw, case(draw, kind), []), lambda x: x, lambda x: make())
    if kind == "leakyrelu":
        slope = draw(st.sampled_from([0.01, 0.1, 0.2, 0.3, 0.0, 1.0, 2.5, -0.5, 0.25]))
        text = call_text(draw, case(draw, kind), [(["slope", "negative_slope"], slope,
                                                   slope != 0.01 or maybe(draw))], 0)
        return LayerChoice(kind, text, lambda x: x, lambda x: nn.LeakyReLU(slope))
    if kind == "dropout":
        p = draw(st.sampled_from([0.5, 0.0, 0.1, 0.3, 0.25, 1.0]))
        text = call_text(draw, case(draw, kind), [(["p"], p, p != 0.5 or maybe(draw))], 0)
        return LayerChoice(kind, text, lambda x: x, lambda x: nn.Dropout(p))
    if kind == "bn":
        text = call_text(draw, case(draw, draw(st.sampled_from(["bn", "bn", "batchnorm"]))), [])
        return LayerChoice(kind, text, lambda x: x, lambda x: BATCHNORM[rank_of(x)](x[0]))
    if kind == "flatten":
        return LayerChoice(kind, call_text(draw, case(draw, kind), []), lambda x: (math.prod(x),),
                           lambda x: nn.Flatten())
    raise AssertionError(kind)


def draw_channel_layers(draw, shape: Shape, kind: str) -> Optional[LayerChoice]:
    """LN, PWLINEAR and LAYERSCALE (ConvNeXt's per-position layers of the channels), GN and IN, on any rank they
    take; None where torch would refuse the layer."""
    if kind == "ln":
        eps = draw(st.sampled_from([1e-5, 1e-6, 0.001]))
        text = call_text(draw, case(draw, draw(st.sampled_from(["ln", "layernorm"]))),
                         [(["eps"], eps, eps != 1e-5 or maybe(draw))])
        return LayerChoice("ln", text, lambda x: x, lambda x: ChannelsLast("layer_norm", x[0], eps=eps))
    if kind == "layerscale":
        return LayerChoice("layerscale", call_text(draw, case(draw, kind), []), lambda x: x, Scale)
    if kind == "gn":
        groups, eps = draw(st.sampled_from([1, 2, 3, 4])), draw(st.sampled_from([1e-5, 1e-6]))
        text = call_text(draw, case(draw, draw(st.sampled_from(["gn", "groupnorm"]))),
                         [(["groups", "g", "num_groups"], groups, True), (["eps"], eps, eps != 1e-5 or maybe(draw))],
                         0)
        # torch refuses groups that do not divide the channels, and groups of one value (F.group_norm)
        apply = (lambda x: x if x[0] % groups == 0 and x[0] // groups * math.prod(x[1:]) > 1 else None)
        if apply(shape) is None:
            return None  # (and so does cnnspec: its errors are tested whole)
        return LayerChoice("gn", text, apply, lambda x: nn.GroupNorm(groups, x[0], eps))
    if kind == "in":
        affine = draw(st.booleans())
        text = call_text(draw, case(draw, draw(st.sampled_from(["in", "instancenorm"]))),
                         [(["affine"], affine, affine or maybe(draw))])
        apply = (lambda x: x if rank_of(x) and math.prod(x[1:]) > 1 else None)
        if apply(shape) is None:
            return None
        return LayerChoice("in", text, apply, lambda x: INSTANCENORM[rank_of(x)](x[0], affine=affine))
    out, bias = draw(st.integers(1, 16)), draw(st.booleans())
    args = [(["out", "out_features"], out, True), (["bias"], bias, not bias or maybe(draw))]
    return LayerChoice("pwlinear", call_text(draw, case(draw, draw(st.sampled_from(["pwlinear", "pointwise"]))),
                                             args, 0),
                       lambda x: (out, *x[1:]), lambda x: ChannelsLast("linear", x[0], out, bias))


def draw_lrn(draw, shape: Shape) -> LayerChoice:
    size = draw(st.integers(1, 5))
    alpha = draw(st.sampled_from([1e-4, 0.001, 1.0]))
    beta = draw(st.sampled_from([0.75, 0.5]))
    k = draw(st.sampled_from([1.0, 2.0]))
    args = [(["size"], size, True), (["alpha"], alpha, alpha != 1e-4 or maybe(draw)),
            (["beta"], beta, beta != 0.75 or maybe(draw)), (["k"], k, k != 1.0 or maybe(draw))]
    return LayerChoice("lrn", call_text(draw, case(draw, "lrn"), args, 0),
                       lambda x: x if rank_of(x) else None,  # torch needs a 3-D or larger input
                       lambda x: nn.LocalResponseNorm(size, alpha, beta, k))


def draw_fc(draw, shape: Shape) -> LayerChoice:
    out = draw(st.integers(1, 16))
    bias = draw(st.booleans())
    given_in = math.prod(shape) if rarely(draw, 5) else None

    def apply(x: Shape) -> Optional[Shape]:
        return None if given_in is not None and math.prod(x) != given_in else (out,)

    def module(x: Shape) -> nn.Module:
        if rank_of(x) == 0:
            return nn.Linear(x[0], out, bias=bias)
        return FlattenLinear(math.prod(x), out, bias)  # cnnspec's FC flattens a spatial input itself

    args = [(["out", "out_features"], out, True), (["bias"], bias, not bias or maybe(draw)),
            (["in", "in_features"], given_in, given_in is not None)]
    name = case(draw, draw(st.sampled_from(["fc", "fc", "linear", "dense"])))
    return LayerChoice("fc", call_text(draw, name, args, 0), apply, module)


RESIZE_MODES = {
    1: ["nearest", "nearest-exact", "linear", "area"],
    2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
    3: ["nearest", "nearest-exact", "trilinear", "area"],
}
MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
SCALES = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 0.3, 1.7, 2.5, 0.9]


def draw_resize(draw, shape: Shape) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    mode = draw(st.sampled_from(RESIZE_MODES[rank]))
    if draw(st.booleans()):
        size, scale = axis_values(draw, rank, st.integers(1, 24)), None
    else:
        size, scale = None, axis_values(draw, rank, st.sampled_from(SCALES))
    align = draw(st.sampled_from([None, True, False])) if mode in MODE_RANK else None

    def apply(x: Shape) -> Optional[Shape]:
        r = rank_of(x)
        if r == 0 or MODE_RANK.get(mode, r) != r:
            return None
        if size is not None:
            sizes = per_axis(size, r)
        else:
            scales = per_axis(scale, r)
            # F.interpolate: output size = floor(input size · scale), in double precision
            sizes = None if scales is None else tuple(math.floor(n * s) for n, s in zip(x[1:], scales))
        if sizes is None or min(sizes) < 1 or max(sizes) > MAX_SIZE:
            return None
        return (x[0], *sizes)

    def module(x: Shape) -> nn.Module:
        return Interpolate(size, scale, mode, align)

    if apply(shape) is None:
        return None
    word = draw(st.sampled_from([f"'{mode}'", f'"{mode}"', mode.replace("-", "_")] if "-" in mode else
                                [mode, mode, mode.upper(), f"'{mode}'"]))
    args = [(["scale", "scale_factor"], scale, scale is not None), (["size"], size, size is not None),
            (["mode"], word, mode != "nearest" or maybe(draw)),
            (["align_corners", "align"], align, align is not None)]
    name = case(draw, draw(st.sampled_from(["resize", "resize", "upsample", "interpolate"])))
    return LayerChoice("resize", call_text(draw, name, args), apply, module)


def tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    # TensorFlow's "SAME" (tf.nn.convolution's docs): ⌈n/s⌉ outputs; the padding that needs, the odd one after
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def draw_pad(draw, shape: Shape) -> Optional[LayerChoice]:
    rank = rank_of(shape)
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular", "zeros"]))
    value = draw(st.sampled_from([0.0, 0.0, 1.5, -2.0])) if mode == "constant" else 0.0
    form = draw(st.sampled_from(["p", "sides", "same"]))
    p = before = after = k = stride = d = None
    if form == "p":
        p = axis_values(draw, rank, st.integers(0, 3))
    elif form == "sides":
        before, after = (axis_values(draw, rank, st.integers(0, 3)) for _ in range(2))
    else:
        k, stride, d = (axis_values(draw, rank, st.integers(1, high)) for high in (5, 3, 2))

    def sides_of(x: Shape) -> Optional[list[tuple[int, int]]]:
        r = rank_of(x)
        if r == 0:
            return None
        if form == "p":
            each = per_axis(p, r)
            return None if each is None else [(v, v) for v in each]
        if form == "sides":
            b, a = per_axis(before, r), per_axis(after, r)
            return None if b is None or a is None else list(zip(b, a))
        axes = [per_axis(v, r) for v in (k, stride, d)]
        return None if None in axes else [tf_same(n, *w) for n, *w in zip(x[1:], *axes)]

    def apply(x: Shape) -> Optional[Shape]:
        sides = sides_of(x)
        if sides is None:
            return None
        for n, (b, a) in zip(x[1:], sides):
            if (mode == "reflect" and max(b, a) >= n) or (mode == "circular" and max(b, a) > n):
                return None  # torch refuses these
        return (x[0], *(n + b + a for n, (b, a) in zip(x[1:], sides)))

    def module(x: Shape) -> nn.Module:
        torch_order = tuple(v for pair in reversed(sides_of(x)) for v in pair)
        return Padded(torch_order, "constant" if mode == "zeros" else mode, value)

    if apply(shape) is None:
        return None
    args = [(["p", "padding"], "same" if form == "same" else p, form != "sides"),
            (["before"], before, form == "sides"), (["after"], after, form == "sides"),
            (["mode"], mode, mode != "constant" or maybe(draw)), (["value"], value, value != 0.0),
            (["k"], k, form == "same"), (["s"], stride, form == "same" and (stride != 1 or maybe(draw))),
            (["d"], d, form == "same" and (d != 1 or maybe(draw)))]
    return LayerChoice("pad", call_text(draw, case(draw, "pad"), args, 0 if form != "sides" else None), apply,
                       module)


SPATIAL_KINDS = ["conv", "conv", "conv", "maxpool", "maxpool", "avgpool", "avgpool", "adaptiveavgpool",
                 "adaptivemaxpool", "lrn", "resize", "resize", "pad", "convt"]
ANY_RANK_KINDS = ["relu", "relu", "sigmoid", "tanh", "leakyrelu", "gelu", "softmax", "identity", "bn", "bn",
                  "dropout", "flatten", "fc", "ln", "pwlinear", "layerscale", "gn", "in"]


def draw_layer(draw, shape: Shape) -> Optional[LayerChoice]:
    # On a spatial input, mostly the layers that work on its axes; FLATTEN and FC end them.
    spatial = rank_of(shape) > 0 and draw(st.integers(0, 3)) > 0
    kind = draw(st.sampled_from(SPATIAL_KINDS if spatial else ANY_RANK_KINDS))
    if kind == "conv":
        return draw_conv(draw, shape)
    if kind == "convt":
        return draw_convt(draw, shape)
    if kind in ("maxpool", "avgpool"):
        return draw_pool(draw, shape, kind)
    if kind in ("adaptiveavgpool", "adaptivemaxpool"):
        return draw_adaptive(draw, shape, kind)
    if kind == "lrn":
        return draw_lrn(draw, shape)
    if kind == "fc":
        return draw_fc(draw, shape)
    if kind == "resize":
        return draw_resize(draw, shape)
    if kind == "pad":
        return draw_pad(draw, shape)
    if kind in ("ln", "pwlinear", "layerscale", "gn", "in"):
        return draw_channel_layers(draw, shape, kind)
    return draw_simple(draw, shape, kind)


def draw_items(draw, shape: Shape, max_items: int, depth: int) -> tuple[list[Item], Shape]:
    items: list[Item] = []
    # One "another item?" choice before each item (not a count drawn up front), so that the shrinker can
    # delete any item together with its choice and keep the rest of the chain as it was.
    while len(items) < max_items and draw(st.integers(0, 7)) > 0:
        if depth < MAX_DEPTH and rarely(draw, 5):
            body, after = draw_items(draw, shape, MAX_GROUP_ITEMS, depth + 1)
            if not body:
                continue
            count = draw(st.sampled_from([None, 0, 1, 2, 2, 3]))
            if count is not None and count > 1:
                # Every pass must stay valid: keep as many passes as do (a shape-changing body may
                # stop fitting after a few passes; a shape-preserving one always fits).
                passes, x = 1, after
                while passes < count:
                    x = simulate(body, x)
                    if x is None:
                        break
                    passes += 1
                count = passes
            single = len(body) == 1 and isinstance(body[0], LayerChoice) and count is not None
            group = Group(body, count, "" if count is None else int_text(draw, count),
                          bracketed=not single or draw(st.booleans()), star=draw(st.sampled_from(["*", "*", "×"])))
            items.append(group)
            shape = simulate([group], shape)
            assert shape is not None
        else:
            for _attempt in range(3):
                layer = draw_layer(draw, shape)
                if layer is not None:
                    break
            if layer is None:  # torch would refuse each choice here: skip them
                continue
            items.append(layer)
            shape = layer.apply(shape)
    return items, shape


@st.composite
def networks(draw) -> Network:
    rank = draw(st.sampled_from([1, 2, 3, 2, 3, 0]))  # vectors allow few layer kinds: fewer of them
    small_or_any = st.one_of(st.integers(1, 6), st.integers(1, MAX_SPATIAL.get(rank, 1)))
    shape = (draw(st.integers(1, MAX_CHANNELS)), *(draw(small_or_any) for _ in range(rank)))
    items, _ = draw_items(draw, shape, MAX_TOP_LEVEL_ITEMS, 0)
    input_text = f"{case(draw, 'input')}({', '.join(int_text(draw, n) for n in shape)})"
    arrows = draw(st.lists(st.sampled_from([" -> ", " -> ", "\n-> ", " → ", "->", " ->\n  "]), min_size=1,
                           max_size=3))
    body = render(items, arrows)
    text = input_text + (arrows[-1] + body if body else "")
    if rarely(draw, 6):
        text = "# a random chain\n" + text + "  # the end\n"
    return Network(text, shape, items)


# ============================================================================== 1. differential test


def _table(rows) -> str:
    return "\n".join(f"  {i:2} {r}" for i, r in enumerate(rows))


# torch says that an even kernel with padding='same' costs a padded copy: true, and beside the point here.
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
@settings(max_examples=examples(150), report_multiple_bugs=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=networks())
def test_random_chains_match_torch(net: Network):
    note(f"spec:\n{net.text}")
    rows, final = net.layers()
    with torch.device("meta"):  # no weights allocated nor initialised
        model = nn.Sequential(*(choice.module(x) for choice, x, _ in rows))
    note(f"torch:\n{model}")

    try:
        report = cnnspec.analyze(cnnspec.parse(net.text))
    except cnnspec.CnnspecError as error:
        shapes = [r.output_shape for r in measure(model, net.input_shape)] if rows else []
        raise AssertionError(f"cnnspec rejects a chain that torch runs (torch's output shapes: {shapes}):\n"
                             f"{error}") from None

    assert tuple(report.input_shape) == net.input_shape
    assert [layer.op for layer in report.layers] == [choice.op for choice, _, _ in rows], "layer sequence"

    if rows:
        records = measure(model, net.input_shape)
        assert len(records) == len(rows), "one torch leaf call per layer"
        # The test's own shape model must agree with torch, or the chain is not what it claims to be.
        assert [r.output_shape for r in records] == [y for _, _, y in rows], "test bug: shape model vs torch"
        expected = [(i, choice.op, x, r.output_shape, r.params, r.buffers, r.macs)
                    for i, ((choice, x, _), r) in enumerate(zip(rows, records))]
    else:
        expected = []
    got = [(i, layer.op, tuple(layer.input_shape), tuple(layer.output_shape), layer.params, layer.buffers,
            layer.macs) for i, layer in enumerate(report.layers)]
    assert got == expected, "per layer: (index, op, input, output, params, buffers, MACs)\n" + _table(got)

    assert tuple(report.output_shape) == final
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        sum(e[4] for e in expected), sum(e[5] for e in expected), sum(e[6] for e in expected))
