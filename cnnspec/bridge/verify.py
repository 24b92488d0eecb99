"""Runtime check of the static analysis: lower the spec, run it once with hooks, and compare every layer's
output shape, parameters, buffers and MACs (FlopCounterMode, per module, halved) with the Report."""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass

from ..lang.ir import Network
from ..lang.syntax import Program

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
    from ..analysis.analyze import analyze
    from .lower import require_torch
    from ..analysis.resolve import resolve

    if isinstance(net, Program):
        net = resolve(net, variables)
    report = analyze(net)  # before torch is imported: with torch's heap in memory, collections cost more
    with _collector_paused():
        return _run(net, report, require_torch(), device, batch, seed)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while torch is imported and the network lowered and run.

    torch's first operation on the meta device imports torch._dynamo, thousands of small objects, and each
    automatic collection then walks torch's whole heap (0.2–0.3 s in all for VGG16 here). Nothing made in
    between needs collecting before the run ends; the collector is switched back on afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(net: Network, report, torch, device: str, batch: int, seed: int) -> Verification:
    from torch.utils.flop_counter import FlopCounterMode

    from .lower import lower_analyzed

    module = lower_analyzed(net, report, device=device, seed=seed).eval()
    shapes: dict[str, tuple] = {}

    def hook(path):
        def record(layer_module, inputs, output):
            shapes[path] = tuple(output.shape[1:])
        return record

    handles = [module.get_submodule(layer.path).register_forward_hook(hook(layer.path)) for layer in report.layers]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            x = (torch.empty if device == "meta" else torch.randn)((batch, *report.input_shape), device=device)
            output = module(x)
    finally:
        for handle in handles:
            handle.remove()
    # FlopCounterMode counts per module, named by the root's class and the module's path; each layer's
    # module runs once, so its count is its own.
    flops = {name: sum(by_op.values()) for name, by_op in counter.get_flop_counts().items()}
    root = type(module).__name__
    checks = []
    for layer in report.layers:
        layer_module = module.get_submodule(layer.path)
        measured = (shapes.get(layer.path), _numel(layer_module.parameters()), _numel(layer_module.buffers()),
                    flops.get(f"{root}.{layer.path}", 0) // (2 * batch))
        # A layer off the path to the output is built but must not run: no output, no MACs.
        expected = (None if layer.unused else layer.output_shape, layer.params, layer.buffers,
                    0 if layer.unused else layer.macs)
        checks.append(LayerCheck(layer.index, layer.path, layer.text, expected, measured))
    checks = tuple(checks)
    finite = None if device == "meta" else bool(torch.isfinite(output).all())
    return Verification(report.path, device, batch, checks, tuple(output.shape[1:]), report.output_shape, finite)


def _numel(tensors) -> int:
    return sum(math.prod(t.shape) for t in tensors)
