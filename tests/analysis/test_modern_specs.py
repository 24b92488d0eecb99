"""The modern CNNs of specs/ against torchvision's published numbers and hand-written equivalents.

Totals (params, buffers, MACs, output shape) must equal torchvision's (weights=None, GoogLeNet with
aux_logits=False), the literals of test_reference_modern_a/b.py. Layer by layer, every convolution, batch norm and linear
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
from test_reference_modern_a import PUBLISHED as PUBLISHED_A
from test_reference_modern_b import PUBLISHED as PUBLISHED_B
from torch_reference import build_on_meta, measure

SPECS = Path(__file__).resolve().parents[2] / "specs"

# torchvision's published (params, buffers, MACs), as literals in the reference tests.
PUBLISHED = {**PUBLISHED_A, **PUBLISHED_B}
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
