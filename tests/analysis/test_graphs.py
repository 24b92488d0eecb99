"""Named outputs (`label: ITEM` … `@label`): a value used again by later layers, as DenseNet concatenates every
earlier output and an auxiliary head branches off and ends. Counted against hand-written PyTorch modules on the
meta device, lowered back, and verified."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnnspec
from cnnspec.bridge.codegen import generate
from cnnspec.render.text import plain_table


def _torch_counts(module, shape):
    module = module.to("meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(torch.empty((1, *shape), device="meta"))
    return (sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers()),
            counter.get_total_flops() // 2, tuple(out.shape[1:]))


def _spec_counts(report):
    t = report.totals
    return t.params, t.buffers, t.macs, report.output_shape


class DenseLayer(nn.Module):
    """torchvision's _DenseLayer: it reads the concatenation of every earlier output."""

    def __init__(self, channels, growth):
        super().__init__()
        self.norm1, self.relu1 = nn.BatchNorm2d(channels), nn.ReLU()
        self.conv1 = nn.Conv2d(channels, 2 * growth, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(2 * growth), nn.ReLU()
        self.conv2 = nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.Module):
    def __init__(self, channels=6, growth=4, layers=3):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.layers = nn.ModuleList(DenseLayer(channels + i * growth, growth) for i in range(layers))

    def forward(self, x):
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


DENSE = """
block dense_layer(growth) {
  BN -> RELU -> CONV(2 * growth, k=1, bias=false) -> BN -> RELU -> CONV(growth, k=3, p=1, bias=false)
}
INPUT(3, 8, 8)
-> x0: CONV(6, k=3, p=1)
-> x1: dense_layer(4)
-> CONCAT { @x0 | @x1 } -> x2: dense_layer(4)
-> CONCAT { @x0 | @x1 | @x2 } -> x3: dense_layer(4)
-> CONCAT { @x0 | @x1 | @x2 | @x3 }
"""


def test_densenet_as_torchvision_writes_it():
    report = cnnspec.analyze(cnnspec.parse(DENSE))
    assert _spec_counts(report) == _torch_counts(DenseBlock(), (3, 8, 8))
    assert report.output_shape == (18, 8, 8) and report.totals.unused_params == 0
    # The last CONCAT reads the stem and the three layers' outputs, each the end of a dense layer.
    last = report.layers[-1]
    assert [report.layers[i - 1].path for i in last.inputs] == ["x0", "x1.5", "x2.5", "x3.5"]
    # Receptive field through every path: the deepest one has the stem's 3x3 and three 3x3 convs.
    assert last.receptive_field == (1 + 4 * 2, 1 + 4 * 2)


def test_a_named_output_lowers_to_the_same_module():
    program = cnnspec.parse(DENSE)
    module = cnnspec.lower(program, device="meta")
    assert _torch_counts(module, (3, 8, 8)) == _torch_counts(DenseBlock(), (3, 8, 8))
    assert cnnspec.verify(program).ok


class WithAux(nn.Module):
    """GoogLeNet's shape: an auxiliary head built beside the trunk and run only in training."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.aux = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
        self.head = nn.Sequential(nn.Conv2d(8, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        x = self.stem(x)
        aux = self.aux(x) if self.training else None
        x = self.head(x)
        return (x, aux) if self.training else x


AUX = """
INPUT(3, 16, 16) -> stem: [CONV(8, k=3, p=1) -> RELU]
-> aux: [GAP -> FLATTEN -> FC(10)]
-> @stem -> CONV(4, k=1) -> GAP -> FLATTEN -> FC(10)
"""


def test_an_auxiliary_head_counts_its_parameters_but_not_its_macs():
    report = cnnspec.analyze(cnnspec.parse(AUX))
    assert _spec_counts(report) == _torch_counts(WithAux(), (3, 16, 16))
    assert report.totals.unused_params == sum(p.numel() for p in WithAux().aux.parameters()) == 90
    assert [layer.unused for layer in report.layers] == [False, False, True, True, True, False, False, False,
                                                         False]
    data = json.loads(report.to_json())
    assert [layer.get("unused", False) for layer in data["layers"]][2:5] == [True, True, True]
    assert data["totals"]["unused_params"] == 90
    assert data["layers"][5]["inputs"] == [2]  # the CONV after `@stem` reads the stem's RELU
    table = plain_table(report)
    assert "FC(10)  (unused)" in table and "CONV(4, k=1)  ← 2" in table
    # The scope of the head sums no MACs: it never runs.
    assert report.scopes[1].path == "aux" and report.scopes[1].macs == 0 and report.scopes[1].params == 90


def test_an_auxiliary_head_is_built_but_not_run():
    program = cnnspec.parse(AUX)
    module = cnnspec.lower(program, device="meta")
    assert _torch_counts(module, (3, 16, 16)) == _torch_counts(WithAux(), (3, 16, 16))
    result = cnnspec.verify(program)
    assert result.ok and [c.measured[0] for c in result.layers][2:5] == [None, None, None]


def test_input_names_the_scope_input():
    text = "INPUT(4, 6, 6) -> g: [CONV(4, k=3, p=1) -> RELU -> ADD { @input | [] }] -> @input -> CONV(2, k=1)"
    report = cnnspec.analyze(cnnspec.parse(text))
    assert report.layers[2].inputs == (0, 2)  # the ADD: the group's input (INPUT) and the RELU
    assert report.layers[3].inputs == (0,) and [l.unused for l in report.layers] == [True, True, True, False]


@pytest.mark.parametrize("text, reference", [(DENSE, DenseBlock), (AUX, WithAux)], ids=["dense", "aux"])
def test_generated_source_builds_the_same_module(text, reference, tmp_path):
    """Generated source keeps a value read again in its label's variable and builds the head left behind
    without running it (tests/bridge/test_codegen.py compares it with the lowered module, layer by layer)."""
    program = cnnspec.parse(text)
    shape = cnnspec.analyze(program).input_shape
    path = tmp_path / "generated_model.py"
    path.write_text(generate(program), encoding="utf-8")
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 - our own file
    assert _torch_counts(namespace["Net"](), shape) == _torch_counts(reference(), shape)
