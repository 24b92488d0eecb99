"""The `forward` of a class: one call per child, branches into variables, the joins written out."""

from __future__ import annotations

from ... import ops
from .classes import ClassDef
from .columns import Col
from .formatting import INDENT, nest
from .layers import flattens_first, is_inline
from .names import attribute_safe, numbered
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

    def fresh(self, base: str) -> str:
        name = numbered(base, lambda name: name in self.names or not attribute_safe(name))
        self.names.add(name)
        return name

    def ref(self, col: Col) -> str:
        if self.attr:
            return f"self.{self.ctx.attributes[id(col)]}"
        return f"self[{self.positions[id(col.rep)]}]"

    def columns(self, cols: list, var: str, lines: list, target: str) -> str:
        """Run the columns on `var`, leaving the result in `target`."""
        for col in cols:
            if col.optional:
                if var != target:
                    lines.append(f"{target} = {var}")
                    var = target
                body: list = []
                self.column(col, target, body, target)
                lines.append(f"if {self.ctx.flags[id(col)]}:")
                lines.extend(nest(body))
            else:
                var = self.column(col, var, lines, target)
        if var != target:
            lines.append(f"{target} = {var}")
        return target

    def column(self, col: Col, var: str, lines: list, target: str) -> str:
        rep = col.rep
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
            lines.append(f"for block in {self.ref(col)}:")
            lines.append(f"{INDENT}{target} = block({target})")
            self.names.add("block")
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
            self.columns(branch, var, lines, out)
            ends.append(out)
        expr = join.around.format(join.between.join(ends))
        lines.append((f"{target} = {expr}", line_comment(col.rep, self.ctx.home, self.main_path)))
        return target

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


def forward_body(cdef: ClassDef, ctx: Context, main_path: str) -> list:
    """The lines of `forward(self, x)`."""
    lines: list = []
    result = Forward(ctx, cdef, main_path).columns(cdef.cols, "x", lines, "x")
    lines.append(f"return {result}")
    return lines
