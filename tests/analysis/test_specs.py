"""Differential tests: cnnspec's analysis of specs/*.cnn against PyTorch.

Each spec has a hand-written reference module (reference_models.py) whose
leaf modules run in the spec's layer order. cnnspec must agree with one
batch-1 forward pass of that module on the meta device, layer by layer, and
its totals must also equal the numbers published for the network.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reference_models import REFERENCE_MODELS
from test_modern_specs import PUBLISHED as MODERN_PUBLISHED
from test_reference_zoo_specs import REFERENCES as ZOO_SPECS
from torch_reference import build_on_meta, measure, totals

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"

CASES = sorted(REFERENCE_MODELS)

# Specs in specs/ that are deliberately checked by some other test instead of
# a reference module here. Anything else without a reference fails below.
# The modern CNNs are checked by test_modern_specs.py; resnet_blocks.cnn is the block library they import;
# ConvNeXt-T, RegNetY-400MF, EfficientNetV2-S and DenseNet-121 as torchvision writes it by
# test_reference_zoo_specs.py; U-Net, whose skips join with torch.cat (no leaf module), by test_transposed.py.
TESTED_ELSEWHERE: set[str] = set(MODERN_PUBLISHED) | set(ZOO_SPECS) | {"resnet_blocks", "unet"}

# (total params, total MACs), as published; None where nothing is published
# (such models are still compared with torch layer by layer). Deliberately
# repeated from test_reference_models.py rather than imported, so this test
# states its own expectations. MACs are conv + linear multiply-accumulates,
# bias excluded.
PUBLISHED: dict[str, tuple[int, int | None] | None] = {
    "lenet": (61_706, None),
    # seed 000's table gives only per-layer numbers; these are their sums.
    "lenet_like": (
        832 + 51_264 + 51_400 + 2_010,
        460_800 + 819_200 + 51_200 + 2_000,
    ),
    "seed_fashion_mnist": (2_635_146, None),
    "seed_lenet_same": (421_642, None),
    "seed_cnn_no_pool": (20_087, None),
    "seed_cnn_pool": (1_337, None),
    "seed_cnn_blocks": (49_519, None),
    "seed_fcnn": (4_238_337, None),
    "seed_cnn_classifier": (149_798, None),
    "alexnet": (61_100_840, 714_188_480),
    "vgg11": (132_863_336, 7_609_090_048),
    "vgg16": (138_357_544, 15_470_264_320),
    "vgg19": (143_667_240, 19_632_062_464),
    "nin": None,
    "conv1d_net": None,
    "conv3d_net": None,
    "template": None,
}

# torch module class (dimension suffix stripped) -> cnnspec canonical op.
OP_FOR_MODULE = {
    "Conv": "conv",
    "Linear": "fc",
    "MaxPool": "maxpool",
    "AvgPool": "avgpool",
    "AdaptiveAvgPool": "adaptiveavgpool",
    "AdaptiveMaxPool": "adaptivemaxpool",
    "BatchNorm": "bn",
    "ReLU": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "LeakyReLU": "leakyrelu",
    "GELU": "gelu",
    "Softmax": "softmax",
    "Identity": "identity",
    "LocalResponseNorm": "lrn",
    "Dropout": "dropout",
    "Flatten": "flatten",
    "Upsample": "resize",
}


def op_for(kind: str) -> str:
    # Conv1d/Conv2d/Conv3d etc. are one cnnspec op whose rank comes from the input.
    return OP_FOR_MODULE[re.sub(r"[123]d$", "", kind)]


def test_every_spec_has_a_reference():
    specs = {path.stem for path in SPECS_DIR.glob("*.cnn")}
    assert not specs - set(CASES) - TESTED_ELSEWHERE, "specs without a reference model"
    assert not set(CASES) - specs, "reference models without a spec"
    assert not TESTED_ELSEWHERE & set(CASES)


def test_every_case_states_its_published_numbers():
    assert set(PUBLISHED) == set(CASES)


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_spec_matches_torch(name):
    import cnnspec  # inside the test: the other tests must collect without it

    module, input_shape = build_on_meta(REFERENCE_MODELS[name])
    records = measure(module, input_shape)
    report = cnnspec.analyze(cnnspec.load(SPECS_DIR / f"{name}.cnn"))

    assert tuple(report.input_shape) == tuple(input_shape)
    assert [layer.op for layer in report.layers] == [op_for(r.kind) for r in records], (
        "layer sequence differs from the reference's leaf modules"
    )

    # One row per layer, index first so a failure names the layer; comparing
    # whole lists makes pytest point at the first differing row.
    got = [
        (i, layer.op, tuple(layer.output_shape), layer.params, layer.buffers, layer.macs)
        for i, layer in enumerate(report.layers)
    ]
    expected = [
        (i, op_for(r.kind), r.output_shape, r.params, r.buffers, r.macs)
        for i, r in enumerate(records)
    ]
    assert got == expected

    assert tuple(report.output_shape) == records[-1].output_shape

    torch_totals = totals(records)
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        torch_totals.params,
        torch_totals.buffers,
        torch_totals.macs,
    )

    published = PUBLISHED[name]
    if published is not None:
        params, macs = published
        assert report.totals.params == params
        if macs is not None:
            assert report.totals.macs == macs


def test_lenet_like_reproduces_the_case_study_table():
    """Seed 000's table, row by row: output size, # parameters, # products, exactly as the notes print them."""
    import cnnspec

    report = cnnspec.analyze(cnnspec.load(SPECS_DIR / "lenet_like.cnn"))
    rows = [(layer.output_shape, layer.params, layer.macs) for layer in report.layers]
    assert rows == [
        ((32, 24, 24), 32 * (5**2 + 1), 32 * 24**2 * 5**2),           # 832, 460800
        ((32, 8, 8), 0, 0),
        ((32, 8, 8), 0, 0),
        ((64, 4, 4), 64 * (32 * 5**2 + 1), 64 * 32 * 4**2 * 5**2),   # 51264, 819200
        ((64, 2, 2), 0, 0),
        ((64, 2, 2), 0, 0),
        ((256,), 0, 0),
        ((200,), 200 * (256 + 1), 200 * 256),                        # 51400, 51200
        ((200,), 0, 0),
        ((10,), 10 * (200 + 1), 10 * 200),                           # 2010, 2000
    ]
    assert [r[1] for r in rows if r[1]] == [832, 51_264, 51_400, 2_010]
    assert [r[2] for r in rows if r[2]] == [460_800, 819_200, 51_200, 2_000]
