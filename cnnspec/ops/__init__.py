"""The op registry: every layer kind, declared once, in the module of its family.

An entry (`entry.OpSpec`) holds the kind's names, its parameters (`params.Param`: types, defaults, which one
may be positional), a one-line description, and its rule: given the input shape and the arguments, the
output shape, the parameter / buffer / MAC counts, and the window it applies for the receptive field. It
also holds how the numbers are worked out for answer keys (`derive`), the known slips a grader names
(`slips`), and its PyTorch side: the module `lower` builds, how generated source writes it (TorchSource) and
which torch modules and functions import as it (FromTorch). The grammar knows none of this; `resolve` binds
arguments against the parameters declared here, and `analyze` runs the rules. Sizes follow PyTorch exactly.

Adding a layer kind is adding one entry to its family's module (and its tests); this file only gathers them.
torch is imported only inside the functions that build modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import activation, conv, input, linear, merge, norm, pool, regularization, reshape
from .entry import (CHANNELS_LAST, NO_DEFAULT, FromTorch, LayerContext, LayerResult, OpSpec, OwnModule, Slip,
                    SourceArg, TorchSource, Unimportable, Window, Working, layer_text, product_text)
from .params import REQUIRED, SIZE_LIMIT, Param
from .windows import conv_output_size, pool_output_size, same_padding, size_working, window_geometry

if TYPE_CHECKING:
    from ..lang.ir import Layer

__all__ = ["CHANNELS_LAST", "FromTorch", "LayerContext", "LayerResult", "NO_DEFAULT", "OPS", "OpSpec", "OwnModule", "Param",
           "REQUIRED", "SIZE_LIMIT", "Slip", "SourceArg", "TorchSource", "Unimportable", "Window", "Working",
           "conv_output_size", "fill_defaults", "get", "layer_names", "layer_text", "lookup", "pool_output_size",
           "product_text", "same_padding", "size_working", "window_geometry"]

OPS: tuple[OpSpec, ...] = (*input.ENTRIES, *conv.ENTRIES, *pool.ENTRIES, *activation.ENTRIES, *norm.ENTRIES,
                           *regularization.ENTRIES, *reshape.ENTRIES, *merge.ENTRIES, *linear.ENTRIES)

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
