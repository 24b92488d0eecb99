"""PyTorch to cnnspec: `from_torch(module, input_shape)` writes the `.cnn` text of an nn.Module.

The module is traced with torch.fx (so an ordinary `forward` with residual additions, `torch.cat`,
`torch.chunk` and flattening views works, not only nn.Sequential), every value found on the meta device as
it is traced (no weights are touched, no arithmetic is done), so that sizes read in the forward are numbers
and Python control flow on them is decided for this input; the traced graph is turned back into a
chain: every supported module or function becomes its layer, a value used by several later nodes starts
branches that end where they join (`ADD { … | … }`, `CONCAT`, `MUL`), and consecutive identical
stretches are folded into `[…] * N`.

`load_class("model.py:Net")` imports a Python file (which runs its code) and instantiates the class with
no arguments; `import_file(spec, input_shape)` does both. Every failure a user can cause, from a missing
file to an unsupported layer or an input that does not fit, is a one-line CnnspecError.

The steps, one module each: `loading` (the user's file, its class, the input shape), `trace` (torch.fx with
the meta device, with `kinds`, the registry's tables of which torch module or function is which kind),
`dataflow` (the tensors and the layers each writes), `chain` (branches and joins) and `text` (folding and
writing). torch is imported inside the functions only: `import cnnspec` never imports it.
"""

from __future__ import annotations

from ...lang.errors import CnnspecError
from .chain import chain
from .dataflow import dataflow
from .names import Unmirrorable, mirror
from .loading import checked_shape, exception_text, load_class, parse_input_shape, split_spec
from .text import spec_text
from .trace import Trace

__all__ = ["exception_text", "from_torch", "import_file", "load_class", "parse_input_shape"]


def from_torch(module, input_shape, names: bool = False) -> str:
    """The `.cnn` text of `module` for one sample of `input_shape` (channels first, no batch axis). `names`:
    labels and groups follow the module's paths, so that the lowered spec loads the module's state dict."""
    shape = checked_shape(input_shape, None)
    return _import(module, shape, type(module).__name__, None, names)


def import_file(spec: str, input_shape, names: bool = False) -> str:
    """`load_class(spec)` then `from_torch`, errors reported against the Python file."""
    path, name = split_spec(spec)
    shape = checked_shape(input_shape, None)  # before the user's code runs
    module = load_class(spec)
    return _import(module, shape, name or type(module).__name__, path, names)


def _import(module, shape, label: str, path: str | None, names: bool = False) -> str:
    trace = Trace(module, shape, label, path).run()
    nodes, result, notes = dataflow(trace)
    notes += _unread_notes(trace)
    items = chain(trace, nodes, trace.input_node, result, trace.extra_outputs)
    if names:
        try:
            named = spec_text(label, shape, notes, mirror(trace, nodes, items))
            from ...analysis.analyze import analyze
            from ...lang.syntax import parse

            analyze(parse(named))  # labels that clash with the numbers of unlabelled items are refused there
            return named
        except Unmirrorable as reason:
            why = str(reason)
        except CnnspecError as error:
            why = str(error).partition("\n")[0]
        notes.append(f"written without the module's names (its state dict does not load): {why}")
    return spec_text(label, shape, notes, items)


def _unread_notes(trace) -> list[str]:
    """A note for each module whose parameters the forward never reads (built, then left out): the spec cannot
    say where such a module would go, so its parameters are not in it."""
    owners: dict[str, int] = {}
    parameters = dict(trace.module.named_parameters())
    for name in trace.unread():
        owner = name.rpartition(".")[0]
        owners[owner] = owners.get(owner, 0) + parameters[name].numel()
    notes = []
    for owner, count in sorted(owners.items()):
        cls = type(trace.module.get_submodule(owner)).__name__
        notes.append(f"`{owner or trace.label}` ({cls}): its {count:,} parameters are never used in the forward, "
                     f"so they are not in this spec")
    return notes
