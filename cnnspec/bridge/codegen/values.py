"""The values of a class: its constructor parameters, and each value written in them.

A spec expression gives a value only if, evaluated with the values of every call of the class, it gives
exactly the value `lower` uses; else the value is a number (when the same in every call) or a new
constructor parameter.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ... import ops
from ...lang.ir import Block
from .classes import ClassDef
from .columns import Col, column_label
from .expressions import (FAILED, evaluate, if_else, is_literal_value, literal_ast, names, parse_code, parse_expression,
                          same, substitute, substitute_globals)
from .layers import Channels, Slot, layer_slots, module_class
from .names import attribute_safe, identifier, numbered
from .spec_text import arg_text
from .tree import RepeatItem


@dataclass(eq=False)
class Param:
    name: str
    values: list  # one per instance of the class
    spec: str | None = None  # the block parameter it stands for
    default: object = None
    has_default: bool = False
    used: bool = False
    channels: bool = False  # a number of channels (that a caller may derive from its own layers)
    default_tree: object = None  # a default written as an expression of the other parameters


NO_CALL = object()  # an instance whose block call is unknown (a Network given, not a Program)
INPUT_NAMES = {"inp", "inplanes", "in_planes", "in_channels", "in_ch", "in_c", "cin", "c_in", "ch_in", "input",
               "inputs", "input_channels", "in_features", "n_in", "nin"}


class Context:
    """Writes the values of one class: each value as a spec expression in the class's parameters when that
    expression gives every instance's value, else a number, else a new constructor parameter."""

    def __init__(self, helpers: set[str], cdef: ClassDef, plain: bool, parent: Context | None = None,
                 frames: list | None = None, frame_arguments: list | None = None):
        self.helpers = helpers  # the names of the helper classes the file needs, added to as layers are written
        self.cdef = cdef
        self.plain = plain  # every value a number (the network's own class, which has no parameters)
        self.instances = cdef.instances
        self.cur = None  # the current number of channels, as an AST in the parameters
        self.named: dict = {}  # the channels each label of the scope gave (`input`: its own), for `@label`
        self.home = ""
        if parent is None:
            self.params: dict[str, Param] = {}
            self.spec_names: dict[str, str] = {}  # block parameter → Python name
            self.attributes: dict = {}
            self.inline_args: dict = {}  # the constructor arguments of each layer forward writes inline
            self.flags: dict = {}
            self.flag_names: dict = {}
            self.locals: set = set()
            self.active = [True] * len(self.instances)
            self.in_name = None
            self.last_optional = None
            self.frames = [[s.call if s.call is not None else NO_CALL for s in self.instances]]
            self.frame_arguments = [None]
            self._declare_parameters()
        else:
            for name in ("params", "spec_names", "attributes", "inline_args", "flags", "flag_names", "locals",
                         "active", "in_name", "home", "last_optional"):
                setattr(self, name, getattr(parent, name))
            self.frames = frames
            self.frame_arguments = frame_arguments

    # -------------------------------------------------------------- parameters

    def _declare_parameters(self) -> None:
        if self.plain:
            return
        shapes = [s.input_shape for s in self.instances]
        self.in_name = "in_channels" if len(shapes[0]) > 1 else "in_features"
        calls = [s.call for s in self.instances]
        if calls and all(c is not None for c in calls):
            for spec, default in calls[0].params:
                name = identifier(spec)
                while name in self.params or name == self.in_name:
                    name += "_"
                param = Param(name, [c.values.get(spec) for c in calls], spec=spec)
                tree = parse_expression(default) if default is not None else None
                if tree is not None:
                    value = evaluate(substitute_globals(tree, calls[0], {p for p, _ in calls[0].params}), {})
                    if value is not FAILED and is_literal_value(value):
                        param.default, param.has_default = value, True
                self.params[name] = param
                self.spec_names[spec] = name
            for spec, default in calls[0].params:  # defaults that are expressions of other parameters
                param = self.params[self.spec_names[spec]]
                if default is not None and not param.has_default:
                    tree = self.translate(default)
                    if tree is not None and spec not in names(tree) and self.check(tree, param.values):
                        param.default_tree, param.has_default = tree, True
        channels = [shape[0] for shape in shapes]
        for param in self.params.values():  # a block parameter that is the input channels (`inp`) names them
            if param.spec is not None and param.name.lower() in INPUT_NAMES and param.default_tree is None \
                    and self.check(ast.Name(param.name, ast.Load()), channels):
                self.in_name = param.name
                param.channels = True
                return
        self.params[self.in_name] = Param(self.in_name, channels, channels=True)

    def initial_channels(self):
        return None if self.plain else ast.Name(self.in_name, ast.Load())

    def signature(self) -> list[Param]:
        if self.plain:
            return []
        changed = True
        while changed:  # a parameter used with an expression as default uses what that expression names
            changed = False
            for param in list(self.params.values()):
                if param.used and param.default_tree is not None:
                    for name in names(param.default_tree):
                        if not self.params[name].used:
                            self.params[name].used = changed = True
        used = [p for p in self.params.values() if p.used]
        first = [p for p in used if p.name == self.in_name]
        spec = [p for p in used if p.spec is not None and p.name != self.in_name]
        others = [p for p in used if p.spec is None and p.name != self.in_name]
        # Python wants the parameters with a default last
        return (first + [p for p in spec if not p.has_default] + [p for p in others if not p.has_default]
                + [p for p in spec if p.has_default] + [p for p in others if p.has_default])

    def local_name(self, base: str) -> str:
        name = numbered(base, lambda name: name in self.locals or name in self.params)
        self.locals.add(name)
        return name

    # -------------------------------------------------------------- inline scopes (blocks inside the class)

    def enter(self, scopes: list) -> Context:
        frames, texts = list(self.frames), list(self.frame_arguments)
        first = next(s for s in scopes if s is not None)
        if first.kind == "block":
            frames.append([None if s is None else (s.call if s.call is not None else NO_CALL) for s in scopes])
            one_text = all(s is None or s.node.text == first.node.text for s in scopes)
            texts.append(first.call.arguments if one_text and first.call is not None else None)
        inner = Context(self.helpers, self.cdef, self.plain, parent=self, frames=frames, frame_arguments=texts)
        inner.cur = self.cur
        inner.named["input"] = self.cur
        return inner

    def leave(self, inner: Context) -> None:
        self.cur = inner.cur

    def went_on(self, col: Col) -> None:
        """After a column: the channels `@label` reads (a label's own), or those its label gives later."""
        if col.kind == "ref":
            self.cur = self.named.get(col.rep.label)
        else:
            label = column_label(col)
            if label:
                self.named[label] = self.cur

    # -------------------------------------------------------------- expressions

    def env(self, index: int) -> dict:
        return {p.name: p.values[index] for p in self.params.values()}

    def check(self, tree, values: list) -> bool:
        """Whether `tree` gives values[i] for every instance i (None: the instance has no such value)."""
        if tree is None:
            return False
        for index, value in enumerate(values):
            if value is None or not self.active[index]:
                continue
            got = evaluate(tree, self.env(index))
            if got is FAILED or not same(got, value):
                return False
        return True

    def translate(self, text: str | None, depth: int | None = None):
        """The spec expression `text`, written in the block call `depth` (the innermost by default), as an
        AST in the class's parameters; None when a name in it cannot be written so."""
        tree = parse_expression(text)
        if tree is None:
            return None
        depth = len(self.frames) - 1 if depth is None else depth
        mapping = {}
        for name in names(tree):
            value = self.name_in_frame(name, depth, frozenset())
            if value is None:
                return None
            mapping[name] = value
        return substitute(tree, mapping)

    def name_in_frame(self, name: str, depth: int, seen: frozenset):
        calls = [c for c in self.frames[depth] if c is not None]
        if not calls or any(c is NO_CALL for c in calls) or (name, depth) in seen:
            return None
        seen = seen | {(name, depth)}
        declared = dict(calls[0].params)
        if name in declared:
            if depth == 0:  # a parameter of the class's own block
                python = self.spec_names.get(name)
                return ast.Name(python, ast.Load()) if python is not None else None
            # a parameter of a block written inline in the class: what its call gives, or its default
            given = self.frame_arguments[depth]  # the expressions written in the calls, when they all write the same
            if given is None:
                return None
            if name in given:
                return self.translate(given[name], depth - 1)
            default = parse_expression(declared[name])
            if default is None:
                return None
            mapping = {}
            for inner in names(default):
                value = self.name_in_frame(inner, depth, seen)
                if value is None:
                    return None
                mapping[inner] = value
            return substitute(default, mapping)
        # a variable (`let`): its value, the same in every call
        values = [c.env.get(name, FAILED) for c in calls]
        if all(v is not FAILED and is_literal_value(v) and same(v, values[0]) for v in values):
            return literal_ast(values[0])
        return None

    def value(self, slot: Slot, texts: list) -> str | None:
        """The code of one argument, or None to leave it out (every value is torch's default)."""
        values = [v if self.active[i] else None for i, v in enumerate(slot.values)]
        present = [v for i, v in enumerate(slot.values) if self.active[i] and slot.values[i] is not None]
        if slot.has_default and all(same(v, slot.default) or (v is None and slot.default is None)
                                    for v in present):
            return None
        if not present:
            present = [None]
        if self.plain:
            return repr(present[0])
        candidates = []
        live = [t for i, t in enumerate(texts) if self.active[i] and slot.values[i] is not None]
        if live and all(t == live[0] for t in live) and live[0] is not None:
            candidates.append(self.translate(live[0]))
        if slot.channels:
            candidates.append(self.cur)
            candidates.append(ast.Name(self.in_name, ast.Load()))
        for tree in candidates:
            if self.check(tree, values):
                self.use(tree)
                return ast.unparse(tree)
        if all(same(v, present[0]) for v in present):
            return repr(present[0])
        return ast.unparse(self.new_param(slot.role or "value", values, slot.channels, slot))

    def use(self, tree) -> None:
        for name in names(tree):
            if name in self.params:
                self.params[name].used = True

    def new_param(self, role: str, values: list, channels: bool, slot: Slot | None = None):
        """A constructor parameter for a value that differs from call to call and that no expression gives."""
        for param in self.params.values():
            if param.spec is None and param.name != self.in_name and re.sub(r"\d+$", "", param.name) == role \
                    and self.check(ast.Name(param.name, ast.Load()), values):
                param.used = True
                return ast.Name(param.name, ast.Load())
        role = re.sub(r"(?<=[a-z_])\d+$", "", role) or role
        name = numbered(role, lambda name: name in self.params or name in self.spec_names.values())
        known = next(v for v in values if v is not None)
        param = Param(name, [v if v is not None else known for v in values], used=True, channels=channels)
        if slot is not None and slot.has_default and slot.default is not None:  # torch's default, as in torch
            param.default, param.has_default = slot.default, True
        self.params[name] = param
        return ast.Name(name, ast.Load())

    def condition(self, col: Col, presence: list):
        """The condition under which the calls have an optional part: the repeat's count, if it says so."""
        rep = col.rep
        node = rep.node if isinstance(rep, RepeatItem) else rep.scope.node
        tree = None if self.plain else self.translate(node.count_text or None)
        expected = [p if a else None for p, a in zip(presence, self.active)]
        if tree is not None:
            ok = True
            for index, want in enumerate(expected):
                if want is None:
                    continue
                got = evaluate(tree, self.env(index))
                if got is FAILED or isinstance(got, float) or got not in (0, 1) or bool(got) != want:
                    ok = False
                    break
            if ok:
                self.use(tree)
                return tree
        label = node.label if node.label and attribute_safe(node.label) else "option"
        return self.new_param(label, [bool(p) for p in presence], False)

    def begin_optional(self, presence: list):
        """Enter a part that only the calls in `presence` have; (channels before it, calls active before)."""
        before, active = self.cur, self.active
        last = self.last_optional
        if last is not None and all(not a or p != q for a, p, q in zip(active, presence, last[0])):
            self.cur = last[1]  # the other side of an either-or (`[A] * res -> [B] * (not res)`)
        self.active = [a and p for a, p in zip(active, presence)]
        return before, active

    def end_optional(self, before, active: list, presence: list, condition) -> None:
        after = self.cur
        self.active = active
        self.cur = self.after_optional(after, before, presence, condition)
        self.last_optional = (presence, before if self.last_optional is None else self.last_optional[1])

    def after_optional(self, after, before, presence: list, condition=None):
        """The channels after an optional part: an expression right both where it is and where it is not."""
        values = []
        for index, present in enumerate(presence):
            if not self.active[index]:
                values.append(None)
                continue
            tree = after if present else before
            value = evaluate(tree, self.env(index)) if tree is not None else FAILED
            if value is FAILED:
                return None
            values.append(value)
        for tree in (after, before):
            if tree is not None and self.check(tree, values):
                return tree
        if after is not None and before is not None and condition is not None:
            tree = if_else(condition, after, before)  # `c * t if t != 1 else in_channels`
            if self.check(tree, values):
                return tree
        return None

    def after_merge(self, op: str, ends: list):
        """The channels after a merge, from those each branch ends with (None: unknown)."""
        return ops.get(op).join.channels(tuple(Channels(end) for end in ends)).tree

    # -------------------------------------------------------------- layers and calls

    def layer_args(self, column: list) -> list[str]:
        first = next(i for i in column if i is not None)
        args, codes = [], {}
        for slot in layer_slots(column):
            texts = [arg_text(item.node, slot.arg) if item is not None and slot.arg else None for item in column]
            code = self.value(slot, texts)
            if code is not None:
                args.append(code if slot.keyword is None else f"{slot.keyword}={code}")
                codes[slot.role] = code
        rule = ops.get(first.node.op).source.channels
        if rule is not None:
            after = rule(Channels(self.cur), {role: Channels(parse_code(code)) for role, code in codes.items()},
                         first.report.input_shape)
            self.cur = after.tree if after is not None else None
        if not self.plain and not self.check(self.cur, [i.report.output_shape[0] if i is not None else None
                                                        for i in column]):
            self.cur = None
        return args

    def layer_code(self, column: list) -> str:
        """`nn.Conv2d(in_channels, planes, kernel_size=3, ...)` for one layer (column: it in every instance)."""
        first = next(i for i in column if i is not None)
        # In a class with attributes, forward flattens first (`x = torch.flatten(x, 1)`).
        cls = module_class(first.node.op, first.report.input_shape, flattening=self.cdef.mode != "attr")
        if not cls.startswith("nn."):  # one of cnnspec's own: the file needs its class
            self.helpers.add(cls)
        return f"{cls}({', '.join(self.layer_args(column))})"

    def class_call(self, cdef: ClassDef, scopes: list) -> str:
        """`Basic(64, 128, s=2, proj=True)`: the class of a block call, with this call's values."""
        first = next(s for s in scopes if s is not None)
        spec_args = None
        if isinstance(first.node, Block) and first.call is not None \
                and all(s is None or s.node.text == first.node.text for s in scopes):
            spec_args = first.call.arguments
        args, trees, keywords = [], {}, False
        for param in cdef.params:
            values = [cdef.param_values(s)[param.name] if s is not None else None for s in scopes]
            text = spec_args.get(param.spec) if spec_args is not None and param.spec is not None else None
            slot = Slot(None, values, channels=param.channels, default=param.default,
                        has_default=param.has_default and param.default_tree is None, role=param.name)
            if param.default_tree is not None and all(
                    s is None or not self.active[i]
                    or same(evaluate(param.default_tree, cdef.param_values(s)), cdef.param_values(s)[param.name])
                    for i, s in enumerate(scopes)):
                continue
            code = self.value(slot, [text] * len(values))
            keywords = keywords or param.has_default or any(isinstance(v, bool) for v in values)
            if code is None:
                continue
            trees[param.name] = parse_code(code)
            args.append(f"{param.name}={code}" if keywords else code)
        # the channels after the call: the class's output expression, with this call's values
        self.cur = None
        if cdef.out_channels is not None and not self.plain:
            mapping = {p.name: trees.get(p.name, literal_ast(p.default) if p.has_default else None)
                       for p in cdef.params}
            if all(mapping.get(n) is not None for n in names(cdef.out_channels)):
                self.cur = substitute(cdef.out_channels, mapping)
        return f"{cdef.name}({', '.join(args)})"
