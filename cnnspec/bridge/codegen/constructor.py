"""The body of a class's `__init__`: one statement per child (`self.conv1 = nn.Conv2d(...)`), or the
elements of an nn.Sequential; the parts that only some calls have, under their condition."""

from __future__ import annotations

import ast
import copy

from ... import ops
from .columns import Col, walk_columns
from .expressions import names, parse_code, substitute
from .formatting import INDENT, Sequential, call_block, expression_lines, nest
from .layers import is_inline
from .names import attribute_safe, numbered
from .spec_text import line_comment
from .tree import positional


class Constructor:
    """Writes `__init__` bodies; comments give line numbers in the file of the class's first call."""

    def __init__(self, main_path: str):
        self.main_path = main_path

    def comment(self, col: Col, ctx) -> str:
        return line_comment(col.rep, ctx.home, self.main_path)

    # -------------------------------------------------------------- attributes (nn.Module classes)

    def attribute_names(self, cols) -> dict:
        """The attribute of each column: its label, or a name made from its kind for a parameter-free layer."""
        attributes: dict[int, str] = {}
        columns = [c for c in walk_columns(cols) if c.kind in ("layer", "scope")]
        taken = {c.rep.name for c in columns if attribute_safe(c.rep.name)}
        for col in columns:
            if attribute_safe(col.rep.name):
                attributes[id(col)] = col.rep.name
        for col in columns:
            if id(col) in attributes or is_inline(col):
                continue
            if col.kind == "layer":
                op = ops.get(col.rep.node.op)
                base = op.source.attribute or op.name
            else:
                base = "block"
            candidate = numbered(base, lambda name: name in taken or not attribute_safe(name))
            taken.add(candidate)
            attributes[id(col)] = candidate
        return attributes

    def init_columns(self, cols: list, ctx, out: list) -> None:
        """`self.NAME = MODULE` for every child, in order; optional parts under their condition."""
        for col in cols:
            if col.optional:
                self.optional(col, ctx, out, lambda body, c=col: self.init_column(c, ctx, body), attr=True)
            else:
                ctx.last_optional = None
                self.init_column(col, ctx, out)
            ctx.went_on(col)

    def init_column(self, col: Col, ctx, out: list) -> None:
        if col.kind == "ref":
            return
        if col.kind == "repeat":
            for one_pass in col.passes:
                self.init_columns(one_pass, ctx, out)
        elif col.kind == "merge":
            start, ends = ctx.cur, []
            for branch in col.branches:
                ctx.cur = start
                self.init_columns(branch, ctx, out)
                ends.append(ctx.cur)
            ctx.cur = ctx.after_merge(col.rep.node.op, ends)
        elif is_inline(col):
            ctx.inline_args[id(col)] = ctx.layer_args(col.items)
        else:
            pre: list = []
            target = f"self.{ctx.attributes[id(col)]}"
            expr = self.module_expr(col, ctx, pre, target)
            comment = self.comment(col, ctx)
            if pre:  # the statements that build it come first, under its comment
                out.append(("", comment))
                out.extend(pre)
                comment = None
            if expr != target:
                out.extend(expression_lines(f"{target} = ", expr, "", comment))

    def optional(self, col: Col, ctx, out: list, emit, attr: bool) -> None:
        """`if CONDITION:` and the part that only some calls have; in forward, the same test."""
        presence = [item is not None for item in col.items]
        condition = ctx.condition(col, presence)
        before, active = ctx.begin_optional(presence)
        body: list = []
        emit(body)
        ctx.end_optional(before, active, presence, condition)
        if attr:
            single = self.single_attribute(col, ctx)
            if single is not None:
                ctx.flags[id(col)] = f"self.{single} is not None"
                out.append(f"if {ast.unparse(condition)}:")
                out.extend(nest(body))
                out.append("else:")
                out.append(f"{INDENT}self.{single} = None")
                return
            ctx.flags[id(col)] = self.flag(condition, ctx, out)
        out.append(f"if {ast.unparse(condition)}:")
        out.extend(nest(body))

    def single_attribute(self, col: Col, ctx) -> str | None:
        """The attribute an optional part consists of, when it is one module (`self.downsample`)."""
        inner = [c for c in walk_columns([col]) if c.kind in ("layer", "scope", "merge")]
        if len(inner) == 1 and inner[0].kind in ("layer", "scope") and id(inner[0]) in ctx.attributes:
            name = ctx.attributes[id(inner[0])]
            if list(ctx.attributes.values()).count(name) == 1:
                return name
        return None

    def flag(self, condition, ctx, out: list) -> str:
        """The test forward makes for an optional part: the condition itself, on the values it reads, kept
        as attributes (`self.res = res`, then `if not self.res:`); a stored flag if they cannot be."""
        mapping = {}
        for name in sorted(names(condition)):
            attribute = ctx.flag_names.get(name)
            if attribute is None:
                if not attribute_safe(name) or name in ctx.attributes.values():
                    mapping = None
                    break
                ctx.flag_names[name] = name
                out.append(f"self.{name} = {name}")
                attribute = name
            mapping[name] = ast.Attribute(ast.Name("self", ast.Load()), attribute, ast.Load())
        if mapping is not None:
            return ast.unparse(substitute(condition, mapping))
        code = ast.unparse(condition)
        if code not in ctx.flag_names:
            attribute = numbered("option", lambda name: name in ctx.attributes.values()
                                 or name in ctx.flag_names.values())
            ctx.flag_names[code] = attribute
            out.append(f"self.{attribute} = {code}")
        return f"self.{ctx.flag_names[code]}"

    # -------------------------------------------------------------- nn.Sequential elements

    def elements(self, cols: list, ctx, pre: list, loops: bool = True) -> list:
        """The children of a chain as entries ("module", name, expression, comment) or, for a part that
        only some calls have, ("optional", condition, entries)."""
        entries: list = []
        for col in cols:
            if col.optional:
                presence = [item is not None for item in col.items]
                condition = ctx.condition(col, presence)
                before, active = ctx.begin_optional(presence)
                inner = self.element(col, ctx, pre, loops)
                ctx.end_optional(before, active, presence, condition)
                entries.append(("optional", ast.unparse(condition), inner, None))
            else:
                ctx.last_optional = None
                entries.extend(self.element(col, ctx, pre, loops))
            ctx.went_on(col)
        return entries

    def element(self, col: Col, ctx, pre: list, loops: bool) -> list:
        """The entries of one column (`loops`: a repeat may become a comprehension, in numbered children)."""
        if col.kind == "ref":
            return []
        if col.kind == "repeat":
            entries = []
            for one_pass in col.passes:
                entries.extend(self.elements(one_pass, ctx, pre, loops))
            looped = self.comprehension(col, entries, ctx) if loops else None
            return [looped] if looped is not None else entries
        if col.kind == "merge":
            entries, start, ends = [], ctx.cur, []
            for branch in col.branches:
                ctx.cur = start
                entries.extend(self.elements(branch, ctx, pre, loops))
                ends.append(ctx.cur)
            ctx.cur = ctx.after_merge(col.rep.node.op, ends)
            comment = self.comment(col, ctx) + " (in forward)"
            return entries + [("module", col.rep.name, "nn.Identity()", comment)]
        return [("module", col.rep.name, self.module_expr(col, ctx, pre), self.comment(col, ctx))]

    def comprehension(self, col: Col, entries: list, ctx):
        """`*[DenseLayer(64 + 32 * i) for i in range(6)]` for a repeat of one block whose values are the same
        or grow by the same step from pass to pass; None when the passes differ otherwise."""
        if len(col.passes) < 3 or len(entries) != len(col.passes) or any(e[0] != "module" for e in entries):
            return None
        if not all(len(p) == 1 and p[0].kind == "scope" and p[0].rep.scope.cls is not None for p in col.passes):
            return None
        trees = [parse_code(e[2]) for e in entries]
        if any(t is None for t in trees):
            return None
        shapes = {ast.dump(_blank_ints(t)) for t in trees}
        if len(shapes) != 1:
            return None
        columns = list(zip(*[[n for n in ast.walk(t) if _is_int_constant(n)] for t in trees]))
        variable = next(name for name in ("i", "j", "k", "n", "index") if name not in ctx.params)
        steps = []
        for numbers in columns:
            first, step = numbers[0].value, numbers[1].value - numbers[0].value
            if any(n.value != first + step * k for k, n in enumerate(numbers)):
                return None
            steps.append(step)
        template = trees[0]
        for node, step in zip([n for n in ast.walk(template) if _is_int_constant(n)], steps):
            if step:
                node.value = ast.BinOp(ast.Constant(node.value), ast.Add(), ast.BinOp(
                    ast.Constant(step), ast.Mult(), ast.Name(variable, ast.Load())))
        code = ast.unparse(_Inline().visit(template))
        if not any(steps):
            variable = "_"
        return ("module", entries[0][1], f"*[{code} for {variable} in range({len(col.passes)})]",
                self.comment(col, ctx))

    def build_sequential(self, entries: list, ctx, opening: str, variable: str):
        """Lines that build an nn.Sequential of `entries`: `opening(a, b, c)` or, with optional parts, a
        list built under their conditions and then `opening(*variable)`."""
        if not any(e[0] == "optional" for e in entries):
            return call_block(opening + "(", [(e[1], e[2], e[3]) for e in entries], ")")
        lines: list = []
        pending: list = []
        started = False

        def flush():
            nonlocal started
            if pending or not started:
                if not started:
                    lines.extend(call_block(f"{variable} = [", pending, "]"))
                elif len(pending) == 1:
                    lines.extend(expression_lines(f"{variable}.append(", pending[0][1], ")", pending[0][2]))
                else:
                    lines.extend(call_block(f"{variable} += [", pending, "]"))
                started = True
            pending.clear()

        for entry in entries:
            if entry[0] == "optional":
                flush()
                body: list = []
                inner = [(e[1], e[2], e[3]) for e in entry[2]]
                if len(inner) == 1:
                    body.extend(expression_lines(f"{variable}.append(", inner[0][1], ")", inner[0][2]))
                else:
                    body.extend(call_block(f"{variable} += [", inner, "]"))
                lines.append(f"if {entry[1]}:")
                lines.extend(nest(body))
            else:
                pending.append((entry[1], entry[2], entry[3]))
        flush()
        if opening is not None:
            lines.append(f"{opening}(*{variable})")
        return lines

    # -------------------------------------------------------------- module expressions

    def module_expr(self, col: Col, ctx, pre: list, target: str | None = None):
        """The expression that builds one child (a layer, a class instance or an inline nn.Sequential); the
        statements it needs first go to `pre` (an nn.Sequential of named children is built in `target`)."""
        rep = col.rep
        if col.kind == "layer":
            return ctx.layer_code(col.items)
        scope = rep.scope
        if scope.cls is not None:
            return ctx.class_call(scope.cls, [i.scope if i is not None else None for i in col.items])
        inner_ctx = ctx.enter([i.scope if i is not None else None for i in col.items])
        entries = self.elements(col.inner, inner_ctx, pre, loops=positional(scope))
        ctx.leave(inner_ctx)
        if positional(scope):
            if not any(e[0] == "optional" for e in entries):
                return Sequential([(e[1], e[2], e[3]) for e in entries])
            variable = ctx.local_name(rep.name if attribute_safe(rep.name) else "layers")
            pre.extend(self.build_sequential(entries, ctx, None, variable))
            return f"nn.Sequential(*{variable})"
        variable = target or ctx.local_name(rep.name if attribute_safe(rep.name) else "layers")
        pre.append(f"{variable} = nn.Sequential()")
        for _kind, name, expr, comment in entries:
            pre.extend(expression_lines(f'{variable}.add_module("{name}", ', expr, ")", comment))
        return variable


def _is_int_constant(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _blank_ints(tree):
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if _is_int_constant(node):
            node.value = 0
    return tree


class _Inline(ast.NodeTransformer):
    """Unwraps the expressions `comprehension` put inside Constant nodes."""

    def visit_Constant(self, node):
        return node.value if isinstance(node.value, ast.AST) else node
