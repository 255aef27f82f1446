"""Errors raised by pyclad.  Every error that concerns user code carries a location."""

from __future__ import annotations

from dataclasses import dataclass, field

_WINDOW = 100  # longest source excerpt shown under a diagnostic


@dataclass(frozen=True)
class Loc:
    """A position in the user's source: file, 1-based line and column (in bytes, as compilers
    count); ``text`` is that source line when known, for the caret line under diagnostics."""

    file: str
    line: int
    col: int
    text: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def caret(self) -> str:
        """The source line and a ``^`` under the column, as compilers print them ("" if the
        line is unknown); a long line is shown around the column only."""
        return caret_lines(self.text, self.col)


def caret_lines(text: str, col: int) -> str:
    if not text:
        return ""
    raw = text.encode("utf-8")
    before = raw[: max(col - 1, 0)].decode("utf-8", errors="replace")
    line = text
    if len(line) > _WINDOW:
        start = max(0, len(before) - _WINDOW // 2)
        line = (
            ("..." if start else "")
            + line[start : start + _WINDOW]
            + ("..." if start + _WINDOW < len(text) else "")
        )
        before = ("..." if start else "") + before[start:]
    pad = "".join("\t" if ch == "\t" else " " for ch in before)
    return f"{line}\n{pad}^"


class PycladError(Exception):
    """Base class of every error pyclad raises on purpose."""

    def __init__(self, message: str, loc: Loc | None = None):
        self.message = message
        self.loc = loc
        text = f"{loc}: error: {message}" if loc else message
        caret = loc.caret() if loc and "\n" not in message else ""  # tables keep their layout
        super().__init__(f"{text}\n{caret}" if caret else text)


class CompileError(PycladError):
    """The C++ source does not compile; carries all error diagnostics."""

    def __init__(self, message: str, loc: Loc | None = None, diagnostics: list[str] | None = None):
        self.diagnostics = diagnostics or []
        super().__init__(message, loc)

    def __str__(self) -> str:
        if self.diagnostics:
            return "\n".join(self.diagnostics)
        return super().__str__()


class UnsupportedError(PycladError):
    """A C++ construct the transforms cannot differentiate (yet)."""


class FunctionNotFoundError(PycladError, AttributeError):
    """No function of that name in the loaded source."""


class WrtError(PycladError, ValueError):
    """A wrt specification names no differentiable parameter or element."""


class ArgumentError(PycladError, TypeError):
    """A derivative or primal was called with the wrong number or types of arguments."""


class NoDerivativeError(PycladError):
    """A called function has neither a visible body nor a registered derivative."""


class BoundsError(PycladError, IndexError):
    """A derivative (or its arguments) would access an array outside its length; nothing was
    written past the end.  ``param`` is the buffer's name, ``index`` the element asked for,
    ``length`` the buffer's length."""

    def __init__(
        self, message: str, loc: Loc | None = None, param: str = "", index: int = -1, length: int = -1
    ):
        self.param = param
        self.index = index
        self.length = length
        super().__init__(message, loc)


class CrashError(PycladError):
    """The C++ code faulted (a segmentation fault, an integer division by zero) during a call;
    the process survived, but what the faulting call wrote is undefined."""


class SignatureError(PycladError, TypeError):
    """A user's custom derivative does not take the parameters the transform passes."""


class NameClashError(PycladError):
    """A generated function would have the name of one the user defined (``f_grad``)."""


class OptionError(PycladError, ValueError):
    """A bad option to load / cppdef / pyclad gen (standard, include dirs, defines)."""


class LinkError(PycladError):
    """Code compiled in process calls a function that is declared but never defined."""


class GradientCheckError(PycladError, AssertionError):
    """check_grads found derivatives that disagree with finite differences; the message is a
    table of the worst entries."""
