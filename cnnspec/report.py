"""The Report: what analysis found, as plain data with a stable JSON form. Renderers read only this."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction

from .errors import Diagnostic


@dataclass(frozen=True, slots=True)
class RepeatStep:
    """One repeat enclosing a layer: which repeat (its number in the spec), which pass, out of how many."""

    id: int
    text: str
    iteration: int  # 1-based
    count: int


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
    repeats: tuple[RepeatStep, ...] = ()

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def to_dict(self) -> dict:
        return {
            "index": self.index, "op": self.op, "text": self.text, "line": self.line, "column": self.column,
            "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "params": self.params, "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
            "activations": self.activations,
            "receptive_field": [_number(r) for r in self.receptive_field], "jump": [_number(j) for j in self.jump],
            "repeats": [{"text": r.text, "iteration": r.iteration, "count": r.count} for r in self.repeats],
        }


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
            "total_bytes": self.total_bytes,
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
    variables: tuple[tuple[str, object], ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "path": self.path, "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "batch": self.batch, "dtype": self.dtype,
            "layers": [layer.to_dict() for layer in self.layers],
            "totals": self.totals.to_dict(),
            "warnings": [{"line": w.line, "column": w.column, "message": w.message} for w in self.warnings],
        }

    def to_json(self) -> str:
        """The JSON form: top-level keys one per line, each layer and warning on a line of its own."""
        parts = []
        for key, value in self.to_dict().items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                items = ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in value)
                parts.append(f'  "{key}": [\n{items}\n  ]')
            else:
                parts.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}')
        return "{\n" + ",\n".join(parts) + "\n}"

    def __rich__(self):
        from .render import table

        return table(self)

    def _repr_markdown_(self) -> str:
        from .render import markdown

        return markdown(self)


def _number(value):
    """JSON has no fractions: whole numbers stay ints, others become floats."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return value
