"""The zoo tier: every torchvision CNN and the timm sample, one model per test.

A model imports exactly (the analysis of its spec equals PyTorch's own counts, see `models.py`), and its spec
lowers back to a module of the same counts; or it is listed in `refusals.txt` with the cause, and then the
import must fail with one line of cnnspec's, never a traceback. A listed model that imports fails its test, so
the list only ever shrinks. Run with `pytest zoo` in the zoo venv (README, "Zoo tier").
"""

from __future__ import annotations

import pytest

import cnnspec
from zoo.models import HERE, check, timm_sample, torchvision_cnns, truth


def _refusals() -> dict:
    found = {}
    for line in (HERE / "refusals.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, cause = line.partition(":")
            found[tuple(key.split())] = cause.strip()
    return found


REFUSALS = _refusals()
MODELS = [("torchvision", n) for n in torchvision_cnns()] + [("timm", n) for n in timm_sample()]


def test_the_sample_is_what_the_issue_asks_for():
    assert len(torchvision_cnns()) == 68
    assert len(timm_sample()) >= 150 and len(set(timm_sample())) == len(timm_sample())
    assert set(REFUSALS) <= set(MODELS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("source,name", MODELS, ids=[f"{s}-{n}" for s, n in MODELS])
def test_model(source, name):
    outcome = check(source, name)
    if (source, name) in REFUSALS:
        assert outcome.error is not None, f"{name} imports now ({'exact' if outcome.exact else 'NOT exact'}): " \
                                          f"take it off refusals.txt"
        assert outcome.error.startswith("cnnspec: error: ") and "\n" not in outcome.error
        return
    assert outcome.error is None
    assert outcome.spec == outcome.model
    lowered = cnnspec.lower(cnnspec.parse(outcome.text), device="meta")
    assert truth(lowered, outcome.shape) == outcome.model
