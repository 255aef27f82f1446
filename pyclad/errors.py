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


class GradientCheckError(PycladError, AssertionError):
    """check_grads found derivatives that disagree with finite differences; the message is a
    table of the worst entries."""
