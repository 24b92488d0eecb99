"""How numbers, shapes and values are written in messages and tables (one place, so they agree)."""

from __future__ import annotations

import math
from fractions import Fraction


def shape_text(shape) -> str:
    """`32×24×24`; a vector is just its length."""
    return "×".join(str(n) for n in shape)


def join_words(words: list[str], last: str = "and") -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def value_text(value) -> str:
    """A value as a user would write it in a spec."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if value == math.inf:  # a receptive field or jump beyond what the analysis counts exactly
        return ">1e18"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    return str(value)


def shown(value) -> str:
    """A value in a message: a word (any string) is shown as "the word `same`"; the rest as written."""
    if isinstance(value, str):
        return f"the word `{value}`"
    return value_text(value)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
