"""The classes of cnnspec's own that a TorchSource may name (`StochasticDepth`), written into the generated
file from the text of bridge/modules.py, which defines them for `lower`. modules.py imports torch, and
generating is writing text, so it is read, never imported."""

from __future__ import annotations

import ast
import textwrap
from functools import cache
from pathlib import Path

from ... import ops
from .formatting import LINE_LIMIT

MODULES = Path(__file__).resolve().parent.parent / "modules.py"


@cache
def helper_names() -> frozenset[str]:
    """The classes torch.nn lacks that generated source may build: every TorchSource class without `nn.`."""
    names = set()
    for op in ops.OPS:
        if op.source is not None:
            names.update(c for c in (op.source.cls, op.source.flattening_cls) if c and not c.startswith("nn."))
    return frozenset(names)


@cache
def _class_sources() -> dict[str, str]:
    text = MODULES.read_text(encoding="utf-8")
    return {node.name: _docstrings_fitted(ast.get_source_segment(text, node))
            for node in ast.parse(text).body if isinstance(node, ast.ClassDef)}


def _docstrings_fitted(source: str) -> str:
    """A class's source with each docstring too long for the generated file's lines wrapped anew (modules.py
    has longer lines; black shortens the code, but never a docstring)."""
    lines = source.split("\n")
    docstrings = [node.body[0] for node in ast.walk(ast.parse(source))
                  if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
                  and isinstance(node.body[0].value.value, str)]
    for node in sorted(docstrings, key=lambda n: n.lineno, reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        pad = " " * (len(lines[first]) - len(lines[first].lstrip()))  # a class's own first line is not indented
        if all(len(pad + line.strip()) <= LINE_LIMIT for line in lines[first:last + 1]):
            continue
        paragraphs = [" ".join(p.split()) for p in node.value.value.split("\n\n") if p.strip()]
        wrapped: list[str] = []
        for index, paragraph in enumerate(paragraphs):
            if index:
                wrapped.append("")
            opening = '"""' if index == 0 else ""
            wrapped.extend(textwrap.wrap(opening + paragraph, LINE_LIMIT - len(pad), break_long_words=False,
                                         break_on_hyphens=False))
        if len(wrapped[-1]) + 3 <= LINE_LIMIT - len(pad):
            wrapped[-1] += '"""'
        else:
            wrapped.append('"""')
        lines[first:last + 1] = [pad + line if line else "" for line in wrapped]
    return "\n".join(lines)


def helper_sources(names) -> list[str]:
    """The source of the named classes as modules.py writes them, in its order."""
    sources = _class_sources()
    missing = set(names) - set(sources)
    if missing:
        raise AssertionError(f"a TorchSource names {', '.join(sorted(missing))}, which bridge/modules.py lacks")
    return [source for name, source in sources.items() if name in names]
