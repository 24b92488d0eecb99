"""The zoo tier for the hand-written specs of torchvision networks: each spec against the real model.

specs/convnext_tiny.cnn, regnet_y_400mf.cnn, efficientnet_v2_s.cnn and densenet121_torchvision.cnn are written
by hand after torchvision's sources; here torchvision builds each model (random weights, the meta device, see
`models.py`) and the spec's analysis must equal it exactly: params, buffers, FlopCounterMode's total / 2 and
the output shape, at the size the zoo imports with (3x224x224). So must the module the spec lowers to, and the
stochastic depth rates a forward pass runs, which no count sees. The default tier checks the same specs
against hand-written modules (tests/analysis/test_reference_zoo_specs.py). Run in the zoo venv (README).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnnspec
from zoo.models import Counts, build, truth

SPECS = Path(__file__).resolve().parents[1] / "specs"

# spec -> the torchvision model it is written after
MODELS = {
    "convnext_tiny": "convnext_tiny",
    "regnet_y_400mf": "regnet_y_400mf",
    "efficientnet_v2_s": "efficientnet_v2_s",
    "densenet121_torchvision": "densenet121",
}


def spec_counts(spec: str, **variables) -> Counts:
    report = cnnspec.analyze(cnnspec.load(SPECS / f"{spec}.cnn"), **variables)
    t = report.totals
    return Counts(t.params, t.buffers, t.macs, tuple(report.output_shape))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("spec", sorted(MODELS))
def test_spec_counts_as_the_torchvision_model(spec):
    model, shape = build("torchvision", MODELS[spec])
    assert shape == (3, 224, 224)
    expected = truth(model, shape)
    assert spec_counts(spec) == expected
    lowered = cnnspec.lower(cnnspec.load(SPECS / f"{spec}.cnn"), device="meta")
    assert truth(lowered, shape) == expected


@pytest.mark.timeout(300)
def test_efficientnet_v2_s_at_its_evaluation_size():
    """torchvision evaluates EfficientNetV2-S's weights at 384x384 (its published 8.366 GFLOPS)."""
    model, _ = build("torchvision", "efficientnet_v2_s")
    expected = truth(model, (3, 384, 384))
    assert spec_counts("efficientnet_v2_s", SIZE=384) == expected
    assert round(expected.macs / 1e9, 3) == 8.366


@pytest.mark.timeout(300)
@pytest.mark.parametrize("spec", ["convnext_tiny", "efficientnet_v2_s"])
def test_stochastic_depth_rates_are_torchvisions(spec):
    """The rates of the stochastic depths in forward order; EfficientNet runs a block's only when the block has
    a residual connection (`use_res_connect`), and only there does the spec write one."""
    model, _ = build("torchvision", MODELS[spec])
    theirs = [m.stochastic_depth.p for m in model.modules()
              if hasattr(m, "stochastic_depth") and getattr(m, "use_res_connect", True)]
    lowered = cnnspec.lower(cnnspec.load(SPECS / f"{spec}.cnn"), device="meta")
    ours = [m.p for m in lowered.modules() if type(m).__name__ == "StochasticDepth"]
    assert len(theirs) == {"convnext_tiny": 18, "efficientnet_v2_s": 35}[spec]
    assert ours == theirs
