"""The IR: a resolved network, plain frozen data (integers, floats, words and tuples), no torch, no printing.

Source spans ride along for error messages but take no part in equality, so two networks written
differently (a default here, a variable there) compare equal when they describe the same layers.
Unlabelled groups are flattened away; labels, repeats, block calls and merges stay, because they give
the network its structure: the rows of the table's tree and the names of layers (`layer2.1.conv1`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from .errors import Source, Span
from .values import Value


@dataclass(frozen=True, slots=True)
class Arg:
    """A resolved argument value and where it was written (a `default` statement, or the layer itself)."""

    value: Value
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: its canonical op name and the arguments given (registry defaults not filled in)."""

    op: str
    args: tuple[tuple[str, Arg], ...]
    label: str | None = None
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)
    # `shares=conv1`: the label of an earlier layer of the scope whose weights this one uses (a module called
    # twice), and where it is written.
    shares: str | None = None
    shares_span: Span | None = field(default=None, compare=False)

    def arg(self, name: str) -> Arg | None:
        for key, arg in self.args:
            if key == name:
                return arg
        return None


@dataclass(frozen=True, slots=True)
class Repeat:
    """A sequence run `count` times in a row (count ≥ 1; a count of 0 leaves no node); with an `index`, each
    copy has its own values."""

    body: tuple[Node, ...]
    count: int
    label: str | None = None
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)
    count_text: str = field(default="", compare=False)  # the count as written (`blocks - 1`), for code generation
    index: str | None = None  # the name of the copy's number in `[…] * 3 by i`
    # With an index, every copy resolved with its own number (the first is `body`); without, `body` is each copy.
    copies: tuple[tuple[Node, ...], ...] = ()

    @property
    def passes(self) -> tuple[tuple[Node, ...], ...]:
        """The body of each copy, in order."""
        return self.copies or (self.body,) * self.count


@dataclass(frozen=True, slots=True)
class Group:
    """A labelled sequence (`stem: [CONV -> BN -> RELU]`); unlabelled groups are flattened into their parent."""

    body: tuple[Node, ...]
    label: str | None = None
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BlockCall:
    """What a block call bound, for writing the block as code with parameters (`class Basic(planes, s=1)`).

    The resolved body holds only values; this keeps the names they came from. Its mappings are read-only, and
    it takes no part in a Block's equality or hash.
    """

    name: str  # the block's name as defined
    params: tuple[tuple[str, str | None], ...]  # as declared: (name, the default's text or None)
    values: Mapping[str, Value]  # the value each parameter took in this call
    env: Mapping[str, Value]  # every name the body sees: the variables, then the parameters
    header: str  # `block basic(planes, s=1, proj=false)`
    line: int  # of the definition
    path: str  # of the file that defines the block
    arguments: Mapping[str, str] = field(default_factory=dict)  # the expression written for each parameter given


@dataclass(frozen=True, slots=True)
class Block:
    """One call of a user-defined block, its body resolved with the call's arguments."""

    name: str
    body: tuple[Node, ...]
    label: str | None = None
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)
    # Like the span, no part of equality (nor of the repr): two calls giving the same layers are the same.
    call: BlockCall | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Merge:
    """Parallel branches from one input, joined by a merge op (add, concat, mul); an empty branch is the input."""

    op: str
    args: tuple[tuple[str, Arg], ...]
    branches: tuple[tuple[Node, ...], ...]
    label: str | None = None
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)
    branch_spans: tuple[Span, ...] = field(default=(), compare=False)

    def arg(self, name: str) -> Arg | None:
        for key, arg in self.args:
            if key == name:
                return arg
        return None


@dataclass(frozen=True, slots=True)
class Ref:
    """`@name`: the chain goes on from the output of the item labelled `name` earlier in the same scope (a
    block's body, a labelled group or repeat, or the network), not from the item before it."""

    label: str
    text: str = field(default="", compare=False)
    span: Span | None = field(default=None, compare=False)


Node = Union[Layer, Repeat, Group, Block, Merge, Ref]


@dataclass(frozen=True, slots=True)
class Network:
    """INPUT and the chain after it."""

    input: Layer
    body: tuple[Node, ...]
    source: Source = field(compare=False, repr=False)
    draws: tuple[Value, ...] = field(default=(), compare=False)  # what `choice` / `randint` drew, in order


def expand(nodes):
    """Every concrete layer of `nodes`, repeats unrolled, in execution order (a merge after its branches)."""
    for node in nodes:
        if isinstance(node, Repeat):
            for body in node.passes:
                yield from expand(body)
        elif isinstance(node, (Group, Block)):
            yield from expand(node.body)
        elif isinstance(node, Merge):
            for branch in node.branches:
                yield from expand(branch)
            yield node
        elif not isinstance(node, Ref):
            yield node
