"""INPUT: the shape of one sample. Its rule gives the shape the network starts from; it is no layer."""

from __future__ import annotations

from .entry import LayerContext, LayerResult, OpSpec
from .params import REQUIRED, Param


def _input(ctx: LayerContext) -> LayerResult:
    shape = tuple(ctx.args["shape"])
    # torchinfo's `input_size=(1, 3, 32, 32)` written here would silently make a 3-D network of one channel;
    # a real 3-D input has more than 4 frames (or more than one channel).
    if len(shape) == 4 and shape[0] == 1 and shape[1] <= 4:
        ctx.warn(f"INPUT has 4 sizes: is the first one a batch? INPUT takes one sample: "
                 f"INPUT({', '.join(map(str, shape[1:]))})")
    return LayerResult(shape)


ENTRIES = (
    OpSpec("input", "the shape of one sample, no batch dimension: C, then 0 to 3 spatial sizes", _input,
           (Param("shape", "shape", "channels then spatial sizes", REQUIRED, minimum=1),),
           variadic="shape", example="INPUT(3, 32, 32)", module=None),
)
