"""IR to Report: run each layer's registry rule in order, tracking shape and receptive field."""

from __future__ import annotations

import math
from fractions import Fraction

from . import ops
from .errors import CnnspecError, Diagnostic
from .ir import Layer, Network, Repeat
from .report import LayerReport, RepeatStep, Report, Totals
from .resolve import resolve
from .syntax import Program

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def analyze(net: Program | Network, /, batch: int = 1, dtype: str = "float32", **variables) -> Report:
    """Analyze a parsed program (resolving it with `variables`) or an already resolved network."""
    if isinstance(net, Program):
        net = resolve(net, variables)
    elif variables:
        raise TypeError("variables apply to a parsed program, not to an already resolved Network")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, not {dtype!r}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    return _Analysis(net).run(batch, dtype)


class _Analysis:
    def __init__(self, net: Network):
        self.net = net
        self.layers: list[LayerReport] = []
        self.warnings: list[Diagnostic] = []
        self.seen_warnings: set[tuple[str, int]] = set()
        self.int64_buffers = 0
        self.repeat_ids: dict[int, int] = {}

    def run(self, batch: int, dtype: str) -> Report:
        shape = tuple(self.net.input.arg("shape").value)
        rank = len(shape) - 1
        self.shape = shape
        self.receptive = (1,) * rank
        self.jump: tuple = (1,) * rank
        self.extent = shape[1:]
        self.walk(self.net.body, ())
        size = DTYPE_BYTES[dtype]
        layers = self.layers
        params = sum(l.params for l in layers)
        buffers = sum(l.buffers for l in layers)
        activations = sum(l.activations for l in layers)
        totals = Totals(
            params=params, buffers=buffers, macs=sum(l.macs for l in layers), activations=activations,
            param_bytes=params * size,
            buffer_bytes=(buffers - self.int64_buffers) * size + self.int64_buffers * 8,
            input_bytes=batch * math.prod(shape) * size,
            activation_bytes=batch * activations * size,
        )
        return Report(self.net.source.path, self.net.input.text, shape, self.shape, tuple(layers), totals,
                      tuple(self.warnings), batch, dtype)

    def walk(self, nodes, repeats: tuple[RepeatStep, ...]) -> None:
        for node in nodes:
            if isinstance(node, Repeat):
                ident = self.repeat_ids.setdefault(id(node), len(self.repeat_ids) + 1)
                for iteration in range(1, node.count + 1):
                    step = RepeatStep(ident, node.text, iteration, node.count)
                    self.walk(node.body, (*repeats, step))
            else:
                self.layer(node, repeats)

    def layer(self, layer: Layer, repeats: tuple[RepeatStep, ...]) -> None:
        op = ops.get(layer.op)
        ctx = ops.LayerContext(layer, op, ops.fill_defaults(op, layer), self.shape, self.extent)
        result = op.rule(ctx)
        for message, span in ctx.warnings:
            key = (message, span.start)
            if key not in self.seen_warnings:
                self.seen_warnings.add(key)
                self.warnings.append(Diagnostic("warning", message, span))
        if result.window is not None:
            self.receptive = tuple(r + (k - 1) * j for r, k, j in zip(self.receptive, result.window.kernel, self.jump))
            self.jump = tuple(_exact(j * s) for j, s in zip(self.jump, result.window.stride))
            self.receptive = tuple(_exact(r) for r in self.receptive)
        if result.extent is not None:
            self.extent = result.extent
        elif len(result.shape) > 1:
            self.extent = result.shape[1:]
        self.int64_buffers += result.int64_buffers
        self.layers.append(LayerReport(
            index=len(self.layers) + 1, op=op.name, text=layer.text, line=layer.span.line, column=layer.span.column,
            input_shape=self.shape, output_shape=result.shape, params=result.params, buffers=result.buffers,
            macs=result.macs, activations=math.prod(result.shape), receptive_field=self.receptive, jump=self.jump,
            repeats=repeats,
        ))
        self.shape = result.shape


def _exact(value):
    """Keep whole numbers as ints; fractions only where a resize or adaptive pool made them."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value
