"""The `forward` of a class: one call per child, branches into variables, the joins written out; a labelled
output that `@label` reads again is kept in a variable named after its label, the layers off the path to the
output (an auxiliary head left behind) are not called."""

from __future__ import annotations

import re

from ... import ops
from .classes import ClassDef
from .columns import Col, column_label
from .formatting import INDENT, LINE_LIMIT, nest
from .layers import flattens_first, is_inline
from .names import attribute_safe, identifier, numbered
from .spec_text import line_comment
from .tree import LayerItem, ScopeItem
from .values import Context


class Forward:
    """The statements of `forward`: one call per child, branches into variables, joins written out."""

    def __init__(self, ctx: Context, cdef: ClassDef, main_path: str):
        self.main_path = main_path
        self.ctx = ctx
        self.names = {"x", "self"}
        self.positions = {id(item): i for i, (_, item) in enumerate(cdef.instances[0].children())}
        self.attr = cdef.mode == "attr"
        read, labelled = _labels(cdef.cols)
        # The variable of each label that `@label` reads (the spec's name, as a Python name apart from the
        # others), and the value each label has at this point of forward: `@input` is forward's `x` (until
        # an item labelled `input`, if there is one).
        self.kept = {label: self.fresh(identifier(label)) for label in sorted(read & labelled)}
        self.values = {"input": "x"}
        self.input_read = "input" in read
        self.needed: set[int] = set()
        _mark_needed(cdef.cols, True, set(), self.needed)
        self.parts: str | None = None

    def result(self) -> str:
        """The variable the chain's values go to: `x`, unless forward reads its input again later (`@input`)."""
        return self.fresh("out") if self.input_read else "x"

    def fresh(self, base: str) -> str:
        name = numbered(base, lambda name: name in self.names or not attribute_safe(name))
        self.names.add(name)
        return name

    def ref(self, col: Col) -> str:
        if self.attr:
            return f"self.{self.ctx.attributes[id(col)]}"
        if attribute_safe(col.rep.name):  # a labelled child of an nn.Sequential is an attribute too
            return f"self.{col.rep.name}"
        return f"self[{self.positions[id(col.rep)]}]"

    def columns(self, cols: list, var: str, lines: list, target: str, settle: bool = True) -> str:
        """Run the columns on `var`, leaving the result in `target` (`settle` False: in the variable that
        holds it, which may be a labelled output's)."""
        for col in cols:
            kept = self.kept.get(column_label(col) or "")
            if col.optional:
                if var != target:
                    lines.append(f"{target} = {var}")
                    var = target
                body: list = []
                if kept is not None:  # kept in its label's variable, where the calls have it
                    self.column(col, target, body, kept)
                    body.append(f"{target} = {kept}")
                else:
                    self.column(col, target, body, target)
                lines.append(f"if {self.ctx.flags[id(col)]}:")
                lines.extend(nest(body))
            else:
                var = self.column(col, var, lines, kept or target)
            if kept is not None:
                self.values[column_label(col)] = kept
        if settle and var != target:
            lines.append(f"{target} = {var}")
            var = target
        return var

    def column(self, col: Col, var: str, lines: list, target: str) -> str:
        rep = col.rep
        if col.kind == "ref":  # the chain goes on from a labelled output
            return self.values[rep.label]
        if id(col) not in self.needed:  # built, so that its parameters are the network's, but not run
            lines.append(("", line_comment(rep, self.ctx.home, self.main_path)
                          + " (not run: off the path to the output)"))
            return var  # (a label read later would have made it needed)
        if col.kind == "repeat":
            for one_pass in col.passes:
                var = self.columns(one_pass, var, lines, target)
            return var
        if col.kind == "merge":
            return self.merge(col, var, lines, target)
        if is_inline(col) and self.attr:
            expression = ops.get(rep.node.op).source.inline.format(*self.ctx.inline_args[id(col)], x=var)
            lines.append((f"{target} = {expression}", line_comment(rep, self.ctx.home, self.main_path)))
            return target
        if col.kind == "layer" and flattens_first(rep.node.op, rep.report.input_shape) and self.attr:
            lines.append(f"{target} = torch.flatten({var}, 1)")
            var = target
        if col.kind == "scope" and var == target and self.loop(col):
            block = "block" if "block" not in self.kept.values() else self.fresh("block")
            lines.append(f"for {block} in {self.ref(col)}:")
            lines.append(f"{INDENT}{target} = {block}({target})")
            self.names.add(block)
            return target
        lines.append(f"{target} = {self.ref(col)}({var})")
        return target

    @staticmethod
    def loop(col: Col) -> bool:
        """An nn.Sequential of several blocks (a stage of ResNet) runs as `for block in self.layer1`."""
        scope = col.rep.scope
        children = [item for _, item in scope.children()]
        return scope.cls is None and len(children) > 1 and all(
            isinstance(c, ScopeItem) and c.scope.cls is not None and c.scope.cls is children[0].scope.cls
            for c in children)

    def merge(self, col: Col, var: str, lines: list, target: str) -> str:
        join = ops.get(col.rep.node.op).join
        ends = []
        for branch, name in zip(col.branches, self.branch_names(col)):
            if not branch:
                ends.append(var)
                continue
            out = self.fresh(name)
            body: list = []
            end = self.columns(branch, var, body, out, settle=False)  # `@x1` alone: x1 itself
            if end != out and not any(re.search(rf"\b{out}\b", line if isinstance(line, str) else line[0])
                                      for line in body):
                self.names.discard(out)  # a name the branch never wrote, free for the next
            lines.extend(body)
            ends.append(end)
        expr = join.around.format(join.between.join(ends))
        if len(f"{INDENT * 2}{target} = {expr}") > LINE_LIMIT and "[{}]" in join.around:
            expr = join.around.replace("[{}]", self.listed(ends, lines))
        lines.append((f"{target} = {expr}", line_comment(col.rep, self.ctx.home, self.main_path)))
        return target

    def listed(self, ends: list[str], lines: list) -> str:
        """A list too long for one line (a DenseNet layer's CONCAT of every earlier output), built in lines
        that each fit, as black would write it one name a line."""
        if self.parts is None:  # one name for all: each list is read at once, by its join
            self.parts = self.fresh("parts")
        name = self.parts
        opening, room = f"{name} = [", LINE_LIMIT - len(INDENT * 2)
        row: list[str] = []
        for end in ends:
            if row and len(opening + ", ".join([*row, end]) + "]") > room:
                lines.append(opening + ", ".join(row) + "]")
                opening, row = f"{name} += [", []
            row.append(end)
        lines.append(opening + ", ".join(row) + "]")
        return name

    def branch_names(self, col: Col) -> list[str]:
        join, branches = ops.get(col.rep.node.op).join, col.branches
        if len(branches) == 2 and any(not b for b in branches):
            return [join.beside_empty] * 2
        if join.pair is not None and len(branches) == 2:
            return list(join.pair)
        names = []
        for i, branch in enumerate(branches):
            labels = [self.label(c) for c in branch]
            label = next((label for label in labels if label), None)
            names.append(label if label and label not in names else f"branch{i + 1}")
        return names

    @staticmethod
    def label(col: Col) -> str | None:
        rep = col.rep
        if isinstance(rep, LayerItem):
            return rep.node.label
        if isinstance(rep, ScopeItem):
            return rep.scope.node.label
        return None


def _mark_needed(cols, live: bool, read: set[str], needed: set[int]) -> bool:
    """Whether the value the columns start from is needed, adding to `needed` the columns that are (`live`:
    whether the value they end with is; `read`: the labels that `@label` reads after them, added to as the
    columns are walked back). Forward runs only those, as `lower`'s Scope.finish does: an auxiliary head left
    behind by `@trunk` is built, not run."""
    for col in reversed(cols):
        if col.optional:  # where a call lacks the part, the value goes past it
            live = _mark_column(col, live, read, needed) or live
        else:
            live = _mark_column(col, live, read, needed)
    return live


def _mark_column(col: Col, live: bool, read: set[str], needed: set[int]) -> bool:
    if col.kind == "ref":
        read.add(col.rep.label)
        return False  # the chain goes on from the label, not from the value before it
    label = column_label(col)
    if not live and not (label and label in read):
        return False
    needed.add(id(col))
    if col.kind == "repeat":
        for one_pass in reversed(col.passes):
            live = _mark_needed(one_pass, live, read, needed)
        return live
    if col.kind == "merge":  # every branch's end is read by the join; each starts from the merge's input
        starts = [_mark_needed(branch, True, read, needed) for branch in reversed(col.branches)]
        return any(starts) or not all(col.branches)
    return True


def _labels(cols, read: set[str] | None = None, labelled: set[str] | None = None):
    """The labels that `@label` reads among the columns, and those their items have (inside branches and
    repeats: the same scope)."""
    read, labelled = (set(), set()) if read is None else (read, labelled)
    for col in cols:
        if col.kind == "ref":
            read.add(col.rep.label)
        elif column_label(col):
            labelled.add(column_label(col))
        for inner in col.branches + col.passes:
            _labels(inner, read, labelled)
    return read, labelled


def forward_body(cdef: ClassDef, ctx: Context, main_path: str) -> list:
    """The lines of `forward(self, x)`."""
    lines: list = []
    forward = Forward(ctx, cdef, main_path)
    result = forward.columns(cdef.cols, "x", lines, forward.result(), settle=False)
    lines.append(f"return {result}")
    return lines
