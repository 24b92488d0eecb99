"""The suite's layout follows the package's (lang/, analysis/, bridge/, homework/); the hand-written torch
reference modules and the example counts (profiles.py) live in support/. Test modules import those, and a
few share strategies with each other, by their bare names, so every test folder is on the path.

Hypothesis runs derandomized with no example database: the same examples on every run and machine, and
nothing written beside the checkout (tests write only to tmp_path).
"""

import os
import sys
from pathlib import Path

from hypothesis import settings

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS / name) for name in ("support", "lang", "analysis", "bridge", "homework")]

for _name in ("default", "ci", "fuzz"):
    settings.register_profile(_name, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
