"""Spec expressions as Python ASTs.

A spec expression becomes Python when it only uses what Python reads the same way: numbers, names,
+ - * / // %, comparisons, and/or/not, if-else, tuples, min/max/abs.
"""

from __future__ import annotations

import ast
import copy
import re

from ...lang.ir import BlockCall

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Name, ast.Load,
    ast.Constant, ast.Tuple, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd,
    ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Call,
)
_FUNCTIONS = {"min": min, "max": max, "abs": abs}

FAILED = object()  # what `evaluate` gives for an expression that cannot be evaluated


def parse_expression(text: str | None):
    """The spec expression `text` as a Python AST, or None when it does not read the same in Python."""
    if text is None:
        return None
    text = re.sub(r"\b(true|false)\b", lambda m: m.group(1).capitalize(), text.strip(), flags=re.IGNORECASE)
    if re.search(r"\bin\b", text):  # `in`: the input channels, a word of the spec with no Python equivalent
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return None
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                                               and not node.keywords):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "in":
            return None
    return tree.body


def parse_code(code: str):
    """Generated code as an AST, or None."""
    try:
        return ast.parse(code, mode="eval").body
    except SyntaxError:
        return None


def names(tree) -> set[str]:
    """The names an expression reads (not the functions it calls)."""
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def substitute(tree, mapping: dict):
    """A copy of `tree` with each name replaced by its AST in `mapping`."""
    tree = copy.deepcopy(tree)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node):
            return node if id(node) in calls else copy.deepcopy(mapping[node.id])

    return Replace().visit(tree)


def substitute_globals(tree, call: BlockCall, exclude: set):
    """A default's expression with the variables (not the parameters) it names replaced by their values."""
    mapping = {}
    for name in names(tree):
        value = call.env.get(name, FAILED)
        if name in exclude or value is FAILED or not is_literal_value(value):
            return tree
        mapping[name] = literal_ast(value)
    return substitute(tree, mapping)


def evaluate(tree, env: dict):
    """The expression's value with the names in `env`, or FAILED."""
    try:
        code = compile(ast.fix_missing_locations(ast.Expression(tree)), "<spec>", "eval")
        return eval(code, {"__builtins__": {}, **_FUNCTIONS}, env)  # noqa: S307 - a checked, tiny AST
    except Exception:  # noqa: BLE001 - a division by zero or a type error: the expression is not usable
        return FAILED


def same(a, b) -> bool:
    """Equal values of the same type (True is not 1, 2.0 is not 2), tuples item by item."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
    return type(a) is type(b) and a == b


def if_else(condition, then, otherwise):
    """`then if condition else otherwise`, without testing the same condition twice."""
    if isinstance(otherwise, ast.IfExp) and ast.dump(otherwise.test) == ast.dump(condition):
        otherwise = otherwise.orelse
    if isinstance(then, ast.IfExp) and ast.dump(then.test) == ast.dump(condition):
        then = then.body
    if ast.dump(then) == ast.dump(otherwise):
        return then
    return ast.IfExp(condition, then, otherwise)


def literal_ast(value):
    """A value as an AST (its repr is Python source; black puts its strings in double quotes)."""
    return ast.parse(repr(value), mode="eval").body


def is_literal_value(value) -> bool:
    if isinstance(value, tuple):
        return all(is_literal_value(v) for v in value)
    return isinstance(value, (bool, int, float, str))
