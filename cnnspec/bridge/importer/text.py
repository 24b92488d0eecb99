"""The chain as `.cnn` text: consecutive identical stretches folded into `[…] * N`, arguments every layer of
a kind shares written once as `default`, and lines wrapped where they can be."""

from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...lang.words import shape_text
from .chain import Labelled, Layer, Merge, Ref

WIDTH = 100  # the emitted text is wrapped to this many columns where it can be


@dataclass(frozen=True, slots=True)
class Repeat:
    body: tuple
    count: int


def spec_text(label: str, shape: tuple[int, ...], notes: list[str], items: tuple) -> str:
    """The whole `.cnn` text: a header that says where it came from, the writers' notes, then the chain."""
    defaults, items = _shared_defaults(items)
    header = [f"# {label}, imported from PyTorch by cnnspec (torch.fx trace, input {shape_text(shape)})"]
    header += [f"# note: {note}" for note in dict.fromkeys(notes)]
    lines = _render_chain([Layer(f"INPUT({', '.join(map(str, shape))})"), *fold(items)], WIDTH)
    return "\n".join(header + defaults + lines) + "\n"


def _inline(item) -> str:
    if isinstance(item, Layer):
        return item.text
    if isinstance(item, Ref):
        return f"@{item.label}"
    if isinstance(item, Labelled):
        single = len(item.items) == 1 and isinstance(item.items[0], (Layer, Merge)) and not item.group
        return f"{item.label}: " + (_inline(item.items[0]) if single else f"[{_inline_chain(item.items)}]")
    if isinstance(item, Repeat):
        if len(item.body) == 1 and isinstance(item.body[0], Layer):
            return f"{item.body[0].text} * {item.count}"
        return f"[{_inline_chain(item.body)}] * {item.count}"
    return f"{item.name} {{ " + " | ".join(_inline_chain(b) or "[]" for b in item.branches) + " }"


def _inline_chain(items) -> str:
    return " -> ".join(_inline(item) for item in items)


def fold(items) -> tuple:
    """Consecutive identical stretches as `[…] * N`: at each position the repetition covering the most
    items (the shortest period among equals), its body folded again; branches are folded inside. A
    repetition that the next position also starts, ending later, is left to it, so that VGG's stages fold
    as `[[CONV -> RELU] * 3 -> MAXPOOL] * 2` rather than as `[MAXPOOL -> [CONV -> RELU] * 3] * 2`."""
    items = [Merge(it.name, tuple(fold(b) for b in it.branches)) if isinstance(it, Merge) else it for it in items]
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
            body = tuple(items[i:i + period])
            out.append(Repeat(fold(body) if period > 1 else body, count))
            i += count * period
        else:
            out.append(items[i])
            i += 1
    return tuple(out)


def _layers(items):
    for item in items:
        if isinstance(item, Layer):
            yield item
        elif not isinstance(item, Ref):
            for branch in (item.branches if isinstance(item, Merge) else
                           (item.items,) if isinstance(item, Labelled) else (item.body,)):
                yield from _layers(branch)


def _retext(items, texts: dict) -> tuple:
    """The chain with every layer whose text is a key of `texts` written as its value."""
    def one(item):
        if isinstance(item, Layer):
            return Layer(texts.get(item.text, item.text))
        if isinstance(item, Labelled):
            return Labelled(item.label, _retext(item.items, texts), item.group)
        if isinstance(item, Merge):
            return Merge(item.name, tuple(_retext(b, texts) for b in item.branches))
        return item

    return tuple(one(item) for item in items)


def _shared_defaults(items) -> tuple[list[str], tuple]:
    """`default BN(eps=0.001, momentum=0.01)` for a kind whose entry asks for it (`import_default`), when its
    layers are several and all written alike with arguments; those layers are then written plainly."""
    by_kind: dict[str, list[str]] = {}
    for layer in _layers(items):
        by_kind.setdefault(layer.text.partition("(")[0], []).append(layer.text)
    plain = {}
    for name, texts in by_kind.items():
        found = ops.lookup(name)
        if found and found[0].import_default and len(texts) >= 2 and len(set(texts)) == 1 and texts[0] != name:
            plain[texts[0]] = name
    return [f"default {text}" for text in plain], _retext(items, plain) if plain else items


def _render_item(item, width: int) -> list[str]:
    text = _inline(item)
    if len(text) <= width or isinstance(item, (Layer, Ref)):
        return [text]
    if isinstance(item, Labelled):
        if len(item.items) == 1 and isinstance(item.items[0], Merge) and not item.group:
            inner = _render_item(item.items[0], width - len(item.label) - 2)
            return [f"{item.label}: {inner[0]}", *inner[1:]]
        return [f"{item.label}: ["] + ["  " + line for line in _render_chain(item.items, width - 2)] + ["]"]
    if isinstance(item, Repeat):
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
