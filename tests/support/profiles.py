"""How many examples the property tests draw: `HYPOTHESIS_PROFILE=default` (a suite of a few minutes, run
between commits), `ci` (four times as many, for CI) or `fuzz` (the fuzz test's 50,000 inputs, the rest as ci).

Hypothesis's own profiles are loaded from the same variable (conftest.py); the example counts live here because
each test states its own count, scaled by the profile.
"""

import os

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
SCALE = {"default": 1, "ci": 4, "fuzz": 4}.get(PROFILE, 1)
FUZZ_INPUTS = {"default": 3_000, "ci": 12_000, "fuzz": 50_000}.get(PROFILE, 3_000)  # in all, over its 3 sources


def examples(count: int) -> int:
    """`count`, the default profile's number of examples, scaled for the profile in use."""
    return max(1, count * SCALE)
