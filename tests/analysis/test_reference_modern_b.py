"""The hand-written "modern B" reference models are torchvision's networks.

Each model is built directly on the meta device, put in eval mode and checked
against the numbers torchvision publishes (parameter counts from the weights'
``num_params`` metadata; buffers and MACs of torchvision's modules with
``weights=None``). Every expected number below is a literal copied from those
published values; none is computed here.

MACs = FlopCounterMode total flops of one batch-1 forward pass / 2. The flop
counter counts only convolutions and matrix multiplications (bias excluded),
so squeeze-and-excitation's 1x1 convolutions count but its ``scale * input``
product, the residual additions, pooling and activations do not.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from reference_modern_b import MODERN_B

# name -> (params, buffers, MACs)
PUBLISHED: dict[str, tuple[int, int, int]] = {
    "mobilenet_v2": (3_504_872, 34_164, 300_774_272),
    "mobilenet_v3_small": (2_542_856, 12_146, 56_510_400),
    "shufflenet_v2_x1_0": (2_278_604, 16_236, 144_907_992),
    "mnasnet1_0": (4_383_312, 37_972, 314_415_872),
    "efficientnet_b0": (5_288_548, 42_065, 385_814_752),
}


@cache
def _measure(name: str) -> tuple[int, int, int, tuple[int, ...], tuple[int, ...]]:
    with torch.device("meta"):
        module, input_shape = MODERN_B[name]()
    module.eval()
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    assert all(p.is_meta for p in module.parameters())
    x = torch.empty((1, *input_shape), device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0, f"{name}: odd flop count {flops}"
    return params, buffers, flops // 2, tuple(input_shape), tuple(out.shape)


def test_every_model_has_published_numbers():
    assert set(MODERN_B) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_input_and_output_shape(name):
    *_, input_shape, out_shape = _measure(name)
    assert input_shape == (3, 224, 224)
    assert out_shape == (1, 1000)
    assert out_shape[1:] == (1000,)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params(name):
    params, *_ = _measure(name)
    assert params == PUBLISHED[name][0]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_buffers(name):
    _, buffers, *_ = _measure(name)
    assert buffers == PUBLISHED[name][1]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs(name):
    _, _, macs, *_ = _measure(name)
    assert macs == PUBLISHED[name][2]
