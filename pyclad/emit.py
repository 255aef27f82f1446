"""IR -> C++ text: four-space indentation, braces on every body, minimal parentheses.

The same IR always gives the same bytes.
"""

from __future__ import annotations

from . import ir

_BINARY_PREC = {
    ",": 1,
    "||": 4,
    "&&": 5,
    "|": 6,
    "^": 7,
    "&": 8,
    "==": 9,
    "!=": 9,
    "<": 10,
    ">": 10,
    "<=": 10,
    ">=": 10,
    "<<": 11,
    ">>": 11,
    "+": 12,
    "-": 12,
    "*": 13,
    "/": 13,
    "%": 13,
}
_ASSIGN, _COND, _UNARY, _POSTFIX, _PRIMARY = 2, 3, 15, 16, 100
POSTFIX = _POSTFIX


def prec(e: ir.Expr) -> int:
    if isinstance(e, ir.Var):  # the commonest node first
        return _PRIMARY
    if isinstance(e, ir.Binary):
        return _BINARY_PREC[e.op]
    if isinstance(e, ir.Assign):
        return _ASSIGN
    if isinstance(e, ir.Cond):
        return _COND
    if isinstance(e, ir.Unary):
        return _UNARY
    if isinstance(e, ir.Step):
        return _UNARY if e.prefix else _POSTFIX
    if isinstance(e, ir.Lit) and e.text.startswith("-"):
        return _UNARY
    if isinstance(e, ir.Call) and e.kind in (ir.NEW, ir.DELETE):
        return _UNARY
    if isinstance(e, ir.Call) and (form := _operator_form(e)) is not None:
        return _BINARY_PREC.get(form, _ASSIGN)
    if isinstance(e, (ir.Call, ir.Index, ir.Member)) or (isinstance(e, ir.Cast) and not e.implicit):
        return _POSTFIX
    if isinstance(e, ir.Cast):
        return prec(e.operand)
    return _PRIMARY


_COMPARE = ("==", "!=", "<", ">", "<=", ">=")
_COMPOUND = ("+=", "-=", "*=", "/=")


def _operator_form(e: ir.Call) -> str | None:
    """The binary operator a member operator call is written with (``s += r`` for
    ``s.operator+=(r)``), or None: other calls keep the call syntax."""
    if e.kind != ir.METHOD or len(e.args) != 2 or not e.text.startswith("operator"):
        return None
    op = e.text[len("operator") :].strip()
    if op == ",":
        return None
    return op if op in _BINARY_PREC or op in _COMPOUND else None


def _clarify(parent: str, child: ir.Expr) -> bool:
    """Parentheses a reader (and gcc -Wparentheses) wants although precedence does not:
    ``(a && b) || c``, ``(a + b) << c``, ``(a == b) & c``."""
    if not isinstance(child, ir.Binary) or child.op == parent:
        return False
    if parent == "||":
        return child.op == "&&"
    if parent in ("<<", ">>"):
        return child.op in ("+", "-")
    if parent in ("&", "|", "^"):
        return child.op in _COMPARE or child.op in ("+", "-", "&", "|", "^")
    return False


def expr(e: ir.Expr, need: int = 0) -> str:
    s = _expr(e)
    return f"({s})" if prec(e) < need else s


def _expr(e: ir.Expr) -> str:
    if isinstance(e, ir.Lit):
        return e.text
    if isinstance(e, ir.Var):
        return e.name
    if isinstance(e, ir.Binary):
        p = _BINARY_PREC[e.op]
        sep = ", " if e.op == "," else f" {e.op} "
        lhs = f"({_expr(e.lhs)})" if _clarify(e.op, e.lhs) else expr(e.lhs, p)
        rhs = f"({_expr(e.rhs)})" if _clarify(e.op, e.rhs) else expr(e.rhs, p + 1)
        return _typed_list(e.lhs, lhs) + sep + _typed_list(e.rhs, rhs)
    if isinstance(e, ir.Assign):
        return f"{expr(e.target, _UNARY)} {e.op} {expr(e.value, _ASSIGN)}"
    if isinstance(e, ir.Unary):
        inner = expr(e.operand, _UNARY)
        space = " " if inner.startswith(e.op[-1]) and e.op in "+-&" else ""
        return f"{e.op}{space}{inner}"
    if isinstance(e, ir.Step):
        inner = expr(e.target, _POSTFIX)
        return f"{e.op}{inner}" if e.prefix else f"{inner}{e.op}"
    if isinstance(e, ir.Cond):
        return f"{expr(e.cond, _COND + 1)} ? {expr(e.then, _ASSIGN)} : {expr(e.other, _COND)}"
    if isinstance(e, ir.Call):
        if e.kind == ir.METHOD:  # the receiver is the first argument: ``v.push_back(x)``
            receiver, args = e.args[0], e.args[1:]
            op = _operator_form(e)
            if op in _COMPOUND:
                return f"{expr(receiver, _UNARY)} {op} {_typed_list(args[0], expr(args[0], _ASSIGN))}"
            if op is not None:
                p = _BINARY_PREC[op]
                return f"{expr(receiver, p)} {op} {_typed_list(args[0], expr(args[0], p + 1))}"
            if e.text in ("operator[]", "operator()"):
                inside = ", ".join(expr(a, _ASSIGN) for a in args)
                return f"{expr(receiver, _POSTFIX)}{e.text[-2]}{inside}{e.text[-1]}"
            if isinstance(receiver, ir.Unary) and receiver.op == "*":
                head = f"{expr(receiver.operand, _POSTFIX)}->{e.text}"
            else:
                head = f"{expr(receiver, _POSTFIX)}.{e.text}"
            return f"{head}({', '.join(expr(a, _ASSIGN) for a in args)})"
        if e.kind in (ir.NEW, ir.DELETE):
            return _memory(e)
        if e.kind == ir.EFFECT:
            return _effect(e)
        return f"{e.text}({', '.join(expr(a, _ASSIGN) for a in e.args)})"
    if isinstance(e, ir.Index):
        return f"{expr(e.base, _POSTFIX)}[{expr(e.index)}]"
    if isinstance(e, ir.Member):
        if isinstance(e.operand, ir.Unary) and e.operand.op == "*":
            return f"{expr(e.operand.operand, _POSTFIX)}->{e.name}"
        return f"{expr(e.operand, _POSTFIX)}.{e.name}"
    if isinstance(e, ir.Cast):
        if e.implicit:
            return _expr(e.operand)
        return f"static_cast<{e.type.value().spell()}>({expr(e.operand)})"
    if isinstance(e, ir.InitList):
        return "{" + ", ".join(expr(x, _ASSIGN) for x in e.items) + "}"
    raise TypeError(f"cannot emit {type(e).__name__}")


def _typed_list(e: ir.Expr, text: str) -> str:
    """An operand that is a braced list of a record or container (``a + Vec3{x, y, z}``)
    names its type: a bare ``{...}`` cannot be an operand."""
    if isinstance(e, ir.InitList) and (e.type.is_record or e.type.is_container):
        return e.type.value().spell() + text
    return text


def _effect(e: ir.Call) -> str:
    """A statement without derivatives, as written, its values spelled from the IR."""
    pieces = e.spelling.split("\x00")
    out = [pieces[0]]
    for a, before, after in zip(e.args, pieces, pieces[1:]):
        whole = before.rstrip().endswith(("(", ",")) and after.lstrip().startswith((")", ","))
        out += [expr(a, _ASSIGN if whole else _POSTFIX), after]
    return "".join(out)


def _memory(e: ir.Call) -> str:
    """``new T[n]()``, ``new T(x)``, ``delete[] p`` (see ir.NEW)."""
    if e.kind == ir.DELETE:
        return f"{e.callee} {expr(e.args[0], _UNARY)}"
    head = f"new {e.type.element().spell()}"
    args = e.args
    if e.callee == "new[]":
        head += f"[{expr(args[0])}]"
        args = args[1:]
    if not args:
        return head
    init = args[0]
    if isinstance(init, ir.InitList):
        return head + ("()" if not init.items else _expr(init))
    return f"{head}({expr(init)})"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text if text else "")

    def body(self, s: ir.Stmt) -> None:
        """The statements of a braced body (the braces are written by the caller)."""
        self.depth += 1
        for x in s.stmts if isinstance(s, ir.Block) else (s,):
            self.stmt(x)
        self.depth -= 1

    def stmt(self, s: ir.Stmt) -> None:
        if isinstance(s, ir.Decl):
            init = f" = {expr(s.init, _ASSIGN)}" if s.init is not None else ""
            self.line(f"{s.type.spell(s.name)}{init};")
        elif isinstance(s, ir.ExprStmt):
            self.line(f"{expr(s.expr)};")
        elif isinstance(s, ir.Block):
            self.line("{")
            self.body(s)
            self.line("}")
        elif isinstance(s, ir.If):
            self.line(f"if ({expr(s.cond)}) {{")
            self.body(s.then)
            other = s.other
            while isinstance(other, ir.If):
                self.line(f"}} else if ({expr(other.cond)}) {{")
                self.body(other.then)
                other = other.other
            if other is not None:
                self.line("} else {")
                self.body(other)
            self.line("}")
        elif isinstance(s, ir.For):
            init = " ".join(self._inline(x) for x in s.init) if s.init else ";"
            cond = expr(s.cond) if s.cond is not None else ""
            step = expr(s.step) if s.step is not None else ""
            self.line(
                f"for ({init} {cond}; {step}) {{".replace("( ", "(").replace("; )", ";)").replace("; ;", ";;")
            )
            self.body(s.body)
            self.line("}")
        elif isinstance(s, ir.While):
            self.line(f"while ({expr(s.cond)}) {{")
            self.body(s.body)
            self.line("}")
        elif isinstance(s, ir.DoWhile):
            self.line("do {")
            self.body(s.body)
            self.line(f"}} while ({expr(s.cond)});")
        elif isinstance(s, ir.Break):
            self.line("break;")
        elif isinstance(s, ir.Continue):
            self.line("continue;")
        elif isinstance(s, ir.Return):
            self.line("return;" if s.value is None else f"return {expr(s.value)};")
        elif isinstance(s, ir.Switch):
            self.line(f"switch ({expr(s.cond)}) {{")
            self.depth += 1
            for x in s.body.stmts:
                if isinstance(x, (ir.Case, ir.Default)):
                    self.depth -= 1
                    self.stmt(x)
                    self.depth += 1
                else:
                    self.stmt(x)
            self.depth -= 1
            self.line("}")
        elif isinstance(s, ir.Case):
            self.line(f"case {expr(s.value)}:")
        elif isinstance(s, ir.Default):
            self.line("default:")
        else:
            raise TypeError(f"cannot emit {type(s).__name__}")

    def _inline(self, s: ir.Stmt) -> str:
        w = _Writer()
        w.stmt(s)
        return " ".join(x.strip() for x in w.lines)


def signature(fn: ir.Function, unused: frozenset[str] = frozenset()) -> str:
    """``ret name(params)``; the parameters named in ``unused`` are marked ``[[maybe_unused]]``."""
    params = ", ".join(
        ("[[maybe_unused]] " if p.name in unused else "") + p.type.spell(p.name) for p in fn.params
    )
    return f"{fn.ret.spell()} {fn.name}({params})"


def unread_params(fn: ir.Function) -> frozenset[str]:
    """Parameters the body never names.  A derivative keeps clad's signature although it may
    not need every parameter (the derivative of a function linear in ``x`` does not read
    ``x``, a pushforward may ignore a tangent): marking those keeps -Wextra quiet."""
    read = ir.var_names(fn.body)
    return frozenset(p.name for p in fn.params if p.name and p.name not in read)


def function(fn: ir.Function, prefix: str = "") -> str:
    """A function definition; ``prefix`` (e.g. "inline ") goes before the signature."""
    w = _Writer()
    for c in fn.comment.splitlines():
        w.line(f"// {c}" if c else "//")
    w.line(prefix + signature(fn, unread_params(fn)) + " {")
    w.body(fn.body)
    w.line("}")
    return "\n".join(w.lines) + "\n"


def declaration(fn: ir.Function) -> str:
    return signature(fn) + ";\n"
