"""The plain values that resolving and the op registry share: a bare word, and the mark of a value that
could not be evaluated. They live here, below both, so that neither imports the other for them."""

from __future__ import annotations

from typing import Union

from .errors import Span

Value = Union[int, float, bool, str, tuple]


class Word(str):
    """A bare name that is no variable: a word such as `same` or `bilinear` (or an undefined variable)."""

    span: Span

    def __new__(cls, text: str, span: Span):
        word = super().__new__(cls, text)
        word.span = span
        return word


class _Missing:
    """The value of an expression that could not be evaluated; the reason is already reported."""

    def __repr__(self):
        return "<missing>"


MISSING = _Missing()
