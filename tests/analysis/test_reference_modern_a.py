"""The hand-written torchvision models of reference_modern_a.py are the
published torchvision networks.

Each model is built on the meta device (nothing is allocated) and compared
with torchvision's published numbers, written here as literals:

* params  -- sum of ``p.numel()`` over ``parameters()`` (torchvision's
  ``num_params`` in the weights' metadata);
* buffers -- sum of ``b.numel()`` over ``buffers()`` (BatchNorm running
  mean/var plus one ``num_batches_tracked`` scalar per BatchNorm);
* MACs    -- ``FlopCounterMode`` flops of one batch-1 forward pass divided by
  two (conv + matmul multiply-accumulates, bias excluded; torchvision's
  ``_ops`` GFLOPS metadata is this number);
* output  -- shape ``(1, 1000)``.

The expected numbers are copied from torchvision, never computed here: if one
does not match, the transcription in reference_modern_a.py is wrong.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from reference_modern_a import MODERN_A

# name -> (params, buffers, MACs), torchvision's published numbers.
PUBLISHED: dict[str, tuple[int, int, int]] = {
    "resnet18": (11_689_512, 9_620, 1_814_073_344),
    "resnet34": (21_797_672, 17_060, 3_663_761_408),
    "resnet50": (25_557_032, 53_173, 4_089_184_256),
    "resnet101": (44_549_160, 105_448, 7_801_405_440),
    "resnet152": (60_192_808, 151_579, 11_513_626_624),
    "resnext50_32x4d": (25_028_904, 68_277, 4_230_479_872),
    "wide_resnet50_2": (68_883_240, 68_277, 11_398_021_120),
    "googlenet": (6_624_904, 14_617, 1_498_376_192),
    "squeezenet1_0": (1_248_424, 0, 818_924_576),
    "squeezenet1_1": (1_235_496, 0, 349_151_936),
    "densenet121": (7_978_856, 83_769, 2_834_161_664),
}


def test_every_model_has_published_numbers():
    assert set(PUBLISHED) == set(MODERN_A)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_matches_published_torchvision_numbers(name: str):
    expected_params, expected_buffers, expected_macs = PUBLISHED[name]

    with torch.device("meta"):
        module, input_shape = MODERN_A[name]()
    module.eval()
    assert input_shape == (3, 224, 224)
    assert all(p.is_meta for p in module.parameters())

    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())

    x = torch.empty((1, *input_shape), device="meta")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = module(x)
    flops = counter.get_total_flops()

    assert params == expected_params
    assert buffers == expected_buffers
    assert flops % 2 == 0
    assert flops // 2 == expected_macs
    assert isinstance(out, torch.Tensor)
    assert tuple(out.shape) == (1, 1000)
