"""PyTorch ground truth for cnnspec's differential tests.

Everything here runs on the ``meta`` device: tensors carry shapes and dtypes
but no storage, so even VGG-19 (143M parameters) is measured without
allocating a single weight, and FlopCounterMode still sees every aten op.

The unit of comparison is the *leaf module call*: cnnspec describes a network
as a flat chain of layers, and a hand-written reference module whose leaf
modules execute in that same order gives one record per spec layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

META = torch.device("meta")


@dataclass(frozen=True)
class LayerRecord:
    """What one leaf module call did, with the batch dimension removed."""

    kind: str  # the module's class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    # Qualified module name, only there to make test failures readable; it is
    # not part of the comparison (cnnspec has no notion of torch names).
    name: str = field(default="", compare=False)


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int


def build_on_meta(
    builder: Callable[[], tuple[nn.Module, tuple[int, ...]]],
) -> tuple[nn.Module, tuple[int, ...]]:
    """Call a reference-model builder with meta as the default device.

    Building directly on meta (rather than building on CPU and calling
    ``.to("meta")``) is what keeps the big models cheap: parameters are never
    allocated nor randomly initialised.
    """
    with torch.device(META):
        return builder()


def _flops_to_macs(flops: int, what: str) -> int:
    # FlopCounterMode counts a multiply-accumulate as 2 flops (and ignores
    # bias additions), so an odd count would mean it counted something that
    # is not a MAC and halving would silently round it away.
    assert flops % 2 == 0, f"odd flop count {flops} for {what}"
    return flops // 2


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def _leaf_modules(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in module.named_modules() if next(m.children(), None) is None]


def _meta_input(input_shape: Sequence[int]) -> torch.Tensor:
    # Batch of one: cnnspec reports per-sample shapes and MACs.
    return torch.empty((1, *input_shape), device=META)


def measure(module: nn.Module, input_shape: Sequence[int]) -> list[LayerRecord]:
    """Run one batch-1 forward pass on meta; one record per leaf module call.

    ``input_shape`` excludes the batch dimension. The module is moved to meta
    (a no-op if it was built there, see ``build_on_meta``) and put in eval
    mode: BatchNorm would otherwise update its running statistics and reject
    a batch of one on (N, C) inputs, and Dropout would be stochastic. Neither
    changes shapes, parameter counts or MACs.

    A leaf module called twice yields two records (and its parameters are then
    counted twice by ``totals``); the reference models never share modules.
    """
    module = module.to(META)
    was_training = module.training
    module.eval()

    records: list[LayerRecord] = []

    def hook(name: str):
        def record(m: nn.Module, args, kwargs, output) -> None:
            assert isinstance(output, torch.Tensor), f"{name}: leaf output is not a single tensor"
            assert output.shape[0] == 1, f"{name}: batch dimension lost ({tuple(output.shape)})"
            # Re-run the leaf alone on the very input it just received to get
            # its own flop count. ``m.forward`` rather than ``m(...)`` so this
            # hook does not fire again; on meta, re-running an in-place op
            # (ReLU(inplace=True)) is harmless since there is no data.
            with FlopCounterMode(display=False) as counter:
                m.forward(*args, **kwargs)
            records.append(
                LayerRecord(
                    kind=type(m).__name__,
                    output_shape=tuple(output.shape[1:]),
                    params=_numel(m.parameters()),
                    buffers=_numel(m.buffers()),
                    macs=_flops_to_macs(counter.get_total_flops(), name),
                    name=name,
                )
            )

        return record

    handles = [
        m.register_forward_hook(hook(name or type(m).__name__), with_kwargs=True)
        for name, m in _leaf_modules(module)
    ]
    try:
        with torch.no_grad():
            module(_meta_input(input_shape))
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return records


def totals(records: Sequence[LayerRecord]) -> Totals:
    return Totals(
        params=sum(r.params for r in records),
        buffers=sum(r.buffers for r in records),
        macs=sum(r.macs for r in records),
    )


def model_macs(module: nn.Module, input_shape: Sequence[int]) -> int:
    """MACs of one whole batch-1 forward pass, counted independently of hooks.

    Used to check that the per-leaf MACs add up: a mismatch would mean some
    computation happens outside leaf modules (functional calls in a custom
    ``forward``) and would be invisible to the layer-by-layer comparison.
    """
    module = module.to(META)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(_meta_input(input_shape))
    finally:
        module.train(was_training)
    return _flops_to_macs(counter.get_total_flops(), type(module).__name__)


def model_params(module: nn.Module) -> int:
    """Parameter count of the module as a whole (shared tensors counted once)."""
    return _numel(module.parameters())


def model_buffers(module: nn.Module) -> int:
    return _numel(module.buffers())
