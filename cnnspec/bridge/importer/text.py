"""The chain as `.cnn` text: consecutive identical stretches folded into `[…] * N` (and stretches whose
rates rise by one step from block to block into `[…] * N by i`), arguments every layer of a kind shares written
once as `default`, and lines wrapped where they can be."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import ops
from ...lang.words import shape_text
from .chain import Labelled, Layer, Merge, Ref

WIDTH = 100  # the emitted text is wrapped to this many columns where it can be


# A number with a point as the importer writes it (Python's repr of a float).
_FLOAT = re.compile(r"(?<![\w.])-?(?:\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+)")
INDEX_NAMES = ("i", "j", "k", "n", "m")
DIVISORS = 1024  # the largest `T` tried in `a * (i + o) / T`
DIGITS = 4  # the most significant digits of `a`
INDEXED_AT_LEAST = 3  # copies in a repeat with an index: any two numbers rise by one step, so two say nothing


@dataclass(frozen=True, slots=True)
class Repeat:
    body: tuple
    count: int
    index: str | None = None  # `* N by i`: the body's numbers are expressions of the copy's index


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
        by = f" by {item.index}" if item.index else ""
        if len(item.body) == 1 and isinstance(item.body[0], Layer):
            return f"{item.body[0].text} * {item.count}{by}"
        return f"[{_inline_chain(item.body)}] * {item.count}{by}"
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
    templates = [_template(it) for it in items]
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
            continue
        indexed = _indexed_run(items, templates, i)
        if indexed is not None:
            out.append(indexed)
            i += indexed.count
        else:
            out.append(items[i])
            i += 1
    return tuple(out)


def _indexed_run(items, templates, i: int) -> Repeat | None:
    """`[…] * N by i` for the items from `i` on (at least INDEXED_AT_LEAST) written alike but for numbers with a
    point that rise by one step from item to item (torchvision's stochastic-depth rate, `0.2 * block / blocks`),
    each written as an expression of the index that gives every item its own number exactly; None when the
    next items differ otherwise, or when no short expression gives every number."""
    templates = templates[i:]
    first_shape, _ = templates[0]
    count = 1
    while count < len(templates) and templates[count][0] == first_shape:
        count += 1
    if count < INDEXED_AT_LEAST or "\x00" not in first_shape:
        return None
    columns = list(zip(*[numbers for _, numbers in templates[:count]]))
    index = next(name for name in INDEX_NAMES if name not in _index_names(items[i]))
    while count >= INDEXED_AT_LEAST:
        written = [_rising(column[:count], index) for column in columns]
        if all(w is not None for w in written) and any(w != repr(column[0]) for w, column in zip(written, columns)):
            return Repeat((_fill(items[i], written),), count, index)
        count -= 1  # a run whose later items break the step may still fold in its first ones
    return None


def _normal_text(text: str) -> str:
    """A layer's text with a rate left out for its default written (`STOCHASTICDEPTH` as `STOCHASTICDEPTH(0.0)`),
    so that the first block of a rising rate is written like the others."""
    name, paren, rest = text.partition("(")
    found = ops.lookup(name)
    if found is None or not found[0].positional or found[0].variadic:
        return text
    param = found[0].param(found[0].positional[0])
    if param.kind != "float" or not isinstance(param.default, float):
        return text
    if paren and not re.match(r"\s*[A-Za-z_]\w*\s*=", rest):
        return text  # the rate is written
    return f"{name}({param.default!r}" + (f", {rest}" if paren else ")")


def _template(item) -> tuple[str, tuple[float, ...]]:
    """The item's text with every number with a point as \\x00, and those numbers in order."""
    text = _inline(_map_layers(item, lambda layer: Layer(_normal_text(layer.text))))
    return _FLOAT.sub("\x00", text), tuple(float(m) for m in _FLOAT.findall(text))


def _rising(numbers: tuple[float, ...], index: str) -> str | None:
    """The number itself when all are the same; else the shortest `a * i`, `a * (i + o)` or `a * (i + o) / T`
    whose value for i = 0, 1, … is each of them exactly as cnnspec computes it; None if there is none."""
    if all(x == numbers[0] for x in numbers):
        return repr(numbers[0])
    step = numbers[1] - numbers[0]
    if step <= 0:
        return None
    start = numbers[0] / step
    offset = round(start)
    if offset < 0 or abs(start - offset) > 1e-6:
        return None
    term = index if offset == 0 else f"({index} + {offset})"
    for digits in range(1, DIGITS + 1):
        # Of the factors with this many digits, one that reads as a rate, from 0.1 to 1 (`0.1 * (i + 3) / 17`,
        # as torchvision writes it, rather than `0.005 * (i + 3)` or `1.0 * (i + 3) / 170`), then the smallest
        # divisor.
        found = [(not 0.1 <= a < 1, divisor, a) for divisor in range(1, DIVISORS + 1)
                 for a in (float(f"{step * divisor:.{digits}g}"),)
                 if all(_value(a, k + offset, divisor) == x for k, x in enumerate(numbers))]
        if found:
            _, divisor, a = min(found)
            return f"{a!r} * {term}" + (f" / {divisor}" if divisor != 1 else "")
    return None


def _value(a: float, position: int, divisor: int) -> float:
    """`a * position / divisor` (no division by 1) as cnnspec evaluates it, left to right."""
    return a * position / divisor if divisor != 1 else a * position


def _fill(item, written: list[str]):
    """The item with its numbers with a point replaced, in order, by `written`."""
    numbers = iter(written)

    def one(layer: Layer) -> Layer:
        return Layer(_FLOAT.sub(lambda _: next(numbers), _normal_text(layer.text)))

    return _map_layers(item, one)


def _map_layers(item, change):
    """The item with `change` applied to each of its layers, in order."""
    if isinstance(item, Layer):
        return change(item)
    if isinstance(item, Labelled):
        return Labelled(item.label, tuple(_map_layers(it, change) for it in item.items))
    if isinstance(item, Merge):
        return Merge(item.name, tuple(tuple(_map_layers(it, change) for it in b) for b in item.branches))
    if isinstance(item, Repeat):
        return Repeat(tuple(_map_layers(it, change) for it in item.body), item.count, item.index)
    return item


def _index_names(item) -> set[str]:
    """The indices of the repeats inside an item, which a repeat around them must not take."""
    if isinstance(item, Repeat):
        inner = {item.index} if item.index else set()
        return inner.union(*(_index_names(it) for it in item.body))
    if isinstance(item, Labelled):
        return set().union(*(_index_names(it) for it in item.items))
    if isinstance(item, Merge):
        return set().union(*(_index_names(it) for b in item.branches for it in b))
    return set()


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
        by = f" by {item.index}" if item.index else ""
        return ["["] + ["  " + line for line in _render_chain(item.body, width - 2)] + [f"] * {item.count}{by}"]
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
