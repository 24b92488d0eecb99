"""The op registry: every layer kind, declared once.

An entry holds the kind's names, its parameters (types, defaults, which one may be positional), a
one-line description, and its rule: given the input shape and the arguments, the output shape, the
parameter / buffer / MAC counts, and the window it applies for the receptive field. The grammar knows
none of this; `resolve` binds arguments against the parameters declared here, and `analyze` runs the rules.
Sizes follow PyTorch exactly (aten's conv and pooling shape functions).

An entry also holds the kind's PyTorch side: the module `lower` builds, how generated source writes it
(TorchSource, read by `codegen`), and the torch modules and functions that import as it, with the writer
of its text (FromTorch, read by `importer`). torch is imported only inside the functions that use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import CnnspecError, Diagnostic, Span, suggest
from .words import join_words, plural, shape_text, shown, value_text

if TYPE_CHECKING:
    from .ir import Layer

SIZE_LIMIT = 100_000_000  # a larger single size is a typo, not a layer
REQUIRED = object()

# ------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a layer kind.

    kind: "int" (a whole number), "ints" (a whole number or one per spatial axis), "padding" (ints, or
    the words `same` / `valid`), "float", "floats", "bool", "word" (one of `choices`), "shape" (INPUT's sizes).
    """

    name: str
    kind: str
    doc: str
    default: Any = None  # None: absent unless given; REQUIRED: must be given
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value, span: Span, written: str, resolver) -> Any:
        """The value converted to this parameter's type, or MISSING after reporting why it is not one."""
        from .resolve import MISSING, Word

        where = f"`{self.name}` of {written}"
        if self.kind == "channels" and isinstance(value, str) and value.lower() == "in":
            return "in"
        if isinstance(value, Word) and self.kind not in ("word", "padding"):
            written_here = value.span == span and not value.span.text.startswith(("'", '"'))
            if value.lower() in ("same", "valid"):
                resolver.error(f"{where} cannot be `{value}`; only padding can", span)
            elif written_here:  # a bare name that is no variable
                resolver.undefined(str(value), span)
            else:  # a word that arrived through a variable or a quoted string
                resolver.error(f"{where} must be {self.expects()}, not the word `{value}`", span)
            return MISSING
        checker = getattr(self, "_check_" + self.kind)
        result = checker(value)
        if isinstance(result, str):  # a reason the value does not fit
            resolver.error(f"{where} {result}", span)
            return MISSING
        return result[0]

    def expects(self) -> str:
        if self.kind == "word":
            return "one of " + join_words([f"`{c}`" for c in self.choices], "or")
        return {
            "int": "a whole number", "ints": "a whole number or a tuple of whole numbers",
            "padding": "a whole number, a tuple of whole numbers, `same` or `valid`",
            "float": "a number", "floats": "a number or a tuple of numbers", "bool": "true or false",
            "shape": "1 to 4 whole numbers", "channels": "a whole number or `in` (the input channels)",
        }[self.kind]

    def _wrong(self, value) -> str:
        return f"must be {self.expects()}, not {shown(value)}"

    def _bounds(self, number) -> str | None:
        if self.minimum is not None and number < self.minimum:
            low = int(self.minimum) if float(self.minimum).is_integer() else self.minimum
            return f"must be at least {low}, not {value_text(number)}"
        if self.maximum is not None and number > self.maximum:
            return f"must be at most {value_text(self.maximum)}, not {value_text(number)}"
        if isinstance(number, int) and number > SIZE_LIMIT:
            return f"is {number:,}, above the limit of {SIZE_LIMIT:,} for a size"
        return None

    def _check_int(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong(value)
        return self._bounds(value) or (value,)

    def _check_channels(self, value):
        return self._check_int(value)

    def _check_ints(self, value):
        if isinstance(value, tuple):
            if not value:
                return self._wrong(value)
            for item in value:
                if isinstance(item, bool) or not isinstance(item, int):
                    return self._wrong(value)
                problem = self._bounds(item)
                if problem:
                    return problem
            return (value,)
        return self._check_int(value)

    def _check_padding(self, value):
        if isinstance(value, str):
            word = value.lower()
            if word in ("same", "valid"):
                return (word,)
            return f"must be {self.expects()}, not `{value}`{suggest(value, ['same', 'valid'])}"
        return self._check_ints(value)

    def _check_float(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._wrong(value)
        if not math.isfinite(value):
            return f"must be a finite number, not {value}"
        return self._bounds(value) or (float(value),)

    def _check_floats(self, value):
        if isinstance(value, tuple):
            if not value:
                return self._wrong(value)
            checked = []
            for item in value:
                result = self._check_float(item)
                if isinstance(result, str):
                    return result
                checked.append(result[0])
            return (tuple(checked),)
        return self._check_float(value)

    def _check_bool(self, value):
        if not isinstance(value, bool):
            return self._wrong(value)
        return (value,)

    def _check_word(self, value):
        if not isinstance(value, str):
            return self._wrong(value)
        word = value.lower().replace("_", "-")
        if word not in self.choices:
            return f"must be {self.expects()}, not `{value}`{suggest(word, self.choices)}"
        return (word,)

    def _check_shape(self, value):
        if not 1 <= len(value) <= 4:
            return (f"must be the channels then 0 to 3 spatial sizes (C, C×L, C×H×W or C×D×H×W), "
                    f"not {len(value)} numbers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                return f"must be whole numbers, not {shown(item)}"
            problem = self._bounds(item)
            if problem:
                return problem
        return (value,)


# ---------------------------------------------------------------------------------------- rules


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


@dataclass(frozen=True, slots=True)
class OpSpec:
    name: str  # canonical, lower case
    doc: str
    rule: Rule
    params: tuple[Param, ...] = ()
    positional: tuple[str, ...] = ()  # at most one name
    variadic: str | None = None  # INPUT: all positional values go to this parameter
    merge: bool = False  # joins parallel branches: written NAME { branch | branch }
    aliases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # alias → preset arguments
    example: str = ""
    # Builds the equivalent torch module from the arguments (registry defaults filled in), the input and
    # the output shape; torch is imported inside, only when a network is lowered.
    module: Callable[[dict, tuple, tuple], Any] | None = None
    source: TorchSource | None = None  # None: not a module in generated source (INPUT, the merges)
    # What imports from PyTorch as this kind: module classes (found along a module's MRO; a subclass counts
    # when it keeps the class's forward), and functions or Tensor methods.
    from_modules: tuple[FromTorch, ...] = ()
    from_functions: tuple[FromTorch, ...] = ()
    # How the rule's numbers are worked out, in the notation of the lecture notes (answer keys, feedback).
    derive: Callable[[LayerContext, LayerResult], Working] | None = None
    # Known wrong ways to work them out (grading), given the (index, output shape) of every layer.
    slips: Callable[[LayerContext, LayerResult, tuple], list[Slip]] | None = None

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


# ------------------------------------------------------------------------------------ size rules


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int) -> int:
    """PyTorch's convolution output size along one axis (floor division)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (aten pooling_output_shape), including its ceil-mode rule that the
    last window must start inside the input or the left padding."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def effective_kernel(kernel, dilation) -> tuple[int, ...]:
    """The extent a dilated window covers on each axis: d·(k − 1) + 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """How PyTorch splits `padding='same'`: the extra element of an odd total goes after."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


_AXIS_NAMES = {1: ("element",), 2: ("row", "column"), 3: ("frame", "row", "column")}


def _check_window_fits(ctx: LayerContext, kernel, dilation, pads, what: str, spatial_out) -> None:
    """Refuse an output size below 1, as PyTorch does, saying which window did not fit.

    Only the output decides: in ceil mode a pooling window may be larger than its input and still give 1.
    """
    if all(n >= 1 for n in spatial_out):
        return
    effective = effective_kernel(kernel, dilation)
    padded = tuple(n + a + b for n, (a, b) in zip(ctx.spatial, pads))
    message = f"{ctx.text}: input is {shape_text(ctx.shape)}"
    if padded != ctx.spatial:
        message += f", padded to {shape_text(padded)}"
    message += f", smaller than the {shape_text(kernel)} {what}"
    if effective != tuple(kernel):
        message += f" (dilated to {shape_text(effective)})"
    ctx.fail(message)


def _warn_untiled(ctx: LayerContext, kernel, stride, dilation, pads) -> None:
    """Warn when the last windows stop short of the end of the input, so that input rows are never read.

    Rows of padding left over are not worth a word: `k=3, s=2, p=1` on an even size always leaves one.
    """
    dropped = []
    for axis, (n, e, s, (a, b)) in enumerate(zip(ctx.spatial, effective_kernel(kernel, dilation), stride, pads)):
        if e < s:  # windows with gaps between them skip rows by design (1×1, stride 2)
            continue
        unread = (n + a + b - e) % s - b
        if unread > 0:
            noun = _AXIS_NAMES[ctx.rank][axis]
            dropped.append(f"last {noun}" if unread == 1 else f"last {unread} {noun}s")
    if dropped:
        verb = "is" if len(dropped) == 1 and dropped[0].count(" ") == 1 else "are"
        ctx.warn(f"{ctx.text}: stride {_axes_text(stride)} does not tile the {shape_text(ctx.spatial)} input: "
                 f"its {join_words(dropped)} {verb} never used")


def _axes_text(values) -> str:
    """`2` when every axis has the same value, `2×1` otherwise."""
    return str(values[0]) if len(set(values)) == 1 else shape_text(values)


def _conv(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    c_in = ctx.channels
    out, groups = (c_in if ctx.args[n] == "in" else ctx.args[n] for n in ("out", "g"))
    if ctx.given("in") and ctx.args["in"] != c_in:
        ctx.fail(f"{ctx.text} expects {ctx.args['in']} input channels but receives {c_in} "
                 f"(input {shape_text(ctx.shape)})", "in")
    if c_in % groups:
        ctx.fail(f"{ctx.text}: g={groups} does not divide the {c_in} input channels", "g")
    if out % groups:
        ctx.fail(f"{ctx.text}: g={groups} does not divide the {out} output channels", "g")
    kernel, stride, dilation, pads = window_geometry(ctx)
    spatial = tuple(conv_output_size(n, k, s, a, b, d)
                    for n, k, s, (a, b), d in zip(ctx.spatial, kernel, stride, pads, dilation))
    _check_window_fits(ctx, kernel, dilation, pads, "kernel", spatial)
    _warn_untiled(ctx, kernel, stride, dilation, pads)
    weights_per_output = (c_in // groups) * math.prod(kernel)
    params = out * weights_per_output + (out if ctx.args["bias"] else 0)
    macs = out * math.prod(spatial) * weights_per_output
    window = Window(effective_kernel(kernel, dilation), stride)
    return LayerResult((out, *spatial), params=params, macs=macs, window=window)


def window_geometry(ctx: LayerContext):
    """A convolution's or pooling layer's window on each spatial axis: (kernel, stride, dilation, pads).

    A pooling layer's stride defaults to its kernel; average pooling has no dilation; pads are the
    padding before and after, from `p=N`, `p=(a, b)`, `p=same` or `p=valid`.
    """
    kernel = ctx.per_axis("k")
    stride = ctx.per_axis("s") if ctx.given("s") else kernel
    dilation = ctx.per_axis("d") if "d" in ctx.args else (1,) * ctx.rank
    return kernel, stride, dilation, _pads(ctx, kernel, stride, dilation)


def _pads(ctx: LayerContext, kernel, stride, dilation) -> tuple[tuple[int, int], ...]:
    padding = ctx.args["p"]
    if padding == "same":
        if any(s != 1 for s in stride):
            ctx.fail(f"{ctx.text}: `p=same` needs stride 1; PyTorch refuses 'same' padding with stride "
                     f"{_axes_text(stride)}", "p")
        pads = tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
        if any(a != b for a, b in pads):
            ctx.warn(f"{ctx.text}: `p=same` with the even kernel {shape_text(kernel)} pads unevenly: PyTorch "
                     f"puts the extra padding after, not before", "p")
        return pads
    if padding == "valid":
        return ((0, 0),) * ctx.rank
    return tuple((p, p) for p in ctx.per_axis("p"))


def _pool(ctx: LayerContext, *, dilated: bool) -> LayerResult:
    ctx.need_spatial()
    kernel, stride, dilation, pads = window_geometry(ctx)
    padding = tuple(a for a, _ in pads)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            ctx.fail(f"{ctx.text}: padding {_axes_text(padding)} is more than half the {shape_text(kernel)} "
                     f"window; PyTorch allows at most {_axes_text(tuple(k // 2 for k in kernel))}", "p")
    if not dilated and ctx.rank == 3 and any(n < k for n, k in zip(ctx.spatial, kernel)):
        # aten's 3-D average pooling checks the input before padding against the window.
        ctx.fail(f"{ctx.text}: input is {shape_text(ctx.shape)}, smaller than the {shape_text(kernel)} window "
                 "(3-D average pooling in PyTorch compares the input before padding)")
    ceil = ctx.args["ceil"]
    spatial = tuple(pool_output_size(n, k, s, p, d, ceil)
                    for n, k, s, p, d in zip(ctx.spatial, kernel, stride, padding, dilation))
    _check_window_fits(ctx, kernel, dilation, pads, "window", spatial)
    if not ceil:
        _warn_untiled(ctx, kernel, stride, dilation, pads)
    window = Window(effective_kernel(kernel, dilation), stride)
    return LayerResult((ctx.channels, *spatial), window=window)


def _adaptive_window(size: int, out: int) -> tuple[int, Fraction]:
    """The largest window of adaptive pooling (PyTorch's start = ⌊i·n/o⌋, end = ⌈(i+1)·n/o⌉) and its mean step."""
    period = out // math.gcd(size, out)  # the window sizes repeat with this period
    largest = max(-(-((i + 1) * size) // out) - (i * size) // out for i in range(min(period, 100_000)))
    return largest, Fraction(size, out)


def _adaptive_pool(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    spatial = ctx.per_axis("out")
    windows = [_adaptive_window(n, o) for n, o in zip(ctx.spatial, spatial)]
    window = Window(tuple(k for k, _ in windows), tuple(s for _, s in windows))
    return LayerResult((ctx.channels, *spatial), window=window)


def _fc(ctx: LayerContext) -> LayerResult:
    features = math.prod(ctx.shape)
    if ctx.given("in") and ctx.args["in"] != features:
        receives = f"{features} = {shape_text(ctx.shape)}" if ctx.rank else f"{features}"
        ctx.fail(f"{ctx.text} expects {ctx.args['in']} inputs but receives {receives}", "in")
    if ctx.rank:
        ctx.warn(f"{ctx.text}: its {shape_text(ctx.shape)} input is flattened to {features} features first; "
                 f"write FLATTEN before it to say so")
    out = ctx.args["out"]
    params = features * out + (out if ctx.args["bias"] else 0)
    # Every output sees the whole map the features came from.
    window = Window(ctx.extent, (1,) * len(ctx.extent))
    return LayerResult((out,), params=params, macs=features * out, window=window, extent=(1,) * len(ctx.extent))


def _flatten(ctx: LayerContext) -> LayerResult:
    return LayerResult((math.prod(ctx.shape),))


def _same_shape(ctx: LayerContext) -> LayerResult:
    return LayerResult(ctx.shape)


def _batchnorm(ctx: LayerContext) -> LayerResult:
    c = ctx.channels
    return LayerResult(ctx.shape, params=2 * c, buffers=2 * c + 1, int64_buffers=1)  # mean, var, step count


def _lrn(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    return LayerResult(ctx.shape)


_RESIZE_KERNEL = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}
_RESIZE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _resize(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    mode = ctx.args["mode"]
    if mode in _RESIZE_RANK and _RESIZE_RANK[mode] != ctx.rank:
        ctx.fail(f"{ctx.text}: mode `{mode}` works on {_RESIZE_RANK[mode]}-D inputs, but the input "
                 f"{shape_text(ctx.shape)} is {ctx.rank}-D", "mode")
    if ctx.args["align_corners"] is not None and mode not in _RESIZE_RANK:
        ctx.fail(f"{ctx.text}: `align_corners` only applies to the interpolating modes (linear, bilinear, bicubic, "
                 f"trilinear), not to `{mode}`", "align_corners")
    if ctx.given("size") == ctx.given("scale"):
        ctx.fail(f"{ctx.text} needs exactly one of `size=` and `scale=`")
    if ctx.given("size"):
        spatial = ctx.per_axis("size")
    else:
        # F.interpolate computes ⌊n·scale⌋ in double precision; Python floats are the same doubles.
        spatial = tuple(math.floor(n * s) for n, s in zip(ctx.spatial, ctx.per_axis("scale")))
        if any(n < 1 for n in spatial):
            ctx.fail(f"{ctx.text}: scaling the {shape_text(ctx.shape)} input gives an empty "
                     f"{shape_text(spatial)} output", "scale")
    if mode == "area":
        kernel = tuple(_adaptive_window(n, o)[0] for n, o in zip(ctx.spatial, spatial))
    else:
        kernel = (_RESIZE_KERNEL[mode],) * ctx.rank
    window = Window(kernel, tuple(Fraction(n, o) for n, o in zip(ctx.spatial, spatial)))
    return LayerResult((ctx.channels, *spatial), window=window)


def _channel_shuffle(ctx: LayerContext) -> LayerResult:
    groups = ctx.args["groups"]
    if ctx.channels % groups:
        ctx.fail(f"{ctx.text}: {groups} groups do not divide the {ctx.channels} channels", "groups")
    return LayerResult(ctx.shape)


def _split(ctx: LayerContext) -> LayerResult:
    """One piece of `torch.chunk(x, parts, dim=1)`: pieces of ⌈C/parts⌉ channels, the last one what is left."""
    parts, index = ctx.args["parts"], ctx.args["i"]
    size = -(-ctx.channels // parts)
    channels = min(size, ctx.channels - index * size)
    if index >= parts or channels < 1:
        pieces = -(-ctx.channels // size)
        ctx.fail(f"{ctx.text}: {ctx.channels} channels in pieces of {size} make only {pieces} "
                 f"piece{'s' if pieces != 1 else ''}, so there is no piece i={index} (counted from 0)", "i")
    return LayerResult((channels, *ctx.spatial))


def _merge_mismatch(ctx: LayerContext, i: int, j: int, needs: str) -> NoReturn:
    shapes = ctx.branches
    ctx.fail(f"{ctx.text}: branch {i + 1} ends with {shape_text(shapes[i])} but branch {j + 1} ends with "
             f"{shape_text(shapes[j])}; {needs}",
             notes=[(f"branch {k + 1} ends here, with {shape_text(shapes[k])}", ctx.branch_spans[k]) for k in (i, j)])


def _add(ctx: LayerContext) -> LayerResult:
    for j, shape in enumerate(ctx.branches[1:], 1):
        if shape != ctx.branches[0]:
            _merge_mismatch(ctx, 0, j, f"{ctx.op.name.upper()} needs equal shapes")
    return LayerResult(ctx.branches[0])


def _concat(ctx: LayerContext) -> LayerResult:
    first = ctx.branches[0]
    for j, shape in enumerate(ctx.branches[1:], 1):
        if len(shape) != len(first) or shape[1:] != first[1:]:
            what = "the same spatial size" if len(shape) == len(first) else "the same number of axes"
            _merge_mismatch(ctx, 0, j, f"CONCAT joins channels and needs {what}")
    return LayerResult((sum(shape[0] for shape in ctx.branches), *first[1:]))


def _mul(ctx: LayerContext) -> LayerResult:
    """Element-wise product with broadcasting (a gate of C×1×1 scales a C×H×W map)."""
    out = ctx.branches[0]
    for j, shape in enumerate(ctx.branches[1:], 1):
        if len(shape) != len(out) or any(a != b and 1 not in (a, b) for a, b in zip(shape, out)):
            _merge_mismatch(ctx, 0, j, "MUL needs equal sizes, or 1, on every axis")
        out = tuple(max(a, b) for a, b in zip(shape, out))
    return LayerResult(out)


def _input(ctx: LayerContext) -> LayerResult:  # INPUT is read by the analyzer, never run as a layer
    return LayerResult(tuple(ctx.args["shape"]))


# ------------------------------------------------------------------------------------- working
#
# Answer keys show how each number comes about, as the lecture notes write it: `32·(1·5²+1)` parameters,
# `64·32·4²·5²` products, `⌊(28 + 2·0 − 5)/1⌋ + 1` for a size. Each text is arithmetic that evaluates to the
# rule's own number (a test checks that for every layer of every spec); the rule stays the one source.


@dataclass(frozen=True, slots=True)
class Working:
    axes: tuple[str, ...] = ()  # the output size along each spatial axis (convolution, pooling)
    size: str = ""  # the output's size worked out in another way (FLATTEN, CONCAT, …)
    params: str = ""
    macs: str = ""


_POWERS = {2: "²", 3: "³"}


def _power(values) -> str:
    """`5²` for a square window, `5³` for a cube, `3·5` otherwise; one axis is the size itself."""
    if len(values) > 1 and len(set(values)) == 1:
        return f"{values[0]}{_POWERS[len(values)]}"
    return product_text(values)


def size_working(n: int, k: int, s: int, before: int, after: int, d: int, ceil: bool = False) -> str:
    """`⌊(28 + 2·0 − 5)/1⌋ + 1`: PyTorch's output size along one axis, as a formula."""
    padded = f"{n} + 2·{before}" if before == after else f"{n} + {before} + {after}"
    window = f"{k}" if d == 1 else f"{d}·({k} − 1) − 1"
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    text = f"{left}({padded} − {window})/{s}{right} + 1"
    if ceil and -(-(n + before + after - d * (k - 1) - 1) // s) * s >= n + before:
        text += " − 1"  # PyTorch drops a last window that would start in the right padding
    return text


def _axes_working(ctx: LayerContext, kernel, stride, pads, dilation, ceil=False):
    axes = []
    for n, k, s, (a, b), d in zip(ctx.spatial, kernel, stride, pads, dilation):
        axes.append(size_working(n, k, s, a, b, d, ceil))
    return tuple(axes)


def _conv_working(ctx: LayerContext, result: LayerResult) -> Working:
    out = result.shape[0]
    groups = ctx.channels if ctx.args["g"] == "in" else ctx.args["g"]
    kernel, stride, dilation, pads = window_geometry(ctx)
    per_filter = str(ctx.channels) if groups == 1 else f"({ctx.channels}/{groups})"
    weights = f"{per_filter}·{_power(kernel)}"
    params = f"{out}·({weights}+1)" if ctx.args["bias"] else f"{out}·{weights}"
    return Working(axes=_axes_working(ctx, kernel, stride, pads, dilation), params=params,
                   macs=f"{out}·{per_filter}·{_power(result.shape[1:])}·{_power(kernel)}")


def _pool_working(ctx: LayerContext, result: LayerResult) -> Working:
    kernel, stride, dilation, pads = window_geometry(ctx)
    return Working(axes=_axes_working(ctx, kernel, stride, pads, dilation, ctx.args["ceil"]))


def product_text(values) -> str:
    """`64·2·2`: the sizes whose product is a count."""
    return "·".join(map(str, values))


def _fc_working(ctx: LayerContext, result: LayerResult) -> Working:
    out, features = result.shape[0], math.prod(ctx.shape)
    inputs = str(features) if len(ctx.shape) == 1 else product_text(ctx.shape)
    params = f"{out}·({inputs}+1)" if ctx.args["bias"] else f"{out}·{inputs}"
    return Working(params=params, macs=f"{out}·{inputs}")


def _flatten_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(size=product_text(ctx.shape) if len(ctx.shape) > 1 else "")


def _batchnorm_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(params=f"2·{ctx.channels}")


def _concat_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(size=" + ".join(str(shape[0]) for shape in ctx.branches))


# --------------------------------------------------------------------------------------- slips
#
# Known wrong ways to work out a layer's numbers, for grading: each gives the value the slip leads to and
# says what went wrong. Only the arithmetic of the slip is here; the right numbers are the rule's.


@dataclass(frozen=True, slots=True)
class Slip:
    column: str  # "output" (a shape), "params" or "products" (MACs; FLOPs are twice these)
    value: object
    message: str


def _size_slips(ctx: LayerContext, result: LayerResult) -> list[Slip]:
    """Rounding up, a pooling stride of 1, padding added once or four times: convolution and pooling sizes."""
    kernel, stride, dilation, pads = window_geometry(ctx)
    channels = result.shape[0]

    def sizes(rounding, strides=stride, padded=lambda a, b: a + b):
        return (channels, *(rounding(n + padded(a, b) - d * (k - 1) - 1, s) + 1
                            for n, k, s, (a, b), d in zip(ctx.spatial, kernel, strides, pads, dilation)))

    def floor(x, s):
        return x // s

    def ceil(x, s):
        return -(-x // s)

    slips = []
    if not ctx.args.get("ceil"):
        slips.append(Slip("output", sizes(ceil), "ceil instead of floor: the size rounds down, ⌊(n + 2p − k)/s⌋ + 1, "
                                                 "since a window that does not fit whole is dropped"))
    if not ctx.given("s"):  # a pooling layer's stride: its kernel
        slips.append(Slip("output", sizes(floor, (1,) * ctx.rank),
                          f"pooling stride taken as 1: a pooling layer's stride is its kernel "
                          f"({shape_text(kernel)}) unless given"))
    if any(a or b for a, b in pads):
        slips.append(Slip("output", sizes(floor, padded=max),
                          "total padding taken as per-side: p pads each side, so the input grows by 2·p, not p"))
        slips.append(Slip("output", sizes(floor, padded=lambda a, b: 2 * (a + b)),
                          "padding counted twice: p is per side already, so the input grows by 2·p, not 4·p"))
    return slips


def _pool_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    return _size_slips(ctx, result)


def _products_slips(ctx: LayerContext, result: LayerResult, per_output: int) -> list[Slip]:
    """Convolution and FC products: weights counted once, the bias counted, the in-channels left out."""
    positions = math.prod(result.shape[1:])
    out = result.shape[0]
    slips = []
    if positions > 1:
        weights = result.macs // positions
        slips.append(Slip("products", weights, f"weights only: {weights} is the number of weights, but each weight "
                                               f"is used once per output position, so multiply by the {positions} "
                                               "positions"))
    if ctx.args["bias"]:
        slips.append(Slip("products", result.macs + out * positions,
                          f"bias counted in the products: adding the bias is an addition, not a product "
                          f"({out * positions} too many)"))
    if per_output > 1:
        slips.append(Slip("products", result.macs // per_output,
                          f"in-channels left out: each output sums over {per_output} input channels, so multiply "
                          f"by {per_output}"))
    return slips


def _conv_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    out, positions = result.shape[0], math.prod(result.shape[1:])
    kernel = ctx.per_axis("k")
    per_filter = ctx.channels // (ctx.channels if ctx.args["g"] == "in" else ctx.args["g"])
    bias = out if ctx.args["bias"] else 0
    weights = out * per_filter * math.prod(kernel)
    slips = _size_slips(ctx, result)
    if ctx.channels != out:
        slips.append(Slip("output", (ctx.channels, *result.shape[1:]),
                          f"input channels kept: the output has one channel per filter, {out}"))
    if bias:
        slips.append(Slip("params", weights, f"bias forgotten: each of the {out} filters also has a bias, +{out}"))
    if per_filter > 1:
        spans = f"{per_filter}·{_power(kernel)} weights"
        slips.append(Slip("params", out * math.prod(kernel) + bias,
                          f"in-channels left out of the kernel: each filter spans all {per_filter} input channels, "
                          f"so it has {spans}"))
        if bias:
            slips.append(Slip("params", out * math.prod(kernel), f"in-channels left out of the kernel (and the bias "
                                                                 f"forgotten): each filter has {spans} and a bias"))
    if positions > 1:
        slips.append(Slip("params", (weights + bias) * positions,
                          f"output-size multiplication: the filters' weights are shared by all {positions} output "
                          "positions, so the count does not grow with the output size"))
        if bias:
            slips.append(Slip("params", weights * positions,
                              f"output-size multiplication: the weights are shared by all {positions} output "
                              "positions (and each filter also has a bias)"))
    return slips + _products_slips(ctx, result, per_filter)


def _fc_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    out, features = result.shape[0], math.prod(ctx.shape)
    bias = out if ctx.args["bias"] else 0
    slips = []
    if bias:
        slips.append(Slip("params", out * features, f"bias forgotten: each of the {out} outputs also has a bias, "
                                                    f"+{out}"))
    for index, shape in others:
        wrong = math.prod(shape)
        if wrong != features and len(shape) > 1:
            slips.append(Slip("params", out * wrong + bias,
                              f"wrong flatten size: this counts {wrong} inputs, layer {index}'s {shape_text(shape)} "
                              f"flattened; the FC layer receives {features}"))
    return slips + _products_slips(ctx, result, 1)


def _batchnorm_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    c = ctx.channels
    return [Slip("params", 4 * c, f"BatchNorm counted as 4·C = 4·{c}: its running mean and variance are buffers, "
                                  f"not parameters; only γ and β are learned, 2·{c}")]


def _flatten_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    shape = ctx.shape
    right = f"FLATTEN receives {shape_text(shape)}, so {product_text(shape)} = {math.prod(shape)}"
    slips = [Slip("output", (math.prod(shape[:drop] + shape[drop + 1:]),),
                  f"wrong flatten size: a size is left out; {right}") for drop in range(len(shape))]
    slips += [Slip("output", (math.prod(other),), f"wrong flatten size: {math.prod(other)} is layer {index}'s "
                                                  f"output ({shape_text(other)}) flattened; {right}")
              for index, other in others if other != shape and len(other) > 1]
    return slips


# ------------------------------------------------------------------------------ torch equivalents


def _nn(name: str, rank: int | None = None):
    """A class of torch.nn (`Conv` and rank 2 → nn.Conv2d); rank 0 (a vector) takes the 1-D class."""
    from torch import nn

    return getattr(nn, name if rank is None else f"{name}{max(rank, 1)}d")


def _plain(name: str, **fixed):
    """A builder of a torch.nn module that takes no argument from the spec (`nn.ReLU()`)."""
    return lambda args, shape, out: _nn(name)(**fixed)


def _ours(name: str, *arg_names: str):
    """A builder of one of cnnspec's own modules (torch_modules.py), for what torch.nn lacks."""
    def build(args, shape, out):
        from . import torch_modules

        return getattr(torch_modules, name)(*(args[a] for a in arg_names))
    return build


def _in_channels(args, shape, out):
    return shape[0]


def _out_channels(args, shape, out):
    return out[0]


def _groups(args, shape, out=None):
    """Conv's groups, `g=in` (depthwise) being the input channels."""
    return shape[0] if args["g"] == "in" else args["g"]


def _torch_conv(args, shape, out):
    return _nn("Conv", len(shape) - 1)(shape[0], out[0], args["k"], args["s"], args["p"], args["d"],
                                       _groups(args, shape), args["bias"])


def _torch_pool(kind: str):
    def build(args, shape, out):
        extra = {"dilation": args["d"]} if kind == "Max" else {}
        return _nn(f"{kind}Pool", len(shape) - 1)(args["k"], args["s"], args["p"], ceil_mode=args["ceil"], **extra)
    return build


def _torch_fc(args, shape, out):
    from .torch_modules import FlattenLinear
    from torch import nn

    cls = FlattenLinear if len(shape) > 1 else nn.Linear
    return cls(math.prod(shape), out[0], bias=args["bias"])


def _torch_resize(args, shape, out):
    from .torch_modules import Resize

    return Resize(size=args["size"], scale_factor=args["scale"], mode=args["mode"],
                  align_corners=args["align_corners"])


def _pool_source(kind: str, *, dilated: bool) -> TorchSource:
    """How source writes MAXPOOL or AVGPOOL: `nn.MaxPool2d(kernel_size=3, stride=2, padding=1)`."""
    dilation = (SourceArg("dilation", "d", default=1),) if dilated else ()
    return TorchSource(f"nn.{kind}Pool{{rank}}d", (
        SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=None), SourceArg("padding", "p", default=0),
        *dilation, SourceArg("ceil_mode", "ceil", default=False)))


# ------------------------------------------------------------------------------ import from torch
#
# The importer (importer.py) traces a torch module and finds, for each module or function call, the kind it
# is from the registry's FromTorch entries; the entry's writer gives the layer's text. A writer sees `ctx`:
# ctx.inp / ctx.out, the input and output shapes without the batch (ctx.full_in / ctx.full_out with it),
# ctx.bind(names, defaults) (a call's arguments by name), ctx.note(text) and ctx.reshape() (the text of a
# view that flattens). It raises Unimportable for what cnnspec cannot write.


class Unimportable(Exception):
    """Why a torch module or call cannot be written in cnnspec (the importer adds which one and where)."""


@dataclass(frozen=True, slots=True)
class FromTorch:
    """Torch classes or functions that import as one layer kind, and the writer of the layer's text.

    Names are dotted paths (`torch.nn.Conv2d`, `torch.nn.functional.relu`, `Tensor.relu` for a method), so
    that the registry needs no torch; a name the installed torch lacks is skipped.
    """

    names: tuple[str, ...]
    # A module's writer takes (module, ctx), a function's (ctx); both give the layer texts. None for a merge,
    # whose name is all there is to write.
    write: Callable | None = None
    # Matched by the class's name within the first name's package, which is never imported (torchvision is
    # no dependency of cnnspec). Subclasses do not count.
    by_name: bool = False


def _ranked(prefix: str) -> tuple[str, ...]:
    """`torch.nn.Conv` → the 1-D, 2-D and 3-D classes (or functions: `torch.nn.functional.max_pool`)."""
    return tuple(f"{prefix}{rank}d" for rank in (1, 2, 3))


def layer_text(name: str, positional=None, **keywords) -> str:
    """`NAME(pos, k=v, …)`; keywords whose value is None are left out."""
    written = [] if positional is None else [value_text(positional)]
    written += [f"{k}={value_text(v)}" for k, v in keywords.items() if v is not None]
    return name + (f"({', '.join(written)})" if written else "")


def _same(values):
    """A per-axis tuple as one int when every axis agrees."""
    if isinstance(values, (tuple, list)):
        values = tuple(values)
        return values[0] if len(set(values)) == 1 else values
    return values


def _per_axis(value, rank: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * rank


def _number(value):
    """A float that is a whole number as an int (`scale=2`), other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return tuple(_number(v) for v in value)
    return value


def _unless(value, default):
    return None if value == default else value


def _plain_from_module(name: str):
    return lambda m, ctx: [name]


def _plain_from_call(name: str):
    return lambda ctx: [name]


def _conv_from_module(m, ctx):
    if m.padding_mode != "zeros":
        ctx.note(f"padding_mode={m.padding_mode!r}; cnnspec pads with zeros (shapes and counts are the same)")
    padding = m.padding
    if isinstance(padding, str):
        padding = "same" if padding == "same" else 0
    else:
        padding = _same(padding)
    return [layer_text("CONV", m.out_channels, k=_same(m.kernel_size), s=_unless(_same(m.stride), 1),
                       p=_unless(padding, 0), d=_unless(_same(m.dilation), 1), g=_unless(m.groups, 1),
                       bias=False if m.bias is None else None)]


def _batchnorm_from_module(m, ctx):
    if not m.affine:
        raise Unimportable("it has affine=False (no weight and bias), but cnnspec's BN always learns them")
    if not m.track_running_stats:
        raise Unimportable("it has track_running_stats=False (no running statistics), but cnnspec's BN keeps them")
    if m.momentum is None:
        raise Unimportable("its momentum is None (a cumulative average), which cnnspec's BN cannot write")
    return [layer_text("BN", eps=_unless(m.eps, 1e-5), momentum=_unless(m.momentum, 0.1))]


def _linear_from_module(m, ctx, flattens=False):
    if not flattens and len(ctx.inp) != 1:
        raise Unimportable(f"its input {shape_text(ctx.inp)} is not flat: torch's Linear acts on the last axis "
                           f"only while cnnspec's FC flattens first; flatten before it (torch.flatten(x, 1))")
    return [layer_text("FC", m.out_features, bias=False if m.bias is None else None)]


def _pool_text(name, ctx, kernel, stride, padding, dilation=1, ceil=False):
    rank = len(ctx.inp) - 1
    kernel = _same(_per_axis(kernel, rank))
    stride = kernel if stride is None or stride == [] or stride == () else _same(_per_axis(stride, rank))
    return layer_text(name, kernel, s=_unless(stride, kernel), p=_unless(_same(_per_axis(padding, rank)), 0),
                      d=_unless(_same(_per_axis(dilation, rank)), 1) if name == "MAXPOOL" else None,
                      ceil=True if ceil else None)


def _maxpool_from_module(m, ctx):
    if m.return_indices:
        raise Unimportable("it returns indices, which cnnspec's MAXPOOL does not")
    return [_pool_text("MAXPOOL", ctx, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)]


def _maxpool_from_call(ctx):
    a = ctx.bind(("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
                 {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    if a["return_indices"]:
        raise Unimportable("it returns indices, which cnnspec's MAXPOOL does not")
    return [_pool_text("MAXPOOL", ctx, a["kernel_size"], a["stride"], a["padding"], a["dilation"], a["ceil_mode"])]


def _avgpool_from_module(m, ctx):
    if not getattr(m, "count_include_pad", True) or getattr(m, "divisor_override", None):
        ctx.note("count_include_pad=False or divisor_override changes what is averaged; cnnspec's AVGPOOL does "
                 "not say so (shapes and counts are the same)")
    return [_pool_text("AVGPOOL", ctx, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode)]


def _avgpool_from_call(ctx):
    a = ctx.bind(("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
                 {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                  "divisor_override": None})
    if not a["count_include_pad"] or a["divisor_override"]:
        ctx.note("count_include_pad=False or divisor_override changes what is averaged; cnnspec's AVGPOOL does "
                 "not say so (shapes and counts are the same)")
    return [_pool_text("AVGPOOL", ctx, a["kernel_size"], a["stride"], a["padding"], 1, a["ceil_mode"])]


def _adaptive_from_module(kind):
    def write(m, ctx):
        if getattr(m, "return_indices", False):
            raise Unimportable("it returns indices, which cnnspec's pools do not")
        spatial = ctx.out[1:]
        if all(n == 1 for n in spatial):
            return ["GAP" if kind == "avg" else "GMP"]
        return [layer_text("ADAPTIVEAVGPOOL" if kind == "avg" else "ADAPTIVEMAXPOOL", _same(spatial))]
    return write


def _adaptive_from_call(kind):
    def write(ctx):
        if ctx.bind(("input", "output_size", "return_indices"), {"return_indices": False})["return_indices"]:
            raise Unimportable("it returns indices, which cnnspec's pools do not")
        return _adaptive_from_module(kind)(None, ctx)
    return write


def _mean_from_call(ctx):
    a = ctx.bind(("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    rank = len(ctx.full_in)
    dims = a["dim"]
    dims = tuple(range(rank)) if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)):
        raise Unimportable(f"it averages over axes {value_text(dims)} of the {rank}-axis input; cnnspec writes "
                           f"only the mean over every spatial axis (GAP)")
    return ["GAP"] if a["keepdim"] else ["GAP", "FLATTEN"]


def _leakyrelu_from_module(m, ctx):
    return [layer_text("LEAKYRELU", _unless(m.negative_slope, 0.01))]


def _leakyrelu_from_call(ctx):
    a = ctx.bind(("input", "negative_slope"), {"negative_slope": 0.01})
    return [layer_text("LEAKYRELU", _unless(a["negative_slope"], 0.01))]


def _gelu_from_module(m, ctx):
    if getattr(m, "approximate", "none") != "none":
        ctx.note(f"approximate={m.approximate!r}; cnnspec writes GELU (shapes and counts are the same)")
    return ["GELU"]


def _gelu_from_call(ctx):
    if ctx.bind(("input", "approximate"), {"approximate": "none"})["approximate"] != "none":
        ctx.note("approximate='tanh'; cnnspec writes GELU (shapes and counts are the same)")
    return ["GELU"]


def _softmax_text(dim, ctx):
    rank = len(ctx.full_in)
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1  # torch's legacy implicit choice
    if dim % rank != 1:
        raise Unimportable(f"it works on axis {dim} of the {rank}-axis input; cnnspec's SOFTMAX works on the "
                           f"channels (dim=1)")
    return ["SOFTMAX"]


def _softmax_from_module(m, ctx):
    return _softmax_text(m.dim, ctx)


def _softmax_from_call(ctx):
    return _softmax_text(ctx.bind(("input", "dim"), {"dim": None})["dim"], ctx)


def _dropout_from_module(m, ctx):
    return [layer_text("DROPOUT", _unless(float(m.p), 0.5))]


def _dropout_from_call(ctx):
    return [layer_text("DROPOUT", _unless(float(ctx.bind(("input", "p"), {"p": 0.5})["p"]), 0.5))]


def _lrn_from_module(m, ctx):
    return [layer_text("LRN", m.size, alpha=_unless(m.alpha, 1e-4), beta=_unless(m.beta, 0.75),
                       k=_unless(m.k, 1.0))]


def _shuffle_from_module(m, ctx):
    return [layer_text("CHANNELSHUFFLE", m.groups)]


def _stochastic_depth_from_module(m, ctx):
    return [layer_text("STOCHASTICDEPTH", _unless(float(m.p), 0.0), mode=_unless(m.mode, "row"))]


def _split_from_module(m, ctx):
    return [layer_text("SPLIT", m.parts, i=m.index)]


def _resize_text(size, scale, mode, align_corners):
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"):
        raise Unimportable(f"its mode {mode!r} is not one cnnspec's RESIZE knows")
    return [layer_text("RESIZE", scale=None if scale is None else _number(_same(scale)),
                       size=None if size is None else _same(size), mode=_unless(mode, "nearest"),
                       align_corners=align_corners)]


def _resize_from_module(m, ctx):
    return _resize_text(m.size, m.scale_factor, m.mode, m.align_corners)


def _resize_from_call(ctx):
    a = ctx.bind(("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
                 {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None})
    return _resize_text(a["size"], a["scale_factor"], a["mode"], a["align_corners"])


# ------------------------------------------------------------------------------------ the registry

_K = Param("k", "ints", "kernel size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1)
_S = Param("s", "ints", "stride", 1, aliases=("stride",), minimum=1)
_D = Param("d", "ints", "dilation", 1, aliases=("dilation",), minimum=1)
_CEIL = Param("ceil", "bool", "round the output size up", False, aliases=("ceil_mode",))
_POOL_S = Param("s", "ints", "stride (default: the kernel)", None, aliases=("stride",), minimum=1)
_POOL_P = Param("p", "ints", "padding on each side", 0, aliases=("padding", "pad"), minimum=0)
_BIAS = Param("bias", "bool", "learn a bias", True)
_OUT_SIZE = Param("out", "ints", "output size", REQUIRED, aliases=("output", "output_size", "size"), minimum=1)


def _activation(name: str, doc: str, torch_name: str, *params: Param, positional=(), aliases=None, module=None,
                source=None, from_module=None, functions=(), from_call=None) -> OpSpec:
    """A layer that keeps its input's shape; by default torch.nn's `torch_name`, built with no argument and
    written as the bare name, as are the `functions` that compute it."""
    from_module = from_module or _plain_from_module(name.upper())
    from_call = from_call or _plain_from_call(name.upper())
    return OpSpec(name, doc, _same_shape, params, positional, aliases=aliases or {}, example=name.upper(),
                  module=module or _plain(torch_name), source=source or TorchSource(f"nn.{torch_name}"),
                  from_modules=(FromTorch((f"torch.nn.{torch_name}",), from_module),),
                  from_functions=(FromTorch(functions, from_call),) if functions else ())


OPS: tuple[OpSpec, ...] = (
    OpSpec("input", "the shape of one sample, no batch dimension: C, then 0 to 3 spatial sizes", _input,
           (Param("shape", "shape", "channels then spatial sizes", REQUIRED, minimum=1),),
           variadic="shape", example="INPUT(3, 32, 32)", module=None),
    OpSpec("conv", "convolution; rank (1-D, 2-D, 3-D) taken from the input", _conv,
           (Param("out", "channels", "output channels", REQUIRED, aliases=("out_channels", "c"), minimum=1),
            _K, _S,
            Param("p", "padding", "padding on each side", 0, aliases=("padding", "pad"), minimum=0),
            _D,
            Param("g", "channels", "groups (`g=in`: depthwise)", 1, aliases=("groups",), minimum=1),
            _BIAS,
            Param("in", "int", "input channels, checked against what arrives", None,
                  aliases=("in_channels",), minimum=1)),
           positional=("out",), aliases={"convolution": {}}, example="CONV(32, k=3, p=1)", module=_torch_conv,
           source=TorchSource("nn.Conv{rank}d", (
               SourceArg("in_channels", value=_in_channels, positional=True, channels=True),
               SourceArg("out_channels", "out", _out_channels, positional=True,
                         channels=lambda calls, shape: calls[0]["out"] == "in"),
               SourceArg("kernel_size", "k"), SourceArg("stride", "s", default=1),
               SourceArg("padding", "p", default=0), SourceArg("dilation", "d", default=1),
               SourceArg("groups", "g", _groups, default=1,
                         channels=lambda calls, shape: any(args["g"] == "in" for args in calls)),
               SourceArg("bias", "bias", default=True)),
               channels=lambda channels, args, shape: args["out_channels"]),
           from_modules=(FromTorch(_ranked("torch.nn.Conv"), _conv_from_module),),
           derive=_conv_working, slips=_conv_slips),
    OpSpec("maxpool", "max pooling", lambda ctx: _pool(ctx, dilated=True),
           (Param("k", "ints", "window size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1),
            _POOL_S, _POOL_P, _D, _CEIL),
           positional=("k",), aliases={"pool": {}}, example="MAXPOOL(2)", module=_torch_pool("Max"),
           source=_pool_source("Max", dilated=True),
           from_modules=(FromTorch(_ranked("torch.nn.MaxPool"), _maxpool_from_module),),
           from_functions=(FromTorch(_ranked("torch.nn.functional.max_pool"), _maxpool_from_call),),
           derive=_pool_working, slips=_pool_slips),
    OpSpec("avgpool", "average pooling", lambda ctx: _pool(ctx, dilated=False),
           (Param("k", "ints", "window size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1),
            _POOL_S, _POOL_P, _CEIL),
           positional=("k",), example="AVGPOOL(2)", module=_torch_pool("Avg"),
           source=_pool_source("Avg", dilated=False),
           from_modules=(FromTorch(_ranked("torch.nn.AvgPool"), _avgpool_from_module),),
           from_functions=(FromTorch(_ranked("torch.nn.functional.avg_pool"), _avgpool_from_call),),
           derive=_pool_working, slips=_pool_slips),
    OpSpec("adaptiveavgpool", "average pooling to a fixed output size", _adaptive_pool, (_OUT_SIZE,),
           positional=("out",), aliases={"gap": {"out": 1}}, example="ADAPTIVEAVGPOOL(7)",
           module=lambda args, shape, out: _nn("AdaptiveAvgPool", len(shape) - 1)(args["out"]),
           source=TorchSource("nn.AdaptiveAvgPool{rank}d", (SourceArg("output_size", "out", positional=True),),
                              attribute="avgpool"),
           from_modules=(FromTorch(_ranked("torch.nn.AdaptiveAvgPool"), _adaptive_from_module("avg")),),
           from_functions=(FromTorch(_ranked("torch.nn.functional.adaptive_avg_pool"), _adaptive_from_call("avg")),
                           FromTorch(("torch.mean", "Tensor.mean"), _mean_from_call))),
    OpSpec("adaptivemaxpool", "max pooling to a fixed output size", _adaptive_pool, (_OUT_SIZE,),
           positional=("out",), aliases={"gmp": {"out": 1}}, example="ADAPTIVEMAXPOOL(7)",
           module=lambda args, shape, out: _nn("AdaptiveMaxPool", len(shape) - 1)(args["out"]),
           source=TorchSource("nn.AdaptiveMaxPool{rank}d", (SourceArg("output_size", "out", positional=True),),
                              attribute="maxpool"),
           from_modules=(FromTorch(_ranked("torch.nn.AdaptiveMaxPool"), _adaptive_from_module("max")),),
           from_functions=(FromTorch(_ranked("torch.nn.functional.adaptive_max_pool"),
                                     _adaptive_from_call("max")),)),
    _activation("relu", "rectified linear unit", "ReLU",
                functions=("torch.nn.functional.relu", "torch.nn.functional.relu_", "torch.relu", "torch.relu_",
                           "Tensor.relu", "Tensor.relu_")),
    _activation("sigmoid", "logistic sigmoid", "Sigmoid",
                functions=("torch.sigmoid", "torch.nn.functional.sigmoid", "Tensor.sigmoid", "Tensor.sigmoid_")),
    _activation("tanh", "hyperbolic tangent", "Tanh",
                functions=("torch.tanh", "torch.nn.functional.tanh", "Tensor.tanh", "Tensor.tanh_")),
    _activation("leakyrelu", "leaky ReLU", "LeakyReLU",
                Param("slope", "float", "negative slope", 0.01, aliases=("negative_slope",)),
                positional=("slope",), module=lambda args, shape, out: _nn("LeakyReLU")(args["slope"]),
                source=TorchSource("nn.LeakyReLU", (SourceArg("negative_slope", "slope", positional=True,
                                                              default=0.01),), attribute="leaky_relu"),
                from_module=_leakyrelu_from_module,
                functions=("torch.nn.functional.leaky_relu", "Tensor.leaky_relu"), from_call=_leakyrelu_from_call),
    _activation("gelu", "Gaussian error linear unit", "GELU", from_module=_gelu_from_module,
                functions=("torch.nn.functional.gelu",), from_call=_gelu_from_call),
    _activation("softmax", "softmax over the channels", "Softmax", module=_plain("Softmax", dim=1),
                source=TorchSource("nn.Softmax", (SourceArg("dim", value=lambda args, shape, out: 1),)),
                from_module=_softmax_from_module,
                functions=("torch.nn.functional.softmax", "torch.softmax", "Tensor.softmax"),
                from_call=_softmax_from_call),
    _activation("identity", "passes its input through", "Identity"),
    _activation("relu6", "ReLU capped at 6", "ReLU6", functions=("torch.nn.functional.relu6",)),
    _activation("hardswish", "hard swish", "Hardswish", functions=("torch.nn.functional.hardswish",)),
    _activation("hardsigmoid", "hard sigmoid", "Hardsigmoid", functions=("torch.nn.functional.hardsigmoid",)),
    _activation("silu", "sigmoid linear unit (swish)", "SiLU", aliases={"swish": {}},
                functions=("torch.nn.functional.silu",)),
    OpSpec("bn", "batch normalisation: 2·C parameters, 2·C + 1 buffers", _batchnorm,
           (Param("eps", "float", "added to the variance", 1e-5, minimum=0),
            Param("momentum", "float", "of the running statistics", 0.1, minimum=0, maximum=1)),
           aliases={"batchnorm": {}}, example="BN",
           module=lambda args, shape, out: _nn("BatchNorm", len(shape) - 1)(shape[0], args["eps"], args["momentum"]),
           source=TorchSource("nn.BatchNorm{rank}d", (
               SourceArg("num_features", value=_in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5), SourceArg("momentum", "momentum", default=0.1))),
           from_modules=(FromTorch(_ranked("torch.nn.BatchNorm"), _batchnorm_from_module),),
           derive=_batchnorm_working, slips=_batchnorm_slips),
    OpSpec("lrn", "local response normalisation", _lrn,
           (Param("size", "int", "neighbouring channels", REQUIRED, minimum=1),
            Param("alpha", "float", "scale", 1e-4), Param("beta", "float", "exponent", 0.75),
            Param("k", "float", "additive constant", 1.0)),
           positional=("size",), example="LRN(5)",
           module=lambda args, shape, out: _nn("LocalResponseNorm")(args["size"], args["alpha"], args["beta"],
                                                                    args["k"]),
           source=TorchSource("nn.LocalResponseNorm", (
               SourceArg("size", "size", positional=True), SourceArg("alpha", "alpha", default=1e-4),
               SourceArg("beta", "beta", default=0.75), SourceArg("k", "k", default=1.0))),
           from_modules=(FromTorch(("torch.nn.LocalResponseNorm",), _lrn_from_module),)),
    OpSpec("dropout", "dropout (identity at inference)", _same_shape,
           (Param("p", "float", "drop probability", 0.5, minimum=0, maximum=1),),
           positional=("p",), example="DROPOUT(0.5)", module=lambda args, shape, out: _nn("Dropout")(args["p"]),
           source=TorchSource("nn.Dropout", (SourceArg("p", "p", positional=True),)),
           from_modules=(FromTorch(("torch.nn.Dropout", *_ranked("torch.nn.Dropout"), "torch.nn.AlphaDropout"),
                                   _dropout_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.dropout", *_ranked("torch.nn.functional.dropout"),
                                      "torch.nn.functional.alpha_dropout"), _dropout_from_call),)),
    OpSpec("stochasticdepth", "stochastic depth: drops the whole residual branch in training, identity at inference",
           _same_shape, (Param("p", "float", "drop probability", 0.0, minimum=0, maximum=1),
                         Param("mode", "word", "what is dropped", "row", choices=("row", "batch"))),
           positional=("p",), aliases={"droppath": {}}, example="STOCHASTICDEPTH(0.2)",
           module=_ours("StochasticDepth", "p", "mode"),
           source=TorchSource("StochasticDepth", (SourceArg("p", "p", positional=True),
                                                  SourceArg("mode", "mode", default="row")),
                              attribute="stochastic_depth"),
           from_modules=(FromTorch(("cnnspec.torch_modules.StochasticDepth",), _stochastic_depth_from_module),
                         FromTorch(("torchvision.ops.StochasticDepth",), _stochastic_depth_from_module,
                                   by_name=True))),
    OpSpec("flatten", "flattens to a vector", _flatten, example="FLATTEN", module=_plain("Flatten"),
           source=TorchSource("nn.Flatten", channels=lambda channels, args, shape:
                              channels if math.prod(shape[1:]) == 1 else None),
           from_modules=(FromTorch(("torch.nn.Flatten",), lambda m, ctx: ctx.reshape()),),
           derive=_flatten_working, slips=_flatten_slips),
    OpSpec("channelshuffle", "channel shuffle (ShuffleNet)", _channel_shuffle,
           (Param("groups", "int", "groups", REQUIRED, aliases=("g",), minimum=1),),
           positional=("groups",), aliases={"shuffle": {}}, example="CHANNELSHUFFLE(2)",
           module=_ours("ChannelShuffle", "groups"),
           source=TorchSource("nn.ChannelShuffle", (SourceArg("groups", "groups", positional=True),),
                              attribute="shuffle"),
           from_modules=(FromTorch(("torch.nn.ChannelShuffle", "cnnspec.torch_modules.ChannelShuffle"),
                                   _shuffle_from_module),)),
    OpSpec("split", "one piece of the channels, as torch.chunk(x, parts, dim=1)[i]", _split,
           (Param("parts", "int", "number of pieces", REQUIRED, minimum=1),
            Param("i", "int", "which piece, from 0", REQUIRED, aliases=("index",), minimum=0)),
           positional=("parts",), aliases={"chunk": {}}, example="SPLIT(2, i=0)", module=_ours("Split", "parts", "i"),
           source=TorchSource("Split", (SourceArg("parts", "parts", positional=True),
                                        SourceArg("index", "i", positional=True)),
                              inline="torch.chunk({x}, {0}, dim=1)[{1}]",
                              channels=lambda channels, args, shape: channels // args["parts"]),
           from_modules=(FromTorch(("cnnspec.torch_modules.Split",), _split_from_module),)),
    OpSpec("add", "the sum of its branches (a residual connection)", _add, merge=True,
           aliases={"sum": {}, "residual": {}}, example="ADD { CONV(64, k=3, p=1) -> BN | IDENTITY }",
           module=_ours("Add"), from_modules=(FromTorch(("cnnspec.torch_modules.Add",)),),
           from_functions=(FromTorch(("operator.add", "operator.iadd", "torch.add", "Tensor.add")),)),
    OpSpec("concat", "its branches concatenated on the channels", _concat, merge=True,
           aliases={"cat": {}}, example="CONCAT { CONV(64, k=1) | CONV(64, k=3, p=1) }", module=_ours("Concat"),
           from_modules=(FromTorch(("cnnspec.torch_modules.Concat",)),),
           from_functions=(FromTorch(("torch.cat", "torch.concat", "torch.concatenate")),),
           derive=_concat_working),
    OpSpec("mul", "the element-wise product of its branches, broadcast (a gate)", _mul, merge=True,
           aliases={"gate": {}}, example="MUL { IDENTITY | GAP -> CONV(16, k=1) -> SIGMOID }", module=_ours("Mul"),
           from_modules=(FromTorch(("cnnspec.torch_modules.Mul",)),),
           from_functions=(FromTorch(("operator.mul", "operator.imul", "torch.mul", "Tensor.mul")),)),
    OpSpec("fc", "fully connected; flattens a spatial input first", _fc,
           (Param("out", "int", "output features", REQUIRED, aliases=("out_features",), minimum=1),
            _BIAS,
            Param("in", "int", "input features, checked against what arrives", None,
                  aliases=("in_features",), minimum=1)),
           positional=("out",), aliases={"linear": {}, "dense": {}}, example="FC(10)", module=_torch_fc,
           source=TorchSource("nn.Linear", (
               SourceArg("in_features", value=lambda args, shape, out: math.prod(shape), positional=True,
                         channels=lambda calls, shape: len(shape) == 1),
               SourceArg("out_features", "out", _out_channels, positional=True),
               SourceArg("bias", "bias", default=True)),
               flattening_cls="FlattenLinear", channels=lambda channels, args, shape: args["out_features"]),
           from_modules=(FromTorch(("torch.nn.Linear",), _linear_from_module),
                         FromTorch(("cnnspec.torch_modules.FlattenLinear",),
                                   lambda m, ctx: _linear_from_module(m, ctx, flattens=True))),
           derive=_fc_working, slips=_fc_slips),
    OpSpec("resize", "interpolation to a size or by a scale", _resize,
           (Param("scale", "floats", "scale factor", None, aliases=("scale_factor",), minimum=1e-9, maximum=SIZE_LIMIT),
            Param("size", "ints", "output size", None, minimum=1),
            Param("mode", "word", "interpolation", "nearest",
                  choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")),
            Param("align_corners", "bool", "align corner pixels (linear modes)", None, aliases=("align",))),
           aliases={"upsample": {}, "interpolate": {}}, example="RESIZE(scale=2)", module=_torch_resize,
           source=TorchSource("nn.Upsample", (
               SourceArg("size", "size", default=None), SourceArg("scale_factor", "scale", default=None),
               SourceArg("mode", "mode", default="nearest"),
               SourceArg("align_corners", "align_corners", default=None))),
           from_modules=(FromTorch(("torch.nn.Upsample", "cnnspec.torch_modules.Resize"), _resize_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.interpolate", "torch.nn.functional.upsample"),
                                     _resize_from_call),)),
)

_BY_NAME: dict[str, tuple[OpSpec, Mapping[str, Any]]] = {}
for _op in OPS:
    _BY_NAME[_op.name] = (_op, {})
    for _alias, _preset in _op.aliases.items():
        _BY_NAME[_alias] = (_op, _preset)


def lookup(name: str) -> tuple[OpSpec, Mapping[str, Any]] | None:
    """The op a layer name (any case, aliases included) refers to, with the alias's preset arguments."""
    return _BY_NAME.get(name.lower())


def get(name: str) -> OpSpec:
    return _BY_NAME[name][0]


def layer_names() -> list[str]:
    return [name.upper() for name in _BY_NAME]


def fill_defaults(op: OpSpec, layer: Layer) -> dict[str, Any]:
    """The layer's arguments with the registry's defaults for those not given."""
    args = {p.name: p.default for p in op.params if not p.required}
    args.update({name: arg.value for name, arg in layer.args})
    return args
