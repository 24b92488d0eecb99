"""The classes of cnnspec's own that a TorchSource may name (`StochasticDepth`), written into the generated
file from the text of bridge/modules.py, which defines them for `lower`. modules.py imports torch, and
generating is writing text, so it is read, never imported."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from ... import ops

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
    return {node.name: ast.get_source_segment(text, node)
            for node in ast.parse(text).body if isinstance(node, ast.ClassDef)}


def helper_sources(names) -> list[str]:
    """The source of the named classes as modules.py writes them, in its order."""
    sources = _class_sources()
    missing = set(names) - set(sources)
    if missing:
        raise AssertionError(f"a TorchSource names {', '.join(sorted(missing))}, which bridge/modules.py lacks")
    return [source for name, source in sources.items() if name in names]
