"""The modern CNNs of specs/ against torchvision's published numbers and hand-written equivalents.

Totals (params, buffers, MACs, output shape) must equal torchvision's (weights=None, GoogLeNet with
aux_logits=False), written here as literals. Layer by layer, every convolution, batch norm and linear
layer must agree with the reference module's in forward order: torchvision wires branches with
functions (`+`, `torch.cat`, `*`, `chunk`) and sometimes calls activations functionally, so those are
compared through the totals and the output shape rather than one by one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnnspec
from reference_modern_a import MODERN_A
from reference_modern_b import MODERN_B
from torch_reference import build_on_meta, measure

SPECS = Path(__file__).resolve().parent.parent / "specs"

PUBLISHED = {  # params, buffers, MACs
    "resnet18": (11_689_512, 9_620, 1_814_073_344),
    "resnet34": (21_797_672, 17_060, 3_663_761_408),
    "resnet50": (25_557_032, 53_173, 4_089_184_256),
    "resnet101": (44_549_160, 105_448, 7_801_405_440),
    "resnet152": (60_192_808, 151_579, 11_513_626_624),
    "resnext50_32x4d": (25_028_904, 68_277, 4_230_479_872),
    "wide_resnet50_2": (68_883_240, 68_277, 11_398_021_120),
    "googlenet": (6_624_904, 14_617, 1_498_376_192),
    "mobilenet_v2": (3_504_872, 34_164, 300_774_272),
    "mobilenet_v3_small": (2_542_856, 12_146, 56_510_400),
    "squeezenet1_0": (1_248_424, 0, 818_924_576),
    "squeezenet1_1": (1_235_496, 0, 349_151_936),
    "densenet121": (7_978_856, 83_769, 2_834_161_664),
    "shufflenet_v2_x1_0": (2_278_604, 16_236, 144_907_992),
    "mnasnet1_0": (4_383_312, 37_972, 314_415_872),
    "efficientnet_b0": (5_288_548, 42_065, 385_814_752),
}
REFERENCES = {**MODERN_A, **MODERN_B}
COUNTED = {"Conv2d": "conv", "BatchNorm2d": "bn", "Linear": "fc"}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_totals(name):
    report = cnnspec.analyze(cnnspec.load(SPECS / f"{name}.cnn"))
    t = report.totals
    assert (t.params, t.buffers, t.macs) == PUBLISHED[name]
    assert report.input_shape == (3, 224, 224) and report.output_shape == (1000,)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_counted_layers_match_torch_in_order(name):
    report = cnnspec.analyze(cnnspec.load(SPECS / f"{name}.cnn"))
    module, input_shape = build_on_meta(REFERENCES[name])
    theirs = [(COUNTED[r.kind], r.output_shape, r.params, r.buffers, r.macs)
              for r in measure(module, input_shape) if r.kind in COUNTED]
    ours = [(l.op, l.output_shape, l.params, l.buffers, l.macs) for l in report.layers if l.op in COUNTED.values()]
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"counted layer {index}: cnnspec {a} vs torch {b}"


def test_resnets_share_one_file_of_blocks():
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2"):
        assert 'import "resnet_blocks.cnn"' in (SPECS / f"{name}.cnn").read_text()
    assert "block " in (SPECS / "resnet_blocks.cnn").read_text()


def test_every_spec_is_written_with_blocks_not_unrolled():
    for name in PUBLISHED:
        text = (SPECS / f"{name}.cnn").read_text()
        assert "block " in text or "import" in text, name
        assert len(text.splitlines()) < 120, name
