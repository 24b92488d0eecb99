"""PyTorch to cnnspec: `from_torch(module, input_shape)` writes the `.cnn` text of an nn.Module.

The module is traced with torch.fx (so an ordinary `forward` with residual additions, `torch.cat`,
`torch.chunk` and flattening views works, not only nn.Sequential), its shapes are propagated on the
meta device (no weights are touched, no arithmetic is done), and the traced graph is turned back into a
chain: every supported module or function becomes its layer, a value used by several later nodes starts
branches that end where they join (`ADD { … | … }`, `CONCAT`, `MUL`), and consecutive identical
stretches are folded into `[…] * N`.

`load_class("model.py:Net")` imports a Python file (which runs its code) and instantiates the class with
no arguments; `import_file(spec, input_shape)` does both. Every failure a user can cause, from a missing
file to an unsupported layer or an input that does not fit, is a one-line CnnspecError.

torch is imported inside the functions only: `import cnnspec` never imports it.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import operator
import os
import re
import sys
import traceback
from dataclasses import dataclass, field

from .. import ops
from ..lang.errors import CnnspecError, suggest
from ..ops import Unimportable
from ..lang.words import shape_text, value_text

WIDTH = 100  # the emitted text is wrapped to this many columns where it can be
# The batch of the traced input (shapes in messages are written without it). 2, not 1, so that the batch
# axis is told from the others: `x.squeeze()` keeps it, `x.view(1, -1)` is seen to fix it.
BATCH = 2


# ------------------------------------------------------------------------------------ public API


def from_torch(module, input_shape) -> str:
    """The `.cnn` text of `module` for one sample of `input_shape` (channels first, no batch axis)."""
    shape = _input_shape(input_shape, None)
    return _Importer(module, shape, type(module).__name__, None).run()


def import_file(spec: str, input_shape) -> str:
    """`load_class(spec)` then `from_torch`, errors reported against the Python file."""
    path, name = _split_spec(spec)
    shape = _input_shape(input_shape, None)  # before the user's code runs
    module = load_class(spec)
    label = name or type(module).__name__
    return _Importer(module, shape, label, path).run()


def parse_input_shape(text: str) -> tuple[int, ...]:
    """`1,28,28` (or `1x28x28`, `(1, 28, 28)`) as a shape; a CnnspecError (path `--input`) otherwise."""
    cleaned = text.strip().strip("()[]").strip()
    cleaned = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ",", cleaned)
    parts = [p for p in re.split(r"[,\s]+", cleaned) if p] if cleaned else []
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise CnnspecError(f"expected the input shape as whole numbers separated by commas, e.g. 1,28,28, "
                           f"not {text!r}", path="--input")
    return _input_shape(tuple(int(p) for p in parts), "--input")


def load_class(spec: str):
    """Import `path/to/model.py` and instantiate its class `ClassName` (`"model.py:ClassName"`) with no
    arguments. Without `:ClassName` the file must define exactly one torch.nn.Module subclass. A name bound
    to a module instance (`net = nn.Sequential(...)`) is taken as it is.

    Importing the file runs its code.
    """
    from .lower import require_torch

    torch = require_torch()
    path, name = _split_spec(spec)
    if not os.path.exists(path):
        raise CnnspecError("no such file", path=path)
    if os.path.isdir(path):
        raise CnnspecError("is a directory, not a Python file", path=path)
    module = _import_path(path)
    nn_module = torch.nn.Module
    if name is None:
        classes = [obj for obj in vars(module).values()
                   if isinstance(obj, type) and issubclass(obj, nn_module) and obj.__module__ == module.__name__]
        if not classes:
            raise CnnspecError("defines no torch.nn.Module class; name the model as FILE:NAME", path=path)
        if len(classes) > 1:
            names = ", ".join(c.__name__ for c in classes)
            raise CnnspecError(f"defines several torch.nn.Module classes ({names}); name one as FILE:CLASS",
                               path=path)
        target, name = classes[0], classes[0].__name__
    else:
        if not hasattr(module, name):
            candidates = [k for k, v in vars(module).items()
                          if (isinstance(v, type) and issubclass(v, nn_module)) or isinstance(v, nn_module)]
            raise CnnspecError(f"defines no class `{name}`{suggest(name, candidates)}", path=path)
        target = getattr(module, name)
    if isinstance(target, nn_module):
        return target
    if not (isinstance(target, type) and issubclass(target, nn_module)):
        what = "a class that does not derive from torch.nn.Module" if isinstance(target, type) else \
            f"a {type(target).__name__}"
        raise CnnspecError(f"`{name}` is {what}; cnnspec import needs a torch.nn.Module class (or a module)",
                           path=path)
    try:
        inspect.signature(target).bind()
    except TypeError:
        missing = [p.name for p in inspect.signature(target).parameters.values()
                   if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        raise CnnspecError(f"`{name}` needs constructor arguments ({', '.join(missing)}); cnnspec import "
                           f"builds it with none", path=path) from None
    except ValueError:  # no signature to inspect (a builtin): try the call
        pass
    try:
        return target()
    except Exception as exc:
        raise CnnspecError(f"`{name}()` raised {_exception_text(exc, path)}", path=path) from None


# ------------------------------------------------------------------------------- files and specs


def _split_spec(spec: str) -> tuple[str, str | None]:
    """`model.py:Net` → (`model.py`, `Net`); `model.py` → (`model.py`, None)."""
    spec = os.fspath(spec)
    head, sep, tail = spec.rpartition(":")
    if sep and head and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tail):
        return head, tail
    return spec, None


def _import_path(path: str):
    """Import a Python file as a fresh module (runs its code); its folder is importable meanwhile."""
    absolute = os.path.abspath(path)
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(absolute))[0]) or "model"
    name = f"cnnspec_import_{stem}_{abs(hash(absolute)) & 0xFFFFFFFF:x}"
    try:
        spec = importlib.util.spec_from_file_location(name, absolute)
    except Exception as exc:  # pragma: no cover - odd paths
        raise CnnspecError(f"cannot be imported: {exc}", path=path) from None
    if spec is None or spec.loader is None:
        raise CnnspecError("cannot be imported as Python (is it a .py file?)", path=path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(absolute)
    sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses, pickling and typing look a module up by its name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise CnnspecError(f"is not valid Python: {exc.msg} (line {exc.lineno})", path=path) from None
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise CnnspecError(f"importing it raised {_exception_text(exc, path)}", path=path) from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:  # pragma: no cover - the user's code removed it
            pass
    return module


def _exception_text(exc: BaseException, path: str | None = None) -> str:
    """`ValueError: boom (line 12)`: the exception's first line, and where in the user's file it was raised."""
    message = _first_line(str(exc))
    text = type(exc).__name__ + (f": {message}" if message else "")
    where = _user_line(exc, path)
    return f"{text} ({where})" if where else text


def _source_file(cls) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:
        return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _user_line(exc: BaseException, path: str | None) -> str:
    """`line 12` of the user's file (or `model.py, line 12` of another file outside torch and cnnspec)."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.abspath(path) if path else None
    for frame in reversed(frames):
        filename = os.path.abspath(frame.filename)
        if target and filename == target:
            return f"line {frame.lineno}"
    for frame in reversed(frames):
        filename = os.path.abspath(frame.filename)
        if filename.startswith(here) or f"{os.sep}torch{os.sep}" in filename or filename.startswith("<"):
            continue
        if f"{os.sep}importlib{os.sep}" in filename:
            continue
        return f"{os.path.basename(filename)}, line {frame.lineno}"
    return ""


def _input_shape(value, path: str | None) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_input_shape(value)
    try:
        shape = tuple(value)
    except TypeError:
        shape = (value,)
    if not 1 <= len(shape) <= 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                            for n in shape):
        raise CnnspecError(f"the input shape must be 1 to 4 whole numbers of at least 1 (channels, then "
                           f"0 to 3 spatial sizes; no batch), not {value_text(shape)}", path=path)
    return shape


# ---------------------------------------------------------------------------------- the chain


@dataclass
class _Layer:
    text: str


@dataclass
class _Merge:
    name: str  # ADD, CONCAT, MUL
    branches: list[list]


@dataclass
class _Repeat:
    body: list
    count: int


def _inline(item) -> str:
    if isinstance(item, _Layer):
        return item.text
    if isinstance(item, _Repeat):
        if len(item.body) == 1 and isinstance(item.body[0], _Layer):
            return f"{item.body[0].text} * {item.count}"
        return f"[{_inline_chain(item.body)}] * {item.count}"
    return f"{item.name} {{ " + " | ".join(_inline_chain(b) or "[]" for b in item.branches) + " }"


def _inline_chain(items) -> str:
    return " -> ".join(_inline(item) for item in items)


def _fold(items: list) -> list:
    """Consecutive identical stretches as `[…] * N`: at each position the repetition covering the most
    items (the shortest period among equals), its body folded again; branches are folded inside. A
    repetition that the next position also starts, ending later, is left to it, so that VGG's stages fold
    as `[[CONV -> RELU] * 3 -> MAXPOOL] * 2` rather than as `[MAXPOOL -> [CONV -> RELU] * 3] * 2`."""
    items = [_Merge(it.name, [_fold(b) for b in it.branches]) if isinstance(it, _Merge) else it for it in items]
    keys = [_inline(it) for it in items]
    n = len(items)

    def best(i: int) -> tuple[int, int]:
        best_count, best_period = 1, 1
        for period in range(1, (n - i) // 2 + 1):
            if keys[i + period] != keys[i]:
                continue
            body = keys[i:i + period]
            count = 1
            while keys[i + count * period:i + (count + 1) * period] == body:
                count += 1
            if count >= 2 and count * period > best_count * best_period:
                best_count, best_period = count, period
        return best_count, best_period

    out, i = [], 0
    while i < n:
        count, period = best(i)
        if count >= 2 and i + 1 < n:
            later_count, later_period = best(i + 1)
            if later_count >= 2 and later_count * later_period >= count * period:
                count = 1
        if count >= 2:
            body = items[i:i + period]
            out.append(_Repeat(_fold(body) if period > 1 else body, count))
            i += count * period
        else:
            out.append(items[i])
            i += 1
    return out


def _layers(items):
    for item in items:
        if isinstance(item, _Layer):
            yield item
        elif isinstance(item, _Merge):
            for branch in item.branches:
                yield from _layers(branch)
        else:
            yield from _layers(item.body)


def _common_defaults(items) -> list[str]:
    """`default BN(eps=0.001, momentum=0.01)` when every BN has the same arguments other than PyTorch's
    (torchvision's MobileNetV3 and GoogLeNet), the BNs then written plainly; no line otherwise."""
    norms = [layer for layer in _layers(items) if layer.text == "BN" or layer.text.startswith("BN(")]
    texts = {layer.text for layer in norms}
    if len(norms) < 2 or len(texts) != 1 or texts == {"BN"}:
        return []
    for layer in norms:
        layer.text = "BN"
    return [f"default {texts.pop()}"]


def _render_item(item, width: int) -> list[str]:
    text = _inline(item)
    if len(text) <= width or isinstance(item, _Layer):
        return [text]
    if isinstance(item, _Repeat):
        return ["["] + ["  " + line for line in _render_chain(item.body, width - 2)] + [f"] * {item.count}"]
    lines = [f"{item.name} {{"]
    for j, branch in enumerate(item.branches):
        body = _render_chain(branch, width - 4) if branch else ["[]"]
        lines.append(("    " if j == 0 else "  | ") + body[0])
        lines += ["    " + line for line in body[1:]]
    return lines + ["}"]


def _render_chain(items, width: int) -> list[str]:
    """A chain as lines: short items packed on a line, a long merge or repeat over several lines."""
    text = _inline_chain(items)
    if len(text) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for k, item in enumerate(items):
        arrow = "" if k == 0 else "-> "
        rendered = _render_item(item, width - 3)
        if len(rendered) == 1 and current and len(current) + 4 + len(rendered[0]) <= width:
            current += " -> " + rendered[0]
            continue
        if current:
            lines.append(current)
        if len(rendered) == 1:
            current = arrow + rendered[0]
        else:  # the items after a long one may follow its closing line: `} -> RELU`
            lines.append(arrow + rendered[0])
            pad = " " * len(arrow)
            lines += [pad + line for line in rendered[1:-1]]
            current = pad + rendered[-1]
    if current:
        lines.append(current)
    return lines


# ----------------------------------------------------------------- graph nodes and what the writers see


@dataclass
class _Node:
    """A node of the traced graph that carries a tensor, as the chain builder sees it."""

    fx: object
    items: list = field(default_factory=list)  # the layers it writes (none for a no-op)
    inputs: list = field(default_factory=list)  # the tensor nodes it reads, in order
    merge: str | None = None  # ADD / CONCAT / MUL: a join of its inputs
    chunk: int | None = None  # torch.chunk: the number of pieces (its getitems are the SPLITs)
    binary: bool = False  # a sum or product written with + or * (or torch.add, torch.mul): of two values


class _Context:
    """What a layer writer of the registry (ops.FromTorch) sees: the node, its concrete arguments, input and
    output shapes (no batch)."""

    def __init__(self, importer, node, args, kwargs):
        self.importer, self.node, self.args, self.kwargs = importer, node, args, kwargs
        value = importer.values[node]
        self.out = tuple(value.shape[1:]) if _is_tensor(value) else None
        first = next((a for a in _flat_args(node.args, node.kwargs) if _is_tensor(importer.values.get(a))), None)
        self.full_in = tuple(importer.values[first].shape) if first is not None else None
        self.inp = self.full_in[1:] if self.full_in else None
        self.full_out = tuple(value.shape) if _is_tensor(value) else None

    def bind(self, names, defaults=None):
        """The arguments by name (`input` first), as the function's signature would bind them."""
        bound = dict(defaults or {})
        for name, value in zip(names, self.args):
            bound[name] = value
        bound.update(self.kwargs)
        return bound

    def only_reshapes_follow(self) -> bool:
        """Whether every reader of this node's value is a view, reshape, squeeze or flatten."""
        functions, _, _, _ = _function_tables()
        for user in self.node.users:
            if user.op == "call_module":
                op, _ = _module_kind(self.importer.graph_module.get_submodule(user.target))
                if op is None or op.name != "flatten":
                    return False
            elif user.op not in ("call_function", "call_method") or functions.get(_key(user)) is not _reshape:
                return False
        return bool(self.node.users)

    def note(self, text: str) -> None:
        self.importer.notes.append(f"{self.importer.describe_short(self.node)}: {text}")

    def reshape(self) -> list[str]:
        return _reshape(self)


def _is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _flat_args(args, kwargs=None):
    """Every fx Node among (nested) arguments, in order."""
    from torch.fx import Node

    found = []

    def visit(value):
        if isinstance(value, Node):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)

    visit(args)
    if kwargs:
        visit(kwargs)
    return found


def _no_layer(ctx):
    return []


def _reshape(ctx):
    """A view, reshape, flatten or squeeze: nothing when it keeps the shape, FLATTEN when it flattens every
    axis but the batch, refused otherwise."""
    before, after = ctx.full_in, ctx.full_out
    if before == after:
        return []
    if len(after) == 2 and after[0] == before[0] and len(before) > 2:
        return ["FLATTEN"]
    if (len(after) > 2 and after[0] == before[0] and [n for n in after if n != 1] == [n for n in before if n != 1]
            and ctx.only_reshapes_follow()):
        return []  # the first of `x.squeeze(-1).squeeze(-1)`: the last one writes the FLATTEN
    if len(after) < 2 or after[0] != before[0]:
        raise Unimportable(f"it reshapes {shape_text(before)} to {shape_text(after)} (with the batch of "
                           f"{before[0]}), which does not keep the batch axis; cnnspec writes only a flatten "
                           f"that keeps it (torch.flatten(x, 1))")
    raise Unimportable(f"it reshapes {shape_text(before[1:])} to {shape_text(after[1:])}, which is not a "
                       f"flatten; cnnspec writes only that (torch.flatten(x, 1))")


_MODULE_KINDS = None
_MODULE_NAMES = None


def _module_tables():
    """{module class: (op, writer)} from the registry, and [(package, class name, (op, writer))] for the
    classes matched by name; a merge's writer is None."""
    global _MODULE_KINDS, _MODULE_NAMES
    if _MODULE_KINDS is None:
        classes, names = {}, []
        for op in ops.OPS:
            for form in op.from_modules:
                for dotted in form.names:
                    if form.by_name:
                        names.append((dotted.partition(".")[0], dotted.rpartition(".")[2], (op, form.write)))
                    elif (cls := _torch_object(dotted)) is not None:
                        classes[cls] = (op, form.write)
        _MODULE_KINDS, _MODULE_NAMES = classes, names
    return _MODULE_KINDS, _MODULE_NAMES


def _torch_object(dotted: str):
    """The class or function a registry name (`torch.nn.Conv2d`) stands for; None if this torch lacks it."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name, None)


def _module_kind(module):
    """(op, writer) for the kind a module imports as, or (None, None) for a module to trace through or to
    refuse. A subclass counts as its base only when it keeps the base's forward."""
    classes, names = _module_tables()
    for cls in type(module).__mro__:
        if cls in classes:
            if type(module).forward is cls.forward:
                return classes[cls]
            return None, None
    for package, name, found in names:
        if type(module).__name__ == name and type(module).__module__.startswith(package):
            return found
    return None, None


_FUNCTIONS = None
_SHAPE_FUNCTIONS = None
_MERGE_FUNCTIONS = None
_CHUNKS = None


def _function_tables():
    """{call_function target or `.method`: writer}, {…: merge name}, the chunks, and the functions of shapes."""
    global _FUNCTIONS, _SHAPE_FUNCTIONS, _MERGE_FUNCTIONS, _CHUNKS
    if _FUNCTIONS is None:
        import torch

        functions, merges = {}, {}
        for op in ops.OPS:
            for form in op.from_functions:
                for key in _function_keys(form.names):
                    if op.merge:
                        merges[key] = op.name.upper()
                    else:
                        functions[key] = form.write
        # No layer kind of their own: views (a flatten, or nothing) and copies (nothing).
        for key in _function_keys(("torch.flatten", "torch.reshape", "torch.squeeze", "Tensor.view", "Tensor.reshape",
                                   "Tensor.flatten", "Tensor.squeeze")):
            functions[key] = _reshape
        for key in _function_keys(("Tensor.contiguous", "Tensor.clone", "Tensor.detach")):
            functions[key] = _no_layer
        _FUNCTIONS, _MERGE_FUNCTIONS = functions, merges
        _CHUNKS = {torch.chunk, ".chunk"}  # a chunk's pieces, taken by index, are SPLITs
        _SHAPE_FUNCTIONS = {getattr, ".size", ".dim", operator.getitem, operator.floordiv, operator.sub,
                            operator.truediv, operator.neg, len}
    return _FUNCTIONS, _MERGE_FUNCTIONS, _CHUNKS, _SHAPE_FUNCTIONS


def _function_keys(names):
    """The keys fx gives the calls of registry names: the function itself, or `.name` for `Tensor.name`."""
    for dotted in names:
        if dotted.startswith("Tensor."):
            yield "." + dotted.removeprefix("Tensor.")
        else:
            function = _torch_object(dotted)
            if function is not None:
                yield function


def _key(node):
    return "." + node.target if node.op == "call_method" else node.target


def _function_name(node) -> str:
    target = node.target
    if node.op == "call_method":
        return f"Tensor.{target}"
    name = getattr(target, "__name__", repr(target))
    module = getattr(target, "__module__", None)
    if module in (None, "builtins") and name in vars(operator):
        module = "operator"
    if module in (None, "torch._C._VariableFunctions", "torch._C"):
        module = "torch"
    if module == "_operator":
        module = "operator"
    return f"{module}.{name}" if module else name


def _type_name(cls) -> str:
    import torch

    if getattr(torch.nn, cls.__name__, None) is cls:
        return f"torch.nn.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------------- the importer


def _check_input(module, args) -> None:
    """Say in cnnspec's words when a convolution, BN or Linear receives the wrong number of channels or
    features (the meta device's own messages are terse)."""
    from torch import nn

    from .modules import FlattenLinear

    x = args[0] if args else None
    if not _is_tensor(x) or x.dim() < 2:
        return
    received = shape_text(tuple(x.shape[1:]))
    if isinstance(module, nn.modules.conv._ConvNd) and x.shape[1] != module.in_channels:
        raise Unimportable(f"expects {module.in_channels} input channels but receives {received}")
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and x.shape[1] != module.num_features:
        raise Unimportable(f"expects {module.num_features} channels but receives {received}")
    if isinstance(module, FlattenLinear):  # flattens its input first: every feature of a sample counts
        if math.prod(x.shape[1:]) != module.in_features:
            raise Unimportable(f"expects {module.in_features} input features but receives {received}")
    elif isinstance(module, nn.Linear) and x.shape[-1] != module.in_features:
        raise Unimportable(f"expects {module.in_features} input features but receives {received}")


class _Importer:
    def __init__(self, module, shape, label: str, path: str | None):
        from .lower import require_torch

        self.torch = require_torch()
        if not isinstance(module, self.torch.nn.Module):
            raise CnnspecError(f"from_torch needs a torch.nn.Module, not {type(module).__name__}", path=path)
        self.module, self.shape, self.label, self.path = module, shape, label, path
        self.notes: list[str] = []
        self.values: dict = {}

    def fail(self, message: str):
        return CnnspecError(message, path=self.path)

    # --- steps

    def run(self) -> str:
        self.materialize_lazy()
        self.trace()
        self.check_support()
        self.propagate()
        nodes, sink = self.dataflow()
        items = self.chain(nodes, self.input_node, sink)
        header = [f"# {self.label}, imported from PyTorch by cnnspec (torch.fx trace, input "
                  f"{shape_text(self.shape)})"]
        header += [f"# note: {note}" for note in dict.fromkeys(self.notes)]
        header += _common_defaults(items)
        items = _fold(items)
        lines = _render_chain([_Layer(f"INPUT({', '.join(map(str, self.shape))})"), *items], WIDTH)
        return "\n".join(header + lines) + "\n"

    def materialize_lazy(self):
        """A dry forward that gives lazy modules (LazyConv2d, LazyLinear) their sizes: on the module's own
        device, in eval mode and without gradients."""
        from torch.nn.modules.lazy import LazyModuleMixin

        torch = self.torch
        lazy = [m for m in self.module.modules() if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()]
        if not lazy:
            return
        device = next((t.device for t in self.module.parameters()
                       if not isinstance(t, torch.nn.parameter.UninitializedParameter)), torch.device("cpu"))
        training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                self.module(torch.zeros((BATCH, *self.shape), device=device))
        except Exception as exc:
            raise self.fail(f"input {shape_text(self.shape)} does not fit {self.label}: the forward that sizes its "
                            f"lazy modules raised {_exception_text(exc, self.path)}") from None
        finally:
            self.module.train(training)

    def trace(self):
        import torch.fx as fx

        from .modules import Scope

        class Tracer(fx.Tracer):
            def is_leaf_module(self, m, qualified_name):
                if isinstance(m, Scope):
                    return False
                op, _ = _module_kind(m)
                if op is not None:
                    return True
                return super().is_leaf_module(m, qualified_name)

        tracer = Tracer()
        try:
            graph = tracer.trace(self.module)
        except Exception as exc:
            where = self.path or _source_file(type(self.module))
            if isinstance(exc, fx.proxy.TraceError):
                raise self.fail(f"torch.fx cannot trace the forward of {self.label}: "
                                f"{_exception_text(exc, where)}") from None
            raise self.fail(f"the forward of {self.label} raised {_exception_text(exc, where)} while torch.fx "
                            f"traced it") from None
        self.graph_module = fx.GraphModule(tracer.root, graph, self.label)
        self.graph = self.graph_module.graph
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if not placeholders:
            raise self.fail(f"the forward of {self.label} takes no input")
        self.input_node = placeholders[0]
        extra = [n.target for n in placeholders[1:] if n.users]
        if extra:
            raise self.fail(f"the forward of {self.label} uses more than one input ({', '.join(extra)}); "
                            f"cnnspec imports networks of one input")
        outputs = [n for n in self.graph.nodes if n.op == "output"]
        self.output_node = outputs[0]
        self.live = self.live_nodes()

    def live_nodes(self) -> set:
        """The nodes the output depends on (a computed but unused value is left out)."""
        live, stack = set(), [self.output_node]
        while stack:
            node = stack.pop()
            if node in live:
                continue
            live.add(node)
            stack.extend(_flat_args(node.args, node.kwargs))
        return live

    def where(self, node) -> str:
        """`in the forward of `layer1.0` (BasicBlock)` (or of the model itself)."""
        stack = list(node.meta.get("nn_module_stack", {}).values())
        if node.op == "call_module" and stack:
            stack = stack[:-1]
        if not stack:
            return f"in the forward of {self.label}"
        path, cls = stack[-1]
        return f"in the forward of `{path}` ({getattr(cls, '__name__', cls)})"

    def describe(self, node) -> str:
        if node.op == "call_module":
            module = self.graph_module.get_submodule(node.target)
            return (f"module `{node.target}` ({_type_name(type(module))}), called {self.where(node)} "
                    f"as node `{node.name}`")
        if node.op == "get_attr":
            return f"attribute `{node.target}`, read {self.where(node)} as node `{node.name}`"
        return f"function {_function_name(node)}, called {self.where(node)} as node `{node.name}`"

    def describe_short(self, node) -> str:
        if node.op == "call_module":
            return f"`{node.target}` ({type(self.graph_module.get_submodule(node.target)).__name__})"
        return f"node `{node.name}` ({_function_name(node)})"

    def unsupported(self, node, reason: str | None = None):
        what = self.describe(node)
        if reason is None:
            return self.fail(f"unsupported {what}: cnnspec has no layer for it")
        return self.fail(f"cannot import {what}: {reason}")

    def check_support(self):
        """Refuse what cnnspec cannot write before running anything (so an LSTM is named as such, not as a
        shape that does not fit)."""
        functions, merges, chunks, shapes = _function_tables()
        for node in self.graph.nodes:
            if node not in self.live or node.op in ("placeholder", "output"):
                continue
            if node.op == "call_module":
                module = self.graph_module.get_submodule(node.target)
                if _module_kind(module)[0] is None:
                    raise self.unsupported(node)
            elif node.op == "get_attr":
                raise self.unsupported(node, "a parameter or buffer used directly in the forward is no layer "
                                             "cnnspec knows")
            else:
                key = _key(node)
                try:
                    known = key in functions or key in merges or key in chunks or key in shapes
                except TypeError:  # an unhashable target
                    known = False
                if not known:
                    raise self.unsupported(node)

    def propagate(self):
        """Every node's value on the meta device: shapes without arithmetic, weights never read."""
        import itertools

        import torch.fx as fx

        torch = self.torch
        importer = self

        class Shapes(fx.Interpreter):
            failure = None

            def run_node(self, node):
                try:
                    result = super().run_node(node)
                except Exception as exc:
                    if self.failure is None:  # before the interpreter appends its notes to the message
                        self.failure = (node, str(exc) if isinstance(exc, Unimportable) else
                                        f"raised {_exception_text(exc, importer.path)}")
                    raise
                importer.values[node] = result
                return result

            def call_module(self, target, args, kwargs):
                sub = self.fetch_attr(target)
                _check_input(sub, args)
                state = {name: (t if t.is_meta else torch.empty_like(t, device="meta"))
                         for name, t in itertools.chain(sub.named_parameters(), sub.named_buffers())}
                return torch.func.functional_call(sub, state, tuple(args), dict(kwargs), strict=False)

        x = torch.empty((BATCH, *self.shape), device="meta")
        shapes = Shapes(self.graph_module, garbage_collect_values=False)
        try:
            shapes.run(x)
        except Exception:
            if shapes.failure is None:
                raise
            node, reason = shapes.failure
            raise self.fail(f"input {shape_text(self.shape)} does not fit {self.label}: "
                            f"{self.describe_short(node)} {reason}") from None

    def dataflow(self):
        """The tensor nodes with their layers and inputs; the node the model returns."""
        functions, merges, chunks, _ = _function_tables()
        torch = self.torch
        result = self.output_node.args[0]
        if not isinstance(result, torch.fx.Node) or not _is_tensor(self.values.get(result)):
            raise self.fail(f"the forward of {self.label} must return one tensor, not "
                            f"{type(self.values.get(result, result)).__name__}")
        nodes: dict = {}
        for node in self.graph.nodes:
            if node not in self.live or node.op in ("output", "get_attr"):
                continue
            value = self.values.get(node)
            if node.op == "placeholder":
                if node is self.input_node:
                    nodes[node] = _Node(node)
                continue
            key = _key(node)
            is_chunk = key in chunks
            tensor_inputs = [a for a in _flat_args(node.args, node.kwargs) if a in nodes]
            if node.op == "call_function" and node.target is operator.getitem and node.args[0] in nodes:
                source = nodes[node.args[0]]
                if source.chunk is None:
                    raise self.unsupported(node, "indexing or slicing a tensor is no layer cnnspec knows")
                index = node.args[1]
                if not isinstance(index, int):
                    raise self.unsupported(node, "only a piece of torch.chunk by a whole-number index is a SPLIT")
                piece = ops.layer_text("SPLIT", source.chunk, i=index % source.chunk)
                nodes[node] = _Node(node, [piece], [node.args[0]])
                continue
            if not (_is_tensor(value) or is_chunk):
                continue  # sizes and other numbers: read by the layers that use them
            if not tensor_inputs:
                raise self.unsupported(node, "it makes a tensor that does not come from the input")
            args = tuple(self.concrete(node.args))
            kwargs = {k: self.concrete(v) for k, v in node.kwargs.items()}
            ctx = _Context(self, node, args, kwargs)
            try:
                if node.op == "call_module":
                    module = self.graph_module.get_submodule(node.target)
                    op, write = _module_kind(module)
                    if op.merge:
                        nodes[node] = _Node(node, inputs=tensor_inputs, merge=op.name.upper())
                    else:
                        self.need_one_input(node, tensor_inputs)
                        nodes[node] = _Node(node, write(module, ctx), tensor_inputs)
                elif key in merges:
                    nodes[node] = self.merge_node(node, key, merges[key], args, kwargs, tensor_inputs, value)
                elif is_chunk:
                    bound = ctx.bind(("input", "chunks", "dim"), {"dim": 0})
                    if bound["dim"] % len(ctx.full_in) != 1:
                        raise Unimportable(f"it splits axis {bound['dim']}; cnnspec's SPLIT splits the channels "
                                           f"(dim=1)")
                    self.need_one_input(node, tensor_inputs)
                    nodes[node] = _Node(node, inputs=tensor_inputs, chunk=bound["chunks"])
                elif key in functions:
                    self.need_one_input(node, tensor_inputs)
                    nodes[node] = _Node(node, functions[key](ctx), tensor_inputs)
                else:
                    raise self.unsupported(node)
            except Unimportable as reason:
                raise self.unsupported(node, str(reason)) from None
        self.absorb(nodes)
        return nodes, result

    def need_one_input(self, node, inputs):
        if len(inputs) != 1:
            raise Unimportable(f"it reads {len(inputs)} tensors; cnnspec joins tensors only by ADD, CONCAT or MUL")

    def merge_node(self, node, key, name, args, kwargs, inputs, value):
        if name == "CONCAT":
            tensors = node.args[0] if node.args else node.kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis", 0))
            rank = len(value.shape)
            if dim % rank != 1:
                raise Unimportable(f"it concatenates on axis {dim}; cnnspec's CONCAT joins the channels (dim=1)")
            if not all(isinstance(t, self.torch.fx.Node) and t in self.values for t in tensors):
                raise Unimportable("it concatenates something that is not a layer's output")
            return _Node(node, inputs=list(tensors), merge=name)
        operands = list(node.args[:2])
        extra = args[2:] + tuple(v for k, v in kwargs.items() if k == "alpha")
        if extra and extra != (1,):
            raise Unimportable("only a plain sum (alpha=1) is an ADD")
        if len(operands) != 2 or not all(isinstance(o, self.torch.fx.Node) and _is_tensor(self.values.get(o))
                                         for o in operands):
            word = "sum" if name == "ADD" else "product"
            raise Unimportable(f"a {word} with a constant is no layer cnnspec knows; {name} joins the outputs of "
                               f"branches")
        return _Node(node, inputs=operands, merge=name, binary=True)

    def concrete(self, value):
        """An argument with every node replaced by its value (a tensor on meta, a size, …)."""
        if isinstance(value, self.torch.fx.Node):
            return self.values.get(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.concrete(v) for v in value)
        if isinstance(value, dict):
            return {k: self.concrete(v) for k, v in value.items()}
        return value

    @staticmethod
    def absorb(nodes):
        """`a + b + c` as one ADD of three: a sum (product) written with + whose only reader is another is
        merged into it. (cnnspec's own Add modules are n-ary already and are left as they are, so that a
        spec's nested ADDs come back nested.)"""
        readers: dict = {}
        for node in nodes.values():
            for source in node.inputs:
                readers.setdefault(source, []).append(node.fx)
        for node in nodes.values():
            if node.merge not in ("ADD", "MUL") or not node.binary:
                continue
            inputs = []
            pending = list(node.inputs)
            while pending:
                source = pending.pop(0)
                inner = nodes.get(source)
                if inner is not None and inner.binary and inner.merge == node.merge and len(readers[source]) == 1:
                    pending = list(inner.inputs) + pending
                else:
                    inputs.append(source)
            node.inputs = inputs

    # --- the chain

    def chain(self, nodes: dict, start, stop) -> list:
        """The items from the value `start` to the node `stop`, both given by fx node."""
        live = self.flow_live(nodes, stop)
        users: dict = {n: [] for n in live}
        for n in live:
            for source in nodes[n].inputs:
                if source in live and n not in users[source]:
                    users[source].append(n)
        self.order = {n: i for i, n in enumerate(self.graph.nodes)}
        return self.walk(nodes, users, start, stop)

    @staticmethod
    def flow_live(nodes, stop) -> set:
        live, stack = set(), [stop]
        while stack:
            n = stack.pop()
            if n in live:
                continue
            live.add(n)
            stack.extend(nodes[n].inputs)
        return live

    @staticmethod
    def post_dominators(live, users, order, stop) -> dict:
        """The immediate post-dominator of every node: the first node every path from it to the output
        passes through (Cooper, Harvey & Kennedy's intersection, on a DAG in reverse topological order)."""
        ipdom = {stop: stop}
        for n in sorted(live, key=order.__getitem__, reverse=True):
            if n is stop:
                continue
            found = None
            for s in users[n]:
                if found is None:
                    found = s
                    continue
                a, b = s, found
                while a is not b:
                    while order[a] < order[b]:
                        a = ipdom[a]
                    while order[b] < order[a]:
                        b = ipdom[b]
                found = a
            ipdom[n] = found
        return ipdom

    def region(self, nodes, start, stop) -> set:
        """The nodes between the value `start` (excluded) and `stop` (included); every path back from `stop`
        must reach `start`."""
        found, stack = set(), [stop]
        while stack:
            n = stack.pop()
            if n is start or n in found:
                continue
            if not nodes[n].inputs:
                raise self.structure(start, stop)
            found.add(n)
            stack.extend(nodes[n].inputs)
        return found

    def structure(self, start, stop, users=None, region=()):
        """The error for a graph that is no chain of branches: it names a node whose output is used in two
        branches (or in a branch and after it) when there is one to name."""
        order = {n: i for i, n in enumerate(self.graph.nodes)}
        for node in sorted(region, key=order.__getitem__):
            readers = users.get(node, []) if users else []
            if node is not stop and any(r not in region for r in readers):
                names = " and ".join(f"`{r.name}`" for r in sorted(readers, key=order.__getitem__))
                return self.fail(f"the graph of {self.label} is not a chain of branches that join again: the "
                                 f"output of node `{node.name}` is used by nodes {names} in different branches, "
                                 f"which cnnspec cannot write (its branches share no layers)")
        return self.fail(f"the graph of {self.label} between node `{start.name}` and node `{stop.name}` is not a "
                         f"chain of branches that join again: a value is used across branches, which cnnspec "
                         f"cannot write")

    def walk(self, nodes, users, start, stop) -> list:
        """The chain from `start` to `stop`: layers one after the other until a value is read by several
        nodes; there branches start, and they end where every path from that value meets again (its
        immediate post-dominator within the stretch), which must be a join (ADD, CONCAT, MUL) of exactly
        those branches."""
        region = self.region(nodes, start, stop)
        local = {n: [u for u in users[n] if u in region] for n in (*region, start)}
        ipdom = self.post_dominators(local.keys(), local, self.order, stop)
        items: list = []
        current = start
        while current is not stop:
            following = [u for u in users[current] if u in region]
            if len(following) == 1 and nodes[following[0]].merge is None:
                current = following[0]
                items += [_Layer(text) for text in nodes[current].items]
                continue
            join = ipdom.get(current)
            if join is None or join not in region or nodes[join].merge is None:
                raise self.structure(current, stop, users, region)
            branches, seen = [], set()
            for source in nodes[join].inputs:
                if source is current:
                    branches.append([])
                    continue
                if source not in region:
                    raise self.structure(current, join, users, region)
                inside = self.region(nodes, current, source)
                if inside & seen:
                    raise self.structure(current, join, users, inside)
                seen |= inside
                branches.append(self.walk(nodes, users, current, source))
            items.append(_Merge(nodes[join].merge, branches))
            current = join
        return items
