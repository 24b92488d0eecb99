"""The IR: a resolved network, plain frozen data (integers, floats, words and tuples), no torch, no printing.

Source spans ride along for error messages but take no part in equality, so two networks written
differently (a default here, a variable there) compare equal when they describe the same layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .errors import Source, Span

Value = Union[int, float, bool, str, tuple]


@dataclass(frozen=True, slots=True)
class Arg:
    """A resolved argument value and where it was written (a `default` statement, or the layer itself)."""

    value: Value
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer as written: its canonical op name and the arguments given (registry defaults not filled in)."""

    op: str
    args: tuple[tuple[str, Arg], ...]
    text: str = field(compare=False)
    span: Span = field(compare=False)

    def arg(self, name: str) -> Arg | None:
        for key, arg in self.args:
            if key == name:
                return arg
        return None


@dataclass(frozen=True, slots=True)
class Repeat:
    """A group of layers run `count` times in sequence (count ≥ 1; a count of 0 leaves no node)."""

    body: tuple[Node, ...]
    count: int
    text: str = field(compare=False)
    span: Span = field(compare=False)


Node = Union[Layer, Repeat]


@dataclass(frozen=True, slots=True)
class Network:
    """INPUT and the chain after it."""

    input: Layer
    body: tuple[Node, ...]
    source: Source = field(compare=False, repr=False)

    def layers(self):
        """Every concrete layer after INPUT, repeats expanded, in execution order."""
        yield from _expand(self.body)


def _expand(nodes):
    for node in nodes:
        if isinstance(node, Repeat):
            for _ in range(node.count):
                yield from _expand(node.body)
        else:
            yield node
