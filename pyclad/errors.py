"""Errors raised by pyclad.  Every error that concerns user code carries a location."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A position in the user's source: file, 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class PycladError(Exception):
    """Base class of every error pyclad raises on purpose."""

    def __init__(self, message: str, loc: Loc | None = None):
        self.message = message
        self.loc = loc
        super().__init__(f"{loc}: error: {message}" if loc else message)


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


class SignatureError(PycladError, TypeError):
    """A user's custom derivative does not take the parameters the transform passes."""


class NameClashError(PycladError):
    """A generated function would have the name of one the user defined (``f_grad``)."""


class OptionError(PycladError, ValueError):
    """A bad option to load / cppdef / pyclad gen (standard, include dirs, defines)."""


class LinkError(PycladError):
    """Code compiled in process calls a function that is declared but never defined."""
