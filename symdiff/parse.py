"""Front ends: expression text and SymPy expressions -> `Graph` (DESIGN invariant 1).

Text is never evaluated. A tokenizer reads numbers, names, operators and brackets; an iterative
operator-precedence parser (shunting yard, so a 100,000-term sum needs no recursion) accepts
only numbers, variables, `+ - * / ** ^`, unary minus and plus, parentheses, the constants `pi`
and `E`, and calls of the functions in the rule table. `^` is a token of its own meaning power.
Everything else is a `ParseError` that names the construct and its column. The text is parsed
straight into a `GraphBuilder`, so SymPy never reorders or cancels what the user wrote.

Why not `ast.parse` plus a whitelist, as DESIGN.md first planned: CPython 3.11 builds the AST of
a 10,000-term flat sum recursively and raises `RecursionError` ("during ast construction"), and
3.12+ caps that depth in C where no recursion limit can lift it. The whitelist idea is kept:
the grammar here *is* the whitelist, and every other token is refused by name.

Example:
    >>> from symdiff.parse import parse_text
    >>> print(parse_text("x^2 - x"))
    w1 = x
    w2 = w1^2
    w3 = w2 - w1
    z = w3
"""

from __future__ import annotations

import decimal
import keyword
import numbers
import re
import unicodedata
from collections.abc import Mapping, Sequence

import sympy

from .errors import LimitError, ParseError
from .graph import Const, Graph, GraphBuilder, postorder
from .primitives import (
    CONSTANTS,
    FUNCTIONS,
    MAX_CONSTANT_DIGITS,
    PRIMITIVES,
    SYMBOLIC,
    constant_power_digits,
)

#: Longest expression text accepted, in characters.
MAX_LENGTH = 2_000_000
#: A SymPy input larger than this as a tree is not printed as the graph's source.
MAX_SOURCE_TREE = 5_000
#: Longest decimal literal (digits, point and exponent) accepted.
MAX_DECIMAL_LENGTH = 100
#: Largest decimal exponent accepted (floats end near 1e308).
MAX_DECIMAL_EXPONENT = 400
#: Deepest nesting of parentheses, calls, unary signs and powers accepted.
MAX_DEPTH = 100  # SymPy prints and walks formulas recursively: keep them well inside that

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)
                (?:[eE][+-]?[0-9](?:_?[0-9])*)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|//|:=|==|!=|<=|>=|<<|>>|->|\.\.\.|\S)
    """,
    re.VERBOSE,
)

# What a refused token is, in words, for the error message.
_CONSTRUCTS = {
    ".": "attribute access ('.')",
    "[": "subscript or list ('[')",
    "]": "subscript or list (']')",
    "{": "set or dict display ('{')",
    "}": "set or dict display ('}')",
    ":=": "assignment expression (walrus ':=')",
    "=": "assignment or keyword argument ('=')",
    ":": "slice or annotation (':')",
    ";": "statement separator (';')",
    "...": "Ellipsis ('...')",
    "'": "string literal",
    '"': "string literal",
    "#": "comment ('#')",
    "\\": "backslash",
    "//": "floor division ('//')",
    "%": "modulo ('%')",
    "@": "matrix multiplication ('@')",
    "&": "bitwise and ('&')",
    "|": "bitwise or ('|')",
    "~": "bitwise not ('~')",
    "<<": "shift ('<<')",
    ">>": "shift ('>>')",
    "->": "annotation ('->')",
    "==": "comparison ('==')",
    "!=": "comparison ('!=')",
    "<": "comparison ('<')",
    ">": "comparison ('>')",
    "<=": "comparison ('<=')",
    ">=": "comparison ('>=')",
}
_KEYWORDS = {
    "lambda": "lambda",
    "if": "conditional expression ('if')",
    "else": "conditional expression ('else')",
    "for": "comprehension ('for')",
    "in": "comprehension or membership test ('in')",
    "and": "boolean operator ('and')",
    "or": "boolean operator ('or')",
    "not": "boolean operator ('not')",
    "True": "boolean constant ('True')",
    "False": "boolean constant ('False')",
    "None": "'None'",
    "await": "'await'",
    "yield": "'yield'",
    "is": "identity test ('is')",
}
_TUPLE = "a tuple (',' outside a function call) is not allowed in an expression"
_STRING_PREFIX = re.compile(r"(?i)(f|r|b|u|rb|br|fr|rf)")
_FSTRING_PREFIX = re.compile(r"(?i)(f|rf|fr)")

# Operator: (primitive, precedence, right-associative). Unary minus binds tighter than * and /,
# looser than ** (so -x**2 = -(x**2), as in Python and in mathematics).
_BINARY = {
    "+": ("add", 1, False),
    "-": ("sub", 1, False),
    "*": ("mul", 2, False),
    "/": ("div", 2, False),
    "**": ("pow", 4, True),
    "^": ("pow", 4, True),
}
_UNARY_PRECEDENCE = 3

Ref = int | Const


class _Parser:
    """Shunting yard over the tokens, emitting into a `GraphBuilder` as operators reduce."""

    def __init__(self, text: str, builder: GraphBuilder) -> None:
        self.text, self.b = text, builder
        self.operands: list[Ref] = []
        # entries: ("bin", op, col), ("neg"|"pos", col), ("(", col), ("call", name, col, nargs)
        self.ops: list[tuple] = []
        self.depth = 0

    def error(self, message: str, col: int) -> ParseError:
        return ParseError(message, col + 1)

    def parse(self) -> Ref:
        expect_operand = True
        col = 0
        tokens = _TOKEN.finditer(self.text)
        pending = None
        while True:
            match = pending or next(tokens, None)
            pending = None
            if match is None:
                break
            kind, tok, col = match.lastgroup, match.group(), match.start()
            if kind == "space":
                continue
            nxt = None
            if kind == "name":
                pending = nxt = _next_significant(tokens)
            if expect_operand:
                expect_operand = self.operand(kind, tok, col, nxt)
                if kind == "name" and expect_operand:
                    pending = None  # the call's '(' is part of the call entry
            else:
                expect_operand = self.operator(kind, tok, col)
        end = len(self.text)
        if expect_operand:
            if not self.ops and not self.operands:
                raise ParseError("the expression is empty")
            raise self.error("the expression ends where an operand is expected", end)
        while self.ops:
            top = self.ops[-1]
            if top[0] in ("(", "call"):
                raise self.error("'(' is never closed", top[-2] if top[0] == "call" else top[1])
            self.reduce()
        (result,) = self.operands
        return result

    def operand(self, kind: str, tok: str, col: int, nxt) -> bool:
        """Handle a token where an operand is expected; return whether one still is."""
        if kind == "number":
            self.operands.append(self.number(tok, col))
            return False
        if kind == "name":
            self.check_name(tok, col, nxt)
            tok = self.name(tok, col)
            if nxt is not None and nxt.group() == "(":
                if tok not in FUNCTIONS:
                    raise self.error(
                        f"call of unknown function {tok!r}; known functions: "
                        f"{', '.join(FUNCTIONS)}",
                        col,
                    )
                self.push(("call", tok, col, 0))
                return True
            if tok in FUNCTIONS:
                raise self.error(f"{tok!r} is a function: call it, as in {tok}(x)", col)
            if tok in CONSTANTS:
                self.operands.append(Const(CONSTANTS[tok], tok))
            else:
                self.operands.append(self.b.variable(tok))
            return False
        if tok == "(":
            self.push(("(", col))
            return True
        if tok in ("-", "+"):
            self.push(("neg" if tok == "-" else "pos", col))
            return True
        if tok == ")" and self.ops and self.ops[-1][0] == "call":
            _, name, call_col, _ = self.ops[-1]
            raise self.error(f"{name}() needs {PRIMITIVES[name].arity} argument(s)", call_col)
        raise self.refused(kind, tok, col, "an operand")

    def operator(self, kind: str, tok: str, col: int) -> bool:
        """Handle a token where an operator is expected; return whether an operand is next."""
        if tok in _BINARY:
            _, prec, right = _BINARY[tok]
            while self.ops and self.binds_tighter(self.ops[-1], prec, right):
                self.reduce()
            self.push(("bin", tok, col))
            return True
        if tok in (")", ","):
            while self.ops and self.ops[-1][0] not in ("(", "call"):
                self.reduce()
            if not self.ops:
                what = "')' has no matching '('" if tok == ")" else _TUPLE
                raise self.error(what, col)
            top = self.ops[-1]
            if tok == ",":
                if top[0] != "call":
                    raise self.error(_TUPLE, col)
                self.ops[-1] = (*top[:3], top[3] + 1)
                return True
            self.ops.pop()
            self.depth -= 1
            if top[0] == "call":
                self.call(top[1], top[2], top[3] + 1)
            return False
        if kind == "name" and (tok in _KEYWORDS or keyword.iskeyword(tok)):
            self.check_name(tok, col, None)
        if kind in ("number", "name") or tok == "(":
            hint = "call of a non-function" if tok == "(" else "implicit multiplication"
            raise self.error(f"{hint} is not supported; write the '*' (or the function name)", col)
        raise self.refused(kind, tok, col, "an operator")

    def refused(self, kind: str, tok: str, col: int, expected: str) -> ParseError:
        what = _CONSTRUCTS.get(tok)
        if what is None:
            what = f"unexpected {'name' if kind == 'name' else 'character'} {tok!r}"
            return self.error(f"{what} where {expected} is expected", col)
        return self.error(f"{what} is not allowed in an expression", col)

    def name(self, tok: str, col: int) -> str:
        """A name as Python reads it: an identifier, NFKC-normalised (`𝑥` is `x`)."""
        if not tok.isidentifier():
            bad = next(i for i in range(1, len(tok) + 1) if not tok[:i].isidentifier())
            raise self.error(f"character {tok[bad - 1]!r} is not allowed in a name", col + bad - 1)
        return unicodedata.normalize("NFKC", tok)

    def check_name(self, tok: str, col: int, nxt) -> None:
        if tok in _KEYWORDS or keyword.iskeyword(tok):
            raise self.error(
                f"{_KEYWORDS.get(tok, repr(tok))} is not allowed in an expression", col
            )
        quoted = nxt is not None and nxt.group() in ("'", '"') and nxt.start() == col + len(tok)
        if quoted and _STRING_PREFIX.fullmatch(tok):
            what = "f-string" if _FSTRING_PREFIX.fullmatch(tok) else "string literal"
            raise self.error(f"{what} is not allowed in an expression", col)
        if tok.startswith("__"):
            raise self.error(f"dunder name {tok!r} is not allowed in an expression", col)

    def number(self, tok: str, col: int) -> Const:
        after = col + len(tok)
        if after < len(self.text) and (self.text[after].isalnum() or self.text[after] == "_"):
            rest = self.text[after]
            what = "complex number" if rest in "jJ" else "implicit multiplication or number base"
            raise self.error(f"{what} ({tok}{rest}...) is not supported; write the '*'", col)
        digits = tok.replace("_", "")
        if re.fullmatch(r"[0-9]+", digits):
            if len(digits.lstrip("0")) > MAX_CONSTANT_DIGITS:
                raise self.error(f"integer literal longer than {MAX_CONSTANT_DIGITS:,} digits", col)
            return Const(sympy.Integer(int(digits)), digits)
        if len(digits) > MAX_DECIMAL_LENGTH:
            raise self.error(f"decimal literal longer than {MAX_DECIMAL_LENGTH} characters", col)
        value = decimal.Decimal(digits)
        if value and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise self.error(
                f"decimal literal {tok} is outside 1e±{MAX_DECIMAL_EXPONENT}: no float holds it",
                col,
            )
        return Const(sympy.Float(digits), digits)

    def push(self, entry: tuple) -> None:
        if entry[0] != "bin" or entry[1] in ("**", "^"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise LimitError(
                    f"the expression nests deeper than {MAX_DEPTH} levels "
                    f"(column {(entry[-2] if entry[0] == 'call' else entry[-1]) + 1})"
                )
        self.ops.append(entry)

    @staticmethod
    def binds_tighter(top: tuple, prec: int, right: bool) -> bool:
        if top[0] == "bin":
            top_prec = _BINARY[top[1]][1]
        elif top[0] in ("neg", "pos"):
            top_prec = _UNARY_PRECEDENCE
        else:
            return False
        return top_prec > prec or (top_prec == prec and not right)

    def reduce(self) -> None:
        top = self.ops.pop()
        if top[0] == "bin":
            b, a = self.operands.pop(), self.operands.pop()
            if top[1] in ("**", "^"):
                self.depth -= 1
                self.check_power(a, b, top[2])
            self.operands.append(self.b.apply(_BINARY[top[1]][0], (a, b)))
        else:  # unary: a minus on a constant is part of the literal
            self.depth -= 1
            a = self.operands.pop()
            if top[0] == "neg":
                a = a.negated() if isinstance(a, Const) else self.b.apply("neg", (a,))
            self.operands.append(a)

    def call(self, name: str, col: int, nargs: int) -> None:
        arity = PRIMITIVES[name].arity
        if nargs != arity:
            raise self.error(f"{name}() takes {arity} argument(s), got {nargs}", col)
        args = tuple(self.operands[-arity:])
        del self.operands[-arity:]
        try:
            self.operands.append(self.b.apply(name, args))
        except ParseError as err:  # the builder knows what is wrong, the parser where
            raise self.error(err.reason, col) from None

    def check_power(self, base: Ref, exponent: Ref, col: int) -> None:
        values = [self.exact_value(r) for r in (base, exponent)]
        if None not in values and constant_power_digits(*values) > MAX_CONSTANT_DIGITS:
            raise LimitError(
                f"the constant power at column {col + 1} would have more than "
                f"{MAX_CONSTANT_DIGITS:,} digits; use a smaller exponent or a float"
            )

    def exact_value(self, ref: Ref, depth: int = 0) -> sympy.Expr | None:
        """The exact value of a small constant subexpression (`9**9`, `3*10**8`), else None."""
        if isinstance(ref, Const):
            return ref.value if ref.value.is_Rational else None
        op, args = self.b.op_of(ref)
        if depth > 20 or op not in ("pow", "mul", "add", "sub", "neg"):
            return None
        values = [self.exact_value(a, depth + 1) for a in args]
        if None in values or (op == "pow" and constant_power_digits(*values) > MAX_CONSTANT_DIGITS):
            return None  # a refused power was reported when it was reduced
        return PRIMITIVES[op].value(SYMBOLIC, *values)


def _next_significant(tokens):
    for match in tokens:
        if match.lastgroup != "space":
            return match
    return None


def parse_text(text: str, wrt: Sequence[str] | None = None, prefix: str | None = None) -> Graph:
    """Parse expression text into a `Graph`, never evaluating it.

    Args:
        text: the expression, e.g. `"x1*x2 + sin(x1)"`; `^` means power.
        wrt: variable order (default: order of first appearance).
        prefix: node name prefix (default `w`, or the next free letter if a variable clashes).

    Raises:
        ParseError: a construct that is not part of the expression language.
        LimitError: the text is past the size or nesting bounds.

    Example:
        >>> parse_text("2*x").nodes[-1].args
        (Const(value=2, text='2'), 'w1')
    """
    return parse_many([text], wrt, prefix, single=True)


def text_into(builder: GraphBuilder, text: str) -> tuple[Ref, str]:
    """Parse one expression text into `builder`; return its reference and its source text."""
    if len(text) > MAX_LENGTH:
        raise LimitError(
            f"the expression has {len(text):,} characters; the limit is {MAX_LENGTH:,}"
        )
    if "\x00" in text:
        raise ParseError("the expression contains a NUL character", text.index("\x00") + 1)
    return _Parser(text, builder).parse(), " ".join(text.split())


def expression_into(builder: GraphBuilder, expr: object) -> tuple[Ref, str]:
    """Text, a SymPy expression or a number into `builder`: (reference, source text)."""
    if isinstance(expr, str):
        return text_into(builder, expr)
    if isinstance(expr, sympy.Basic) or (
        isinstance(expr, numbers.Real) and not isinstance(expr, bool)
    ):
        if isinstance(expr, numbers.Integral):
            expr = sympy.Integer(int(expr))
        elif not isinstance(expr, sympy.Basic):
            expr = sympy.Float(float(expr))
        return sympy_into(builder, expr)
    raise ParseError(f"expected expression text or a SymPy expression, got {type(expr).__name__}")


def parse_many(
    exprs: Sequence[object] | Mapping[str, object],
    wrt: Sequence[str] | None = None,
    prefix: str | None = None,
    single: bool = False,
) -> Graph:
    """Several expressions into one graph that shares their common subexpressions.

    Args:
        exprs: a list of expressions (outputs `z1, z2, ...`) or a mapping name -> expression.
        wrt: variable order (default: order of first appearance).
        prefix: node name prefix.
        single: one expression whose output is called `z`.

    Example:
        >>> print(parse_many(["x*y", "x*y + 1"]))
        w1 = x
        w2 = y
        w3 = w1·w2
        w4 = w3 + 1
        z1 = w3
        z2 = w4
    """
    names = [str(k) for k in exprs] if isinstance(exprs, Mapping) else None
    items = list(exprs.values()) if isinstance(exprs, Mapping) else list(exprs)
    if not items:
        raise ParseError("no expression given")
    builder = GraphBuilder()
    refs, sources = [], []
    for i, expr in enumerate(items):
        try:
            ref, source = expression_into(builder, expr)
        except ParseError as err:
            if single:
                raise
            raise ParseError(f"expression {i + 1}: {err.reason}", err.column) from None
        refs.append(ref)
        sources.append(source)
    outputs = refs[0] if single else refs
    return builder.finish(outputs, wrt, "; ".join(sources), prefix, names)


# ---------------------------------------------------------------------------------------------
# SymPy expressions

_SYMPY_FUNCTIONS = {
    sympy.sin: "sin",
    sympy.cos: "cos",
    sympy.tan: "tan",
    sympy.asin: "asin",
    sympy.acos: "acos",
    sympy.atan: "atan",
    sympy.sinh: "sinh",
    sympy.cosh: "cosh",
    sympy.tanh: "tanh",
    sympy.exp: "exp",
    sympy.log: "log",
    sympy.Abs: "abs",
    sympy.sign: "sign",
    sympy.erf: "erf",
    sympy.atan2: "atan2",
    sympy.Max: "max",
    sympy.Min: "min",
    sympy.Heaviside: "heaviside",
}


def _plan(expr: sympy.Expr) -> tuple[str, list]:
    """How a SymPy node maps to primitives: a kind and the sub-expressions it needs first."""
    if expr.is_Symbol:
        return "symbol", []
    if expr.is_Number or expr in (sympy.pi, sympy.E):
        return "const", []
    if expr.is_Add:
        terms = []
        # the printed order reads best, but sorting it costs O(n²) on wide sums
        for term in expr.as_ordered_terms() if len(expr.args) <= 100 else expr.args:
            negative = (term.is_Mul or term.is_Number) and term.as_coeff_Mul()[0].is_negative
            terms.append(("sub" if negative else "add", -term if negative else term))
        first = next((i for i, (op, _) in enumerate(terms) if op == "add"), 0)
        terms.insert(0, terms.pop(first))  # x/y - sqrt(x), not -sqrt(x) + x/y
        return "sum", terms
    if expr.is_Mul:
        coeff, factors = expr.as_coeff_mul()
        num, den = [], []
        if coeff.is_Rational and coeff not in (1, -1):
            if abs(coeff.p) != 1:
                num.append(sympy.Integer(abs(coeff.p)))
            if coeff.q != 1:
                den.append(sympy.Integer(coeff.q))
        elif coeff not in (1, -1):
            num.append(abs(coeff) if coeff.is_negative else coeff)
        product = sympy.Mul(*factors, evaluate=False)
        for factor in product.as_ordered_factors() if len(factors) <= 100 else factors:
            base, exp = factor.as_base_exp()
            if exp.is_Number and exp.is_negative:
                den.append(base if exp == -1 else sympy.Pow(base, -exp))
            else:
                num.append(factor)
        return ("negquot" if coeff.is_negative else "quot"), [num, den]
    if expr.is_Pow:
        base, exp = expr.args
        if exp == sympy.S.Half:
            return "sqrt", [base]
        if exp.is_Number and exp.is_negative:
            return "recip", [base if exp == -1 else sympy.Pow(base, -exp)]
        return "pow", [base, exp]
    func = _SYMPY_FUNCTIONS.get(expr.func)
    if func is not None and (func in ("max", "min") or len(expr.args) == PRIMITIVES[func].arity):
        return "fn:" + func, list(expr.args)
    raise ParseError(
        f"unsupported SymPy object {type(expr).__name__}: {expr}; symdiff knows "
        f"{', '.join(sorted(set(_SYMPY_FUNCTIONS.values())))}, + - * / ** (sqrt as **(1/2)) "
        "and numbers"
    )


def _children(kind: str, parts: list) -> list:
    if kind == "sum":
        return [t for _, t in parts]
    if kind in ("quot", "negquot"):
        return [*parts[0], *parts[1]]
    return parts


def _fold(b: GraphBuilder, op: str, refs: list[Ref]) -> Ref:
    acc = refs[0]
    for ref in refs[1:]:
        acc = b.apply(op, (acc, ref))
    return acc


def _const(expr: sympy.Expr) -> Const:
    if (expr.is_Number and not expr.is_finite) or (expr.is_Number and not expr.is_real):
        raise ParseError(f"unsupported constant {expr}")
    if expr.is_Rational and max(abs(expr.p), expr.q).bit_length() > MAX_CONSTANT_DIGITS * 3.32:
        raise LimitError(f"an integer constant has more than {MAX_CONSTANT_DIGITS:,} digits")
    return Const(expr, "pi" if expr == sympy.pi else "E" if expr == sympy.E else str(expr))


def _combine(b: GraphBuilder, expr: sympy.Expr, kind: str, parts: list, ref) -> Ref:
    if kind == "symbol":
        return b.variable(expr.name, expr)
    if kind == "const":
        return _const(expr)
    if kind == "sum":
        acc = ref(parts[0][1])
        acc = b.apply("neg", (acc,)) if parts[0][0] == "sub" else acc
        for op, term in parts[1:]:
            acc = b.apply(op, (acc, ref(term)))
        return acc
    if kind in ("quot", "negquot"):
        num, den = ([ref(e) for e in group] for group in parts)
        result = _fold(b, "mul", num) if num else Const(sympy.Integer(1), "1")
        if den:
            result = b.apply("div", (result, _fold(b, "mul", den)))
        return b.apply("neg", (result,)) if kind == "negquot" else result
    if kind == "sqrt":
        return b.apply("sqrt", (ref(parts[0]),))
    if kind == "recip":
        return b.apply("div", (Const(sympy.Integer(1), "1"), ref(parts[0])))
    if kind == "pow":
        base, exp = map(ref, parts)
        if isinstance(exp, Const) and isinstance(base, Const) and base.value == sympy.E:
            return b.apply("exp", (exp,))
        return b.apply("pow", (base, exp))
    name, refs = kind[3:], [ref(e) for e in parts]
    if len(refs) == PRIMITIVES[name].arity:
        return b.apply(name, tuple(refs))
    return _fold(b, name, refs)  # SymPy's Max and Min take any number of arguments


def parse_sympy(
    expr: sympy.Expr, wrt: Sequence[str] | None = None, prefix: str | None = None
) -> Graph:
    """Walk a SymPy expression into a `Graph`, visiting each shared sub-expression once.

    `x - y` becomes a subtraction, `x/y` a division, `x**(1/2)` a square root, so the graph reads
    like the printed expression.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> print(parse_sympy(x / y - 1))
        w1 = x
        w2 = y
        w3 = w1/w2
        w4 = w3 - 1
        z = w4
    """
    return parse_many([expr], wrt, prefix, single=True)


def sympy_into(builder: GraphBuilder, expr: sympy.Expr) -> tuple[Ref, str]:
    """Walk a SymPy expression into `builder`, once per shared subexpression (iteratively)."""
    done: dict[sympy.Expr, Ref] = {}
    plans: dict[sympy.Expr, tuple[str, list]] = {}
    sizes: dict[sympy.Expr, int] = {}
    depths: dict[sympy.Expr, int] = {}

    def children(node: sympy.Expr) -> list:
        if node not in plans:
            plans[node] = _plan(node)
        return _children(*plans[node])

    def combine(node: sympy.Expr) -> Ref:
        kind, parts = plans.pop(node)
        parts_done = _children(kind, parts)
        sizes[node] = 1 + sum(sizes[c] for c in parts_done)
        depths[node] = 1 + max((depths[c] for c in parts_done), default=0)
        if depths[node] > 3 * MAX_DEPTH:  # SymPy's own printer and walks recurse
            raise LimitError(f"the SymPy expression nests deeper than {3 * MAX_DEPTH} levels")
        return _combine(builder, node, kind, parts, done.__getitem__)

    postorder(expr, children, combine, done)
    # a shared DAG can be astronomically large as a tree: print it only when it is small
    small = sizes[expr] <= MAX_SOURCE_TREE and depths[expr] <= MAX_DEPTH
    source = str(expr) if small else f"<SymPy DAG of {len(done)} nodes>"
    return done[expr], source
