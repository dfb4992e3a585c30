"""Derived hyperparameters: arithmetic over parameters, parsed safely, never ``eval``-ed.

``learning_rate: "base_lr * sqrt(per_device_train_batch_size / 8)"`` is parsed
with :mod:`ast` and evaluated by walking a whitelist of nodes: numbers,
names (parameters and base settings; dotted keys as ``optimizer.lr``), + - *
/ // % **, unary minus, and calls of sqrt, log, log2, log10, exp, min, max,
abs, round. Anything else (attributes of objects, subscripts, lambdas,
comprehensions, strings) is refused when the spec is validated.
"""

from __future__ import annotations

import ast
import math
import operator

from rlsweep.errors import SpecError

FUNCTIONS = {
    "sqrt": math.sqrt,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "exp": math.exp,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}
BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def parse(text: str, path: str) -> ast.Expression:
    """Parse and check an expression; return its tree. Raises SpecError naming ``path``."""
    if not isinstance(text, str):
        raise SpecError(path, f"expected an expression string, got {text!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise SpecError(path, f"cannot parse {text!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        _check_node(node, text, path)
    return tree


def _check_node(node: ast.AST, text: str, path: str) -> None:
    allowed = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Call,
        ast.Attribute,
        *BINARY,
        *UNARY,
    )
    if not isinstance(node, allowed):
        raise SpecError(
            path,
            f"{type(node).__name__} is not allowed in {text!r}; use numbers, "
            f"parameter names, + - * / ** and {', '.join(FUNCTIONS)}",
        )
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, bool) or not isinstance(node.value, (int, float))
    ):
        raise SpecError(path, f"only numbers may appear as constants in {text!r}")
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        if dotted is None or any(part.startswith("_") for part in dotted.split(".")):
            raise SpecError(path, f"only parameter names may appear in {text!r}")
    is_call = isinstance(node, ast.Call)
    if is_call and not (
        isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords
    ):
        raise SpecError(path, f"only {', '.join(FUNCTIONS)} may be called in {text!r}")


def names(tree: ast.Expression) -> set[str]:
    """Parameter or setting names an expression reads (dotted names whole)."""
    out = set()

    def visit(node):
        if isinstance(node, ast.Call):
            for arg in node.args:
                visit(arg)
            return
        dotted = _dotted(node)
        if dotted is not None:
            out.add(dotted)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree.body)
    return out


def evaluate(tree: ast.Expression, values: dict, path: str = "derived"):
    """Evaluate a checked tree over ``values`` (flat, dotted keys)."""

    def walk(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            key = _dotted(node)
            if key not in values:
                raise SpecError(path, f"{key!r} is neither a parameter nor a base setting")
            return values[key]
        if isinstance(node, ast.BinOp):
            return BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp):
            return UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise SpecError(path, f"unexpected {type(node).__name__}")

    try:
        result = walk(tree.body)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise SpecError(path, f"cannot evaluate: {exc}") from None
    return float(result) if isinstance(result, float) else result
