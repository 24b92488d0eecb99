"""What a registry entry is: the OpSpec, what its rule sees (LayerContext) and returns (LayerResult, its
receptive-field Window), the working and slips it gives for homework, and its PyTorch side (TorchSource
and a merge's Join for generated source, FromTorch for import, and the small helpers that build or write
torch modules).

torch is imported only inside the helpers that build modules, when a network is lowered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from ..lang.errors import CnnspecError, Diagnostic, Span
from ..lang.words import plural, shape_text, value_text
from .params import Param

if TYPE_CHECKING:
    from ..lang.ir import Layer

# ---------------------------------------------------------------------------------------- rules


# The layout of a tensor whose channels a forward has moved to the last axis (ConvNeXt), as the importer
# tells a writer (`FromTorch.layouts`, `ctx.layout`).
CHANNELS_LAST = "channels_last"


@dataclass(frozen=True, slots=True)
class Window:
    """What a layer does to the receptive field along each spatial axis: r += (kernel − 1)·jump, jump *= stride."""

    kernel: tuple[int, ...]
    stride: tuple[Fraction | int, ...]


@dataclass(frozen=True, slots=True)
class LayerResult:
    shape: tuple[int, ...]
    params: int = 0
    buffers: int = 0
    int64_buffers: int = 0  # of the buffers, those stored as int64 whatever the dtype (BatchNorm's step count)
    macs: int = 0
    window: Window | None = None  # None: the receptive field passes through unchanged
    # The spatial extent that later "see-everything" layers (FC) cover; None: the output's own spatial size.
    extent: tuple[int, ...] | None = None


@dataclass
class LayerContext:
    """What a rule sees: the layer, its arguments with registry defaults filled in, and its input."""

    layer: Layer
    op: OpSpec
    args: dict[str, Any]
    shape: tuple[int, ...]
    extent: tuple[int, ...]
    warnings: list[tuple[str, Span]] = field(default_factory=list)
    # For a merge: the shape each branch ends with, and where each branch is written.
    branches: tuple[tuple[int, ...], ...] = ()
    branch_spans: tuple[Span, ...] = ()

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.shape[1:]

    @property
    def rank(self) -> int:
        return len(self.shape) - 1

    @property
    def text(self) -> str:
        return self.layer.text

    def span(self, name: str | None = None) -> Span:
        arg = self.layer.arg(name) if name else None
        return arg.span if arg is not None and arg.span.source is self.layer.span.source else self.layer.span

    def fail(self, message: str, arg: str | None = None, notes: list[tuple[str, Span]] = ()) -> NoReturn:
        raise CnnspecError(diagnostics=[Diagnostic("error", message, self.span(arg)),
                                        *(Diagnostic("note", text, span) for text, span in notes)])

    def warn(self, message: str, arg: str | None = None) -> None:
        self.warnings.append((message, self.span(arg)))

    def given(self, name: str) -> bool:
        return self.args.get(name) is not None

    def need_spatial(self) -> None:
        if self.rank == 0:
            self.fail(f"{self.text} needs an input with spatial axes (C×L, C×H×W or C×D×H×W), "
                      f"but receives a vector of {self.shape[0]} features")

    def per_axis(self, name: str) -> tuple:
        """An argument as one value per spatial axis: an int is repeated, a tuple must match the rank."""
        value = self.args[name]
        if not isinstance(value, tuple):
            return (value,) * self.rank
        if len(value) != self.rank:
            self.fail(f"`{name}={value_text(value)}` has {plural(len(value), 'value')} but the input of "
                      f"{self.text} has {plural(self.rank, 'spatial axis', 'spatial axes')} ({shape_text(self.shape)})",
                      name)
        return value


Rule = Callable[[LayerContext], LayerResult]


def same_shape(ctx: LayerContext) -> LayerResult:
    return LayerResult(ctx.shape)


# ------------------------------------------------------------------------------- working and slips
#
# Answer keys show how each number comes about, as the lecture notes write it: `32·(1·5²+1)` parameters,
# `64·32·4²·5²` products, `⌊(28 + 2·0 − 5)/1⌋ + 1` for a size. Each text is arithmetic that evaluates to the
# rule's own number (a test checks that for every layer of every spec); the rule stays the one source.
# A slip is a known wrong way to work a number out, for grading: the value it leads to and what went wrong.


@dataclass(frozen=True, slots=True)
class Working:
    axes: tuple[str, ...] = ()  # the output size along each spatial axis (convolution, pooling)
    size: str = ""  # the output's size worked out in another way (FLATTEN, CONCAT, …)
    params: str = ""
    macs: str = ""


@dataclass(frozen=True, slots=True)
class Slip:
    column: str  # "output" (a shape), "params" or "products" (MACs; FLOPs are twice these)
    value: object
    message: str


POWERS = {2: "²", 3: "³"}


def power(values) -> str:
    """`5²` for a square window, `5³` for a cube, `3·5` otherwise; one axis is the size itself."""
    if len(values) > 1 and len(set(values)) == 1:
        return f"{values[0]}{POWERS[len(values)]}"
    return product_text(values)


def product_text(values) -> str:
    """`64·2·2`: the sizes whose product is a count."""
    return "·".join(map(str, values))


# ----------------------------------------------------------------------------- generated source


NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class SourceArg:
    """One argument of the torch constructor in generated source: `kernel_size=3`, or `in_channels` unnamed."""

    role: str  # torch's name for it: the keyword, and the name of a constructor parameter made for it
    arg: str | None = None  # the spec argument whose written expression may give it (`k` for kernel_size)
    # (arguments, registry defaults filled in; input shape; output shape) → the value; None: the argument's value
    value: Callable[[dict, tuple, tuple], Any] | None = None
    positional: bool = False
    default: Any = NO_DEFAULT  # torch's default: the argument is left out when every call has it
    # Whether the value may be the layer's input channels (then `in_channels` may give it): a constant, or
    # a test of the arguments of the calls that one line of source writes, and of their input shape.
    channels: bool | Callable[[list[dict], tuple], bool] = False

    def value_of(self, args: dict, shape: tuple, out: tuple):
        return self.value(args, shape, out) if self.value is not None else args[self.arg]


@dataclass(frozen=True, slots=True)
class TorchSource:
    """How generated PyTorch source writes a layer kind: `nn.Conv2d(in_channels, 64, kernel_size=3)`."""

    # `nn.Conv{rank}d`, rank being the input's spatial axes (a vector takes the 1-D class); a name without
    # `nn.` is one of cnnspec's own classes, whose code codegen writes into the file.
    cls: str
    args: tuple[SourceArg, ...] = ()
    # The class for an input with spatial axes when torch's would not flatten it first (FC's FlattenLinear); a
    # class with attributes writes `cls` instead, after a torch.flatten in forward.
    flattening_cls: str | None = None
    attribute: str = ""  # its attribute in a class when the spec leaves it unlabelled ("": the kind's name)
    # The expression that forward writes instead of a module in a class with attributes: {x} the input,
    # {0}, {1}, … the constructor's arguments.
    inline: str | None = None
    # The channels after the layer: (the channels before, the arguments by role, the input shape) → one of
    # them, a `//` of them, or None when unknown. Codegen passes symbols that keep them expressions
    # (`in_channels // parts`). None: the layer keeps its input's channels.
    channels: Callable[[Any, Mapping[str, Any], tuple], Any] | None = None


def first_branch(channels: tuple):
    """The channels after a merge whose branches all end with the same channels (ADD, MUL)."""
    return channels[0]


@dataclass(frozen=True, slots=True)
class Join:
    """How the forward of generated source joins a merge's branches: `x = out + identity`."""

    between: str  # what stands between the branches' values: " + "
    around: str = "{}"  # the whole expression, {} standing for the values so joined: "torch.cat([{}], dim=1)"
    # The channels after the merge from those each branch ends with; codegen passes symbols that keep them
    # expressions (`in_channels + 32`), as to TorchSource.channels.
    channels: Callable[[tuple], Any] = first_branch
    # The variables that hold the branches' values: that of the branch beside an empty one (`x * scale`),
    # and those of two branches (`out + identity`); otherwise each is named by its first label, or branch1, ….
    beside_empty: str = "out"
    pair: tuple[str, str] | None = None


# ------------------------------------------------------------------------------ import from torch
#
# The importer (bridge/importer/) traces a torch module and finds, for each module or function call, the kind
# it is from the registry's FromTorch entries; the entry's writer gives the layer's text. A writer sees `ctx`:
# ctx.inp / ctx.out, the input and output shapes without the batch (ctx.full_in / ctx.full_out with it),
# ctx.args / ctx.kwargs (a call's arguments, each graph value replaced by its tensor or number),
# ctx.bind(names, defaults) (them by name), ctx.note(text) and ctx.reshape() (the text of a view that
# flattens). It raises Unimportable for what cnnspec cannot write.


class Unimportable(Exception):
    """Why a torch module or call cannot be written in cnnspec (the importer adds which one and where)."""


@dataclass(frozen=True, slots=True)
class FromTorch:
    """Torch classes or functions that import as one layer kind, and the writer of the layer's text.

    Names are dotted paths (`torch.nn.Conv2d`, `torch.nn.functional.relu`, `Tensor.relu` for a method), so
    that the registry needs no torch; a name the installed torch lacks is skipped.
    """

    names: tuple[str, ...]
    # A module's writer takes (module, ctx), a function's (ctx); both give the layer texts. A merge has none to
    # give (its name is written where its branches join): its writer, if any, only refuses a call that is no
    # such join, and None accepts every one.
    write: Callable | None = None
    # Matched by the class's name within the first name's package, which is never imported (torchvision is
    # no dependency of cnnspec). Subclasses do not count.
    by_name: bool = False
    # (module, input shape without the batch) → raises Unimportable when the module cannot take that input:
    # the importer asks before the module runs on the meta device, whose own messages are terse.
    check_input: Callable | None = None
    # A function called on a module's own parameters (`F.batch_norm(x, self.running_mean, …, self.weight, …)`):
    # its arguments after the input may be parameters and buffers the forward reads, and must be, when they are
    # tensors (a weight computed in the forward is another layer). Every other call refuses a parameter.
    reads_parameters: bool = False
    # The layouts other than channels first (`channels_last`) whose tensors the writer reads, from `ctx.layout`.
    layouts: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------- the entry


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str  # canonical, lower case
    doc: str
    rule: Rule
    params: tuple[Param, ...] = ()
    positional: tuple[str, ...] = ()  # at most one name
    variadic: str | None = None  # INPUT: all positional values go to this parameter
    merge: bool = False  # joins parallel branches: written NAME { branch | branch }
    join: Join | None = None  # a merge: how generated source joins its branches
    aliases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # alias → preset arguments
    example: str = ""
    # Builds the equivalent torch module from the arguments (registry defaults filled in), the input and
    # the output shape, or names one of cnnspec's own (OwnModule); torch is imported inside, only when a
    # network is lowered.
    module: Callable[[dict, tuple, tuple], Any] | None = None
    source: TorchSource | None = None  # None: not a module in generated source (INPUT, the merges)
    # What imports from PyTorch as this kind: module classes (found along a module's MRO; a subclass counts
    # when it keeps the class's forward), and functions or Tensor methods.
    from_modules: tuple[FromTorch, ...] = ()
    from_functions: tuple[FromTorch, ...] = ()
    # The importer writes `default NAME(…)` once, and the layers plainly, when every layer of this kind has the
    # same arguments (BN's eps and momentum in torchvision's MobileNetV3 and GoogLeNet).
    import_default: bool = False
    # How the rule's numbers are worked out, in the notation of the lecture notes (answer keys, feedback).
    derive: Callable[[LayerContext, LayerResult], Working] | None = None
    # Known wrong ways to work them out (grading), given the (index, output shape) of every layer.
    slips: Callable[[LayerContext, LayerResult, tuple], list[Slip]] | None = None
    # Grading code. `window`: "convolution" or "pooling" for a kind that slides a padded window (the padding
    # question asks about it, with the output size rule of its kind). `canonical`: the arguments (registry
    # defaults filled in) and the input shape → the same arguments in one normal form, so that two ways of
    # writing a layer compare equal (a pool's stride given as its kernel, `p=same` as numbers). `flattens`: the
    # kind flattens any input itself (FC), so a flatten right before it changes nothing. `passes_through`: it
    # is the identity. `code_word`: how feedback names the kind in a student's code when it is usually no
    # module of its own ("chunk", "torch.cat"); otherwise it is the class its TorchSource writes (Conv2d).
    window: str | None = None
    canonical: Callable[[dict, tuple], dict] | None = None
    flattens: bool = False
    passes_through: bool = False
    code_word: str = ""
    # Each output element depends only on the same element of the input (activations, dropout, ADD): the
    # importer reads such a layer on a tensor whose axes a forward has moved (channels last) as it is.
    elementwise: bool = False

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def param_by_name(self, written: str) -> Param | None:
        key = written.lower()
        for p in self.params:
            if key == p.name or key in p.aliases:
                return p
        return None

    def argument_names(self) -> list[str]:
        return [n for p in self.params for n in (p.name, *p.aliases)]

    def call_text(self, args) -> str:
        """The layer written with its resolved values: `CONV(64, k=3, s=2, p=1, bias=false)`."""
        values = dict(args)
        written = [value_text(v) for v in values.pop(self.variadic, ())] if self.variadic else []
        for name in self.positional:
            if name in values:
                written.append(value_text(values.pop(name)))
        written += [f"{name}={value_text(value)}" for name, value in values.items()]
        return self.name.upper() + (f"({', '.join(written)})" if written else "")


# ------------------------------------------------------------------------------ torch helpers


def nn_class(name: str, rank: int | None = None):
    """A class of torch.nn (`Conv` and rank 2 → nn.Conv2d); rank 0 (a vector) takes the 1-D class."""
    from torch import nn

    return getattr(nn, name if rank is None else f"{name}{max(rank, 1)}d")


def plain_module(name: str, **fixed):
    """A builder of a torch.nn module that takes no argument from the spec (`nn.ReLU()`)."""
    return lambda args, shape, out: nn_class(name)(**fixed)


@dataclass(frozen=True, slots=True)
class OwnModule:
    """One of cnnspec's own module classes (bridge/modules.py, for what torch.nn lacks), as a builder names
    it: the bridge, which may import torch, makes it. The registry stays below the bridge."""

    cls: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def own_module(name: str, *arg_names: str):
    """A builder of one of cnnspec's own modules from the spec's arguments `arg_names`, in order."""
    return lambda args, shape, out: OwnModule(name, tuple(args[a] for a in arg_names))


def in_channels(args, shape, out):
    return shape[0]


def out_channels(args, shape, out):
    return out[0]


def ranked(prefix: str) -> tuple[str, ...]:
    """`torch.nn.Conv` → the 1-D, 2-D and 3-D classes (or functions: `torch.nn.functional.max_pool`)."""
    return tuple(f"{prefix}{rank}d" for rank in (1, 2, 3))


def layer_text(name: str, positional=None, **keywords) -> str:
    """`NAME(pos, k=v, …)`; keywords whose value is None are left out."""
    written = [] if positional is None else [value_text(positional)]
    written += [f"{k}={value_text(v)}" for k, v in keywords.items() if v is not None]
    return name + (f"({', '.join(written)})" if written else "")


def same_value(values):
    """A per-axis tuple as one int when every axis agrees."""
    if isinstance(values, (tuple, list)):
        values = tuple(values)
        return values[0] if len(set(values)) == 1 else values
    return values


def per_axis(value, rank: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * rank


def whole_number(value):
    """A float that is a whole number as an int (`scale=2`), other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return tuple(whole_number(v) for v in value)
    return value


def unless(value, default):
    return None if value == default else value


def plain_from_module(name: str):
    return lambda m, ctx: [name]


def plain_from_call(name: str):
    return lambda ctx: [name]
