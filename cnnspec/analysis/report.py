"""The Report: what analysis found, as plain data with a stable JSON form. Renderers read only this."""

from __future__ import annotations

from dataclasses import dataclass
import math
from fractions import Fraction

from ..lang.errors import Diagnostic


@dataclass(frozen=True, slots=True)
class ScopeReport:
    """A block call, a repeat or a labelled group: a row of the table's tree, with the sums of its layers."""

    id: int  # 1-based, in the order the scopes start
    kind: str  # "block" | "repeat" | "group"
    text: str
    path: str  # the name its layers' paths start with ("" for an unlabelled repeat, which names nothing)
    line: int
    column: int
    parent: int | None
    depth: int  # 1 for a scope at the top of the network
    first: int  # its first and last layer's index
    last: int
    params: int
    buffers: int
    macs: int
    activations: int
    index: str | None = None  # a repeat's index (`* 3 by i`): its copies differ

    def to_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "text": self.text, "path": self.path, "line": self.line,
            "column": self.column, "parent": self.parent, "depth": self.depth, "layers": [self.first, self.last],
            "params": self.params, "buffers": self.buffers, "macs": self.macs, "flops": 2 * self.macs,
            "activations": self.activations, **({"index": self.index} if self.index is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class LayerReport:
    index: int  # 1-based, INPUT excluded
    op: str
    text: str
    line: int
    column: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    activations: int
    receptive_field: tuple[int | Fraction, ...]
    jump: tuple[int | Fraction, ...]
    resolved: str = ""  # the layer with its values: what `text` says once variables and defaults are filled in
    path: str = ""  # its name in the network, e.g. `layer2.1.conv1` (labels, else positions)
    # For a merge, the layers its branches end with (0 is INPUT); for a layer right after `@name`, the one it
    # reads.
    inputs: tuple[int, ...] = ()
    scopes: tuple[int, ...] = ()  # the ids of the scopes it is in, outermost first
    # Off the path to the output (an auxiliary head, a branch whose output nothing reads): its parameters are
    # the network's, but inference never runs it, so its MACs and output are in no total.
    unused: bool = False
    # `shares=conv1`: the path of the layer whose weights it uses (its params and buffers are that layer's, so
    # they are 0 here and counted once).
    shares: str | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict:
        data = {
            "index": self.index, "op": self.op, "text": self.text, "resolved": self.resolved,
            "line": self.line, "column": self.column, "path": self.path,
            "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "params": self.params, "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
            "activations": self.activations,
            "receptive_field": [_number(r) for r in self.receptive_field], "jump": [_number(j) for j in self.jump],
        }
        if self.inputs:
            data["inputs"] = list(self.inputs)
        if self.scopes:
            data["scope"] = self.scopes[-1]
        if self.unused:
            data["unused"] = True
        if self.shares is not None:
            data["shares"] = self.shares
        return data


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    buffers: int
    macs: int
    activations: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    activation_bytes: int
    unused_params: int = 0  # of `params`, those of layers off the path to the output

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def total_bytes(self) -> int:
        """The estimate of memory for one forward pass: parameters, buffers, the input and every output kept."""
        return self.param_bytes + self.buffer_bytes + self.input_bytes + self.activation_bytes

    def to_dict(self) -> dict:
        return {
            "params": self.params, "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
            "activations": self.activations, "param_bytes": self.param_bytes, "buffer_bytes": self.buffer_bytes,
            "input_bytes": self.input_bytes, "activation_bytes": self.activation_bytes,
            "total_bytes": self.total_bytes, "unused_params": self.unused_params,
        }


@dataclass(frozen=True, slots=True)
class Report:
    path: str
    input_text: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: tuple[LayerReport, ...]
    totals: Totals
    warnings: tuple[Diagnostic, ...] = ()
    batch: int = 1
    dtype: str = "float32"
    scopes: tuple[ScopeReport, ...] = ()

    def to_dict(self) -> dict:
        return {
            "path": self.path, "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "batch": self.batch, "dtype": self.dtype,
            "layers": [layer.to_dict() for layer in self.layers],
            "scopes": [scope.to_dict() for scope in self.scopes],
            "totals": self.totals.to_dict(),
            "warnings": [{"line": w.line, "column": w.column, "message": w.message} for w in self.warnings],
        }

    def to_json(self) -> str:
        """The JSON form: top-level keys one per line, each layer and warning on a line of its own."""
        import json

        parts = []
        for key, value in self.to_dict().items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                items = ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in value)
                parts.append(f'  "{key}": [\n{items}\n  ]')
            else:
                parts.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}')
        return "{\n" + ",\n".join(parts) + "\n}"


def _number(value):
    """JSON has no fractions: whole numbers stay ints, others become floats; infinity (a receptive field beyond
    10^18 pixels) is null."""
    if value == math.inf:
        return None
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return value
