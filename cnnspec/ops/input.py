"""INPUT: the shape of one sample; the analyzer reads it, it is never run as a layer."""

from __future__ import annotations

from .entry import LayerContext, LayerResult, OpSpec
from .params import REQUIRED, Param


def _input(ctx: LayerContext) -> LayerResult:  # INPUT is read by the analyzer, never run as a layer
    return LayerResult(tuple(ctx.args["shape"]))


ENTRIES = (
    OpSpec("input", "the shape of one sample, no batch dimension: C, then 0 to 3 spatial sizes", _input,
           (Param("shape", "shape", "channels then spatial sizes", REQUIRED, minimum=1),),
           variadic="shape", example="INPUT(3, 32, 32)", module=None),
)
