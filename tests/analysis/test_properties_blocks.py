"""Property test for the modern constructs: random networks of blocks, residuals, concatenations and gates,
each written as a spec and, from the same random choices, built by hand as a torch module; cnnspec must
agree with torch on every module layer (kind, output shape, params, buffers, MACs), on the totals and on
the output shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from profiles import examples
from torch import nn

import cnnspec
from torch_reference import build_on_meta, measure, model_buffers, model_macs, model_params

WIRING = {"add", "concat", "mul", "identity"}
KIND = {"Conv2d": "conv", "BatchNorm2d": "bn", "ReLU": "relu", "Sigmoid": "sigmoid", "MaxPool2d": "maxpool",
        "AdaptiveAvgPool2d": "adaptiveavgpool", "Linear": "fc", "Flatten": "flatten", "Hardswish": "hardswish"}


@dataclass
class Piece:
    """A stretch of network: its spec text, a factory for the equivalent torch modules, the shape after it."""

    text: str
    build: callable  # () -> list[nn.Module]
    shape: tuple[int, int, int]


class Branches(nn.Module):
    """Branches from one input, joined as cnnspec's merges join them; an empty branch is the identity."""

    def __init__(self, how: str, branches: list[list[nn.Module]]):
        super().__init__()
        self.how = how
        self.branches = nn.ModuleList(nn.Sequential(*b) for b in branches)

    def forward(self, x):
        outs = [branch(x) if len(branch) else x for branch in self.branches]
        if self.how == "concat":
            return torch.cat(outs, 1)
        result = outs[0]
        for out in outs[1:]:
            result = result + out if self.how == "add" else result * out
        return result


def conv_piece(c_in, c_out, k, s, groups, bias, shape) -> Piece:
    p = k // 2
    _, h, w = shape
    out = (c_out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    g_text = "" if groups == 1 else (", g=in" if groups == c_in else f", g={groups}")
    text = f"CONV({'in' if c_out == c_in and groups == c_in else c_out}, k={k}, s={s}, p={p}{g_text}" \
           f"{'' if bias else ', bias=false'})"
    return Piece(text, lambda: [nn.Conv2d(c_in, c_out, k, s, p, groups=groups, bias=bias)], out)


@st.composite
def conv(draw, shape, keep=False, stride=None):
    c, h, w = shape
    k = draw(st.sampled_from([1, 3, 5]) if not keep else st.sampled_from([1, 3]))
    s = stride if stride is not None else (1 if keep else draw(st.sampled_from([1, 1, 2])))
    if min(h, w) + 2 * (k // 2) < k:
        k = 1
    c_out = c if keep else draw(st.integers(1, 12))
    divisors = [g for g in range(1, c + 1) if c % g == 0 and c_out % g == 0]
    groups = draw(st.sampled_from(divisors))
    return conv_piece(c, c_out, k, s, groups, draw(st.booleans()), shape)


def simple(text, module, shape) -> Piece:
    return Piece(text, lambda: [module()], shape)


@st.composite
def layer(draw, shape, keep=False):
    c, h, w = shape
    kind = draw(st.sampled_from(["conv", "bn", "relu", "hardswish"] + ([] if keep else ["pool"])))
    if kind == "conv":
        return draw(conv(shape, keep=keep))
    if kind == "bn":
        return simple("BN", lambda: nn.BatchNorm2d(c), shape)
    if kind == "relu":
        return simple("RELU", nn.ReLU, shape)
    if kind == "hardswish":
        return simple("HARDSWISH", nn.Hardswish, shape)
    if min(h, w) < 2:
        return simple("RELU", nn.ReLU, shape)
    ceil = draw(st.booleans())
    out = tuple(-(-n // 2) if ceil else n // 2 for n in (h, w))
    return Piece(f"MAXPOOL(2{', ceil=true' if ceil else ''})", lambda: [nn.MaxPool2d(2, ceil_mode=ceil)], (c, *out))


@st.composite
def chain(draw, shape, keep=False, min_size=1, max_size=3):
    pieces = []
    for _ in range(draw(st.integers(min_size, max_size))):
        piece = draw(layer(shape, keep=keep))
        pieces.append(piece)
        shape = piece.shape
    return pieces


def join(pieces: list[Piece], shape) -> Piece:
    if not pieces:
        return Piece("[]", lambda: [], shape)
    return Piece(" -> ".join(p.text for p in pieces), lambda: [m for p in pieces for m in p.build()],
                 pieces[-1].shape)


@st.composite
def residual(draw, shape):
    c, h, w = shape
    if draw(st.booleans()) or min(h, w) < 3:  # identity shortcut: the body keeps the shape
        body = join(draw(chain(shape, keep=True)), shape)
        shortcut = join([], shape)
    else:  # projection shortcut: both branches stride 2 to the same channels
        c_out = draw(st.integers(1, 12))
        first = conv_piece(c, c_out, 3, 2, 1, False, shape)
        rest = draw(chain(first.shape, keep=True, min_size=0, max_size=2))
        body = join([first, *rest], shape)
        shortcut = join([conv_piece(c, c_out, 1, 2, 1, False, shape),
                         simple("BN", lambda: nn.BatchNorm2d(c_out), first.shape)], shape)
    after = draw(st.sampled_from(["", " -> RELU"]))
    text = f"ADD {{ {body.text} | {shortcut.text} }}{after}"

    def build():
        modules = [Branches("add", [body.build(), shortcut.build()])]
        return modules + ([nn.ReLU()] if after else [])

    return Piece(text, build, body.shape)


@st.composite
def inception(draw, shape):
    c, h, w = shape
    branches = []
    for _ in range(draw(st.integers(2, 4))):
        kind = draw(st.sampled_from(["1x1", "3x3", "pool", "identity"]))
        if kind == "1x1":
            branches.append(join([conv_piece(c, draw(st.integers(1, 8)), 1, 1, 1, True, shape)], shape))
        elif kind == "3x3":
            mid = conv_piece(c, draw(st.integers(1, 8)), 1, 1, 1, False, shape)
            branches.append(join([mid, conv_piece(mid.shape[0], draw(st.integers(1, 8)), 3, 1, 1, True, mid.shape)],
                                 shape))
        elif kind == "pool":
            pool = Piece("MAXPOOL(3, s=1, p=1)", lambda: [nn.MaxPool2d(3, 1, 1)], shape)
            branches.append(join([pool, conv_piece(c, draw(st.integers(1, 8)), 1, 1, 1, True, shape)], shape))
        else:
            branches.append(join([], shape))
    text = "CONCAT { " + " | ".join(b.text for b in branches) + " }"
    out = (sum(b.shape[0] for b in branches), h, w)
    return Piece(text, lambda: [Branches("concat", [b.build() for b in branches])], out)


@st.composite
def gate(draw, shape):
    c, _, _ = shape
    squeeze = draw(st.integers(1, 8))
    text = f"MUL {{ [] | GAP -> CONV({squeeze}, k=1) -> RELU -> CONV({c}, k=1) -> SIGMOID }}"

    def build():
        branch = [nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, squeeze, 1), nn.ReLU(), nn.Conv2d(squeeze, c, 1), nn.Sigmoid()]
        return [Branches("mul", [[], branch])]

    return Piece(text, build, shape)


@st.composite
def network(draw):
    shape = (draw(st.integers(1, 8)), draw(st.integers(4, 14)), draw(st.integers(4, 14)))
    first = shape
    pieces = []
    blocks = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["layer", "residual", "inception", "gate", "block"]))
        if kind == "layer":
            piece = draw(layer(shape))
        elif kind == "residual":
            piece = draw(residual(shape))
        elif kind == "inception":
            piece = draw(inception(shape))
        elif kind == "gate":
            piece = draw(gate(shape))
        else:  # the same piece, written once as a block and called (maybe repeated, if it keeps the shape)
            inner = draw(st.one_of(residual(shape), gate(shape)))
            name = f"unit{len(blocks)}"
            blocks.append(f"block {name}() {{ {inner.text} }}")
            times = draw(st.integers(1, 3)) if inner.shape == shape else 1
            call = f"{name}() * {times}" if times > 1 else f"{name}()"
            piece = Piece(call, lambda inner=inner, times=times: [m for _ in range(times) for m in inner.build()],
                          inner.shape)
        pieces.append(piece)
        shape = piece.shape
    text = "\n".join(blocks + [f"INPUT({', '.join(map(str, first))})"] + [f"-> {p.text}" for p in pieces])
    return text, lambda: nn.Sequential(*[m for p in pieces for m in p.build()]), first


@settings(max_examples=examples(80),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(network())
def test_random_blocks_and_branches_match_torch(case):
    text, build, input_shape = case
    note(text)
    report = cnnspec.analyze(cnnspec.parse(text))
    module, _ = build_on_meta(lambda: (build(), input_shape))
    note(str(module))
    theirs = [(KIND[r.kind], r.output_shape, r.params, r.buffers, r.macs) for r in measure(module, input_shape)]
    ours = [(l.op, l.output_shape, l.params, l.buffers, l.macs) for l in report.layers if l.op not in WIRING]
    assert ours == theirs
    with torch.device("meta"):
        output = module.eval()(torch.empty((1, *input_shape)))
    assert report.output_shape == tuple(output.shape[1:])
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        model_params(module), model_buffers(module), model_macs(module, input_shape))
