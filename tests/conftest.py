"""The suite's layout follows the package's (lang/, analysis/, bridge/, homework/); the hand-written torch
reference modules live in support/. Test modules import those, and a few share strategies with each other,
by their bare names, so every test folder is on the path."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS / name) for name in ("support", "lang", "analysis", "bridge", "homework")]
