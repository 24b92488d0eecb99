"""A repeat's index (`[…] * N by i`) against PyTorch: a tiny EfficientNet-like stack whose blocks differ only
in their stochastic-depth rate, raised block by block as torchvision raises it (`p = 0.2 * block_id / blocks`),
written as a spec with one repeat per stage; every copy must get its own rate, bit for bit."""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

import cnnspec
from cnnspec.bridge.codegen import generate
from cnnspec.bridge.modules import StochasticDepth
from cnnspec.lang.ir import expand

STAGES = (2, 3)  # blocks per stage
WIDTH = 8
SD_PROB = 0.2


class Block(nn.Module):
    """A residual conv-BN-SiLU with stochastic depth on its branch (torchvision's MBConv, reduced)."""

    def __init__(self, c: int, p: float):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.SiLU())
        self.stochastic_depth = StochasticDepth(p, "row")

    def forward(self, x):
        return self.stochastic_depth(self.block(x)) + x


class TinyEfficientNet(nn.Module):
    def __init__(self):
        super().__init__()
        total, block_id, stages = sum(STAGES), 0, []
        for count in STAGES:
            blocks = []
            for _ in range(count):
                blocks.append(Block(WIDTH, SD_PROB * float(block_id) / total))  # as torchvision's EfficientNet
                block_id += 1
            stages.append(nn.Sequential(*blocks))
        self.features = nn.Sequential(*stages)

    def forward(self, x):
        return self.features(x)


SPEC = """
let SD_PROB = 0.2
let BLOCKS = 5
block mb(c, p) {
  ADD { block: [CONV(c, k=3, p=1, bias=false) -> BN -> SILU] -> stochastic_depth: STOCHASTICDEPTH(p) | [] }
}
block stage(c, n, first=0) {
  [mb(c, p=SD_PROB * (first + i) / BLOCKS)] * n by i
}
INPUT(8, 6, 6) -> features: [stage(8, 2) -> stage(8, 3, first=2)]
"""


def torch_rates(module) -> list[float]:
    return [m.p for m in module.modules() if isinstance(m, StochasticDepth)]


def test_the_rates_rise_in_the_reference():
    assert torch_rates(TinyEfficientNet()) == [0.0, 0.04, 0.08, 0.12000000000000002, 0.16]


def test_each_copy_resolves_with_its_own_rate():
    network = cnnspec.resolve(cnnspec.parse(SPEC))
    ours = [layer.arg("p").value for layer in expand(network.body) if layer.op == "stochasticdepth"]
    assert ours == torch_rates(TinyEfficientNet())
    assert all(type(p) is float for p in ours)


def test_the_analysis_counts_every_copy():
    report = cnnspec.analyze(cnnspec.parse(SPEC))
    reference = TinyEfficientNet()
    assert report.totals.params == sum(p.numel() for p in reference.parameters())
    assert [layer.resolved for layer in report.layers if layer.op == "stochasticdepth"] == \
        [f"STOCHASTICDEPTH({p!r})" for p in torch_rates(reference)]


def test_lower_builds_each_copy_with_its_own_rate():
    lowered = cnnspec.lower(cnnspec.parse(SPEC), seed=0).eval()
    reference = TinyEfficientNet().eval()
    assert torch_rates(lowered) == torch_rates(reference)
    assert {k: v.shape for k, v in lowered.state_dict().items()} == \
        {k: v.shape for k, v in reference.state_dict().items()}
    reference.load_state_dict(lowered.state_dict())
    x = torch.randn(2, WIDTH, 6, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(lowered(x), reference(x))


def test_generated_source_builds_each_copy_with_its_own_rate(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(generate(cnnspec.parse(SPEC)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tiny_generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.Net()
    assert [m.p for m in net.modules() if type(m).__name__ == "StochasticDepth"] == torch_rates(TinyEfficientNet())


def test_an_index_counts_within_its_own_repeat_and_nests():
    network = cnnspec.resolve(cnnspec.parse("INPUT(1, 4, 4) -> [[CONV(1 + 10 * j + i, k=1)] * 2 by i] * 3 by j"))
    assert [layer.arg("out").value for layer in expand(network.body)] == [1, 2, 11, 12, 21, 22]


def test_a_count_from_the_index_changes_the_copies_shape():
    report = cnnspec.analyze(cnnspec.parse("INPUT(2, 4, 4) -> [ADD { CONV(2, k=1) * i | [] }] * 3 by i"))
    assert [layer.op for layer in report.layers] == ["add", "conv", "add", "conv", "conv", "add"]
    # the first copy is empty, the others are not
    report = cnnspec.analyze(cnnspec.parse("INPUT(2, 4, 4) -> [CONV(2, k=1) * i] * 3 by i"))
    assert [layer.path for layer in report.layers] == ["0", "1", "2"]


# ------------------------------------------------------------------------------ the importer folds them


def folded_rates(text: str) -> list[float]:
    """Each STOCHASTICDEPTH's p in the imported spec, as cnnspec resolves it (0.0 where it is left out)."""
    network = cnnspec.resolve(cnnspec.parse(text))
    return [layer.arg("p").value if layer.arg("p") else 0.0
            for layer in expand(network.body) if layer.op == "stochasticdepth"]


def test_the_importer_folds_rising_rates_into_a_repeat_with_its_index():
    text = cnnspec.from_torch(TinyEfficientNet(), (WIDTH, 6, 6))
    assert text.splitlines()[1:] == [
        "INPUT(8, 6, 6)",
        "-> [",
        "     ADD { CONV(8, k=3, p=1, bias=false) -> BN -> SILU -> STOCHASTICDEPTH(0.2 * i / 5) | [] }",
        "   ] * 5 by i",
    ]
    assert folded_rates(text) == torch_rates(TinyEfficientNet())


class TinyConvNeXt(nn.Module):
    """Stages of residual blocks with downsampling between them; the rate rises over all blocks, as
    torchvision's ConvNeXt raises it (`p = 0.1 * block_id / (blocks - 1.0)`), so stage 2 starts at block 3."""

    def __init__(self, stages=(3, 3, 4)):
        super().__init__()
        total, block_id, layers, c = sum(stages), 0, [], 4
        for number, count in enumerate(stages):
            if number:
                layers.append(nn.Conv2d(c, 2 * c, 2, stride=2))
                c *= 2
            for _ in range(count):
                layers.append(Block(c, 0.1 * block_id / (total - 1.0)))
                block_id += 1
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


def test_the_importer_writes_each_stage_from_the_block_it_starts_at():
    module = TinyConvNeXt()
    text = cnnspec.from_torch(module, (4, 8, 8))
    rates = [line.strip() for line in text.splitlines() if "STOCHASTICDEPTH" in line]
    assert [r[r.index("STOCHASTICDEPTH"):r.index(" |")] for r in rates] == [
        "STOCHASTICDEPTH(0.1 * i / 9)", "STOCHASTICDEPTH(0.1 * (i + 3) / 9)", "STOCHASTICDEPTH(0.1 * (i + 6) / 9)"]
    assert folded_rates(text) == torch_rates(module)  # bit for bit


def test_blocks_of_rates_that_do_not_rise_by_one_step_stay_apart():
    """Nor do two blocks fold: any two rates rise by one step."""
    module = nn.Sequential(*[Block(4, p) for p in (0.1, 0.2, 0.5, 0.6)])
    text = cnnspec.from_torch(module, (4, 6, 6))
    assert "STOCHASTICDEPTH(0.1)" in text and not any(" by " in line for line in text.splitlines()[1:])
    assert folded_rates(text) == torch_rates(module)


def test_the_importer_folds_torchvisions_convnext_and_efficientnet_exactly():
    """The references of tests/analysis/test_reference_zoo_specs.py (torchvision's code), their StochasticDepth
    as cnnspec's (torchvision's own is found by its package, which is not installed here)."""
    from test_reference_zoo_specs import REFERENCES
    from torch_reference import build_on_meta

    for name, repeats in (("convnext_tiny", 4), ("efficientnet_v2_s", 5)):  # V2-S's first stage: 2 blocks
        module, shape = build_on_meta(REFERENCES[name])
        for m in module.modules():
            if hasattr(m, "stochastic_depth"):
                m.stochastic_depth = StochasticDepth(m.stochastic_depth.p, m.stochastic_depth.mode)
        text = cnnspec.from_torch(module, shape)
        assert text.count(" by i") == repeats
        theirs = [m.stochastic_depth.p for m in module.modules()
                  if hasattr(m, "stochastic_depth") and getattr(m, "use_res_connect", True)]
        assert folded_rates(text) == theirs
