"""The PyTorch reference models reproduce the numbers published for them.

cnnspec is checked against these modules layer by layer (test_specs.py), so
the modules themselves must first be shown to be the published networks.
Every expected number below is copied from its source (the lecture notes in
the seeds, or torchvision's documentation); none is computed by code here.
"""

from __future__ import annotations

from functools import cache

import pytest
import torch

from reference_models import REFERENCE_MODELS
from torch_reference import (
    LayerRecord,
    build_on_meta,
    measure,
    model_buffers,
    model_macs,
    model_params,
    totals,
)

# name -> (total params, total MACs or None when the source gives none).
# torchvision MACs are conv + linear multiply-accumulates, bias excluded.
PUBLISHED_TOTALS: dict[str, tuple[int, int | None]] = {
    "lenet": (61_706, None),  # seed 001 summary of the same layer sizes
    "seed_fashion_mnist": (2_635_146, None),  # seed 001, case 1 summary
    "seed_lenet_same": (421_642, None),  # seed 001, "Replace FC by 1x1 Conv"
    "seed_cnn_no_pool": (20_087, None),  # seed 003
    "seed_cnn_pool": (1_337, None),  # seed 003
    "seed_cnn_blocks": (49_519, None),  # seed 003, CNN vs FCNN
    "seed_fcnn": (4_238_337, None),  # seed 003, CNN vs FCNN
    "seed_cnn_classifier": (149_798, None),  # seed 004
    "alexnet": (61_100_840, 714_188_480),
    "vgg11": (132_863_336, 7_609_090_048),
    "vgg16": (138_357_544, 15_470_264_320),
    "vgg19": (143_667_240, 19_632_062_464),
}

# Models with no published total; they are still checked for internal
# consistency below and against cnnspec in test_specs.py. lenet_like has its
# own row-by-row test instead of a total.
UNPUBLISHED = {"lenet_like", "nin", "conv1d_net", "conv3d_net", "template"}


@cache
def _measured(name: str) -> tuple[torch.nn.Module, tuple[int, ...], tuple[LayerRecord, ...]]:
    module, input_shape = build_on_meta(REFERENCE_MODELS[name])
    return module, input_shape, tuple(measure(module, input_shape))


def test_every_reference_model_is_classified():
    # A new reference model must either get published numbers or be listed
    # as unpublished on purpose.
    assert set(PUBLISHED_TOTALS) | UNPUBLISHED == set(REFERENCE_MODELS)
    assert not set(PUBLISHED_TOTALS) & UNPUBLISHED


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTALS))
def test_published_totals(name):
    params, macs = PUBLISHED_TOTALS[name]
    _, _, records = _measured(name)
    measured = totals(records)
    assert measured.params == params
    if macs is not None:
        assert measured.macs == macs


@pytest.mark.parametrize("name", sorted(REFERENCE_MODELS))
def test_leaf_records_account_for_the_whole_model(name):
    # The layer-by-layer comparison only sees leaf modules; anything computed
    # or stored outside them would escape it.
    module, input_shape, records = _measured(name)
    measured = totals(records)
    assert measured.params == model_params(module)
    assert measured.buffers == model_buffers(module)
    assert measured.macs == model_macs(module, input_shape)


@pytest.mark.parametrize("name", sorted(REFERENCE_MODELS))
def test_built_on_meta_without_allocating(name):
    module, _, _ = _measured(name)
    assert all(t.is_meta for t in (*module.parameters(), *module.buffers()))


def test_batchnorm_buffers_are_running_stats_plus_counter():
    # 2C running statistics (mean, var) + 1 num_batches_tracked; 2C affine params.
    for name in ("conv1d_net", "conv3d_net"):
        _, _, records = _measured(name)
        bns = [r for r in records if r.kind.startswith("BatchNorm")]
        assert bns, name
        for r in bns:
            channels = r.output_shape[0]
            assert (r.params, r.buffers, r.macs) == (2 * channels, 2 * channels + 1, 0), r


# Seed 000, "Case study: LeNet-like architecture", every row of the table:
# (layer, output size, # parameters, # products).
LENET_LIKE_TABLE = [
    ("Conv2d", (32, 24, 24), 832, 460_800),
    ("MaxPool2d", (32, 8, 8), 0, 0),
    ("ReLU", (32, 8, 8), 0, 0),
    ("Conv2d", (64, 4, 4), 51_264, 819_200),
    ("MaxPool2d", (64, 2, 2), 0, 0),
    ("ReLU", (64, 2, 2), 0, 0),
    ("Flatten", (256,), 0, 0),  # x.view(-1, 256)
    ("Linear", (200,), 51_400, 51_200),
    ("ReLU", (200,), 0, 0),
    ("Linear", (10,), 2_010, 2_000),
]


def test_lenet_like_matches_case_study_table():
    _, _, records = _measured("lenet_like")
    got = [(r.kind, r.output_shape, r.params, r.macs) for r in records]
    assert got == LENET_LIKE_TABLE


# Per-layer rows printed by the lectures (model summaries / layer_summary):
# (module kind, output shape without batch, params), None where not printed.
# Only leaf rows are kept (torchsummary also prints the Sequential wrappers).
PRINTED_SUMMARIES: dict[str, list[tuple[str, tuple[int, ...] | None, int | None]]] = {
    # seed 002, d2l layer_summary (shapes only)
    "lenet": [
        ("Conv2d", (6, 28, 28), None),
        ("Sigmoid", (6, 28, 28), None),
        ("AvgPool2d", (6, 14, 14), None),
        ("Conv2d", (16, 10, 10), None),
        ("Sigmoid", (16, 10, 10), None),
        ("AvgPool2d", (16, 5, 5), None),
        ("Flatten", (400,), None),
        ("Linear", (120,), None),
        ("Sigmoid", (120,), None),
        ("Linear", (84,), None),
        ("Sigmoid", (84,), None),
        ("Linear", (10,), None),
    ],
    "seed_fashion_mnist": [
        ("Conv2d", (32, 22, 22), 1_600),
        ("ReLU", (32, 22, 22), 0),
        ("Conv2d", (64, 16, 16), 100_416),
        ("ReLU", (64, 16, 16), 0),
        ("Conv2d", (128, 10, 10), 401_536),
        ("ReLU", (128, 10, 10), 0),
        ("Conv2d", (256, 4, 4), 1_605_888),
        ("ReLU", (256, 4, 4), 0),
        ("Flatten", (4096,), 0),
        ("Linear", (128,), 524_416),
        ("ReLU", (128,), 0),
        ("Linear", (10,), 1_290),
    ],
    "seed_lenet_same": [
        ("Conv2d", (32, 28, 28), 320),
        ("ReLU", (32, 28, 28), 0),
        ("MaxPool2d", (32, 14, 14), 0),
        ("Conv2d", (64, 14, 14), 18_496),
        ("ReLU", (64, 14, 14), 0),
        ("MaxPool2d", (64, 7, 7), 0),
        ("Flatten", (3136,), 0),
        ("Linear", (128,), 401_536),
        ("ReLU", (128,), 0),
        ("Linear", (10,), 1_290),
    ],
    "seed_cnn_no_pool": [
        ("Conv2d", (3, 100, 100), 30),
        ("ReLU", (3, 100, 100), 0),
        ("Conv2d", (2, 100, 100), 56),
        ("ReLU", (2, 100, 100), 0),
        ("Flatten", (20000,), 0),
        ("Linear", (1,), 20_001),
    ],
    "seed_cnn_pool": [
        ("Conv2d", (3, 100, 100), 30),
        ("ReLU", (3, 100, 100), 0),
        ("MaxPool2d", (3, 50, 50), 0),
        ("Conv2d", (2, 50, 50), 56),
        ("ReLU", (2, 50, 50), 0),
        ("MaxPool2d", (2, 25, 25), 0),
        ("Flatten", (1250,), 0),
        ("Linear", (1,), 1_251),
    ],
    "seed_cnn_blocks": [
        ("Conv2d", (3, 128, 128), 30),
        ("ReLU", (3, 128, 128), 0),
        *[("Conv2d", (3, 128, 128), 84), ("ReLU", (3, 128, 128), 0)] * 4,
        ("Flatten", (49152,), 0),
        ("Linear", (1,), 49_153),
    ],
    "seed_fcnn": [
        ("Linear", (256,), 4_194_560),
        ("ReLU", (256,), 0),
        ("Linear", (128,), 32_896),
        ("ReLU", (128,), 0),
        ("Linear", (64,), 8_256),
        ("ReLU", (64,), 0),
        ("Linear", (32,), 2_080),
        ("ReLU", (32,), 0),
        ("Linear", (16,), 528),
        ("Linear", (1,), 17),
    ],
    # seed 004 prints the module and each tensor's numel (weight + bias);
    # the Flatten is our explicit stand-in for features.view(batch_size, -1).
    "seed_cnn_classifier": [
        ("Conv2d", None, 576 + 64),
        ("ReLU", None, 0),
        ("MaxPool2d", None, 0),
        ("Conv2d", None, 73_728 + 128),
        ("ReLU", None, 0),
        ("MaxPool2d", None, 0),
        ("Conv2d", None, 73_728 + 64),
        ("ReLU", None, 0),
        ("MaxPool2d", None, 0),
        ("Flatten", None, 0),
        ("Linear", None, 1_280 + 20),
        ("ReLU", None, 0),
        ("Linear", None, 200 + 10),
    ],
}


@pytest.mark.parametrize("name", sorted(PRINTED_SUMMARIES))
def test_printed_layer_summaries(name):
    _, _, records = _measured(name)
    expected = PRINTED_SUMMARIES[name]
    assert [r.kind for r in records] == [kind for kind, _, _ in expected]
    for r, (kind, shape, params) in zip(records, expected):
        if shape is not None:
            assert r.output_shape == shape, r
        if params is not None:
            assert r.params == params, r
