"""Runtime check of the static analysis: lower the spec, run it once with hooks, and compare every layer's
output shape, parameters, buffers and MACs (FlopCounterMode, per module, halved) with the Report."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ir import Network
from .syntax import Program

FIELDS = ("output_shape", "params", "buffers", "macs")


@dataclass(frozen=True, slots=True)
class LayerCheck:
    index: int
    path: str
    text: str
    expected: tuple  # the static analysis: output shape, params, buffers, MACs
    measured: tuple  # the same, measured on the lowered module

    @property
    def ok(self) -> bool:
        return self.expected == self.measured

    def mismatches(self) -> list[str]:
        return [name for name, a, b in zip(FIELDS, self.expected, self.measured) if a != b]


@dataclass(frozen=True, slots=True)
class Verification:
    path: str
    device: str
    batch: int
    layers: tuple[LayerCheck, ...]
    output_shape: tuple[int, ...]
    expected_output_shape: tuple[int, ...]
    finite: bool | None  # on a real device: whether the output of a random input was finite

    @property
    def ok(self) -> bool:
        return (all(layer.ok for layer in self.layers) and self.output_shape == self.expected_output_shape
                and self.finite is not False)


def verify(net: Program | Network, *, device: str = "meta", batch: int = 1, seed: int = 0,
           **variables) -> Verification:
    """Lower `net`, run a batch of `batch` random (or, on meta, empty) inputs, and compare layer by layer."""
    from .analyze import analyze
    from .lower import lower, require_torch
    from .resolve import resolve

    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    if isinstance(net, Program):
        net = resolve(net, variables)
    report = analyze(net)
    module = lower(net, device=device, seed=seed).eval()
    measured: dict[str, tuple] = {}

    def hook(path):
        def record(layer_module, inputs, output):
            with FlopCounterMode(display=False) as counter:
                layer_module.forward(*inputs)  # this layer alone, for its own count
            measured[path] = (tuple(output.shape[1:]), _numel(layer_module.parameters()),
                              _numel(layer_module.buffers()), counter.get_total_flops() // (2 * batch))
        return record

    handles = [module.get_submodule(layer.path).register_forward_hook(hook(layer.path)) for layer in report.layers]
    try:
        with torch.no_grad():
            x = (torch.empty if device == "meta" else torch.randn)((batch, *report.input_shape), device=device)
            output = module(x)
    finally:
        for handle in handles:
            handle.remove()
    checks = tuple(
        LayerCheck(layer.index, layer.path, layer.text,
                   (layer.output_shape, layer.params, layer.buffers, layer.macs),
                   measured.get(layer.path, (None, None, None, None)))
        for layer in report.layers)
    finite = None if device == "meta" else bool(torch.isfinite(output).all())
    return Verification(report.path, device, batch, checks, tuple(output.shape[1:]), report.output_shape, finite)


def _numel(tensors) -> int:
    return sum(math.prod(t.shape) for t in tensors)
